"""The server's predictor: concurrent requests gathered into one model call per model (dynamic
batching).

One thread makes every model call, so calls never compete for the cores and the event loop stays
free to read requests meanwhile; requests that arrive while it is busy go together into the next
call. Under concurrent load it lingers (at most ``max_wait`` seconds) until as many requests have
come as went into the last call; a lone request never waits for company, since its last call held
one. Texts are bucketed by token length inside the encoder (``OnnxEncoder.embed``), so short
texts are not padded to the length of long ones. Asked to ``answer``, the same call also says
which texts are out of scope (``predictor.answers``), on the same thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from textloop.predict.predictor import Answers, answers

MAX_WAIT = 0.002
MAX_BATCH = 64  # texts per model call


@dataclass
class _Job:
    model: Any
    texts: Sequence[str]
    succeed: Callable[[Answers], object]
    fail: Callable[[Exception], object]
    scope: bool = False  # also say which texts are out of scope


class Batcher:
    def __init__(self, max_wait: float = MAX_WAIT, max_batch: int = MAX_BATCH) -> None:
        """``max_wait`` 0 turns batching off: one model call per request, as it arrived."""
        self.max_wait = max_wait
        self.max_batch = max_batch if max_wait > 0 else 1
        self.calls = 0  # model calls made, and the texts they held: the mean batch size
        self.texts = 0
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def predict_async(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        """``model.predict_proba(texts)``, computed in a call shared with concurrent requests."""
        return (await self.answer_async(model, texts, scope=False)).probabilities

    async def answer_async(self, model: Any, texts: Sequence[str], scope: bool = True) -> Answers:
        """``Predictor.answer`` in a call shared with concurrent requests."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answers] = loop.create_future()
        self._submit(
            _Job(
                model,
                texts,
                lambda rows: loop.call_soon_threadsafe(_succeed, future, rows),
                lambda exc: loop.call_soon_threadsafe(_fail, future, exc),
                scope,
            )
        )
        return await future

    def predict(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        """The same from a thread that may block (a route run in the thread pool)."""
        return self.answer(model, texts, scope=False).probabilities

    def answer(self, model: Any, texts: Sequence[str], scope: bool = True) -> Answers:
        future: Future[Answers] = Future()
        self._submit(_Job(model, texts, future.set_result, future.set_exception, scope))
        return future.result()

    def _submit(self, job: _Job) -> None:
        self.start()
        self._queue.put(job)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)

    def start(self) -> None:
        """Start the model thread (once): by the server as it opens, else by the first call."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        last = 1  # requests in the last call: how many to wait for under concurrent load
        while (job := self._queue.get()) is not None:
            batch = self._gather(job, last)
            last = len(batch)
            for model, jobs in _by_model(batch):
                self._call(model, jobs)

    def _gather(self, first: _Job, expected: int) -> list[_Job]:
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if len(batch) >= expected or left <= 0:
                    break
                try:
                    job = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(job)
            size += len(job.texts)
        return batch

    def _call(self, model: Any, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            probabilities = np.asarray(model.predict_proba(texts))
            answered = answers(model, texts, probabilities, jobs[0].scope)
        except Exception as exc:
            for job in jobs:
                job.fail(exc)
            return
        self.calls, self.texts = self.calls + 1, self.texts + len(texts)
        start = 0
        for job in jobs:
            rows = answered.rows(start, start + len(job.texts))
            start += len(job.texts)
            job.succeed(rows)


def _by_model(batch: list[_Job]) -> list[tuple[Any, list[_Job]]]:
    """The batch's jobs by model, and by whether they ask which texts are out of scope."""
    groups: dict[tuple[int, bool], tuple[Any, list[_Job]]] = {}
    for job in batch:
        groups.setdefault((id(job.model), job.scope), (job.model, []))[1].append(job)
    return list(groups.values())


def _succeed(future: asyncio.Future[Answers], rows: Answers) -> None:
    if not future.done():
        future.set_result(rows)


def _fail(future: asyncio.Future[Answers], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
