"""Opening a store migrates it to the latest schema, on SQLite and PostgreSQL alike."""

from sqlalchemy import inspect, text

from textloop.config import Settings
from textloop.store import open_store

EXPECTED_TABLES = {
    "classifiers",
    "dataset_versions",
    "examples",
    "model_versions",
    "model_aliases",
    "predictions",
    "feedback",
    "review_tasks",
    "api_keys",
}


def test_opening_a_store_creates_every_table(settings: Settings) -> None:
    store = open_store(settings)
    assert set(inspect(store.engine).get_table_names()) >= EXPECTED_TABLES
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    store.dispose()


def test_opening_twice_is_harmless(settings: Settings) -> None:
    open_store(settings).dispose()
    store = open_store(settings)
    assert set(inspect(store.engine).get_table_names()) >= EXPECTED_TABLES
    store.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    store = open_store(Settings.load(data_dir=tmp_path))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.dispose()
