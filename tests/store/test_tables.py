"""The tables, declared in one module per area, are the schema the migrations build; a status
enum's member is stored and read back as the plain string it stands for.

One difference is the schema's own, on SQLite alone: a label column declared TEXT is left
VARCHAR(200) there by migration 0022, since SQLite enforces no length (both hold text of any
length) and changing it would rebuild the largest tables for nothing."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, Text, select, text

from textloop.store import Store
from textloop.store.tables import Base, Job, JobStatus, ReviewStatus, ReviewTask, TaskSource

pytestmark = pytest.mark.storage


def same_text_on_sqlite(
    context: MigrationContext,
    inspected_column: object,
    metadata_column: object,
    inspected_type: object,
    metadata_type: object,
) -> bool | None:
    """No difference for a TEXT column SQLite holds as VARCHAR(200); else alembic's own
    comparison (None)."""
    left_by_0022 = isinstance(inspected_type, String) and inspected_type.length == 200
    if context.dialect.name == "sqlite" and isinstance(metadata_type, Text) and left_by_0022:
        return False
    return None


def test_the_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": same_text_on_sqlite})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_a_status_is_stored_as_its_string_and_found_by_either(store: Store) -> None:
    with store.session() as session:
        session.add(Job(kind="retrain", classifier_id=None))
        session.flush()
        stored = session.execute(text("SELECT status FROM jobs")).scalar_one()
        assert stored == "queued" and type(stored) is str
        assert session.scalar(select(Job.id).where(Job.status == JobStatus.QUEUED)) is not None
        assert session.scalar(select(Job.id).where(Job.status == "queued")) is not None


def test_a_member_equals_its_string_and_prints_as_it() -> None:
    assert ReviewStatus.OPEN == "open" and f"{TaskSource.IMPLICIT}" == "implicit"
    assert ReviewTask.__table__.c.status.default.arg == "open"
