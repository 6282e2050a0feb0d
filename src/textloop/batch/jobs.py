"""Batch classification as a durable job: submitted now, run by a worker, resumable, cancellable.

A submission is checked like a foreground batch (bad input writes nothing), pins the model version
behind the alias, and queues one job on the ordinary queue. The worker writes each finished chunk
as a Parquet part under the job's folder and records its progress; a worker killed part-way
leaves its finished parts, and the one that takes the job over (``jobs.queue``: a lost lease)
scores only the chunks without one, so every input row reaches the output exactly once. The
review tasks and lineage are written in the same transaction that marks the job done. A job
that finishes no chunk for ``STALL_SECONDS`` stops renewing its lease (``jobs.lease``): a read
that never returns does not hold the classifier's batch lane for ever.

A job whose input was uploaded, under a remote artifact store, is *shared*: the server that took
the upload publishes it to the store before the job is queued, a worker on any host scores a
copy of it into its own job folder, and publishes the output, which any server then hands out.
Its parts stay on the worker's host, so a takeover on another host scores every chunk again.

The job runs on the engine it names, found in ``engines`` by the worker, with the options it was
submitted with (stored as JSON); a worker that does not know the engine fails the job, naming the
engines it knows, rather than running it on another.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.artifacts import artifacts_for
from textloop.batch.engines import Done, engines, find_engine
from textloop.batch.output import Parts, assemble, is_folder
from textloop.batch.run import (
    BatchRequest,
    BatchSummary,
    Prepared,
    finish,
    input_hash,
    options_of,
    prepare,
    work_of,
)
from textloop.batch.scoring import (
    CONFIDENCE,
    NEAREST,
    OUT_OF_SCOPE,
    PREDICTED,
    PREDICTED_SET,
    SCORE_PREFIX,
    Unsure,
    least_sure,
)
from textloop.config import Settings
from textloop.data.label_sets import Mode, encode, split_known
from textloop.errors import Conflict, DataError, InvalidRequest, NotFound
from textloop.jobs.lease import expect_progress, progressed
from textloop.jobs.queue import enqueue
from textloop.metadata.recorder import batch_job_uri
from textloop.models.base import ModelResources
from textloop.models.out_of_scope import found_unlike
from textloop.predict.deployment import pinned_deployment
from textloop.store.database import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import BatchJob, BatchStatus, Classifier, Job, JobStatus, utcnow

BATCH = "batch-classify"  # the queue job's kind
FINISHED = (BatchStatus.SUCCEEDED, BatchStatus.FAILED, BatchStatus.CANCELLED)
STALL_SECONDS = 600.0  # longest a running job may go without finishing a chunk


class Cancelled(Exception):
    """Raised between chunks when someone asked the job to stop."""


def job_folder(settings: Settings, batch_id: str) -> Path:
    return settings.data_dir / "batch" / batch_id


def shares_uploads(settings: Settings) -> bool:
    """Whether an uploaded input must travel through the artifact store (another host's worker
    may run the job)."""
    return artifacts_for(settings).remote


def share(settings: Settings, batch_id: str, role: str, path: Path) -> None:
    """Publish a shared job's input or output (``role``) to the artifact store."""
    artifacts_for(settings).publish(
        _shared_name(batch_id, role), lambda into: shutil.copy(path, into / path.name)
    )


def shared_copy(settings: Settings, batch_id: str, role: str, name: str) -> Path:
    """This host's copy of a shared job's input or output."""
    return artifacts_for(settings).local(_shared_name(batch_id, role)) / name


def _shared_name(batch_id: str, role: str) -> str:
    return f"batch/{batch_id}/{role}"


