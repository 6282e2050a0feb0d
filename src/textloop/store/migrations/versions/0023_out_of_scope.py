"""a classifier says whether its answers may be "out of scope" (a text that fits none of its
labels, told by the detector a training run learns beside the model), on by default; a
prediction records whether it was answered so (its ``label`` stays the nearest label)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("classifiers") as table:
        table.add_column(
            sa.Column("out_of_scope", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("predictions") as table:
        table.add_column(
            sa.Column("out_of_scope", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("predictions") as table:
        table.drop_column("out_of_scope")
    with op.batch_alter_table("classifiers") as table:
        table.drop_column("out_of_scope")
