"""stored results: outlet and item results per period, frozen rankings of closed periods

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:40:00
"""

from alembic import op
import sqlalchemy as sa
import shopper.db


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outlet_results",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("sub_branch_id", sa.Integer(), nullable=False),
        sa.Column("mystery_sum", sa.Numeric(precision=9, scale=1), nullable=False),
        sa.Column("mystery_count", sa.Integer(), nullable=False),
        sa.Column("mystery_red_line", sa.Boolean(), nullable=False),
        sa.Column("video_sum", sa.Numeric(precision=9, scale=1), nullable=False),
        sa.Column("video_count", sa.Integer(), nullable=False),
        sa.Column("video_red_line", sa.Boolean(), nullable=False),
        sa.Column("reinspection", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("band", sa.String(length=30), nullable=True),
        sa.Column("band_order", sa.Integer(), nullable=True),
        sa.Column("red_line", sa.Boolean(), nullable=False),
        sa.Column("updated_at", shopper.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_outlet_results_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_outlet_results_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["sub_branch_id"],
            ["sub_branches.id"],
            name=op.f("fk_outlet_results_sub_branch_id_sub_branches"),
        ),
        sa.PrimaryKeyConstraint("period_id", "outlet_id", name=op.f("pk_outlet_results")),
    )
    op.create_index(
        "ix_outlet_results_sub_branch_period",
        "outlet_results",
        ["sub_branch_id", "period_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outlet_results_outlet_id"), "outlet_results", ["outlet_id"], unique=False
    )
    op.create_index(
        "ix_outlet_results_rank",
        "outlet_results",
        ["period_id", "band_order", "score"],
        unique=False,
    )
    op.create_table(
        "item_results",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("sub_branch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("checklist_code", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_item_results_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["sub_branch_id"],
            ["sub_branches.id"],
            name=op.f("fk_item_results_sub_branch_id_sub_branches"),
        ),
        sa.PrimaryKeyConstraint(
            "period_id",
            "sub_branch_id",
            "kind",
            "checklist_code",
            "item_code",
            name=op.f("pk_item_results"),
        ),
    )
    op.create_table(
        "frozen_results",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("frozen_at", shopper.db.UTCDateTime(), nullable=False),
        sa.Column("video_weight", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("sub_branches", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_frozen_results_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("period_id", name=op.f("pk_frozen_results")),
    )
    op.create_table(
        "frozen_outlets",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("sub_branch_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("band", sa.String(length=30), nullable=False),
        sa.Column("band_order", sa.Integer(), nullable=False),
        sa.Column("red_line", sa.Boolean(), nullable=False),
        sa.Column("reinspection", sa.Boolean(), nullable=False),
        sa.Column("mystery_count", sa.Integer(), nullable=False),
        sa.Column("video_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_frozen_outlets_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_frozen_outlets_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["sub_branch_id"],
            ["sub_branches.id"],
            name=op.f("fk_frozen_outlets_sub_branch_id_sub_branches"),
        ),
        sa.PrimaryKeyConstraint("period_id", "outlet_id", name=op.f("pk_frozen_outlets")),
    )
    op.create_index("ix_frozen_outlets_rank", "frozen_outlets", ["period_id", "rank"], unique=False)
    op.create_index(
        "ix_inspections_period_status_mode",
        "inspections",
        ["period_id", "status", "mode"],
        unique=False,
    )
    # existing released inspections: stored once here, from then on by every release/revision
    from sqlalchemy.orm import Session

    from shopper.results.service import rebuild

    # with the default bands and weight (the configuration is not known here): after changing
    # SHOPPER_SCORE bands or SHOPPER_VIDEO_WEIGHT, `flask results rebuild` scores them again
    rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_index("ix_inspections_period_status_mode", table_name="inspections")
    op.drop_index("ix_frozen_outlets_rank", table_name="frozen_outlets")
    op.drop_table("frozen_outlets")
    op.drop_table("frozen_results")
    op.drop_table("item_results")
    op.drop_index("ix_outlet_results_rank", table_name="outlet_results")
    op.drop_index(op.f("ix_outlet_results_outlet_id"), table_name="outlet_results")
    op.drop_index("ix_outlet_results_sub_branch_period", table_name="outlet_results")
    op.drop_table("outlet_results")
