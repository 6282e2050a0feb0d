"""Where chunks are scored: here, in this process (``local``), or in Ray actors (``ray``).

Both engines score each chunk the same way (``scoring``), so their outputs agree row for row. The
local engine reads the next chunk on a thread of its own while the model scores this one, and
hands each scored chunk to a sink in order. The Ray engine sends chunk descriptors, not rows, to
a pool of actors; each actor loads the model once, reads its chunks from the input itself and
writes each as a Parquet part, and the driver only counts what comes back. Ray is imported only
when it is asked for, and its own logging stays off unless asked for (``verbose``).

An engine is an ``Engine`` registered by name in ``engines``, with an options type of its own
(``LocalOptions``, ``RayOptions``); a new one (a cluster scheduler of one's own) registers there
as these two do, and every place that picks an engine finds it there (``find_engine``), so a
registered engine runs wherever it is named: the CLI, the setting, the API, a worker's job.
"""

from __future__ import annotations

import json
import logging
import os
import queue
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from textloop.artifacts import artifacts_for
from textloop.batch.output import Parts
from textloop.batch.scoring import ChunkResult, ChunkScorer, Unsure
from textloop.batch.sources import Chunk, Source, read_chunk, read_chunks
from textloop.config import Settings
from textloop.errors import InvalidRequest, TextloopError
from textloop.machine import usable_cores
from textloop.plugins import Registry
from textloop.predict.deployment import Deployment

log = logging.getLogger("textloop.batch")
OBJECT_STORE_BYTES = 256 * 1024 * 1024
__all__ = [
    "Done",
    "Engine",
    "LocalOptions",
    "NoOptions",
    "RayOptions",
    "StreamingEngine",
    "Work",
    "engine_options",
    "engines",
    "find_engine",
    "run_local",
    "run_ray",
    "start_ray",
]
Sink = Callable[[int, pa.Table], None]  # takes a scored chunk: its index, its table


@dataclass(frozen=True)
class Work:
    """Everything a chunk needs, small and picklable: it travels to Ray actors."""

    source: Source
    deployment: Deployment
    settings: Settings
    text_column: str = "text"
    top_k: int = 3
    review_below: float | None = None
    review_limit: int = 0
    threads: int | None = None  # the encoder's threads; None: every core


@dataclass(frozen=True)
class Done:
    """What the driver learns of a finished chunk."""

    index: int
    rows: int
    errors: int
    unsure: list[Unsure]


def scorer(work: Work) -> ChunkScorer:
    from textloop.models.base import ModelResources, Use
    from textloop.predict.model_cache import ModelCache

    # Use.BATCH: no embedding cache (a batch's texts are mostly new, and each scorer's cache
    # would hold up to ``embedding_cache`` vectors, 77 MB at the default, for nothing; repeats
    # within a chunk are still encoded once) and no export of a missing encoder.
    resources = ModelResources.for_settings(work.settings, Use.BATCH, threads=work.threads)
    models = ModelCache(artifacts_for(work.settings), resources, capacity=1)  # one batch, one model
    model = models.get(work.deployment.version_id, work.deployment.artifact_uri)
    return ChunkScorer(
        work.deployment, model, work.text_column, work.top_k, work.review_below, work.review_limit
    )


def run_local(
    work: Work,
    chunks: Sequence[Chunk],
    sink: Sink,
    done: Callable[[Done], None],
    scorers: int | None = None,
) -> None:
    """Score ``chunks`` in this process, one chunk per core at a time, and hand them to ``sink``
    in order.

    Each core gets a scorer of its own (its own encoder session on one thread) and whole chunks:
    on small matrices one session spread over two threads spends much of its time waking the
    other, while two single-threaded sessions keep both cores busy (1.6x the rows per second on
    two cores). The chunks are read on this thread meanwhile; at most one more than there are
    scorers is held at once, so memory stays bounded.
    """
    count = scorers or max(1, min(usable_cores(), len(chunks)))
    free: queue.Queue[ChunkScorer] = queue.Queue()
    one_thread = replace(work, threads=work.threads or 1)
    for _ in range(count):
        free.put(scorer(one_thread))

    def score(item: tuple[Chunk, pa.Table, list[str | None]]) -> ChunkResult:
        chunk, table, errors = item
        chunk_scorer = free.get()
        try:
            return chunk_scorer.score(chunk.index, table, errors)
        finally:
            free.put(chunk_scorer)

    def finish(result: ChunkResult) -> None:
        sink(result.index, result.table)
        done(_done(result))

    pending: deque[Future[ChunkResult]] = deque()
    with ThreadPoolExecutor(count, thread_name_prefix="batch-score") as pool:
        for item in read_chunks(work.source, chunks):
            pending.append(pool.submit(score, item))
            while len(pending) > count:
                finish(pending.popleft().result())
        while pending:
            finish(pending.popleft().result())


