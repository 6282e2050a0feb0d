"""The tables, declared in one module per area, are the schema the migrations build; a status
enum's member is stored and read back as the plain string it stands for."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from textloop.store import Store
from textloop.store.tables import Base, Job, JobStatus, ReviewStatus, ReviewTask, TaskSource

pytestmark = pytest.mark.storage


def test_the_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
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
