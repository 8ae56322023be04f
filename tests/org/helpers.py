"""What the organisation tests compare: every org row and account, as plain tuples."""

from __future__ import annotations

from sqlalchemy import func, select

from shopper.audit.models import AuditRecord
from shopper.auth.models import LoginSession, User
from shopper.extensions import db
from shopper.org.models import Agency, Outlet, SubBranch


def text(response) -> str:
    return response.get_data(as_text=True)


def snapshot(app) -> tuple:
    """Everything a refused request must leave as it was (the audit trail's length too)."""
    with app.app_context():
        s = db.session
        return (
            tuple(
                s.execute(
                    select(SubBranch.id, SubBranch.code, SubBranch.name).order_by(SubBranch.id)
                )
            ),
            tuple(
                (
                    o.id,
                    o.code,
                    o.name,
                    o.sub_branch_id,
                    o.address,
                    o.timezone,
                    o.language,
                    o.latitude,
                    o.longitude,
                    o.feature_codes,
                )
                for o in s.scalars(select(Outlet).order_by(Outlet.id))
            ),
            tuple(s.execute(select(Agency.id, Agency.name).order_by(Agency.id))),
            tuple(
                s.execute(
                    select(
                        User.id,
                        User.username,
                        User.display_name,
                        User.role,
                        User.active,
                        User.agency_id,
                        User.outlet_id,
                        User.sub_branch_id,
                        User.password_hash,
                    ).order_by(User.id)
                )
            ),
            s.scalar(select(func.count()).select_from(LoginSession)),
            s.scalar(select(func.count()).select_from(AuditRecord)),
        )


def last_audit(app) -> AuditRecord:
    with app.app_context():
        return db.session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
