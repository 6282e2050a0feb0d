"""a reviewer may decide that none of the labels fits (a decision with no label: a skip keeps
its empty one); a classifier has guidelines for its reviewers; an admin may say why they settled
a conflict as they did

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

decisions = sa.table("review_decisions", sa.column("label", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as table:
        table.alter_column("label", existing_type=sa.String(200), nullable=True)
    with op.batch_alter_table("classifiers") as table:
        table.add_column(sa.Column("guidelines", sa.Text(), nullable=True))
    with op.batch_alter_table("review_tasks") as table:
        table.add_column(sa.Column("settle_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_tasks") as table:
        table.drop_column("settle_comment")
    with op.batch_alter_table("classifiers") as table:
        table.drop_column("guidelines")
    # a "none of these" has no label to go back to: it becomes a skip
    op.execute(decisions.update().where(decisions.c.label.is_(None)).values(label=""))
    with op.batch_alter_table("review_decisions") as table:
        table.alter_column("label", existing_type=sa.String(200), nullable=False)
