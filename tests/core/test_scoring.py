from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopper.config import DEFAULT_BANDS
from shopper.core.checklist import Checklist, Item, Section, Text
from shopper.core.scoring import (
    Answer,
    Result,
    band_for,
    bands_from_config,
    gaps,
    rank_key,
    score,
)

BANDS = bands_from_config(DEFAULT_BANDS)


def item(code, points, red_line=False, na_allowed=True, photo=False):
    return Item(code, Text(code), Text("g"), Decimal(points), red_line, na_allowed, photo)


def checklist(*items, sections=1):
    per = max(1, len(items) // sections)
    chunks = [items[i : i + per] for i in range(0, len(items), per)]
    return Checklist(
        "c",
        Text("c"),
        tuple(Section(f"s{n}", Text("s"), tuple(chunk)) for n, chunk in enumerate(chunks)),
    )


points = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("10"), places=1)
results = st.sampled_from(list(Result))


@st.composite
def scored_checklists(draw, min_items=1):
    n = draw(st.integers(min_value=min_items, max_value=30))
    items = [
        item(f"I-{k}", draw(points), red_line=draw(st.booleans()) and draw(st.booleans()))
        for k in range(n)
    ]
    c = checklist(*items, sections=draw(st.integers(1, 4)))
    answers = {("c", i.code): Answer(draw(results), "note") for i in items}
    return c, answers


@given(scored_checklists())
def test_score_is_between_0_and_100(data):
    c, answers = data
    card = score([c], answers, BANDS)
    assert card.score is None or Decimal(0) <= card.score <= Decimal(100)
    assert card.earned <= card.applicable


@given(st.lists(points, min_size=1, max_size=40))
def test_all_pass_scores_100(point_list):
    c = checklist(*[item(f"I-{k}", p) for k, p in enumerate(point_list)])
    card = score([c], {("c", i.code): Answer(Result.PASS) for i in c.items}, BANDS)
    assert card.score == Decimal(100)
    assert card.band.code == "excellent"


@given(scored_checklists(), points)
def test_adding_an_na_item_changes_nothing(data, extra_points):
    c, answers = data
    before = score([c], answers, BANDS)
    extra = item("EXTRA-1", extra_points)
    bigger = Checklist(
        c.code,
        c.title,
        c.sections[:-1]
        + (Section(c.sections[-1].code, c.sections[-1].title, c.sections[-1].items + (extra,)),),
    )
    after = score([bigger], {**answers, ("c", "EXTRA-1"): Answer(Result.NA)}, BANDS)
    assert (after.score, after.band, after.earned, after.applicable) == (
        before.score,
        before.band,
        before.earned,
        before.applicable,
    )


@settings(max_examples=200)
@given(scored_checklists(), st.integers(min_value=0, max_value=29))
def test_a_failed_red_line_always_fails(data, which):
    c, answers = data
    target = c.items[which % len(c.items)]
    red = Item(
        target.code, target.text, target.guidance, target.points, True, target.na_allowed, False
    )
    sections = tuple(
        Section(s.code, s.title, tuple(red if i.code == target.code else i for i in s.items))
        for s in c.sections
    )
    c2 = Checklist(c.code, c.title, sections)
    answers = {**answers, ("c", target.code): Answer(Result.FAIL, "why")}
    card = score([c2], answers, BANDS)
    assert not card.passed
    assert ("c", target.code) in card.red_line_failures


def test_score_is_earned_over_applicable_with_one_decimal():
    c = checklist(item("A-1", 2), item("A-2", 1), item("A-3", 3))
    answers = {
        ("c", "A-1"): Answer(Result.PASS),
        ("c", "A-2"): Answer(Result.FAIL, "x"),
        ("c", "A-3"): Answer(Result.NA),
    }
    card = score([c], answers, BANDS)
    assert card.score == Decimal("66.7")
    assert (card.earned, card.applicable) == (2, 3)
    assert card.band.code == "severe_fail"


