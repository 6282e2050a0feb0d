"""a cron schedule per classifier for retraining

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("classifiers") as batch:
        batch.add_column(sa.Column("retrain_schedule", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("schedule_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("classifiers") as batch:
        batch.drop_column("schedule_checked_at")
        batch.drop_column("retrain_schedule")
