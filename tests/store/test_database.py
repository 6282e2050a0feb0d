"""Opening a store migrates it to the latest schema, on SQLite and PostgreSQL alike."""

import threading

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from textloop.config import Settings
from textloop.store import Store, open_store
from textloop.store.database import MIGRATIONS_DIR

pytestmark = pytest.mark.storage

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


def downgrade(store: Store, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_opening_a_store_creates_every_table(settings: Settings) -> None:
    store = open_store(settings)
    assert set(inspect(store.engine).get_table_names()) >= EXPECTED_TABLES
    with store.engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert current == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    store.dispose()


def test_a_database_at_an_older_revision_is_upgraded(settings: Settings) -> None:
    store = open_store(settings)
    downgrade(store, "0001")
    assert "statistics" not in {
        c["name"] for c in inspect(store.engine).get_columns("dataset_versions")
    }
    store.dispose()
    store = open_store(settings)
    assert "statistics" in {
        c["name"] for c in inspect(store.engine).get_columns("dataset_versions")
    }
    store.dispose()


def test_opening_twice_is_harmless(settings: Settings) -> None:
    open_store(settings).dispose()
    store = open_store(settings)
    assert set(inspect(store.engine).get_table_names()) >= EXPECTED_TABLES
    store.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replicas_starting_at_once_on_a_new_database_migrate_it_once(settings: Settings) -> None:
    opened: list[Store] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(open_store(settings))
        except BaseException as exc:  # what the test is about: no replica fails to start
            failures.append(exc)

    replicas = [threading.Thread(target=start) for _ in range(4)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=120)
    assert failures == [] and len(opened) == 4
    with opened[0].engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head(),)]
    for store in opened:
        store.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    store = open_store(Settings.load(data_dir=tmp_path))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.dispose()


def test_executions_recorded_before_runs_existed_each_become_a_run(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    store = open_store(settings)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        connection.execute(
            text(
                "INSERT INTO classifiers (id, name, labels, threshold, created_at) "
                "VALUES (1, 'old', '[]', 0.5, CURRENT_TIMESTAMP)"
            )
        )
        for status in ("succeeded", "failed"):
            connection.execute(
                text(
                    "INSERT INTO executions (classifier_id, component, textloop_version, "
                    "parameters, status, started_at) VALUES "
                    "(1, 'train', '0.1', '{\"model\": \"ngram\"}', :status, CURRENT_TIMESTAMP)"
                ),
                {"status": status},
            )
    store.dispose()
    store = open_store(settings)
    with store.engine.connect() as connection:
        runs = connection.execute(
            text(
                "SELECT c.name, c.status, e.status FROM executions e "
                "JOIN contexts c ON c.id = e.context_id ORDER BY e.id"
            )
        ).all()
    assert [tuple(run) for run in runs] == [
        ("train", "succeeded", "succeeded"),
        ("train", "failed", "failed"),
    ]
    store.dispose()


def test_upgrading_a_database_in_use_keeps_its_rows(settings: Settings) -> None:
    """Rebuilding a table (SQLite's way to add a foreign key) must not delete or refuse rows
    that other tables refer to."""
    from textloop.security.api_keys import create_api_key

    store = open_store(settings)
    downgrade(store, "0012")
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO classifiers (name, threshold, labels, review_overlap,"
                                " retrain_after, deploy_mode, created_at) VALUES ('topics', 0.5,"
                                " '[]', 1, 100, 'auto', CURRENT_TIMESTAMP)"))  # fmt: skip
        connection.execute(text("INSERT INTO api_keys (name, prefix, key_hash, scopes,"
                                " created_at) VALUES ('app', 'tl_x', 'abc', '[\"feedback\"]',"
                                " CURRENT_TIMESTAMP)"))  # fmt: skip
        connection.execute(text("INSERT INTO feedback (id, classifier_id, text, api_key_id,"
                                " created_at) SELECT 'f1', c.id, 'wrong!', k.id, CURRENT_TIMESTAMP"
                                " FROM classifiers c, api_keys k"))  # fmt: skip
    store.dispose()

    store = open_store(settings)
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM api_keys")).scalar() == 1
        assert connection.execute(text("SELECT api_key_id FROM feedback")).scalar() is not None
    with store.session() as session:
        create_api_key(session, ["review"])  # the upgraded table takes new keys
    store.dispose()
