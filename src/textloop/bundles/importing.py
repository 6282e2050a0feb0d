"""``textloop import``: a bundle back into a registry as the next version of a classifier.

The bundle's hashes are checked first, so a file changed or lost on the way is refused with
its name; those hashes are the sender's, so they guard against accidents, not against a
sender. Against a sender, a bundle is a closed tree of regular files (``data.untrusted``: no
link, device or FIFO, nothing hard-linked from outside; an archive is checked member by member
before anything is written, within ``MAX_UNPACKED_BYTES`` and ``MAX_MEMBERS``), it may hold no
pickled file, and what is loaded from it is never unpickled (``ModelResources.trusted``): its
models load from their arrays (stored, not compressed) and JSON files only. What is registered
is textloop's own saved model carried in the bundle, with its out-of-scope detector where it
has one, once it answers the check texts as the bundle's ``predict.py`` does, and sends the same
ones aside (an encoder that resolves to something else here is caught then).
The new version records where it came from (classifier, version, lineage, the bundle's hash
and its metrics, which were measured on the sender's data) and is attached to the classifier's
newest dataset version, the data it will be evaluated and retrained against here. A bundle
answers in its classifier's mode: a multi-label model is imported into a multi-label classifier
only, and a single-label model into a single-label one. Like any new version it serves only
once deployed.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textloop.artifacts import artifacts_for
from textloop.bundles.export import NATIVE, PICKLES, check_against_bundle
from textloop.bundles.writer import file_hashes
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.data.untrusted import UnsafeInput, closed_tree
from textloop.errors import ConfigError, InvalidRequest, TextloopError
from textloop.models.base import ModelResources, Use, load_model
from textloop.models.multi_label import is_multi_label
from textloop.models.shared_predict import FORMAT, MANIFEST
from textloop.registry.models import register_model
from textloop.store import Store
from textloop.store.queries import get_classifier, latest_dataset_version

MAX_UNPACKED_BYTES = 2 * 1024**3  # what an archive may unpack to (a bundle with an INT8 encoder
MAX_MEMBERS = 10_000  # is tens of megabytes); past either it is refused as it is unpacked


@dataclass(frozen=True)
class ImportedVersion:
    classifier: str
    version: int
    family: str
    source: dict[str, Any]


def import_bundle(
    store: Store, settings: Settings, path: Path, classifier: str | None = None
) -> ImportedVersion:
    """Register the bundle at ``path`` (a folder or ``.tar.gz``) under ``classifier``
    (default: the classifier it was exported from), which must exist with a dataset version."""
    with opened(path) as directory:
        manifest = verified(directory)
        name = classifier or str(manifest["classifier"])
        with store.session() as session:
            mode = get_classifier(session, name).mode  # a missing one before the model loads
        resources = dataclasses.replace(  # the runtime of the bundle's encoder, for the check
            ModelResources.for_settings(settings, Use.SERVING), runtime="onnx-int8", trusted=False
        )
        model = loaded(directory, resources)
        same_mode(model, name, mode)
        answers_as_bundled(directory, model)
        source = {
            "classifier": manifest["classifier"],
            "version": manifest["version"],
            "lineage": manifest.get("lineage"),
            "metrics": manifest.get("metrics"),
            "textloop_version": manifest.get("textloop_version"),
            "bundle_sha256": hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest(),
        }
        with store.session() as session:
            target = get_classifier(session, name)
            record = register_model(
                session,
                artifacts_for(settings),
                target,
                latest_dataset_version(session, target),
                model,
                {"imported_from": source},  # no test metrics: none measured on this data
            )
            return ImportedVersion(name, record.version, record.family, source)


def verified(directory: Path) -> dict[str, Any]:
    """The bundle's manifest, once its format is known and every file matches its hash."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{directory} is not a textloop bundle ({MANIFEST}: {exc})") from exc
    if not isinstance(manifest, dict):
        raise InvalidRequest(f"{directory} is not a textloop bundle ({MANIFEST} is no object)")
    if manifest.get("format") != FORMAT:
        raise InvalidRequest(
            f"{directory} holds a bundle of unknown format {manifest.get('format')!r}"
        )
    files = closed_tree(directory)  # before anything is hashed or loaded
    pickled = [
        path.relative_to(directory).as_posix()
        for path in files
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in PICKLES)
    ]
    if pickled:
        raise InvalidRequest(
            f"the bundle in {directory} holds pickled files ({', '.join(pickled)}); textloop "
            "never loads a bundle's pickles, and its own exports hold none"
        )
    recorded = manifest.get("files")
    if not (
        isinstance(recorded, dict)
        and isinstance(manifest.get("classifier"), str)
        and isinstance(manifest.get("version"), int)
    ):
        raise InvalidRequest(
            f"the bundle in {directory} is malformed: {MANIFEST} must name its classifier, "
            "version and files"
        )
    found = file_hashes(directory, leave_out=(MANIFEST,), files=files)
    changed = sorted(name for name in recorded if found.get(name) != recorded[name])
    extra = sorted(set(found) - set(recorded))
    if changed or extra:
        what = ", ".join(
            [
                *(f"{n} (changed or missing)" for n in changed),
                *(f"{n} (not in the manifest)" for n in extra),
            ]
        )
        raise InvalidRequest(f"the bundle in {directory} does not match its manifest: {what}")
    if not (directory / NATIVE).is_dir():
        raise InvalidRequest(f"the bundle in {directory} carries no textloop model ({NATIVE}/)")
    for path in files:
        if path.suffix == ".npz":
            _stored(path, directory)
    return manifest


