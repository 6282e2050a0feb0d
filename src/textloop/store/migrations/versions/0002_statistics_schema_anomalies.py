"""dataset statistics and anomalies, classifier schema

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("statistics", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("anomalies", sa.JSON(), nullable=True))
    with op.batch_alter_table("classifiers") as batch:
        batch.add_column(sa.Column("data_schema", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("classifiers") as batch:
        batch.drop_column("data_schema")
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("anomalies")
        batch.drop_column("statistics")
