"""a classifier may name the label its data marks out-of-scope examples with (``train
--out-of-scope-label``), so that retrains answer that label "out of scope" too

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("classifiers") as table:
        table.add_column(sa.Column("out_of_scope_label", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("classifiers") as table:
        table.drop_column("out_of_scope_label")
