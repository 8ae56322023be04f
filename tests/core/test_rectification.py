from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopper.core.rectification import (
    CLOSED,
    TRANSITIONS,
    NotAllowed,
    is_overdue,
    next_status,
    notice_status,
)

EVENTS = sorted({e for _, e in TRANSITIONS})
STATUSES = sorted({s for s, _ in TRANSITIONS} | set(TRANSITIONS.values()))


def test_a_rejected_rectification_goes_back_to_the_outlet():
    assert next_status(next_status("open", "rectified"), "rejected") == "open"


def test_an_upheld_dispute_withdraws_the_finding():
    assert next_status(next_status("open", "disputed"), "upheld") == "withdrawn"


def test_a_closed_finding_takes_no_more_events():
    for event in EVENTS:
        for closed in CLOSED:
            with pytest.raises(NotAllowed):
                next_status(closed, event)


@given(st.lists(st.sampled_from(EVENTS), max_size=30))
def test_any_sequence_of_events_stays_within_the_known_statuses(events):
    status = "open"
    for event in events:
        try:
            status = next_status(status, event)
        except NotAllowed:
            continue
        assert status in STATUSES


def test_notice_status_follows_its_findings():
    kw = dict(acknowledged=False, superseded=False, closed=False)
    assert notice_status(["open", "open"], **kw) == "new"
    assert notice_status(["open"], **{**kw, "acknowledged": True}) == "acknowledged"
    assert notice_status(["answered", "disputed", "accepted"], **kw) == "answered"
    assert notice_status(["accepted", "withdrawn"], **kw) == "closed"
    assert notice_status(["open"], **{**kw, "superseded": True}) == "superseded"


def test_overdue_only_when_open_and_past_the_deadline():
    assert is_overdue("open", date(2026, 12, 1), date(2026, 12, 2))
    assert not is_overdue("open", date(2026, 12, 1), date(2026, 12, 1))
    assert not is_overdue("answered", date(2026, 12, 1), date(2026, 12, 9))
