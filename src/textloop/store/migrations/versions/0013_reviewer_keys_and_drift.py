"""reviewers' own API keys, the model family retrains use, drift settings and reports, and
shadow predictions; at most one running job per classifier and kind

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_api_keys_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("classifiers") as batch:
        batch.add_column(sa.Column("retrain_model", sa.String(length=50), nullable=True))
        batch.add_column(
            sa.Column("drift_window", sa.Integer(), server_default="500", nullable=False)
        )
        batch.add_column(sa.Column("drift_thresholds", sa.JSON(), nullable=True))
    op.create_table(
        "drift_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("classifier_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("window_size", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("breached", sa.JSON(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["classifier_id"], ["classifiers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drift_reports_classifier", "drift_reports", ["classifier_id", "id"])
    # Before this revision a queued job could start beside a stale running one of the same
    # classifier and kind; queue all but the newest again so the unique index can be built.
    op.execute(
        "UPDATE jobs SET status = 'queued', worker = NULL WHERE status = 'running' "
        "AND classifier_id IS NOT NULL AND id NOT IN (SELECT max(id) FROM jobs "
        "WHERE status = 'running' AND classifier_id IS NOT NULL GROUP BY classifier_id, kind)"
    )
    op.create_index(
        "ux_jobs_one_running",
        "jobs",
        ["classifier_id", "kind"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "shadow_predictions",
        sa.Column("prediction_id", sa.String(length=32), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("prediction_id", "model_version_id"),
    )
    op.create_index(
        "ix_shadow_predictions_model", "shadow_predictions", ["model_version_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ux_jobs_one_running", table_name="jobs")
    op.drop_index("ix_shadow_predictions_model", table_name="shadow_predictions")
    op.drop_table("shadow_predictions")
    op.drop_index("ix_drift_reports_classifier", table_name="drift_reports")
    op.drop_table("drift_reports")
    with op.batch_alter_table("classifiers") as batch:
        batch.drop_column("drift_thresholds")
        batch.drop_column("drift_window")
        batch.drop_column("retrain_model")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