def _done(result: ChunkResult) -> Done:
    return Done(result.index, result.rows, result.errors, result.unsure)


class _ChunkActor:
    """A Ray actor: loads the model once, then reads, scores and writes whole chunks."""

    def __init__(self, work: Work, folder: str) -> None:
        logging.basicConfig(level=logging.WARNING)
        self.work = work
        self.scorer = scorer(work)
        self.parts = Parts(Path(folder))

    def __call__(self, batch: pa.Table) -> pa.Table:
        out: dict[str, list[Any]] = {"index": [], "rows": [], "errors": [], "unsure": []}
        for described in batch.to_pylist():
            chunk = Chunk(**described)
            table, errors = read_chunk(self.work.source, chunk)
            result = self.scorer.score(chunk.index, table, errors)
            self.parts.write(chunk.index, result.table)
            out["index"].append(chunk.index)
            out["rows"].append(result.rows)
            out["errors"].append(result.errors)
            out["unsure"].append(json.dumps([asdict(u) for u in result.unsure]))
        return pa.table(out)


@dataclass(frozen=True)
class RayOptions:
    """The ray engine's options."""

    address: str | None = None  # None: start a local Ray for this job, and stop it after
    actors: int | None = None  # None: one per CPU of the cluster
    verbose: bool = False  # Ray's own logging on this terminal (``start_ray``)


def run_ray(
    work: Work,
    chunks: Sequence[Chunk],
    parts: Parts,
    done: Callable[[Done], None],
    options: RayOptions = RayOptions(),
) -> None:
    """Score ``chunks`` in a pool of Ray actors, each writing its chunks into ``parts``."""
    try:
        import ray
        from ray.data import DataContext
    except ImportError as exc:  # pragma: no cover - ray is a pinned dependency
        raise TextloopError(f"the ray engine needs Ray installed ({exc})") from None
    if not chunks:
        return
    started = not ray.is_initialized()
    if started:
        start_ray(options.address, verbose=options.verbose)
    try:
        context = DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.preserve_order = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = options.actors or cpus  # one single-threaded scorer per CPU, as locally
        threads = work.threads or max(1, cpus // actors)
        items = [asdict(chunk) for chunk in chunks]
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        scored = dataset.map_batches(
            _ChunkActor,
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(chunks))),
            num_cpus=1,
            fn_constructor_args=(replace(work, threads=threads), str(parts.folder)),
        )
        for row in scored.iter_rows():
            unsure = [Unsure(**u) for u in json.loads(row["unsure"])]
            done(Done(int(row["index"]), int(row["rows"]), int(row["errors"]), unsure))
    finally:
        if started:
            ray.shutdown()


def start_ray(
    address: str | None = None, num_cpus: int | None = None, verbose: bool = False
) -> None:
    """Join the cluster at ``address``, or start a local Ray (``num_cpus``: all by default);
    Ray's own logging stays off unless ``verbose`` (``ray_logging``)."""
    import ray
    import ray.data  # configures its loggers when first imported: before they are set here

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never reach out of the machine
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # and keep GPUs visible
    try:
        ray.init(**ray_init_options(address, num_cpus, verbose))
    except Exception as exc:  # Ray raises several kinds; say which cluster could not be joined
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise TextloopError(f"could not start {where}: {exc}") from None
    logging.getLogger("ray.data").setLevel(ray_logging(verbose))


def ray_logging(verbose: bool) -> int:
    """The level of Ray's own loggers in this process: its errors only, unless ``verbose``.

    Quiet by default because what Ray says on a batch run is not the user's to act on: its INFO
    lines about starting, and Ray Data's warnings about a one-machine cluster's size ("the job
    may hang forever unless the cluster scales up", on runs that then finish). A failure still
    reaches the user, as the error the run stops with."""
    return logging.INFO if verbose else logging.ERROR


