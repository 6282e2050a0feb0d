"""The artifact store against a real S3-compatible server: an artifact is seen whole or not at
all, each host reads a verified copy through its own bounded cache, and a store that does not
answer is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import s3fs

from tests.processes import free_port
from tests.s3_server import S3Server
from textloop.artifacts import (
    MANIFEST,
    ArtifactMissing,
    ArtifactStore,
    ArtifactStoreUnreachable,
    artifacts_for,
    content_hash,
)
from textloop.artifacts.cache import ContentCache
from textloop.config import Settings

pytestmark = pytest.mark.usefixtures("s3_credentials")


def store_on(s3: S3Server, bucket: str, host: Path, cache_bytes: int = 10**9) -> ArtifactStore:
    """The store as one host sees it: the shared bucket, a cache folder of its own."""
    return ArtifactStore(
        f"s3://{bucket}/prefix", host / "cache", cache_bytes, {"endpoint_url": s3.endpoint}
    )


def write_model(folder: Path, weights: bytes = b"\x00\x01" * 1000) -> None:
    (folder / "sub").mkdir()
    (folder / "weights.bin").write_bytes(weights)
    (folder / "sub" / "labels.json").write_text('["a", "b"]')


def test_an_artifact_published_on_one_host_is_read_whole_on_another(
    s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    writer, reader = store_on(s3, bucket, tmp_path / "a"), store_on(s3, bucket, tmp_path / "b")
    digest = writer.publish("classifiers/t/models/1", write_model)
    copy = reader.local("classifiers/t/models/1")
    assert copy == tmp_path / "b" / "cache" / digest  # filed under its content hash
    assert (copy / "weights.bin").read_bytes() == b"\x00\x01" * 1000
    assert (copy / "sub" / "labels.json").read_text() == '["a", "b"]'
    assert content_hash(copy) == digest == reader.content_hash("classifiers/t/models/1")
    assert reader.exists("classifiers/t/models/1")
    assert not (tmp_path / "a" / "cache" / ".uploads").exists() or not any(
        (tmp_path / "a" / "cache" / ".uploads").iterdir()
    )  # the writer's staging folder is gone


def test_parts_without_their_manifest_are_not_an_artifact(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint)
    fs.pipe_file(f"{bucket}/prefix/models/2/weights.bin", b"half written")
    store = store_on(s3, bucket, tmp_path)
    assert not store.exists("models/2")
    with pytest.raises(ArtifactMissing, match="models/2"):
        store.local("models/2")


def test_a_part_changed_after_publishing_fails_the_hash_check_and_is_not_cached(
    s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    store = store_on(s3, bucket, tmp_path)
    digest = store.publish("models/1", write_model)
    fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint)
    fs.pipe_file(f"{bucket}/prefix/models/1/{digest}/weights.bin", b"tampered")
    with pytest.raises(ArtifactStoreUnreachable, match="does not match its manifest"):
        store.local("models/1")
    assert not (tmp_path / "cache" / digest).exists()
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")] == []


def test_content_addressed_publishing_keeps_the_first_copy(s3: S3Server, tmp_path: Path) -> None:
    store = store_on(s3, s3.bucket(), tmp_path)
    first = store.publish_by_content("candidates", write_model)
    again = store.publish_by_content("candidates", write_model)
    other = store.publish_by_content("candidates", lambda f: write_model(f, b"other"))
    assert first == again
    assert first[0] == f"candidates/{first[1][:16]}"
    assert other[1] != first[1]


def test_the_cache_stays_within_its_bound_dropping_the_least_recently_used(
    s3: S3Server, tmp_path: Path
) -> None:
    store = store_on(s3, s3.bucket(), tmp_path, cache_bytes=5_000)
    for version in (1, 2, 3):
        store.publish(f"models/{version}", lambda f, v=version: write_model(f, bytes([v]) * 2000))
    one, two = store.local("models/1"), store.local("models/2")
    store.local("models/1")  # used again: now more recent than 2
    three = store.local("models/3")
    assert one.exists() and three.exists()
    assert not two.exists()
    assert ContentCache(tmp_path / "cache", 5_000).size() <= 5_000


def test_an_unreachable_store_is_one_error_naming_it_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTLOOP_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    settings = Settings.load(tmp_path, artifact_root="s3://textloop-gone/prefix")
    store = artifacts_for(settings)  # configured as textloop configures it
    with pytest.raises(ArtifactStoreUnreachable) as caught:
        store.publish("models/1", write_model)
    message = str(caught.value)
    assert message.startswith("artifact store s3://textloop-gone/prefix is unreachable: ")
    assert "connect" in message.lower()  # the cause, not a misconfiguration of ours
    assert "textloop-test-secret" not in message
    with pytest.raises(ArtifactStoreUnreachable, match="unreachable"):
        store.local("models/1")


def test_a_local_root_publishes_by_renaming_and_reads_in_place(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    digest = store.publish("models/1", write_model)
    folder = tmp_path / "artifacts" / "models" / "1"
    assert store.local("models/1") == folder
    assert (folder / MANIFEST).is_file()
    assert store.content_hash("models/1") == digest
    (folder / "weights.bin").write_bytes(b"changed")  # a local reader sees the files as they are
    assert store.content_hash("models/1") != digest
    assert [p.name for p in (tmp_path / "artifacts" / "models").iterdir()] == ["1"]


def test_writers_racing_on_one_name_leave_a_whole_artifact(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    first, second = store_on(s3, bucket, tmp_path / "a"), store_on(s3, bucket, tmp_path / "b")
    first.publish("encoders/e", lambda f: write_model(f, b"first" * 100))
    second.publish("encoders/e", lambda f: write_model(f, b"second" * 100))
    copy = store_on(s3, bucket, tmp_path / "c").local("encoders/e")
    assert (copy / "weights.bin").read_bytes() == b"second" * 100  # the last manifest's parts


def test_a_manifest_naming_a_part_outside_its_folder_is_refused(
    s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint)
    hostile = {"hash": "0" * 64, "files": {"../../../outside": 1}}
    fs.pipe_file(f"{bucket}/prefix/models/9/{MANIFEST}", json.dumps(hostile).encode())
    with pytest.raises(ArtifactStoreUnreachable, match="not an artifact manifest"):
        store_on(s3, bucket, tmp_path).local("models/9")
    assert not (tmp_path / "outside").exists()
