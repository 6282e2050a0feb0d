"""Hostile inputs, each made on demand in a folder of the test's: what a door must refuse.

A hazard is a name and a maker. The makers write files (or name a charset) without reading them
back; the large ones are written in blocks so that making them costs the test no memory.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENDLESS_LINE_BYTES = 512 * 1024 * 1024  # a file's one line: a reader holding it would show it
ENDLESS_BODY_BYTES = 96 * 1024 * 1024  # an upload's one line, under the server's upload limit
BOMB_DECODED_BYTES = 400 * 1024 * 1024  # what charset=zlib would unpack the body to
BYTES_TO_BYTES = ("zlib", "bz2", "base64", "hex", "rot13", "uu", "quopri")


@dataclass(frozen=True)
class Payload:
    """What a door is handed: a path, or a body with its charset."""

    path: Path | None = None
    body: bytes | Path | None = None  # a Path: streamed from that file
    charset: str | None = None


Maker = Callable[[Path], Payload]
HAZARDS: dict[str, Maker] = {}


def hazard(name: str) -> Callable[[Maker], Maker]:
    def register(maker: Maker) -> Maker:
        HAZARDS[name] = maker
        return maker

    return register


def endless_line(path: Path, size: int) -> Path:
    """A CSV header, then one line of ``size`` bytes with no newline."""
    block = b"x" * (1 << 20)
    with path.open("wb") as handle:
        handle.write(b"text\n")
        for _ in range(size // len(block)):
            handle.write(block)
    return path


@hazard("fifo")
def fifo(folder: Path) -> Payload:
    path = folder / "input.csv"
    os.mkfifo(path)
    return Payload(path=path)


@hazard("device")
def device(folder: Path) -> Payload:
    """A link named like a data file that leads to a device which never ends."""
    path = folder / "input.csv"
    path.symlink_to("/dev/zero")
    return Payload(path=path)


@hazard("endless line")
def endless(folder: Path) -> Payload:
    return Payload(path=endless_line(folder / "input.csv", ENDLESS_LINE_BYTES))


@hazard("endless line body")
def endless_body(folder: Path) -> Payload:
    return Payload(body=endless_line(folder / "body.csv", ENDLESS_BODY_BYTES))


@hazard("zlib bomb charset")
def zlib_bomb(folder: Path) -> Payload:
    """The probe's body: a few hundred KB that ``charset=zlib`` would unpack to 400 MB."""
    packer = zlib.compressobj(9)
    block = b"text\n" + b"a" * (1 << 20)
    body = b"".join(packer.compress(block) for _ in range(BOMB_DECODED_BYTES >> 20))
    return Payload(body=body + packer.flush(), charset="zlib")


for _codec in BYTES_TO_BYTES:

    def _maker(folder: Path, codec: str = _codec) -> Payload:
        return Payload(body=b"text,label\nhello,a\n", charset=codec)

    hazard(f"{_codec} charset")(_maker)


@hazard("tar bomb")
def tar_bomb(folder: Path) -> Payload:
    """A gzip'd tar whose one member claims 3 GiB: unpacked, it would fill the disk."""
    member = tarfile.TarInfo("bundle/model/huge.npz")
    member.size = 3 * 1024**3
    header = member.tobuf(format=tarfile.PAX_FORMAT)
    path = folder / "bomb.tar.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(header)
        zeros = b"\0" * (1 << 20)
        for _ in range(64):  # the start of its data; a reader that trusts the size reads on
            handle.write(zeros)
    return Payload(path=path)


@hazard("device in archive")
def device_in_archive(folder: Path) -> Payload:
    member = tarfile.TarInfo("bundle/model/zero")
    member.type = tarfile.CHRTYPE
    member.devmajor, member.devminor = 1, 5
    path = folder / "device.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(member, io.BytesIO())
    return Payload(path=path)