def ray_init_options(address: str | None, num_cpus: int | None, verbose: bool) -> dict[str, Any]:
    """What ``ray.init`` is given: the cluster at ``address`` or a new local one, and logging
    as ``ray_logging`` says (its workers' output reaches this terminal only when ``verbose``)."""
    logs = {"logging_level": ray_logging(verbose), "log_to_driver": verbose}
    if address:
        return {"address": address, **logs}
    return {
        "address": "local",  # a new Ray, never one RAY_ADDRESS or `ray start` left behind
        "num_cpus": num_cpus,
        # only chunk descriptors and counts pass through it: rows never do
        "object_store_memory": OBJECT_STORE_BYTES,
        "include_dashboard": False,
        **logs,
    }


@dataclass(frozen=True)
class NoOptions:
    """The options of an engine that takes none."""


@dataclass(frozen=True)
class LocalOptions:
    """The local engine's options."""

    scorers: int | None = None  # scorers at once; None: one per core, at most one per chunk


class Engine:
    """Scores every chunk, writes each scored chunk into ``parts`` under its index, and reports
    each to ``done`` as it finishes (in any order). Subclass it and register the subclass in
    ``engines``; ``engine`` is then its registered name.

    ``options`` is the type of the options it runs with, and the only type it is given (a
    request with another is refused): a frozen dataclass of JSON values, since a durable job
    stores them until a worker runs it. ``configured`` makes them when a request gives none.
    """

    engine: ClassVar[str]
    options: ClassVar[type[Any]] = NoOptions

    def configured(self, settings: Settings, verbose: bool = False) -> Any:
        """This engine's options from the settings, for a request that names none; ``verbose``:
        its own logging wanted. These defaults take neither."""
        return self.options()

    def run(
        self,
        work: Work,
        chunks: Sequence[Chunk],
        parts: Parts,
        done: Callable[[Done], None],
        options: Any,
    ) -> None:
        raise NotImplementedError


class StreamingEngine(Engine):
    """An engine that can also hand every scored chunk to a sink in index order, on one thread:
    a batch into one file then writes the file as the chunks come, with no parts to assemble."""

    def stream(
        self,
        work: Work,
        chunks: Sequence[Chunk],
        sink: Sink,
        done: Callable[[Done], None],
        options: Any,
    ) -> None:
        raise NotImplementedError


def _builtins() -> None:
    return None  # the built-ins below register when this module is imported


engines = Registry("batch engine", "engines", "engine", _builtins)


def find_engine(name: str) -> Engine:
    """The engine registered as ``name``: the one lookup every choice of engine goes through,
    so what the CLI, the setting, the API and a worker accept is the registry, nothing else."""
    if name not in engines.names():
        known = ", ".join(engines.names())
        raise InvalidRequest(f"unknown engine {name!r}; use one of {known}", field="engine")
    found = engines.get(name)
    if not (isinstance(found, type) and issubclass(found, Engine)):
        raise TextloopError(f"the batch engine {name!r} is registered as {found!r}, not an Engine")
    return found()


def engine_options(name: str, settings: Settings, verbose: bool = False) -> Any:
    """The options the engine ``name`` runs with when a request gives none."""
    return find_engine(name).configured(settings, verbose)


@engines.register("local")
class LocalEngine(StreamingEngine):
    """This process: one single-threaded scorer per core (``run_local``)."""

    options = LocalOptions

    def run(
        self,
        work: Work,
        chunks: Sequence[Chunk],
        parts: Parts,
        done: Callable[[Done], None],
        options: LocalOptions,
    ) -> None:
        self.stream(work, chunks, parts.write, done, options)

    def stream(
        self,
        work: Work,
        chunks: Sequence[Chunk],
        sink: Sink,
        done: Callable[[Done], None],
        options: LocalOptions,
    ) -> None:
        run_local(work, chunks, sink, done, options.scorers)


@engines.register("ray")
class RayEngine(Engine):
    """A pool of Ray actors, on the cluster of the ``ray_address`` setting or a local Ray."""

    options = RayOptions

    def configured(self, settings: Settings, verbose: bool = False) -> RayOptions:
        return RayOptions(address=settings.ray_address, verbose=verbose)

    def run(
        self,
        work: Work,
        chunks: Sequence[Chunk],
        parts: Parts,
        done: Callable[[Done], None],
        options: RayOptions,
    ) -> None:
        run_ray(work, chunks, parts, done, options)
