"""Opens the database named by the settings and brings its schema to the latest migration.

SQLite gets WAL journaling, ``synchronous=FULL`` (an acknowledged write survives a power cut) and
a busy timeout so a server and a CLI command can share one file; PostgreSQL needs nothing special.

A unit of work is one ``Store.session()`` scope: it commits when the block ends and rolls back if
it raises, so code inside never commits by hand. The rare step that must be committed before its
scope ends calls ``commit_early`` and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from textloop.config import Settings
from textloop.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_386_011  # the PostgreSQL advisory lock migrations hold ("textloop", in short)


class Store:
    """An engine plus a session factory; ``session()`` is one unit of work that commits on exit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def commit_early(session: Session) -> None:
    """Commit the work so far in the middle of a session scope; the scope goes on in a new
    transaction and still commits (or rolls back) the rest on exit.

    For a write other processes must see before this scope ends (sign-in attempts are counted
    only once committed), or one that must outlive an error the scope is about to raise and roll
    back (a refused attempt removes its own rows). Anything else waits for the scope.
    """
    session.commit()


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    settings.ensure_dirs()
    engine = create_database_engine(settings.database_url)
    if migrate:
        upgrade_to_head(engine)
    return Store(engine)


def create_database_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN; take control and begin IMMEDIATE:
        # a deferred transaction that reads and then writes fails with "database is locked"
        # (no busy wait) when another writer committed in between, which two reviewers
        # claiming tasks at once would hit. Transactions are short, so queueing them is cheap.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def head_revision() -> str:
    """The schema revision this code migrates to (the newest migration's)."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def upgrade_to_head(engine: Engine) -> None:
    """Migrate in one transaction (``_migrate``)."""
    _migrate(engine, lambda config: command.upgrade(config, "head"))


def downgrade_to(engine: Engine, revision: str) -> None:
    """Migrate down to ``revision`` the same way: on SQLite a downgrade that rebuilds a table
    would otherwise take every row referring to it along."""
    _migrate(engine, lambda config: command.downgrade(config, revision))


def _migrate(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run ``step`` in one transaction. On SQLite, foreign keys are off meanwhile: a migration
    that SQLite can only do by rebuilding a table drops the old one, and with enforcement on that
    drop deletes (cascade) or refuses (restrict) every row referring to it. The references are
    checked before the transaction commits instead."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:  # outside any transaction, where the pragma takes effect
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Replicas of a new release may start at once: one migrates, the others
                    # wait here, then find the schema at head and change nothing.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                config.attributes["connection"] = connection
                step(config)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise ConfigError(f"migrating left broken references: {broken[:5]}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