def submit(
    store: Store,
    settings: Settings,
    request: BatchRequest,
    api_key_id: int | None = None,
    batch_id: str | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """Check the request, pin its model version and queue it; the job as ``describe`` says.
    ``shared``: its input is in the artifact store already (``share``)."""
    prepared = prepare(store, request)
    options = {
        "shared": shared,
        "text_column": request.text_column,
        "id_column": request.id_column,
        "alias": request.alias,
        "top_k": request.top_k,
        "review_below": request.review_below,
        "review_limit": request.review_limit,
        "engine": request.engine,
        "engine_options": asdict(options_of(request, settings)),
        "chunk_rows": request.chunk_rows,
        # fixed at submission, as the model version is: every part has the same columns
        "out_of_scope": prepared.deployment.out_of_scope,
    }
    hashed = input_hash(request.input)  # before the transaction: a large file takes a while
    with store.session() as session:
        classifier = get_classifier(session, request.classifier)
        batch = BatchJob(
            classifier_id=classifier.id,
            model_version_id=prepared.deployment.version_id,
            api_key_id=api_key_id,
            input_path=str(request.input),
            input_hash=hashed,
            output_path=str(request.output),
            format=prepared.format,
            options=options,
            rows_total=prepared.plan.rows,
            chunks_total=len(prepared.plan.chunks),
        )
        if batch_id is not None:
            batch.id = batch_id
        session.add(batch)
        session.flush()
        job = enqueue(
            session, BATCH, classifier.id, {"batch_job": batch.id}, reason="batch", coalesce=False
        )
        batch.job_id = job.id
        return describe(session, batch)


def describe(session: Session, batch: BatchJob) -> dict[str, Any]:
    """The job as its API answer shows it; a job whose queue entry died has failed."""
    status, error = batch.status, batch.error
    job = session.get(Job, batch.job_id) if batch.job_id else None
    if (
        status in (BatchStatus.QUEUED, BatchStatus.RUNNING)
        and job is not None
        and job.status == JobStatus.DEAD
    ):
        status, error = BatchStatus.FAILED, job.error
    classifier = session.get(Classifier, batch.classifier_id)
    seconds = batch.seconds or 0.0
    return {
        "id": batch.id,
        "classifier": classifier.name if classifier else None,
        "status": status,
        "model_version_id": batch.model_version_id,
        "rows_total": batch.rows_total,
        "rows_done": batch.rows_done,
        "rows_failed": batch.rows_failed,
        "chunks_total": batch.chunks_total,
        "chunks_done": batch.chunks_done,
        "rows_per_second": round(batch.rows_done / seconds, 1) if seconds > 0 else None,
        "review_tasks": batch.review_tasks,
        "format": batch.format,
        "error": error.splitlines()[0] if error else None,
        "cancel_requested": batch.cancel_requested,
        "created_at": batch.created_at.isoformat(),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
    }


def find(session: Session, batch_id: str) -> BatchJob:
    batch = session.get(BatchJob, batch_id)
    if batch is None:
        raise NotFound(f"batch job {batch_id!r} does not exist")
    return batch


def cancel(session: Session, batch: BatchJob) -> None:
    """Ask the job to stop: a queued one stops now, a running one after its current chunk."""
    if batch.status in FINISHED:
        raise Conflict(f"batch job {batch.id} has already {batch.status}")
    batch.cancel_requested = True
    if batch.status == BatchStatus.QUEUED:
        batch.status, batch.finished_at = BatchStatus.CANCELLED, utcnow()


def output_file(settings: Settings, session: Session, batch: BatchJob) -> Path:
    if batch.status != BatchStatus.SUCCEEDED:
        raise Conflict(f"batch job {batch.id} has no output yet: it is {batch.status}")
    path = Path(batch.output_path)
    if batch.options.get("shared"):
        return shared_copy(settings, batch.id, "output", path.name)
    if not path.is_file():
        raise Conflict(f"batch job {batch.id} wrote a folder of Parquet parts at {path}")
    return path


def run_batch_job(
    store: Store, settings: Settings, name: str, payload: dict[str, Any], resources: ModelResources
) -> dict[str, Any]:
    """The worker's handler: score what is left, then assemble, review and record."""
    batch_id = str(payload["batch_job"])
    expect_progress(STALL_SECONDS)
    with store.session() as session:
        batch = find(session, batch_id)
        if batch.status in FINISHED:
            return {"batch_job": batch_id, "status": batch.status}
        if batch.cancel_requested:
            _end(batch, BatchStatus.CANCELLED)
            return {"batch_job": batch_id, "status": BatchStatus.CANCELLED}
        batch.status = BatchStatus.RUNNING
        batch.started_at = batch.started_at or utcnow()
        request = _request(batch, name)
        deployment = replace(  # a job from before the setting existed: its parts have no column
            pinned_deployment(session, name, batch.model_version_id),
            out_of_scope=bool(batch.options.get("out_of_scope", False)),
        )
        expected_hash, spent = batch.input_hash, batch.seconds or 0.0
        shared = bool(batch.options.get("shared"))
    recorded = request  # what lineage names: the input and output as submitted
    if shared:  # scored from this host's copy, into this host's job folder
        request = replace(
            request,
            input=shared_copy(settings, batch_id, "input", request.input.name),
            output=job_folder(settings, batch_id) / request.output.name,
        )
        job_folder(settings, batch_id).mkdir(parents=True, exist_ok=True)
    try:
        if input_hash(request.input) != expected_hash:
            raise DataError(f"{request.input} changed after the job was submitted")
        prepared = prepare_again(store, request, deployment)
    except (DataError, InvalidRequest) as exc:  # the input or the engine: retrying would not help
        with store.session() as session:
            batch = find(session, batch_id)
            batch.error = str(exc)
            _end(batch, BatchStatus.FAILED)
        return {"batch_job": batch_id, "status": BatchStatus.FAILED, "error": str(exc)}
    folder = (
        request.output if is_folder(request.output) else job_folder(settings, batch_id) / "parts"
    )
    parts = Parts(folder)
    parts.discard_unfinished()
    chunks = [c for c in prepared.plan.chunks if c.index not in parts.done()]
    began = time.monotonic()
    counted = _Counter(store, batch_id, spent, began, _totals(parts))
    work = work_of(prepared, settings)
    try:
        engine, options = find_engine(request.engine), options_of(request, settings)
        engine.run(work, chunks, parts, counted, options)
    except Cancelled:
        with store.session() as session:
            _end(find(session, batch_id), BatchStatus.CANCELLED)
        _discard(request, folder)
        return {"batch_job": batch_id, "status": BatchStatus.CANCELLED}
    except DataError as exc:  # a row the checks could not foresee: retrying would not help
        with store.session() as session:
            batch = find(session, batch_id)
            batch.error = str(exc)
            _end(batch, BatchStatus.FAILED)
        _discard(request, folder)
        return {"batch_job": batch_id, "status": BatchStatus.FAILED, "error": str(exc)}
    indexes = range(len(prepared.plan.chunks))
    if not is_folder(request.output):
        assemble(parts, indexes, request.output, prepared.format)
    if shared:
        share(settings, batch_id, "output", request.output)
    summary = _summary(prepared, recorded, expected_hash, counted, indexes)
    summary.seconds = spent + time.monotonic() - began
    unsure = _unsure(parts, indexes, prepared) if request.review_below is not None else []

    def mark_done(session: Session) -> None:
        batch = find(session, batch_id)
        batch.rows_done, batch.rows_failed = summary.rows, summary.errors
        batch.chunks_done, batch.seconds = summary.chunks, summary.seconds
        batch.review_tasks = min(len(unsure), request.review_limit)
        _end(batch, BatchStatus.SUCCEEDED)

    finish(
        store,
        prepared,
        summary,
        unsure,
        utcnow(),
        batch_job_uri(name, batch_id),
        mark_done,
    )
    _discard(request, folder)
    if shared:  # the store holds the output; this host's copies were scratch
        shutil.rmtree(job_folder(settings, batch_id), ignore_errors=True)
    return {"batch_job": batch_id, "status": BatchStatus.SUCCEEDED, "rows": summary.rows}


def _discard(request: BatchRequest, folder: Path) -> None:
    """The job's own parts, once nothing will resume from them (a folder output keeps its)."""
    if not is_folder(request.output):
        shutil.rmtree(folder, ignore_errors=True)


def prepare_again(store: Store, request: BatchRequest, deployment: Any) -> Prepared:
    """The submission's checks once more, with the pinned version (the output may exist now
    only as this job's own unfinished work, which is not a reason to refuse)."""
    return prepare(store, request, deployment, check_output_free=False)


def _request(batch: BatchJob, name: str) -> BatchRequest:
    options = batch.options
    return BatchRequest(
        classifier=name,
        input=Path(batch.input_path),
        output=Path(batch.output_path),
        format=batch.format,
        text_column=options.get("text_column", "text"),
        id_column=options.get("id_column"),
        alias=options.get("alias", "production"),
        top_k=int(options.get("top_k", 3)),
        review_below=options.get("review_below"),
        review_limit=int(options.get("review_limit", 0)),
        engine=options.get("engine", "local"),
        options=_engine_options(options),
        chunk_rows=int(options["chunk_rows"]),
    )


def _engine_options(options: dict[str, Any]) -> Any:
    """The engine's options as the job was submitted with them; None for an engine this worker
    does not know (``prepare_again`` refuses the job, naming the ones it knows)."""
    name = options.get("engine", "local")
    if name not in engines.names():
        return None
    stored = options.get("engine_options")
    if stored is None and name == "ray":  # queued before engines had options of their own
        stored = {"address": options.get("ray_address")}
    return find_engine(name).options(**(stored or {}))


def _end(batch: BatchJob, status: BatchStatus) -> None:
    batch.status, batch.finished_at = status, utcnow()


def _totals(parts: Parts) -> tuple[int, int, int]:
    """Rows, rows without a prediction and chunks already written by earlier attempts."""
    rows = errors = 0
    done = parts.done()
    for index in done:
        table = pq.read_table(parts.path(index), columns=["error"])
        rows += table.num_rows
        errors += table.num_rows - table.column("error").null_count
    return rows, errors, len(done)


class _Counter:
    """Records each finished chunk's progress, and stops the job when it was cancelled."""

    def __init__(
        self, store: Store, batch_id: str, spent: float, began: float, totals: tuple[int, int, int]
    ) -> None:
        self.store, self.batch_id, self.spent, self.began = store, batch_id, spent, began
        self.rows, self.errors, self.chunks = totals

    def __call__(self, done: Done) -> None:
        progressed()
        self.rows += done.rows
        self.errors += done.errors
        self.chunks += 1
        with self.store.session() as session:
            batch = find(session, self.batch_id)
            batch.rows_done, batch.rows_failed, batch.chunks_done = (
                self.rows,
                self.errors,
                self.chunks,
            )
            batch.seconds = self.spent + time.monotonic() - self.began
            stop = batch.cancel_requested
        if stop:
            raise Cancelled


def _summary(
    prepared: Prepared, request: BatchRequest, hashed: str, counted: _Counter, indexes: range
) -> BatchSummary:
    """What the job did, over every attempt (the counter began from the parts already there)."""
    return BatchSummary(
        classifier=request.classifier,
        model_version=prepared.deployment.version,
        engine=request.engine,
        input=str(request.input),
        input_hash=hashed,
        output=str(request.output),
        format=prepared.format,
        rows=counted.rows,
        errors=counted.errors,
        chunks=len(indexes),
    )


def _unsure(parts: Parts, indexes: range, prepared: Prepared) -> list[Unsure]:
    """The rows most in doubt, read back from the written parts: those out of scope (where the
    parts say so) and those less sure than the threshold (a multi-label row's set, by the
    confidence in the whole set, as the scorer hands it over; a single-label row's nearest
    label, ``top1_label``, which a row out of scope has too)."""
    request = prepared.request
    assert request.review_below is not None
    sets = prepared.mode == Mode.MULTI_LABEL
    own = prepared.deployment.out_of_scope_label
    found: list[Unsure] = []
    for index in indexes:
        path = parts.path(index)
        columns = pq.read_schema(path).names
        names = [c[len(SCORE_PREFIX) :] for c in columns if c.startswith(SCORE_PREFIX)]
        answer = PREDICTED_SET if sets else NEAREST if NEAREST in columns else PREDICTED
        scoped = [OUT_OF_SCOPE] if OUT_OF_SCOPE in columns and not sets else []
        table = pq.read_table(path, columns=[request.text_column, answer, CONFIDENCE, *scoped])
        doubted = pc.fill_null(pc.less(table.column(CONFIDENCE), request.review_below), False)
        if scoped:
            doubted = pc.or_(doubted, pc.fill_null(table.column(OUT_OF_SCOPE), False))
        for row in pc.indices_nonzero(doubted).to_pylist():
            value = table.column(answer)[row].as_py()
            if value is None:  # out of scope, with no top-k column to name the nearest
                continue
            label = str(value)
            aside = bool(scoped) and bool(table.column(OUT_OF_SCOPE)[row].as_py())
            unlike = found_unlike(aside, label, own)
            confidence = float(table.column(CONFIDENCE)[row].as_py())
            if not unlike and confidence >= request.review_below:
                continue  # answered the data's own out-of-scope label, and sure of it
            found.append(
                Unsure(
                    confidence,
                    index,
                    row,
                    str(table.column(request.text_column)[row].as_py()),
                    encode(split_known(label, names)) if sets else label,
                    unlike,
                )
            )
        found = least_sure(found, request.review_limit)
    return found


def list_jobs(
    session: Session, classifier_id: int | None = None, limit: int = 50
) -> list[BatchJob]:
    query = select(BatchJob).order_by(BatchJob.created_at.desc()).limit(limit)
    if classifier_id is not None:
        query = query.where(BatchJob.classifier_id == classifier_id)
    return list(session.scalars(query))
