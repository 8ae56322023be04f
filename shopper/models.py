"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from shopper.api.tokens import ApiToken
from shopper.audit.models import AuditHead, AuditRecord
from shopper.auth.models import LoginSession, Role, User
from shopper.checklists.models import ChecklistDraft, ChecklistVersion
from shopper.db import Base
from shopper.inspections.models import (
    Answer,
    AnswerConflict,
    ClientWrite,
    Inspection,
    InspectionChecklist,
    SectionScore,
    Submission,
)
from shopper.notices.models import (
    Finding,
    FindingResponse,
    Notice,
    NoticeCounter,
    NoticeEvent,
    ResponseComment,
    ResponsePhoto,
    ScoreRevision,
)
from shopper.org.models import Agency, Feature, Outlet, SubBranch
from shopper.periods.models import Assignment, Period, PeriodChecklist
from shopper.photos.models import Photo
from shopper.results.models import FrozenOutlet, FrozenResult, ItemResult, OutletResult

__all__ = [
    "ApiToken",
    "AuditHead",
    "AuditRecord",
    "Finding",
    "FindingResponse",
    "FrozenOutlet",
    "FrozenResult",
    "ItemResult",
    "OutletResult",
    "Notice",
    "NoticeCounter",
    "NoticeEvent",
    "ResponseComment",
    "ResponsePhoto",
    "ScoreRevision",
    "Submission",
    "Agency",
    "Answer",
    "AnswerConflict",
    "Assignment",
    "Base",
    "ChecklistDraft",
    "ChecklistVersion",
    "Feature",
    "PeriodChecklist",
    "ClientWrite",
    "Inspection",
    "InspectionChecklist",
    "LoginSession",
    "Outlet",
    "Period",
    "Photo",
    "Role",
    "SectionScore",
    "SubBranch",
    "User",
]
