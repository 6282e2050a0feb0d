"""every prediction records the alias that chose its model version (production or staging);
those stored before were all answered by production

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as table:
        table.add_column(sa.Column("alias", sa.String(32), nullable=True))
    predictions = sa.table("predictions", sa.column("alias", sa.String()))
    op.execute(predictions.update().values(alias="production"))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as table:
        table.drop_column("alias")
