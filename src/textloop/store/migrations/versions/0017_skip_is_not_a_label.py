"""a skipped review is stored with an empty label, so that a classifier may have a label named
``skip``: every decision stored as ``skip`` so far was a skip (a real ``skip`` label could not be
chosen), so each becomes one

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

decisions = sa.table("review_decisions", sa.column("label", sa.String()))


def upgrade() -> None:
    op.execute(decisions.update().where(decisions.c.label == "skip").values(label=""))


def downgrade() -> None:
    op.execute(decisions.update().where(decisions.c.label == "").values(label="skip"))
