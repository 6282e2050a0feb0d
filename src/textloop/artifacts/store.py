"""One root for every artifact folder: a local path (the default) or an fsspec URL (``s3://``).

Writers build a folder locally and ``publish`` it under a relative name; readers ask for
``local(name)``, a folder on this host's disk to load from. Under a local root both are the
folder itself (published by a rename, as atomic as before). Under a remote one, publishing
uploads the parts under a folder named by their content hash and then the manifest that names
it, so writers racing on one name never mix their parts and a reader always finds a whole set;
reading fetches a copy into the content cache, checked against the manifest's hash. Credentials
come from the environment or fsspec's own configuration, never from the database, and never
appear in a message.
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from textloop.artifacts.cache import ContentCache, HashMismatch
from textloop.artifacts.manifest import MANIFEST, content_hash, parse_manifest, write_manifest
from textloop.config import is_url
from textloop.errors import NotFound, TextloopError

if TYPE_CHECKING:
    from textloop.config import Settings

CACHE_BYTES = 2 * 1024**3
READ_ATTEMPTS = 3  # a folder overwritten while it is read is read again, this many times in all


class ArtifactStoreUnreachable(TextloopError):
    """The store did not answer, or refused: nothing that depends on it was recorded."""

    code = "artifact_store_unreachable"
    status_code = 503


class ArtifactMissing(NotFound):
    code = "artifact_missing"


def redacted(url: str) -> str:
    """``url`` without a user or password, fit for a message or a log line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


