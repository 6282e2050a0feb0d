"""Fixtures: a fresh database per test, and a small labelled corpus.

A test gets SQLite, the embedded default, and keeps its artifacts in a local folder; with
``--artifact-root s3`` every test keeps them under a prefix of its own on a real S3-compatible
server instead (``artifact_root``), its subprocesses too. A test of behaviour that storage
decides (locks, concurrent claims, types and text a database keeps, what survives a killed
process) is marked ``storage`` and runs on SQLite and on PostgreSQL. PostgreSQL is expected at
127.0.0.1:5432 (user postgres, trust auth, database ``test``); every such test gets its own
database created from it.
When it is unreachable the PostgreSQL cases skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from tests.corpus import write_corpus
from tests.s3_server import CREDENTIALS, S3Server, s3_server
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.store import Store, open_store

# Every test trains on the same encoder export, made once per checkout inside it (as training
# would make it in any data directory): exporting costs a quarter of a minute.
ENCODER_EXPORTS = Path(__file__).resolve().parent.parent / ".encoders"
os.environ.setdefault("TEXTLOOP_ENCODER_DIR", str(ENCODER_EXPORTS))
# Models trained by tests learn no out-of-scope detector unless a test asks for one: the tiny
# corpus's texts are alike, so the few a test classifies would be sent aside, and the tests of
# everything else are about their labels. ``tests/*/test_out_of_scope*.py`` turn it on.
os.environ.setdefault("TEXTLOOP_OUT_OF_SCOPE_RECALL", "0")

POSTGRES_ADMIN_URL = os.environ.get(
    "TEXTLOOP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    problem = _postgres_reachable()
    if problem is None:
        return True
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable under CI: {problem}")
    return False


def fresh_database_url(backend: str, tmp_path: Path, postgres_available: bool) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'textloop.db'}"
        return
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = f"textloop_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a database runs on SQLite; one marked ``storage`` on both; one
    that names its databases (``parametrize("database_url", ...)``) on those."""
    named = any(
        mark.args and mark.args[0] == "database_url"
        for mark in metafunc.definition.iter_markers("parametrize")
    )
    if "database_url" in metafunc.fixturenames and not named:
        storage = metafunc.definition.get_closest_marker("storage") is not None
        metafunc.parametrize("database_url", BACKENDS if storage else ["sqlite"], indirect=True)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> Iterator[str]:
    yield from fresh_database_url(request.param, tmp_path, postgres_available)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.load(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = open_store(settings)
    yield store
    store.dispose()


@pytest.fixture
def corpus_csv(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus.csv")


@pytest.fixture
def classifier_id(store: Store, settings: Settings, corpus_csv: Path) -> int:
    """Classifier ``topics``, its corpus ingested; returns its id."""
    from textloop.data.readers import read_labelled_file
    from textloop.pipeline.ingestion import ingest_batch
    from textloop.store.queries import get_classifier

    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    with store.session() as session:
        return get_classifier(session, "topics").id


@pytest.fixture
def both_modes(store: Store, settings: Settings, corpus_csv: Path, templates: Templates) -> Store:
    """Classifiers ``tags`` (multi-label) and ``topics`` (single-label), each with an n-gram
    model deployed (``tests.multi_label``)."""
    from tests.multi_label import deploy_both

    templates.apply(store, settings, corpus_csv, deploy_both)
    return store


Build = Callable[[Store, Settings, Path], object]


class Templates:
    """Stores that many tests start from (a trained, deployed classifier), built once per test
    process and copied into each test's own fresh SQLite store and data folder.

    A copy holds the same rows and files the build would have written, in milliseconds instead
    of a training run; each test still writes only to its own copy. On PostgreSQL, where the
    storage is what the test is about, the build runs in the test's own database as before.
    """

    def __init__(self, root: Path, bucket: str | None = None) -> None:
        self.root = root
        self.bucket = bucket  # artifacts on S3: each template's under a prefix of its own

    def apply(self, store: Store, settings: Settings, corpus_csv: Path, build: Build) -> None:
        if store.engine.dialect.name != "sqlite":
            build(store, settings, corpus_csv)
            return
        template = self.root / f"{build.__module__}.{build.__qualname__}"
        if not template.exists():
            self._make(template, build, self._artifacts(template))
        shutil.copytree(template / "data", settings.data_dir, dirs_exist_ok=True)
        if self.bucket is not None:
            files = artifacts_for(settings).fs
            source = str(self._artifacts(template)).removeprefix("s3://")
            files.copy(source, str(settings.artifact_root).removeprefix("s3://"), recursive=True)
        store.engine.dispose()
        with (
            closing(sqlite3.connect(template / "db")) as source,
            closing(sqlite3.connect(str(store.engine.url.database))) as copy,
        ):
            source.backup(copy)

    def _artifacts(self, template: Path) -> str | None:
        return None if self.bucket is None else f"{self.bucket}/templates/{template.name}"

    @staticmethod
    def _make(template: Path, build: Build, artifact_root: str | None) -> None:
        building = template.with_name(template.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        settings = Settings.load(
            data_dir=building / "data",
            database_url=f"sqlite:///{building / 'db'}",
            artifact_root=artifact_root,
        )
        store = open_store(settings)
        try:
            build(store, settings, write_corpus(building / "corpus.csv"))
        finally:
            store.dispose()
        building.rename(template)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, artifact_bucket: str | None) -> Templates:
    return Templates(tmp_path_factory.mktemp("templates"), artifact_bucket)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--artifact-root",
        choices=("local", "s3"),
        default="local",
        help="where tests keep artifacts: a local folder (default), or a prefix of their own "
        "on an S3-compatible server the session starts",
    )


@pytest.fixture(scope="session")
def artifact_bucket(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``s3://bucket`` under ``--artifact-root s3``, with the server's address and credentials
    in the environment for the whole session; None otherwise."""
    if request.config.getoption("--artifact-root") != "s3":
        yield None
        return
    server: S3Server = request.getfixturevalue("s3")
    saved = dict(os.environ)
    os.environ.update(server.environment())
    try:
        yield f"s3://{server.bucket()}"
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def artifact_root(artifact_bucket: str | None, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Under ``--artifact-root s3``, this test's own prefix, in ``TEXTLOOP_ARTIFACT_ROOT``
    (so settings and the processes the test starts use it)."""
    if artifact_bucket is None:
        return None
    root = f"{artifact_bucket}/{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("TEXTLOOP_ARTIFACT_ROOT", root)
    return root


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-compatible server on a loopback port, for the whole session."""
    with s3_server(tmp_path_factory.mktemp("s3") / "server.log") as server:
        yield server


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's credentials in this process's environment (botocore asks for some)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