def loaded(directory: Path, resources: ModelResources) -> Any:
    """The bundle's own saved model; one that cannot be loaded is refused in one line, whatever
    broke (a manifest field of the wrong type, a file that is not what its name says): the
    bundle comes from outside, so its flaws are the sender's, not textloop's."""
    try:
        return load_model(directory / NATIVE, resources)
    except TextloopError as exc:
        raise InvalidRequest(f"the model in {directory} cannot be loaded: {exc}") from exc
    except Exception as exc:
        raise InvalidRequest(
            f"the model in {directory} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc


def same_mode(model: Any, name: str, mode: str) -> None:
    """A multi-label model answers sets, which a single-label classifier cannot store or
    serve, and the reverse: refuse a bundle in the other mode than the classifier's."""
    bundled = Mode.MULTI_LABEL if is_multi_label(model) else Mode.SINGLE_LABEL
    if bundled != mode:
        raise InvalidRequest(
            f"the bundle holds a {bundled} model and classifier {name!r} is {mode}; import "
            f"it into a {bundled} classifier"
        )


def answers_as_bundled(directory: Path, model: Any) -> None:
    """The model registered must give the bundle's answers; else it is refused by name."""
    try:
        check_against_bundle(directory, model)
    except (ConfigError, KeyError, TypeError, ValueError, OSError) as exc:
        raise InvalidRequest(
            f"the model in {directory} does not answer as the bundle's predict.py does here "
            f"(is its encoder available on this machine?): {exc}"
        ) from exc


def _stored(path: Path, directory: Path) -> None:
    """An array file must store its arrays as they are: a compressed member could unpack to
    any size, and textloop writes none (``models.arrays``)."""
    name = path.relative_to(directory).as_posix()
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [
                m.filename for m in archive.infolist() if m.compress_type != zipfile.ZIP_STORED
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidRequest(f"the bundle's {name} is not an array file ({exc})") from None
    if packed:
        raise InvalidRequest(
            f"the bundle's {name} holds compressed arrays ({', '.join(packed)}); a bundle's "
            "arrays are stored uncompressed"
        )


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The bundle's folder: ``path`` itself, or an archive unpacked into a temporary folder.

    An archive's members are checked one by one before each is written: regular files, folders
    and hard links to members before them only (no symbolic link, device or FIFO, nothing landing
    outside: tarfile's ``data`` filter), within ``MAX_MEMBERS`` and ``MAX_UNPACKED_BYTES``.
    """
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise InvalidRequest(f"no bundle at {path}", field="bundle")
    with tempfile.TemporaryDirectory(prefix="textloop-bundle-") as scratch:
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.extractall(scratch, filter=_MemberCheck(path))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise InvalidRequest(f"cannot unpack the bundle {path}: {exc}", field="bundle") from exc
        tops = list(Path(scratch).iterdir())
        yield tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(scratch)


class _MemberCheck:
    """tarfile's extraction filter for a bundle: refuses a member by name, or passes it on."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.members = 0
        self.unpacked = 0

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        self.members += 1
        self.unpacked += member.size if member.isfile() else 0
        where = f"the bundle {self.archive.name}: {member.name}"
        if not (member.isfile() or member.isdir() or member.islnk()):
            what = "a symbolic link" if member.issym() else "a device or FIFO"
            raise UnsafeInput(f"{where}: is {what}; a bundle holds regular files and folders only")
        if self.members > MAX_MEMBERS:
            raise UnsafeInput(f"{where}: the archive holds over {MAX_MEMBERS:,} members")
        if self.unpacked > MAX_UNPACKED_BYTES:
            raise UnsafeInput(f"{where}: the archive unpacks to over {MAX_UNPACKED_BYTES:,} bytes")
        try:
            return tarfile.data_filter(member, destination)
        except tarfile.FilterError as exc:
            raise UnsafeInput(f"{where}: {exc}") from None
