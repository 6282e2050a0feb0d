"""The content address of an artifact folder, and the manifest that publishes it.

The manifest is written last: a reader that finds it knows every part was written before it, and
checks the parts it read against the hash it names (a folder overwritten while it was read fails
the check and is read again). The manifest itself is not part of the hash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = ".artifact.json"
BLOCK = 1 << 20


def content_hash(directory: Path) -> str:
    """SHA-256 over every file's relative path and bytes, the manifest aside."""
    digest = hashlib.sha256()
    for path in _parts(directory):
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        with path.open("rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
    return digest.hexdigest()


def build_manifest(directory: Path) -> dict[str, Any]:
    return {
        "hash": content_hash(directory),
        "files": {str(p.relative_to(directory)): p.stat().st_size for p in _parts(directory)},
    }


def write_manifest(directory: Path) -> dict[str, Any]:
    manifest = build_manifest(directory)
    (directory / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    return manifest


def parse_manifest(raw: bytes, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
        if (
            isinstance(manifest.get("hash"), str)
            and isinstance(manifest.get("files"), dict)
            and all(_inside(name) for name in manifest["files"])
        ):
            return dict(manifest)
    except (ValueError, AttributeError):
        pass
    raise ValueError(f"{where} is not an artifact manifest")


def _inside(name: str) -> bool:
    """A part's name stays inside its folder (a manifest is read from a shared store)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def _parts(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)
