"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from shopper.auth.models import LoginSession, Role, User
from shopper.checklists.models import ChecklistVersion
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
from shopper.org.models import Agency, Outlet, SubBranch
from shopper.periods.models import Assignment, Period
from shopper.photos.models import Photo

__all__ = [
    "Finding",
    "FindingResponse",
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
    "ChecklistVersion",
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