class ArtifactStore:
    def __init__(
        self,
        root: Path | str,
        cache_folder: Path | None = None,
        cache_bytes: int = CACHE_BYTES,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.url = str(root)
        self.remote = is_url(root)
        if not self.remote:
            self.root = Path(str(root).removeprefix("file://"))
            return
        if cache_folder is None:
            raise ValueError("a remote artifact store needs a local cache folder")
        import fsspec

        self.fs, self.base = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.base = self.base.rstrip("/")
        self.cache = ContentCache(cache_folder, cache_bytes)
        self._uploads = cache_folder / ".uploads"

    def __repr__(self) -> str:
        return f"ArtifactStore({redacted(self.url)!r})"

    # -- reading -------------------------------------------------------------------------

    def exists(self, relative: str) -> bool:
        """Whether ``relative`` is published (remote: its manifest is there)."""
        if not self.remote:
            return (self.root / relative).exists()
        with self._reaching():
            return bool(self.fs.exists(self._remote(relative, MANIFEST)))

    def local(self, relative: str) -> Path:
        """A folder on this host holding the artifact's files, whole and verified."""
        if not self.remote:
            path = self.root / relative
            if not path.exists():
                raise ArtifactMissing(f"artifact {relative} is not in {self.url}")
            return path
        for attempt in range(READ_ATTEMPTS):
            manifest = self._manifest(relative)
            try:
                return self.cache.get(
                    manifest["hash"], functools.partial(self._download, relative, manifest)
                )
            except HashMismatch:
                if attempt == READ_ATTEMPTS - 1:
                    raise ArtifactStoreUnreachable(
                        f"artifact {relative} in {redacted(self.url)} does not match its "
                        "manifest's hash (it keeps changing while it is read)"
                    ) from None
        raise AssertionError("unreachable")

    def content_hash(self, relative: str) -> str:
        """The artifact's content address, as a reader would find it."""
        if self.remote:  # the copy a reader gets is checked against this hash
            return str(self._manifest(relative)["hash"])
        return content_hash(self.local(relative))  # the files as they are now

    def lock_path(self, relative: str) -> Path:
        """A local path whose lock file (beside it) writers of ``relative`` on this host share."""
        return self.root / relative if not self.remote else self._uploads / relative

    # -- writing -------------------------------------------------------------------------

    def publish(self, relative: str, write: Callable[[Path], object], replace: bool = True) -> str:
        """Build the artifact with ``write`` (it fills the empty folder it is given) and make it
        visible under ``relative`` only once whole; returns its content hash. Without
        ``replace``, an artifact already there is kept (content-addressed names)."""
        with self._staging(relative) as staging:
            write(staging)
            return self._place(staging, relative, replace)

    def publish_by_content(self, folder: str, write: Callable[[Path], object]) -> tuple[str, str]:
        """Publish under ``folder/<hash prefix>``, keeping an identical earlier artifact;
        returns the relative name and the hash."""
        with self._staging(f"{folder}/new") as staging:
            write(staging)
            digest = content_hash(staging)
            relative = f"{folder}/{digest[:16]}"
            return relative, self._place(staging, relative, replace=False)

    @contextmanager
    def _staging(self, relative: str) -> Iterator[Path]:
        # Beside the final folder under a local root (so that it lands by a rename); in the
        # cache folder under a remote one.
        parent = self._uploads if self.remote else (self.root / relative).parent
        staging = parent / f".{Path(relative).name}.{uuid.uuid4().hex}.partial"
        staging.mkdir(parents=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _place(self, staging: Path, relative: str, replace: bool) -> str:
        digest = str(write_manifest(staging)["hash"])
        if not self.remote:
            final = self.root / relative
            if final.exists():
                if not replace:
                    return digest
                shutil.rmtree(final)  # left behind by a run whose database write failed
            try:
                staging.rename(final)
            except OSError:
                if replace or not final.is_dir():
                    raise
                # the same content-addressed artifact, published meanwhile by another run
            return digest
        with self._reaching():
            if not replace and self.fs.exists(self._remote(relative, MANIFEST)):
                return digest
            parts = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != MANIFEST)
            for part in parts:
                name = f"{digest}/{part.relative_to(staging)}"
                self.fs.put_file(str(part), self._remote(relative, name))
            self.fs.pipe_file(self._remote(relative, MANIFEST), (staging / MANIFEST).read_bytes())
        return digest

    # -- the remote side -----------------------------------------------------------------

    def _remote(self, relative: str, name: str = "") -> str:
        return "/".join(part for part in (self.base, relative.strip("/"), name) if part)

    def _manifest(self, relative: str) -> dict[str, Any]:
        path = self._remote(relative, MANIFEST)
        with self._reaching():
            try:
                raw = self.fs.cat_file(path)
            except FileNotFoundError:
                raise ArtifactMissing(
                    f"artifact {relative} is not in {redacted(self.url)}"
                ) from None
        try:
            return parse_manifest(raw, f"{redacted(self.url)}/{relative}/{MANIFEST}")
        except ValueError as exc:
            raise ArtifactStoreUnreachable(str(exc)) from None

    def _download(self, relative: str, manifest: dict[str, Any], into: Path) -> None:
        with self._reaching():
            for name in manifest["files"]:
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self.fs.get_file(
                        self._remote(relative, f"{manifest['hash']}/{name}"), str(target)
                    )
                except FileNotFoundError:  # removed since the manifest was read: read it again
                    raise HashMismatch(manifest["hash"]) from None
        (into / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Any failure to talk to the store becomes one error that names it (and no secret)."""
        try:
            yield
        except (TextloopError, FileNotFoundError):
            raise
        except Exception as exc:  # s3fs and botocore raise many types for one cause
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ArtifactStoreUnreachable(
                f"artifact store {redacted(self.url)} is unreachable: {first}"
            ) from exc


ArtifactRoot = ArtifactStore | Path | str  # what callers that only read or publish accept

_stores: dict[tuple[Any, ...], ArtifactStore] = {}
_stores_lock = threading.Lock()


def artifact_store(
    root: ArtifactStore | Path | str, settings: Settings | None = None
) -> ArtifactStore:
    """The process's store for ``root`` (one connection and cache each), configured by
    ``settings`` where the root is remote: its cache folder, bound and S3 endpoint."""
    if isinstance(root, ArtifactStore):
        return root
    if not is_url(root):
        return ArtifactStore(root)
    if settings is None:
        raise ValueError(f"a remote artifact store ({redacted(str(root))}) needs the settings")
    options: dict[str, Any] = {}
    if str(root).startswith("s3://"):
        options = {
            "config_kwargs": {
                "connect_timeout": 5,
                "read_timeout": 60,
                "retries": {"max_attempts": 2, "mode": "standard"},
            },
        }
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
    cache = settings.data_dir / "cache" / "artifacts"
    key = (str(root), str(cache), settings.artifact_cache_mb, settings.s3_endpoint_url)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = ArtifactStore(root, cache, settings.artifact_cache_mb * 1024**2, options)
        return _stores[key]


def artifacts_for(settings: Settings) -> ArtifactStore:
    """The store of ``settings.artifact_root``."""
    return artifact_store(settings.artifact_root, settings)
