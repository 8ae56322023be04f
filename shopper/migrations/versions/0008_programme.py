"""the programme: bank checkers, period states and thresholds, assignment kinds

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 02:20:00
"""

from alembic import op
import sqlalchemy as sa
import shopper.db


revision = "0008"
down_revision = "0006"  # the head when this was written
branch_labels = None
depends_on = None

OLD_ROLE_SCOPE = (
    "(role = 'inspector') = (agency_id IS NOT NULL)"
    " AND (role = 'outlet_manager') = (outlet_id IS NOT NULL)"
    " AND (role = 'sub_branch_manager') = (sub_branch_id IS NOT NULL)"
)
ROLE_SCOPE = (
    "(role = 'inspector') = (agency_id IS NOT NULL)"
    " AND (role = 'outlet_manager') = (outlet_id IS NOT NULL)"
    " AND (role <> 'sub_branch_manager' OR sub_branch_id IS NOT NULL)"
    " AND (sub_branch_id IS NULL OR role IN ('sub_branch_manager', 'bank_checker'))"
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role_scope"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_scope"), ROLE_SCOPE)

    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=300), server_default="", nullable=False)
        )

    with op.batch_alter_table("periods", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=10), server_default="planned", nullable=False)
        )
        batch_op.add_column(sa.Column("opened_at", shopper.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("opened_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", shopper.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("coverage_share", sa.Numeric(precision=4, scale=3), nullable=True)
        )
        batch_op.add_column(sa.Column("video_checks_per_outlet", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reinspection_below", sa.Numeric(precision=4, scale=1), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_periods_opened_by_id_users"), "users", ["opened_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_periods_closed_by_id_users"), "users", ["closed_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_periods_state"), "state IN ('planned', 'open', 'closed')"
        )
    # the current period is open; one with inspections that is not current is over
    op.execute("UPDATE periods SET state = 'open' WHERE is_current")
    op.execute(
        "UPDATE periods SET state = 'closed' WHERE NOT is_current"
        " AND EXISTS (SELECT 1 FROM inspections WHERE inspections.period_id = periods.id)"
    )

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="mystery", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reinspection", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint(
            op.f("uq_assignments_period_id_outlet_id_inspector_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_assignments_period_id_outlet_id_inspector_id_kind_seq"),
            ["period_id", "outlet_id", "inspector_id", "kind", "seq"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_assignments_kind"), "kind IN ('mystery', 'video')"
        )
    # an assignment already inspected by video is a video check
    op.execute(
        "UPDATE assignments SET kind = 'video' WHERE id IN"
        " (SELECT assignment_id FROM inspections WHERE mode = 'video')"
    )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_assignments_kind"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_assignments_period_id_outlet_id_inspector_id_kind_seq"), type_="unique"
        )
        batch_op.create_unique_constraint(
            op.f("uq_assignments_period_id_outlet_id_inspector_id"),
            ["period_id", "outlet_id", "inspector_id"],
        )
        batch_op.drop_column("seq")
        batch_op.drop_column("reinspection")
        batch_op.drop_column("kind")

    with op.batch_alter_table("periods", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_periods_state"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_periods_closed_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_periods_opened_by_id_users"), type_="foreignkey")
        for column in (
            "reinspection_below",
            "video_checks_per_outlet",
            "coverage_share",
            "override_reason",
            "closed_by_id",
            "closed_at",
            "opened_by_id",
            "opened_at",
            "state",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.drop_column("address")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role_scope"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_scope"), OLD_ROLE_SCOPE)
