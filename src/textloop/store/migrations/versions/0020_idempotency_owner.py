"""an idempotency claim carries its holder's token, so that only the request holding it may
finish or release it (rows made before have none: they hold answers, or claims that are taken
over once abandoned)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotent_requests") as table:
        table.add_column(sa.Column("owner", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotent_requests") as table:
        table.drop_column("owner")
