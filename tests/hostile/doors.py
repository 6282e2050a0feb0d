"""Every door through which a file or a body from outside enters textloop, and the hazards it
must refuse. A new reader or archive format joins the suite with one ``Door`` line here.

A door takes a ``Payload`` and answers an ``Outcome``: refused or not, the message a user sees,
and the peak memory of the process that read it (the CLI's own, or how far the server's peak
rose). ``test_doors`` runs each door with each of its hazards.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.hostile.conftest import World
from tests.hostile.hazards import BYTES_TO_BYTES, Payload

CHARSETS = tuple(f"{codec} charset" for codec in BYTES_TO_BYTES)
BODY_HAZARDS = ("endless line body", "zlib bomb charset", *CHARSETS)
PATH_HAZARDS = ("fifo", "device", "endless line")


@dataclass(frozen=True)
class Outcome:
    refused: bool  # a 4xx answer, or a non-zero exit with one line on stderr
    message: str
    peak_mb: float  # the CLI's peak resident memory, or how far the server's rose


@dataclass(frozen=True)
class Door:
    name: str
    hazards: tuple[str, ...]
    enter: Callable[[World, Payload, Path], Outcome]


def _streamed(body: bytes | Path) -> bytes | Iterator[bytes]:
    if isinstance(body, bytes):
        return body

    def blocks() -> Iterator[bytes]:
        with body.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    return blocks()


def _post(world: World, path: str, payload: Payload, media: str = "text/csv") -> Outcome:
    before = world.server_peak_mb()
    content_type = f"{media}; charset={payload.charset}" if payload.charset else media
    assert payload.body is not None
    answer = httpx.post(
        f"{world.base}{path}",
        content=_streamed(payload.body),
        headers={"x-api-key": world.admin_key, "content-type": content_type},
        timeout=120,
    )
    message = answer.json()["error"]["message"] if answer.is_client_error else answer.text
    return Outcome(answer.is_client_error, message, world.server_peak_mb() - before)


def _http(path: str) -> Callable[[World, Payload, Path], Outcome]:
    return lambda world, payload, _folder: _post(world, path, payload)


def _input_path(world: World, payload: Payload, _folder: Path) -> Outcome:
    before = world.server_peak_mb()
    answer = httpx.post(
        f"{world.base}/v1/classifiers/topics/batch-jobs",
        json={"input_path": str(payload.path)},
        headers={"x-api-key": world.admin_key},
        timeout=120,
    )
    message = answer.json()["error"]["message"] if answer.is_client_error else answer.text
    return Outcome(answer.is_client_error, message, world.server_peak_mb() - before)


def _cli(*args: str) -> Callable[[World, Payload, Path], Outcome]:
    def enter(world: World, payload: Payload, folder: Path) -> Outcome:
        if payload.path is not None:
            target = payload.path
        else:  # a body with its charset: a file named with --encoding
            assert isinstance(payload.body, bytes)
            target = folder / "body.csv"
            target.write_bytes(payload.body)
        extra = ["--encoding", payload.charset] if payload.charset else []
        named = {"{}": str(target), "{out}": str(folder / "out.parquet")}
        run = world.cli(*(named.get(a, a) for a in args), *extra)
        lines = run.stderr.strip().splitlines()
        return Outcome(run.code != 0 and len(lines) == 1, run.stderr.strip(), run.peak_mb)

    return enter


def _import_folder(world: World, payload: Payload, folder: Path) -> Outcome:
    """The payload placed in an exported bundle, as a file of its model."""
    bundle = folder / "bundle"
    shutil.copytree(world.bundle, bundle)
    assert payload.path is not None
    os.replace(payload.path, bundle / "model" / "inner" / payload.path.name)
    return _cli("import", "{}")(world, Payload(path=bundle), folder)


DOORS = (
    Door("dataset upload", BODY_HAZARDS, _http("/v1/classifiers/topics/datasets")),
    Door("corrections upload", BODY_HAZARDS, _http("/v1/classifiers/topics/corrections")),
    Door("batch upload", BODY_HAZARDS, _http("/v1/classifiers/topics/batch-jobs")),
    Door("batch input_path", PATH_HAZARDS, _input_path),
    Door("cli ingest", (*PATH_HAZARDS, *CHARSETS), _cli("ingest", "{}", "-c", "topics")),
    Door(
        "cli batch-classify",
        PATH_HAZARDS,
        _cli("batch-classify", "topics", "{}", "-o", "{out}"),
    ),
    Door("cli import folder", ("fifo", "device"), _import_folder),
    Door("cli import archive", ("tar bomb", "device in archive"), _cli("import", "{}")),
)

# What each hazard's refusal must name (any of the phrases), whichever door refused it.
NAMES = {
    "fifo": ("FIFO",),
    "device": ("a device", "outside the folders", "symbolic link"),
    "endless line": ("over 4,194,304",),
    "endless line body": ("over 4,194,304",),
    "zlib bomb charset": ("'zlib' is not a text encoding",),
    **{f"{codec} charset": (f"{codec!r} is not a text encoding",) for codec in BYTES_TO_BYTES},
    "tar bomb": ("unpacks to over",),
    "device in archive": ("device",),
}


def described(outcome: Outcome) -> str:
    return json.dumps(outcome.__dict__)[:600]
