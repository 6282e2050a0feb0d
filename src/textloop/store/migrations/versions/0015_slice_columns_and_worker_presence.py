"""the extra columns every training of a classifier reports test metrics by (slice columns);
model versions name the family that learned (``ngram``, ``ensemble``), not the ``calibrated``
wrapper around it; workers announce themselves while running, even idle (worker_presence)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("classifiers") as batch:
        batch.add_column(sa.Column("slice_columns", sa.JSON(), nullable=True))
    op.create_table(
        "worker_presence",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    models = sa.table(
        "model_versions",
        sa.column("id", sa.Integer()),
        sa.column("family", sa.String()),
        sa.column("params", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(models.c.id, models.c.params).where(models.c.family == "calibrated")
    ).all()
    for row_id, params in rows:
        inner = (params or {}).get("inner")
        if inner:
            connection.execute(
                models.update().where(models.c.id == row_id).values(family=str(inner))
            )


def downgrade() -> None:  # the family names stay: "calibrated" said nothing of the model
    op.drop_table("worker_presence")
    with op.batch_alter_table("classifiers") as batch:
        batch.drop_column("slice_columns")
