"""The rectification state machine (pure): a finding from open to closed, and a notice's
status from its findings. Written as a table so another kind of case can reuse it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

# (finding status, what happens) → the finding's new status
TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "rectified"): "answered",
    ("open", "disputed"): "disputed",
    ("answered", "accepted"): "accepted",
    ("answered", "rejected"): "open",
    ("disputed", "upheld"): "withdrawn",
    ("disputed", "dismissed"): "open",
}
CLOSED = frozenset({"accepted", "withdrawn"})
WAITING_FOR_DECISION = frozenset({"answered", "disputed"})
# which decisions fit which answer
DECISIONS = {"rectified": ("accepted", "rejected"), "disputed": ("upheld", "dismissed")}
# a decision that sends the finding back to the outlet must say why
NEEDS_REASON = frozenset({"rejected", "dismissed", "upheld"})


class NotAllowed(ValueError):
    """The event does not fit the finding's current status."""


def next_status(status: str, event: str) -> str:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise NotAllowed(f"{event} is not possible for a finding that is {status}") from None


def notice_status(
    findings: Iterable[str], *, acknowledged: bool, superseded: bool, closed: bool
) -> str:
    """new | acknowledged | answered | closed | superseded, from the findings' statuses."""
    statuses = list(findings)
    if superseded:
        return "superseded"
    if closed or (statuses and all(s in CLOSED for s in statuses)):
        return "closed"
    open_ = [s for s in statuses if s not in CLOSED]
    if open_ and all(s in WAITING_FOR_DECISION for s in open_):
        return "answered"
    return "acknowledged" if acknowledged else "new"


def is_overdue(status: str, deadline: date | None, today: date) -> bool:
    """An open finding past its deadline (one waiting for head office is the office's turn)."""
    return status == "open" and deadline is not None and today > deadline
