"""Batch classification jobs: submit a file (or a path the server may read), follow the job, wait
for it, and download its output. A worker (``textloop worker``, or ``serve --with-worker``)
runs the job; ``wait`` asks for it every ``poll_interval`` seconds until it ends.
"""

from __future__ import annotations

import os
from pathlib import Path

from textloop.client.files import FileInput, body_of
from textloop.client.routes import Async, Call, Group, Mode, Sync, read_bytes, route
from textloop.client.schemas import BatchJob
from textloop.client.waiting import poll, poll_async

ENDED = ("succeeded", "failed", "cancelled")


class BatchJobs(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/batch-jobs")
    def submit(
        self,
        classifier: str,
        file: FileInput | None = None,
        *,
        input_path: str | None = None,
        content_type: str | None = None,
        text_column: str | None = None,
        id_column: str | None = None,
        format: str | None = None,
        alias: str | None = None,
        top_k: int | None = None,
        review_below: float | None = None,
        review_limit: int | None = None,
        engine: str | None = None,
    ) -> Call[BatchJob]:
        """Queue the classification of ``file`` (uploaded: CSV, TSV, JSONL or Parquet), or of
        ``input_path``, a file or folder on the server inside its ``batch_input_roots``. The
        output is ``format`` (``parquet``, ``csv``, ``jsonl``; default the input's); rows below
        ``review_below`` confidence become review tasks, at most ``review_limit``."""
        if (file is None) == (input_path is None):
            raise ValueError("give a file to upload or an input_path on the server, not both")
        query = {
            "text_column": text_column,
            "id_column": id_column,
            "format": format,
            "alias": alias,
            "top_k": top_k,
            "review_below": review_below,
            "review_limit": review_limit,
            "engine": engine,
        }
        path = {"name": classifier}
        if file is None:
            return Call(path=path, query=query, json={"input_path": input_path})
        body, kind = body_of(file, content_type)
        return Call(path=path, query=query, content=body, headers={"Content-Type": kind}, slow=True)

    @route("GET", "/v1/batch-jobs/{batch_id}")
    def get(self, batch_id: str) -> Call[BatchJob]:
        """The job: status, rows done and failed, rows per second, the error of a failed one."""
        return Call(path={"batch_id": batch_id})

    @route("POST", "/v1/batch-jobs/{batch_id}/cancel")
    def cancel(self, batch_id: str) -> Call[BatchJob]:
        """Stop the job: a queued one at once, a running one after its current chunk; a
        finished one is a ``ConflictError``."""
        return Call(path={"batch_id": batch_id})

    @route("GET", "/v1/batch-jobs/{batch_id}/output")
    def output(self, batch_id: str) -> Call[bytes]:
        """The finished job's output file, in memory; ``download`` writes it to disk."""
        return Call(path={"batch_id": batch_id}, read=read_bytes)

    @route("GET", "/v1/batch-jobs/{batch_id}/output")
    def download(self, batch_id: str, destination: str | os.PathLike[str]) -> Call[Path]:
        """Stream the finished job's output into ``destination`` (complete, or not there at
        all); answers its path."""
        target = Path(destination)
        return Call(path={"batch_id": batch_id}, save_to=target, read=lambda _: target)


class SyncBatchJobs(BatchJobs[Sync]):
    def wait(
        self, batch_id: str, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> BatchJob:
        """The job once it has succeeded; ``JobFailedError`` when it failed or was cancelled,
        ``WaitTimeoutError`` after ``timeout`` seconds (None: wait as long as it takes)."""
        return poll(
            lambda: self.get(batch_id), ENDED, timeout, poll_interval, f"batch job {batch_id}"
        )


class AsyncBatchJobs(BatchJobs[Async]):
    async def wait(
        self, batch_id: str, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> BatchJob:
        """As the blocking client's ``wait``."""
        return await poll_async(
            lambda: self.get(batch_id), ENDED, timeout, poll_interval, f"batch job {batch_id}"
        )
