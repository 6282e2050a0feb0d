"""A batch classification from request to recorded result, in this process.

Everything that can refuse the request is checked before any work (engine, options, output,
input and its columns, the model behind the alias), so bad input writes nothing. The engine is
whichever ``engines`` has under the request's name, run with options of its own type. The model
version is pinned when the batch starts: a deploy meanwhile changes nothing in its output. At the
end the least confident rows below ``review_below`` become review tasks and the lineage records
the input (with its content hash), the model version and the output. A multi-label row's
confidence is that in its whole set, and its task suggests the set, as serving's does.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from textloop.batch.engines import (
    Done,
    StreamingEngine,
    Work,
    engine_options,
    find_engine,
)
from textloop.batch.output import (
    FileWriter,
    Parts,
    assemble,
    check_output,
    is_folder,
    output_format,
)
from textloop.batch.scoring import TOP_K, Unsure, check_columns, least_sure
from textloop.batch.sources import CHUNK_ROWS, Plan, plan
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.data.untrusted import input_files
from textloop.errors import InvalidRequest
from textloop.metadata.recorder import (
    content_uri,
    find_artifact,
    model_uri,
    record_artifact,
    record_execution,
)
from textloop.predict.deployment import Deployment, find_deployment
from textloop.predict.outcome import Scored
from textloop.predict.records import implicit_task
from textloop.registry.aliases import PRODUCTION
from textloop.store.database import Store
from textloop.store.tables import Classifier, ModelVersion, ReviewTask, utcnow

MAX_REVIEW_LIMIT = 10_000
Progress = Callable[[int], None]  # rows finished so far


@dataclass(frozen=True)
class BatchRequest:
    classifier: str
    input: Path
    output: Path
    format: str | None = None
    text_column: str = "text"
    id_column: str | None = None
    alias: str = PRODUCTION
    top_k: int = TOP_K
    review_below: float | None = None
    review_limit: int = 0
    engine: str = "local"
    options: Any = None  # the engine's own options (its ``options`` type); None: from settings
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class Prepared:
    request: BatchRequest
    plan: Plan
    deployment: Deployment
    format: str
    mode: str = Mode.SINGLE_LABEL  # the classifier's: which columns the output has


@dataclass
class BatchSummary:
    classifier: str
    model_version: int
    engine: str
    input: str
    input_hash: str
    output: str
    format: str
    rows: int = 0
    errors: int = 0
    chunks: int = 0
    review_tasks: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return rows_per_second(self.rows, self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rows_per_second": round(self.rows_per_second, 1)}


def rows_per_second(rows: int, seconds: float) -> float:
    """The rate of a run that has done ``rows`` in the ``seconds`` since it began (0 before any
    time has passed).

    Over the whole run, always: a rate over the last few updates, as a progress bar's own speed
    is, reads the chunks an engine hands over together (the local engine's scorers finish at
    once) as a burst, and claimed 1,101,646 rows/s for 5,549 rows that took 9 s."""
    return rows / seconds if seconds > 0 else 0.0


def check_request(request: BatchRequest) -> str:
    """The output format, or the first thing wrong with the request's options."""
    engine = find_engine(request.engine)
    if request.options is not None and not isinstance(request.options, engine.options):
        raise InvalidRequest(
            f"the {request.engine} engine takes {engine.options.__name__}, "
            f"not {type(request.options).__name__}",
            field="engine",
        )
    if not 1 <= request.top_k <= 20:
        raise InvalidRequest(f"top_k must be between 1 and 20, not {request.top_k}", field="top_k")
    if request.review_below is not None and not 0 < request.review_below <= 1:
        raise InvalidRequest("review_below must be above 0 and at most 1", field="review_below")
    if not 0 <= request.review_limit <= MAX_REVIEW_LIMIT:
        raise InvalidRequest(
            f"review_limit must be between 0 and {MAX_REVIEW_LIMIT}", field="review_limit"
        )
    if request.review_limit and request.review_below is None:
        raise InvalidRequest(
            "review_limit needs review_below (the confidence below which rows are reviewed)",
            field="review_below",
        )
    return output_format(request.output, request.format)


def prepare(
    store: Store,
    request: BatchRequest,
    deployment: Deployment | None = None,
    check_output_free: bool = True,
) -> Prepared:
    """Check everything and pin the model version, before any work; raises on bad input."""
    file_format = check_request(request)
    if check_output_free:
        check_output(request.output)
    batch_plan = plan(request.input, request.chunk_rows)
    with store.session() as session:
        if deployment is None:
            deployment = find_deployment(session, request.classifier, request.alias)
        classifier = session.get(Classifier, deployment.classifier_id)
        mode = classifier.mode if classifier else Mode.SINGLE_LABEL
        version = session.get(ModelVersion, deployment.version_id)
        labels = list(version.labels) if version else []  # the pinned model's: its score columns
    columns = batch_plan.source.columns
    scope = deployment.out_of_scope and mode == Mode.SINGLE_LABEL  # adds ``out_of_scope``
    check_columns(
        columns, request.text_column, request.id_column, request.top_k, mode, labels, scope
    )
    return Prepared(request, batch_plan, deployment, file_format, mode)