def test_bands_follow_configured_thresholds():
    c = checklist(*[item(f"A-{k}", 1) for k in range(20)])

    def band_with_fails(n):
        return score(
            [c],
            {
                ("c", i.code): Answer(Result.FAIL if k < n else Result.PASS, "x")
                for k, i in enumerate(c.items)
            },
            BANDS,
        ).band.code

    assert [band_with_fails(n) for n in (0, 2, 3, 4, 5)] == [
        "excellent",
        "excellent",
        "pass",
        "fail",
        "severe_fail",
    ]
    strict = bands_from_config([("top", 95, True), ("rest", 0, False)])
    assert (
        score(
            [c],
            {
                ("c", i.code): Answer(Result.FAIL if k < 1 else Result.PASS, "x")
                for k, i in enumerate(c.items)
            },
            strict,
        ).band.code
        == "top"
    )


def test_a_failed_red_line_forces_the_lowest_band_by_default_and_keeps_the_score():
    c = checklist(*[item(f"A-{k}", 1) for k in range(49)], item("R-1", 1, red_line=True))
    answers = {("c", i.code): Answer(Result.PASS) for i in c.items}
    answers[("c", "R-1")] = Answer(Result.FAIL, "cash left out")
    card = score([c], answers, BANDS)
    assert card.score == Decimal("98.0")
    assert card.band.code == "severe_fail" and not card.passed
    configured = bands_from_config(DEFAULT_BANDS, red_line_band="fail")
    assert score([c], answers, configured).band.code == "fail"


def test_the_red_line_band_must_be_a_failing_band():
    with pytest.raises(ValueError):
        bands_from_config(DEFAULT_BANDS, red_line_band="pass")
    with pytest.raises(ValueError):
        bands_from_config(DEFAULT_BANDS, red_line_band="no_such_band")


@settings(max_examples=200)
@given(
    st.decimals(min_value=0, max_value=100, places=1),
    st.decimals(min_value=0, max_value=100, places=1),
    st.sampled_from([None, "fail", "severe_fail"]),
)
def test_ranking_by_band_puts_every_red_line_failure_below_every_clean_pass(a, b, target):
    bands = bands_from_config(DEFAULT_BANDS, red_line_band=target)
    red = band_for(a, bands, red_line_failed=True)
    clean = band_for(b, bands, red_line_failed=False)
    if clean.passing:
        assert rank_key(clean.code, b, bands) < rank_key(red.code, a, bands)
    # a red line never lifts an inspection into a better band than its score gives
    assert red.minimum <= band_for(a, bands, red_line_failed=False).minimum


def test_a_95_with_a_failed_red_line_ranks_below_a_clean_86():
    red = rank_key("severe_fail", Decimal("95"), BANDS)
    assert rank_key("pass", Decimal("86"), BANDS) < red
    assert rank_key("excellent", Decimal("91"), BANDS) < rank_key("excellent", Decimal("90"), BANDS)
    assert rank_key(None, None, BANDS) > red


def test_section_subtotals_add_up():
    c = checklist(item("A-1", 2), item("A-2", 2), item("B-1", 1), item("B-2", 5), sections=2)
    answers = {
        ("c", i.code): Answer(Result.PASS if i.code != "B-2" else Result.FAIL, "x") for i in c.items
    }
    card = score([c], answers, BANDS)
    assert [(s.section, s.earned, s.applicable, s.score) for s in card.sections] == [
        ("s0", 4, 4, Decimal("100.0")),
        ("s1", 1, 6, Decimal("16.7")),
    ]


def test_gaps_list_unanswered_missing_notes_and_photos():
    c = checklist(
        item("A-1", 1), item("A-2", 1, photo=True), item("A-3", 1, na_allowed=False), item("A-4", 1)
    )
    answers = {
        ("c", "A-2"): Answer(Result.FAIL, "", photos=0),
        ("c", "A-3"): Answer(Result.NA),
        ("c", "A-4"): Answer(Result.FAIL, "ok", photos=0),
    }
    assert [(g.item, g.reason) for g in gaps([c], answers)] == [
        ("A-1", "unanswered"),
        ("A-2", "note_required"),
        ("A-2", "photo_required"),
        ("A-3", "na_not_allowed"),
    ]
