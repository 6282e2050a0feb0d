"""failed portal sign-ins, one row per attempt and per what it counts against (the account
tried, the address it came from), so that every server process sharing the database throttles
the same attempts (sign_in_failures)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_subject", "sign_in_failures", ["subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_subject", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