def options_of(request: BatchRequest, settings: Settings) -> Any:
    """The options the request's engine runs with: the request's, or the engine's own from
    the settings."""
    if request.options is not None:
        return request.options
    return engine_options(request.engine, settings)


def work_of(prepared: Prepared, settings: Settings) -> Work:
    request = prepared.request
    return Work(
        prepared.plan.source,
        prepared.deployment,
        settings,
        request.text_column,
        request.top_k,
        request.review_below,
        request.review_limit,
    )


def classify_file(
    store: Store, settings: Settings, prepared: Prepared, progress: Progress | None = None
) -> BatchSummary:
    """Classify the prepared input into its output now, in the foreground."""
    request = prepared.request
    started, began = utcnow(), time.monotonic()
    summary = new_summary(prepared)
    unsure: list[Unsure] = []
    tally = _tally(summary, unsure, progress, request.review_limit)
    work, chunks = work_of(prepared, settings), list(prepared.plan.chunks)
    engine, options = find_engine(request.engine), options_of(request, settings)
    folder = is_folder(request.output)
    if isinstance(engine, StreamingEngine) and not folder:  # straight into the file, in order
        writer = FileWriter(request.output, prepared.format)
        try:
            engine.stream(work, chunks, lambda _, table: writer.write(table), tally, options)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    else:
        parts = Parts(request.output if folder else _parts_beside(request.output))
        try:
            engine.run(work, chunks, parts, tally, options)
            if not folder:
                assemble(parts, range(len(chunks)), request.output, prepared.format)
        finally:
            if not folder:
                shutil.rmtree(parts.folder, ignore_errors=True)
    summary.seconds = time.monotonic() - began
    summary.review_tasks = finish(store, prepared, summary, unsure, started)
    return summary


def new_summary(prepared: Prepared) -> BatchSummary:
    request = prepared.request
    return BatchSummary(
        classifier=request.classifier,
        model_version=prepared.deployment.version,
        engine=request.engine,
        input=str(request.input),
        input_hash=input_hash(request.input),
        output=str(request.output),
        format=prepared.format,
        chunks=len(prepared.plan.chunks),
    )


def _tally(
    summary: BatchSummary, unsure: list[Unsure], progress: Progress | None, limit: int
) -> Callable[[Done], None]:
    def count(done: Done) -> None:
        summary.rows += done.rows
        summary.errors += done.errors
        unsure.extend(done.unsure)
        if len(unsure) > limit:  # keep only the candidates that can still win
            unsure[:] = least_sure(unsure, limit)
        if progress is not None:
            progress(summary.rows)

    return count


def _parts_beside(output: Path) -> Path:
    return output.with_name(f".{output.name}.parts")


def finish(
    store: Store,
    prepared: Prepared,
    summary: BatchSummary,
    unsure: list[Unsure],
    started: Any,
    job_uri: str | None = None,
    also: Callable[[Session], None] | None = None,
) -> int:
    """Open review tasks for the least sure rows and record the lineage, in one transaction
    (with ``also``, what the caller records of the same outcome)."""
    request, deployment = prepared.request, prepared.deployment
    picked = least_sure(unsure, request.review_limit) if request.review_below is not None else []
    tasks = [
        implicit_task(
            deployment.classifier_id,
            u.text,
            Scored(u.label, u.confidence, {}),
            None,
            unlike=u.unlike,
        )
        for u in picked
    ]
    out_hash = output_hash(request.output)  # before the transaction: it reads the whole output
    with store.session() as session:
        if tasks:
            session.execute(insert(ReviewTask), tasks)
        name = request.classifier
        source = record_artifact(
            session,
            deployment.classifier_id,
            "batch-input",
            content_uri(name, "batch-input", summary.input_hash),
            summary.input_hash,
            {"path": summary.input, "rows": summary.rows},
        )
        output = record_artifact(
            session,
            deployment.classifier_id,
            "batch-output",
            job_uri or content_uri(name, "batch-output", out_hash),
            out_hash,
            {
                "path": summary.output,
                "format": summary.format,
                "rows": summary.rows,
                "errors": summary.errors,
            },
        )
        model = find_artifact(session, model_uri(name, deployment.version))
        record_execution(
            session,
            deployment.classifier_id,
            "batch-classify",
            {
                "engine": request.engine,
                "model_version": deployment.version,
                "text_column": request.text_column,
                "top_k": request.top_k,
                "review_below": request.review_below,
                "review_limit": request.review_limit,
            },
            started,
            inputs=[a for a in (source, model) if a is not None],
            outputs=[output],
        )
        if also is not None:
            also(session)
    return len(tasks)


def _files(path: Path) -> list[Path]:
    """The input's regular files (a folder's at any depth, not hidden ones); anything else in
    it is refused by name, with the rule the HTTP route applies (``data.untrusted``)."""
    return [p for p in input_files(path) if not p.name.startswith(".")]


def input_hash(path: Path) -> str:
    """The SHA-256 of the input's bytes (of each part's name and bytes, for a folder)."""
    digest = hashlib.sha256()
    for part in _files(path):
        if path.is_dir():
            digest.update(part.relative_to(path).as_posix().encode() + b"\0")
        with part.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


output_hash = input_hash
