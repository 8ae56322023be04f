import re

import pytest

from tests.factories import answer_all, release, start, submit


def listed(response) -> list[str]:
    """Outlet names in the result cards (not the filter's options)."""
    return [
        name.strip()
        for name in re.findall(r'class="card-title">([^<]+)', response.get_data(as_text=True))
    ]


@pytest.fixture
def submitted(login, world, app):
    """O1 submitted at 100 (inspector), O3 submitted with failures (inspector2), O2 a draft."""
    c = login("inspector")
    one = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, one)
    submit(c, one)
    draft = start(c, world.assignment_ids["inspector"][1])
    c2 = login("inspector2")
    three = start(c2, world.assignment_ids["inspector2"][0])
    answer_all(c2, app, three, lambda item: "fail" if not item.photo_required_on_fail else "pass")
    assert submit(c2, three).status_code == 302
    release(app, one)
    release(app, three)
    return {"one": one, "draft": draft, "three": three}


def test_head_office_sees_every_inspection(login, submitted):
    response = login("admin").get("/office/inspections")
    assert "3 inspections" in response.get_data(as_text=True)
    assert sorted(listed(response)) == ["Outlet One", "Outlet Three", "Outlet Two"]


def test_head_office_filters_by_band_sub_branch_outlet_and_period(login, submitted, world):
    admin = login("admin")
    assert listed(admin.get("/office/inspections?band=excellent")) == ["Outlet One"]
    assert listed(admin.get("/office/inspections?band=severe_fail")) == ["Outlet Three"]
    assert listed(admin.get(f"/office/inspections?sub_branch={world.sub_branch_ids[1]}")) == [
        "Outlet Three"
    ]
    assert listed(admin.get(f"/office/inspections?outlet={world.outlet_ids[1]}")) == ["Outlet Two"]
    assert listed(admin.get(f"/office/inspections?period={world.old_period_id}")) == []
    assert len(listed(admin.get(f"/office/inspections?period={world.period_id}"))) == 3


def test_head_office_opens_a_record_as_it_was_submitted(login, submitted):
    page = login("admin").get(f"/inspections/{submitted['three']}").get_data(as_text=True)
    assert "seen on site" in page and "Section scores" in page and "SHA-256" in page


def test_outlet_manager_sees_only_their_outlets_submitted_inspections(login, submitted):
    manager = login("outlet_manager")
    assert listed(manager.get("/branch/inspections")) == ["Outlet One"]
    assert manager.get(f"/inspections/{submitted['one']}").status_code == 200
    assert manager.get(f"/inspections/{submitted['three']}").status_code == 404


def test_branch_managers_never_see_a_draft(login, submitted):
    assert login("outlet_manager").get(f"/inspections/{submitted['draft']}").status_code == 404
    manager = login("sub_branch_manager")  # O2's sub-branch
    assert listed(manager.get("/branch/inspections")) == ["Outlet One"]
    assert manager.get(f"/inspections/{submitted['draft']}").status_code == 404


def test_filter_values_outside_ones_scope_show_nothing(login, submitted, world):
    assert (
        listed(login("outlet_manager").get(f"/branch/inspections?outlet={world.outlet_ids[2]}"))
        == []
    )


def test_ranking_goes_by_band_so_a_failed_red_line_never_ranks_above_a_clean_pass(
    login, world, app
):
    from decimal import Decimal

    from shopper.extensions import db
    from shopper.inspections.models import Inspection
    from tests.factories import submitted_directly

    ids = [
        submitted_directly(
            app, world.users["inspector"], world.assignment_ids["inspector"][0], lambda i: "pass"
        ),
        submitted_directly(
            app, world.users["inspector"], world.assignment_ids["inspector"][1], lambda i: "pass"
        ),
        submitted_directly(
            app, world.users["inspector2"], world.assignment_ids["inspector2"][0], lambda i: "pass"
        ),
    ]
    # O1 95 with a failed red line, O2 a clean 86, O3 a clean 92
    with app.app_context():
        for iid, (score, band) in zip(
            ids, [("95", "severe_fail"), ("86", "pass"), ("92", "excellent")], strict=True
        ):
            inspection = db.session.get(Inspection, iid)
            inspection.score, inspection.band = Decimal(score), band
        db.session.commit()
    admin = login("admin")
    ranked = listed(admin.get("/office/inspections?order=rank"))
    assert ranked == ["Outlet Three", "Outlet Two", "Outlet One"]
    assert 'value="rank" selected' in admin.get("/office/inspections?order=rank").get_data(
        as_text=True
    )
