"""Rankings: competition ranks by band then score, sub-branch means, bottom three,
recognitions, deductions, re-inspection change and weak indicators."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shopper.config import DEFAULT_BANDS
from shopper.core import ranking
from shopper.core.ranking import ItemCount, OutletFigures, Ranked, Scored
from shopper.core.scoring import band_for, bands_from_config, rank_key

BANDS = bands_from_config(DEFAULT_BANDS)
D = Decimal


def scored(key, score, red_line=False):
    value = D(str(score))
    return Scored(key, value, band_for(value, BANDS, red_line).code)


def test_ties_share_a_rank_and_the_next_rank_skips():
    entries = [scored("a", 95), scored("b", 90), scored("c", 90), scored("d", 88)]
    assert [(r.key, r.rank) for r in ranking.rank(entries, BANDS)] == [
        ("a", 1),
        ("b", 2),
        ("c", 2),
        ("d", 4),
    ]


def test_a_failed_red_line_never_ranks_above_a_clean_pass():
    entries = [scored("red", 99, red_line=True), scored("clean", 85.0), scored("low", 79)]
    ranked = ranking.rank(entries, BANDS)
    assert [r.key for r in ranked] == ["clean", "red", "low"]
    assert ranked[1].band == "severe_fail"


def test_unscored_entries_are_not_ranked():
    assert ranking.rank([Scored("x", None, None), scored("y", 80)], BANDS)[0].key == "y"
    assert len(ranking.rank([Scored("x", None, None)], BANDS)) == 0


scores = st.decimals(min_value=0, max_value=100, places=1)


@given(st.lists(st.tuples(scores, st.booleans()), max_size=40))
def test_ranks_follow_rank_key_and_ties_share(rows):
    entries = [scored(n, s, red) for n, (s, red) in enumerate(rows)]
    ranked = ranking.rank(entries, BANDS)
    assert len(ranked) == len(entries)
    keys = [rank_key(r.band, r.score, BANDS) for r in ranked]
    assert keys == sorted(keys)
    for n, r in enumerate(ranked):
        # competition rank: one more than the number strictly better
        assert r.rank == 1 + sum(1 for k in keys if k < keys[n])
    # a red-line failure is never above a clean pass
    for better, worse in zip(ranked, ranked[1:], strict=False):
        assert not (better.band == "severe_fail" and worse.band in ("excellent", "pass"))


def figures(outlet, sb, mystery=(), video=(), red=False, video_red=False, re=False):
    return OutletFigures(
        outlet,
        sb,
        sum((D(str(m)) for m in mystery), D(0)),
        len(mystery),
        red,
        sum((D(str(v)) for v in video), D(0)),
        len(video),
        video_red,
        re,
    )


def test_outlet_score_is_the_mystery_mean_when_video_weight_is_zero():
    s = ranking.outlet_score(figures(1, 1, [90, 85], [50, 50]), BANDS)
    assert s.score == D("87.5") and s.band == "pass"


def test_video_checks_weigh_in_by_the_configured_weight():
    s = ranking.outlet_score(figures(1, 1, [90], [70, 80]), BANDS, D("0.2"))
    assert s.score == D("87.0")  # 0.8 * 90 + 0.2 * 75


def test_an_outlet_with_only_video_checks_is_not_ranked():
    s = ranking.outlet_score(figures(1, 1, [], [95]), BANDS, D("0.5"))
    assert s.score is None and s.band is None


def test_a_video_red_line_counts_only_when_videos_count():
    f = figures(1, 1, [95], [95], video_red=True)
    assert ranking.outlet_score(f, BANDS).band == "excellent"
    assert ranking.outlet_score(f, BANDS, D("0.1")).band == "severe_fail"


def test_sub_branch_score_is_the_mean_of_its_ranked_outlets():
    rows = [
        figures(1, 10, [90]),
        figures(2, 10, [81]),
        figures(3, 10, [], [40]),  # not ranked: no mystery visit
        figures(4, 20, [70], red=True),
    ]
    subs = {s.sub_branch_id: s for s in ranking.sub_branch_scores(rows, BANDS, D(0), [30])}
    assert subs[10].score == D("85.50") and subs[10].outlets == 2
    assert subs[20].red_lines == 1 and subs[20].band == "severe_fail"
    assert subs[30].score is None and subs[30].outlets == 0


@given(st.lists(st.lists(scores, min_size=1, max_size=4), min_size=1, max_size=6))
def test_sub_branch_mean_lies_between_its_outlets(outlet_scores):
    rows = [figures(n, 1, ms) for n, ms in enumerate(outlet_scores)]
    values = [ranking.outlet_score(r, BANDS).score for r in rows]
    (sub,) = ranking.sub_branch_scores(rows, BANDS)
    assert min(values) <= sub.score <= max(values)


def r(key, rank, score=80, band="fail"):
    return Ranked(key, rank, D(score), band)


def test_bottom_three_plain():
    ranked = [r(k, n) for n, k in enumerate("abcdef", start=1)]
    assert [x.key for x in ranking.bottom(ranked)] == ["d", "e", "f"]


def test_bottom_three_brings_everyone_tied_at_the_boundary():
    ranked = [r("a", 1), r("b", 2), r("c", 3), r("d", 3), r("e", 5), r("f", 6)]
    assert [x.key for x in ranking.bottom(ranked)] == ["c", "d", "e", "f"]


def test_bottom_three_of_fewer_is_everyone_below_the_first():
    assert [x.key for x in ranking.bottom([r("a", 1), r("b", 2), r("c", 3)])] == ["b", "c"]
    assert [x.key for x in ranking.bottom([r("a", 1), r("b", 2)])] == ["b"]
    assert ranking.bottom([r("a", 1)]) == []  # one sub-branch ranked alone is not "the bottom"
    assert ranking.bottom([r("a", 1), r("b", 1)]) == []  # nor are all of them, tied
    assert ranking.bottom([]) == []


@given(st.lists(st.integers(min_value=0, max_value=5), max_size=20))
def test_bottom_is_at_least_three_and_closed_under_ties(values):
    entries = [scored(n, 80 + v) for n, v in enumerate(values)]
    ranked = ranking.rank(entries, BANDS)
    chosen = ranking.bottom(ranked)
    below_first = [x for x in ranked if x.rank > 1]
    assert all(x.rank > 1 for x in chosen)  # the first is never called in
    assert len(chosen) == min(3, len(below_first)) or len(chosen) > 3
    picked = {x.rank for x in chosen}
    # every entry that shares a chosen rank is chosen; nobody better than a non-chosen one
    assert all(x in chosen for x in ranked if x.rank in picked)
    if len(chosen) > 3:
        boundary = min(picked)
        assert sum(1 for x in ranked if x.rank > boundary) < 3


def test_recognitions_are_the_top_five_in_the_highest_band():
    ranked = ranking.rank(
        [scored(n, s) for n, s in enumerate([99, 97, 95, 93, 91, 91, 90, 89])], BANDS
    )
    assert [x.key for x in ranking.recognitions(ranked, BANDS)] == [0, 1, 2, 3, 4, 5]
    few = ranking.rank([scored("a", 92), scored("b", 89)], BANDS)
    assert [x.key for x in ranking.recognitions(few, BANDS)] == ["a"]


def test_a_red_line_is_never_recognised():
    ranked = ranking.rank([scored("red", 99, True), scored("ok", 91)], BANDS)
    assert [x.key for x in ranking.recognitions(ranked, BANDS)] == ["ok"]


def test_deductions_by_failing_band():
    ranked = ranking.rank(
        [scored("a", 90), scored("b", 84.9), scored("c", 79.9), scored("d", 95, True)], BANDS
    )
    out = ranking.deductions(ranked, BANDS)
    assert [x.key for x in out["fail"]] == ["b"]
    assert [x.key for x in out["severe_fail"]] == ["d", "c"]


def test_change_against_previous_score():
    assert ranking.change(D("78.5"), D("86.0")) == D("7.5")
    assert ranking.change(None, D("86.0")) is None


def test_weak_indicators_merge_versions_by_code_and_sort_worst_first():
    now = [
        ItemCount("six_s", "A-01", 10, 2),  # version 1
        ItemCount("six_s", "A-01", 10, 6),  # version 2, same code
        ItemCount("six_s", "A-02", 5, 5),
        ItemCount("six_s", "A-03", 4, 0),
        ItemCount("six_s", "A-04", 0, 0),
    ]
    before = [ItemCount("six_s", "A-01", 10, 1)]
    out = ranking.weak_indicators(now, before)
    assert [(w.item, w.applied, w.failed, w.rate) for w in out] == [
        ("A-02", 5, 5, D("100.0")),
        ("A-01", 20, 8, D("40.0")),
        ("A-03", 4, 0, D("0.0")),
    ]
    assert out[1].previous_rate == D("10.0") and out[1].change == D("30.0")
    assert out[0].change is None


@given(
    st.lists(
        st.tuples(st.sampled_from(["X-1", "X-2", "X-3"]), st.integers(0, 50), st.integers(0, 50)),
        max_size=12,
    )
)
def test_weak_indicator_rates_are_failures_over_applications(rows):
    counts = [ItemCount("c", code, a + f, f) for code, a, f in rows]
    out = ranking.weak_indicators(counts)
    rates = [w.rate for w in out]
    assert rates == sorted(rates, reverse=True)
    for w in out:
        assert 0 <= w.rate <= 100
        assert w.applied == sum(c.applied for c in counts if c.item == w.item)


def test_histogram_bins():
    edges = [D(0), D(80), D(90)]
    assert ranking.histogram([D(10), D(80), D("89.9"), D(90), D(100)], edges) == [
        (D(0), D(80), 1),
        (D(80), D(90), 2),
        (D(90), None, 2),
    ]
