"""The results pages render real figures for head office; reweighting starts a draft."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from shopper.checklists.models import ChecklistDraft
from shopper.extensions import db
from shopper.results import charts
from tests.factories import submitted_directly
from tests.results.helpers import release_all
from tests.results.test_stored import fails


@pytest.fixture
def released(app, world):
    ids = [
        submitted_directly(
            app,
            world.users["inspector"],
            world.assignment_ids["inspector"][0],
            fails("C5-ARRIVE", "C5-THANK"),
        ),
        submitted_directly(
            app, world.users["inspector"], world.assignment_ids["inspector"][1], fails("S6", "C5")
        ),
        submitted_directly(
            app, world.users["inspector2"], world.assignment_ids["inspector2"][0], fails("C5-LEAVE")
        ),
    ]
    release_all(app, ids)
    return ids


def test_the_index_lists_periods(login, world, released):
    page = login("admin").get("/office/results/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2026Q4" in html and f"/office/results/{world.period_id}/" in html


def test_rankings_page_shows_outlets_sub_branches_and_lists(login, world, released):
    page = login("admin").get(f"/office/results/{world.period_id}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        "Outlet ranking",
        "Sub-branch ranking",
        "Review meeting",
        "Recognition",
        "Deductions",
    ):
        assert text in html
    # O2 failed badly: listed last, with its band
    rows = re.findall(
        r'<tr class="b-([a-z_]+)"><td class="num">(\d+)</td><td class="code">(O\d)', html
    )
    assert [r[2] for r in rows][-1] == "O2"
    assert rows[-1][0] == "severe_fail"


def test_weak_indicators_page_lists_items_worst_first(login, world, released):
    c = login("admin")
    page = c.get(f"/office/results/{world.period_id}/weak")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "Weak indicators" in html
    rates = [
        float(x)
        for x in re.findall(r'<td class="num" data-v="([0-9.]+)"><span class="rate-bar"', html)
    ]
    assert rates and rates == sorted(rates, reverse=True)
    per_sub = c.get(
        f"/office/results/{world.period_id}/weak?sub_branch={world.sub_branch_ids[1]}&kind=all"
    )
    assert per_sub.status_code == 200
    assert c.get(f"/office/results/{world.period_id}/weak?sub_branch=999999").status_code == 404


def test_charts_page_has_svg_charts_with_text_alternatives(login, world, released):
    page = login("admin").get(f"/office/results/{world.period_id}/charts?outlet=O1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 4
    assert html.count("<desc>") == 4 and "The figures" in html
    page = login("admin").get(f"/office/results/{world.period_id}/charts?outlet=NOPE")
    assert page.status_code == 200 and "No outlet has the code NOPE" in page.get_data(as_text=True)


def test_an_unknown_period_is_a_404_sentence(login, world):
    page = login("admin").get("/office/results/999999/")
    assert page.status_code == 404
    assert "does not exist" in page.get_data(as_text=True)


def test_reweighting_starts_a_draft_with_the_items_raised(app, login, world, released):
    c = login("admin")
    response = c.post(
        f"/office/results/{world.period_id}/weak/draft",
        {"item": ["five_courtesies:C5-ARRIVE-01", "five_courtesies:C5-THANK-01"], "amount": "1.5"},
    )
    assert response.status_code == 302
    assert "/office/checklists/drafts/" in response.headers["Location"]
    with app.app_context():
        draft = db.session.scalar(
            select(ChecklistDraft).where(ChecklistDraft.code == "five_courtesies")
        )
        latest = draft.based_on.checklist()
        data = json.loads(draft.data)
    points = {i["code"]: i["points"] for s in data["sections"] for i in s["items"]}
    from decimal import Decimal

    assert Decimal(str(points["C5-ARRIVE-01"])) == latest.item("C5-ARRIVE-01").points + Decimal(
        "1.5"
    )
    assert Decimal(str(points["C5-LEAVE-01"])) == latest.item("C5-LEAVE-01").points


@pytest.mark.parametrize(
    ("form", "sentence"),
    [
        ({"amount": "1"}, "Tick at least one item"),
        ({"item": "five_courtesies:C5-ARRIVE-01", "amount": "0"}, "above 0 and at most 20"),
        ({"item": "five_courtesies:C5-ARRIVE-01", "amount": "abc"}, "above 0 and at most 20"),
        ({"item": "five_courtesies:C5-ARRIVE-01", "amount": "0.25"}, "one decimal place"),
        ({"item": "nonsense", "amount": "1"}, "not a checklist item"),
    ],
)
def test_bad_reweighting_is_refused_and_changes_nothing(app, login, world, form, sentence):
    response = login("admin").post(f"/office/results/{world.period_id}/weak/draft", form)
    assert response.status_code == 400
    assert sentence in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ChecklistDraft)).all() == []


def test_charts_escape_every_text():
    svg = charts.bars(
        [charts.Bar('<script>alert("x")</script>', 50.0)], title="a & b", desc="<desc>"
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<title>a &amp; b</title>" in svg and "<desc>&lt;desc&gt;</desc>" in svg
    assert "style" not in svg and "href" not in svg  # self-contained: no CSS, no links


def test_the_outlet_ranking_pages_and_sorts(login, world, released, monkeypatch):
    from shopper.results import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    c = login("admin")
    first = c.get(f"/office/results/{world.period_id}/?sort=score&desc=1").get_data(as_text=True)
    assert "page 1 of 2" in first
    assert f"/office/results/{world.period_id}/?page=2&amp;sort=score&amp;desc=1" in first
    second = c.get(f"/office/results/{world.period_id}/?page=2&sort=score&desc=1")
    assert second.status_code == 200
    codes = re.findall(r'<td class="code">(O\d)</td>', second.get_data(as_text=True))
    assert codes == ["O2"]
    assert c.get(f"/office/results/{world.period_id}/?page=3").status_code == 404
    filtered = c.get(f"/office/results/{world.period_id}/?band=severe_fail").get_data(as_text=True)
    assert re.findall(r'<td class="code">(O\d)</td>', filtered) == ["O2"]
