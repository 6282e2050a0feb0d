"""Files someone else chose are opened only once they are known to be plain files.

Every door that reads a file or a folder from outside (a bundle to import, a batch input, a file
to ingest) asks here first, by ``stat`` and never by opening: a FIFO would block its reader for
ever, a device never ends, and a link can lead out of the folder it sits in. Two rules:

- a **closed tree** (``closed_tree``, a bundle): regular files and folders only; any symbolic
  link, device, FIFO or socket, and any file hard-linked from outside the tree, is refused by
  name before anything in it is read;
- **inputs inside roots** (``input_files``, a batch input): links are followed, but every entry,
  however deep, must lead inside one of the roots, and every file must be a regular one.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from textloop.errors import DataError


class UnsafeInput(DataError):
    """A link, device, FIFO or socket where a regular file is expected, or an entry that leads
    out of the tree or roots it must stay in."""


def kind(mode: int) -> str:
    """What a file of ``mode`` is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def regular_file(path: Path, source: str | None = None) -> os.stat_result:
    """``path``'s status once it is a regular file (links followed); never opens it."""
    try:
        status = path.stat()
    except OSError as exc:
        raise DataError(f"{source or path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(status.st_mode):
        raise UnsafeInput(
            f"{source or path}: is {kind(status.st_mode)}, not a regular file; only regular "
            "files are read"
        )
    return status


def closed_tree(directory: Path, what: str = "a bundle") -> list[Path]:
    """Every regular file under ``directory``, sorted, once the tree holds nothing else.

    ``what`` names the tree in the refusal (``bundle/model/inner: is a symbolic link; a bundle
    holds regular files and folders only``). A file linked several times inside the tree (an
    export hard-links identical arrays) is fine; one with more links than the tree holds has a
    name outside it, through which it could be changed, and is refused.
    """
    files: list[Path] = []
    seen: Counter[tuple[int, int]] = Counter()
    links: dict[tuple[int, int], tuple[int, Path]] = {}

    def refuse(path: Path, problem: str) -> UnsafeInput:
        relative = path.relative_to(directory).as_posix()
        return UnsafeInput(f"{directory.name}/{relative}: {problem}")

    def failed(exc: OSError) -> None:
        raise DataError(f"{what} at {directory} cannot be read: {exc}")

    for root, folders, names in os.walk(directory, onerror=failed):
        for name in sorted(folders + names):
            path = Path(root) / name
            status = path.lstat()
            if stat.S_ISDIR(status.st_mode):
                continue
            if not stat.S_ISREG(status.st_mode):
                raise refuse(
                    path,
                    f"is {kind(status.st_mode)}; {what} holds regular files and folders only",
                )
            identity = (status.st_dev, status.st_ino)
            seen[identity] += 1
            links[identity] = (status.st_nlink, path)
            files.append(path)
    for identity, (count, path) in links.items():
        if count > seen[identity]:
            raise refuse(path, f"is hard-linked to a file outside {what}; copy it in instead")
    return sorted(files)


def input_files(path: Path, roots: Sequence[Path] | None = None) -> list[Path]:
    """The regular files of an input: ``path`` itself, or every file under the folder.

    Links are followed where they lead, and every entry at any depth (links to folders
    included, which are not descended) must lead inside one of ``roots`` when roots are given;
    anything that is not a regular file or a folder is refused by name without being opened.
    """
    if not path.is_dir():
        _inside(path, roots, path)
        regular_file(path)
        return [path]
    _inside(path, roots, path)
    files: list[Path] = []
    for root, folders, names in os.walk(path):
        for name in sorted(folders + names):
            entry = Path(root) / name
            _inside(entry, roots, path)
            if entry.is_symlink() and entry.is_dir():
                continue  # its target was checked; a link to a folder is not walked
            if name in folders:
                continue
            regular_file(entry)
            files.append(entry)
    return sorted(files)


def _inside(entry: Path, roots: Sequence[Path] | None, named: Path) -> None:
    if roots is None:
        return
    target = entry.resolve()
    if not any(target.is_relative_to(root) for root in roots):
        shown = "it" if entry == named else f"{entry.relative_to(named).as_posix()} in it"
        raise UnsafeInput(
            f"input_path {str(named)!r} is outside the folders this server reads batch input "
            f"from (batch_input_roots): {shown} leads to {target}"
        )
