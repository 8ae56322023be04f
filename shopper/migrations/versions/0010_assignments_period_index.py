"""drop ix_assignments_period_id: the unique constraint's index begins with period_id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:20:00
"""

from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every lookup by period uses uq_assignments_period_id_outlet_id_inspector_id_kind_seq;
    # the second index only cost each planned assignment one more index write
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_period_id"))


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_period_id"), ["period_id"], unique=False)
