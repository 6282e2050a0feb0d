"""contexts: pipeline runs that group executions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("classifier_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["classifier_id"], ["classifiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contexts_classifier_id", "contexts", ["classifier_id"])
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("context_id", sa.Integer(), nullable=True))
        batch.create_index("ix_executions_context_id", ["context_id"])
        batch.create_foreign_key(
            "fk_executions_context_id", "contexts", ["context_id"], ["id"], ondelete="CASCADE"
        )
    _give_earlier_executions_a_run()


def _give_earlier_executions_a_run() -> None:
    """Each execution recorded before runs existed (ingest, train, deploy) becomes its own run."""
    executions = sa.table(
        "executions",
        sa.column("id", sa.Integer()),
        sa.column("classifier_id", sa.Integer()),
        sa.column("component", sa.String()),
        sa.column("parameters", sa.JSON()),
        sa.column("status", sa.String()),
        sa.column("error", sa.Text()),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
        sa.column("context_id", sa.Integer()),
    )
    contexts = sa.Table(
        "contexts",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("classifier_id", sa.Integer()),
        sa.Column("type", sa.String()),
        sa.Column("name", sa.String()),
        sa.Column("parameters", sa.JSON()),
        sa.Column("status", sa.String()),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    earlier = bind.execute(
        sa.select(executions).where(executions.c.context_id.is_(None)).order_by(executions.c.id)
    ).all()
    for row in earlier:
        created = bind.execute(  # one row, so one primary key
            contexts.insert().values(
                classifier_id=row.classifier_id,
                type="pipeline_run",
                name=row.component,
                parameters=row.parameters,
                status="failed" if row.status == "failed" else "succeeded",
                error=row.error,
                started_at=row.started_at,
                ended_at=row.ended_at,
            )
        )
        bind.execute(
            executions.update()
            .where(executions.c.id == row.id)
            .values(context_id=created.inserted_primary_key[0])  # type: ignore[index]
        )


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_constraint("fk_executions_context_id", type_="foreignkey")
        batch.drop_index("ix_executions_context_id")
        batch.drop_column("context_id")
    op.drop_index("ix_contexts_classifier_id", table_name="contexts")
    op.drop_table("contexts")
