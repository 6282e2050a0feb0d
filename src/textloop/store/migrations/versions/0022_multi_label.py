"""a classifier is single-label or multi-label, fixed when it is created; every column that
holds a label (an example's, a prediction's and its shadow's, feedback's, a review task's
suggested, reported and final label, a reviewer's decision) holds a label set when it is
multi-label (its names joined by a separator), so it is text of any length instead of at most
200 characters; on SQLite, which enforces no length, those columns are left as they are (a
VARCHAR(200) there holds a set of any length already, and changing its type would rebuild six
of the largest tables for nothing)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

classifiers = sa.table(
    "classifiers", sa.column("name", sa.String()), sa.column("mode", sa.String())
)
LABEL_COLUMNS = {  # table: its columns that hold a label
    "examples": ("label",),
    "predictions": ("label",),
    "shadow_predictions": ("label",),
    "feedback": ("label",),
    "review_tasks": ("suggested_label", "reported_label", "final_label"),
    "review_decisions": ("label",),
}


def upgrade() -> None:
    with op.batch_alter_table("classifiers") as table:
        table.add_column(
            sa.Column("mode", sa.String(20), nullable=False, server_default="single-label")
        )
    if _sqlite():
        return
    for name, columns in LABEL_COLUMNS.items():
        with op.batch_alter_table(name) as table:
            for column in columns:
                table.alter_column(column, existing_type=sa.String(200), type_=sa.Text())


def downgrade() -> None:
    # the schema before this one has no way to say that a classifier's labels are sets: going
    # back would leave their examples read as single labels named "a\x1fb"
    multi = op.get_bind().scalars(
        sa.select(classifiers.c.name).where(classifiers.c.mode == "multi-label")
    )
    names = ", ".join(sorted(multi))
    if names:
        raise RuntimeError(f"multi-label classifiers exist ({names}); delete them to downgrade")
    if not _sqlite():  # (on SQLite they were left as they were on the way up)
        for name, columns in reversed(LABEL_COLUMNS.items()):
            with op.batch_alter_table(name) as table:
                for column in columns:
                    table.alter_column(column, existing_type=sa.Text(), type_=sa.String(200))
    with op.batch_alter_table("classifiers") as table:
        table.drop_column("mode")


def _sqlite() -> bool:
    """SQLite stores text of any length in a VARCHAR(200): the label columns keep their type."""
    return op.get_bind().dialect.name == "sqlite"
