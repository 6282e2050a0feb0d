"""``textloop import``: a bundle back into a registry as the next version of a classifier.

The bundle's hashes are checked first, so a file changed or lost on the way is refused with
its name; those hashes are the sender's, so they guard against accidents, not against a
sender. Against a sender, the bundle may hold no pickled file (loading one can run any code):
a bundle that does is refused. What is registered is textloop's own saved model carried in the
bundle, once it answers the check texts as the bundle's ``predict.py`` does (an encoder that
resolves to something else here is caught then). The new version records where it came from
(classifier, version, lineage, the bundle's hash and its metrics, which were measured on the
sender's data) and is attached to the classifier's newest dataset version, the data it will be
evaluated and retrained against here. Like any new version it serves only once deployed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textloop.artifacts import artifacts_for
from textloop.bundles.export import NATIVE, PICKLES, check_against_bundle
from textloop.bundles.writer import file_hashes
from textloop.config import Settings
from textloop.errors import ConfigError, InvalidRequest
from textloop.models.base import ModelResources, load_model
from textloop.models.portable import FORMAT, MANIFEST
from textloop.registry.models import register_model
from textloop.store import Store
from textloop.store.queries import get_classifier, latest_dataset_version


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
        resources = dataclasses.replace(
            ModelResources.for_settings(settings), runtime="onnx-int8"
        )  # the runtime of the bundle's encoder, for the check
        model = load_model(directory / NATIVE, resources)
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
    if manifest.get("format") != FORMAT:
        raise InvalidRequest(
            f"{directory} holds a bundle of unknown format {manifest.get('format')!r}"
        )
    recorded: dict[str, str] = manifest.get("files", {})
    found = file_hashes(directory, leave_out=(MANIFEST,))
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
    pickled = sorted(
        path.relative_to(directory).as_posix()
        for pattern in PICKLES
        for path in (directory / NATIVE).rglob(pattern)
    )
    if pickled:
        raise InvalidRequest(
            f"the bundle in {directory} holds pickled files ({', '.join(pickled)}); textloop "
            "never loads a bundle's pickles, and its own exports hold none"
        )
    return manifest


def answers_as_bundled(directory: Path, model: Any) -> None:
    """The model registered must give the bundle's answers; else it is refused by name."""
    try:
        check_against_bundle(directory, model)
    except ConfigError as exc:
        raise InvalidRequest(
            f"the model in {directory} does not answer as the bundle's predict.py does here "
            f"(is its encoder available on this machine?): {exc}"
        ) from exc


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The bundle's folder: ``path`` itself, or an archive unpacked into a temporary folder
    (members that would land outside it, absolute or escaping links and devices are refused by
    the ``data`` filter)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise InvalidRequest(f"no bundle at {path}", field="bundle")
    with tempfile.TemporaryDirectory(prefix="textloop-bundle-") as scratch:
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise InvalidRequest(f"cannot unpack the bundle {path}: {exc}", field="bundle") from exc
        tops = list(Path(scratch).iterdir())
        yield tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(scratch)
