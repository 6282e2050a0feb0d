"""Batch classification over HTTP: submit a job (the body is its input: an uploaded file, or JSON
naming a file inside ``batch_input_roots``), follow it, download its output, cancel it.

The options are query parameters in both forms, so one rule holds: the body is the input. An
upload streams to disk as a dataset upload does; a named path is resolved (links followed) and
must lie inside a configured root, as must every entry of a folder at any depth, each a regular
file (``data.untrusted``), so a key cannot make the server read an arbitrary file nor block it
on a FIFO. A
job that is refused leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from textloop.batch import jobs
from textloop.batch.engines import engines
from textloop.batch.run import BatchRequest
from textloop.data.untrusted import input_files
from textloop.errors import InvalidRequest, TooLarge
from textloop.security.accounts import require_assignment
from textloop.security.api_keys import Principal
from textloop.serving.content_type import media_type
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import Body, api
from textloop.serving.uploads import (
    SUFFIXES,
    file_media_type,
    spooled,
    upload_folder,
    upload_format,
)
from textloop.store.tables import Classifier, new_id

router = APIRouter(tags=["batch classification"])
OUTPUT_FORMATS = ("parquet", "csv", "jsonl")
JSON = "application/json"
MAX_JSON_BYTES = 64 * 1024


@router.post("/v1/classifiers/{name}/batch-jobs", status_code=202)
@api("classify", body=Body.UPLOAD)
async def submit_batch_job(
    name: str,
    request: Request,
    runtime: RuntimeDep,
    key: ApiKey,
    text_column: Annotated[str, Query(max_length=200)] = "text",
    id_column: Annotated[str | None, Query(max_length=200)] = None,
    output_format: Annotated[
        str | None,
        Query(alias="format", description="parquet, csv or jsonl (default: the input's)"),
    ] = None,
    alias: Annotated[str, Query(max_length=50)] = "production",
    top_k: Annotated[int, Query(ge=1, le=20)] = 3,
    review_below: Annotated[float | None, Query(gt=0, le=1)] = None,
    review_limit: Annotated[int, Query(ge=0, le=10_000)] = 0,
    engine: Annotated[str | None, Query(description="local or ray (default: the setting)")] = None,
) -> dict[str, Any]:
    """Queue a batch classification of the body (a CSV, TSV, JSONL or Parquet file, by
    Content-Type) or of ``{"input_path": ...}`` (application/json) inside ``batch_input_roots``.
    """
    settings = runtime.settings
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise InvalidRequest(
            f"unknown format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}",
            field="format",
        )
    if engine is not None and engine not in engines.names():
        raise InvalidRequest(
            f"unknown engine {engine!r}; use one of {', '.join(engines.names())}", field="engine"
        )
    batch_id = new_id()
    folder = jobs.job_folder(settings, batch_id)

    def request_for(input_path: Path, input_format: str) -> BatchRequest:
        chosen = output_format or ("csv" if input_format == "tsv" else input_format)
        return BatchRequest(
            classifier=name,
            input=input_path,
            output=folder / f"output.{chosen}",
            format=chosen,
            text_column=text_column,
            id_column=id_column,
            alias=alias,
            top_k=top_k,
            review_below=review_below,
            review_limit=review_limit,
            engine=engine or settings.engine,
        )

    try:
        if media_type(request.headers) == JSON:
            input_path = allowed_input(await small_body(request), settings.batch_input_roots)
            folder.mkdir(parents=True)
            batch_request = request_for(input_path, _format_of(input_path))
        else:
            input_format = upload_format(
                request.headers, SUFFIXES, otherwise=f"send {JSON} naming an input_path"
            )
            folder.mkdir(parents=True)
            stored = folder / f"input{SUFFIXES[input_format]}"  # read back by its extension
            async with spooled(
                request,
                upload_folder(settings.data_dir),
                "upload",
                file_format=input_format,
                decoded_limit=2 * settings.max_upload_bytes,
            ) as path:
                shutil.move(path, stored)
            batch_request = request_for(stored, input_format)
            if jobs.shares_uploads(settings):  # a worker on another host reads it from there
                await run_in_threadpool(jobs.share, settings, batch_id, "input", stored)
                return await run_in_threadpool(
                    jobs.submit, runtime.store, settings, batch_request, key.key_id, batch_id, True
                )
        return await run_in_threadpool(
            jobs.submit, runtime.store, settings, batch_request, key.key_id, batch_id
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused job leaves nothing behind
        raise


async def small_body(request: Request) -> bytes:
    """A JSON body naming a path is small: this route's upload budget is not its limit."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_JSON_BYTES:
            raise TooLarge(
                f"a JSON body naming the input is at most {MAX_JSON_BYTES:,} bytes", field="body"
            )
    return bytes(data)


def allowed_input(body: bytes, roots: tuple[Path, ...]) -> Path:
    """The ``input_path`` the body names, if it lies inside one of ``roots``."""
    try:
        value = json.loads(body)
    except ValueError:
        raise InvalidRequest("the body is not valid JSON", field="body") from None
    named = value.get("input_path") if isinstance(value, dict) else None
    if not isinstance(named, str) or not named.strip():
        raise InvalidRequest("give input_path, the file to classify", field="input_path")
    if not roots:
        raise InvalidRequest(
            "this server reads no input paths (batch_input_roots is not set); upload the file",
            field="input_path",
        )
    try:
        given = Path(named).expanduser()
        input_files(given, roots)  # every entry at any depth: inside a root, regular files only
        path = given.resolve()
    except (ValueError, OSError) as exc:
        raise InvalidRequest(
            f"input_path {named!r} cannot be read: {exc}", field="input_path"
        ) from None
    return path


def _format_of(path: Path) -> str:
    from textloop.batch.sources import input_format

    return input_format(path)


def _owned(session: Session, key: Principal, batch_id: str) -> Any:
    missing = f"batch job {batch_id!r} does not exist"
    batch = jobs.find(session, batch_id)
    classifier = session.get(Classifier, batch.classifier_id)
    name = classifier.name if classifier else None
    key.require_owned("classify", name, missing)
    if key.user_id is not None and name is not None:  # a person's key: assigned today
        require_assignment(session, key.user_id, name)
    return batch


@router.get("/v1/batch-jobs/{batch_id}")
@api("classify")
def show_batch_job(batch_id: str, session: SessionDep, key: ApiKey) -> dict[str, Any]:
    """Status, rows done and failed, rows per second, and the error of a failed job."""
    return jobs.describe(session, _owned(session, key, batch_id))


@router.get("/v1/batch-jobs/{batch_id}/output")
@api("classify")
def batch_job_output(
    batch_id: str, session: SessionDep, runtime: RuntimeDep, key: ApiKey
) -> FileResponse:
    """The finished job's output file."""
    batch = _owned(session, key, batch_id)
    path = jobs.output_file(runtime.settings, session, batch)
    return FileResponse(path, media_type=file_media_type(path), filename=f"{batch_id}{path.suffix}")


@router.post("/v1/batch-jobs/{batch_id}/cancel", status_code=202)
@api("classify")
def cancel_batch_job(batch_id: str, session: SessionDep, key: ApiKey) -> dict[str, Any]:
    """Stop the job: a queued one at once, a running one after the chunk it is scoring."""
    batch = _owned(session, key, batch_id)
    jobs.cancel(session, batch)
    return jobs.describe(session, batch)
