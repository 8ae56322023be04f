import pytest

from tests.factories import answer_all, start


@pytest.fixture
def submitted(login, world, app):
    """O1 submitted at 100 (inspector), O3 submitted with failures (inspector2), O2 a draft."""
    c = login("inspector")
    one = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, one)
    c.post(f"/inspect/{one}/submit")
    draft = start(c, world.assignment_ids["inspector"][1])
    c2 = login("inspector2")
    three = start(c2, world.assignment_ids["inspector2"][0])
    answer_all(c2, app, three, lambda item: "fail" if not item.photo_required_on_fail else "pass")
    assert c2.post(f"/inspect/{three}/submit").status_code == 302
    return {"one": one, "draft": draft, "three": three}


def test_head_office_sees_every_inspection(login, submitted):
    page = login("admin").get("/office/inspections").get_data(as_text=True)
    assert "3 inspections" in page
    assert "Outlet One" in page and "Outlet Two" in page and "Outlet Three" in page


def test_head_office_filters_by_band_sub_branch_outlet_and_period(login, submitted, world):
    admin = login("admin")
    excellent = admin.get("/office/inspections?band=excellent").get_data(as_text=True)
    assert "1 inspection" in excellent and "Outlet One" in excellent
    west = admin.get(f"/office/inspections?sub_branch={world.sub_branch_ids[1]}").get_data(as_text=True)
    assert "Outlet Three" in west and "Outlet One" not in west
    one = admin.get(f"/office/inspections?outlet={world.outlet_ids[1]}").get_data(as_text=True)
    assert "Outlet Two" in one and "Outlet Three" not in one
    old = admin.get(f"/office/inspections?period={world.old_period_id}").get_data(as_text=True)
    assert "0 inspections" in old


def test_head_office_opens_a_record_as_it_was_submitted(login, submitted):
    page = login("admin").get(f"/inspections/{submitted['three']}").get_data(as_text=True)
    assert "seen on site" in page and "Section scores" in page and "SHA-256" in page


def test_outlet_manager_sees_only_their_outlets_submitted_inspections(login, submitted):
    manager = login("outlet_manager")
    page = manager.get("/branch/inspections").get_data(as_text=True)
    assert "1 inspection" in page and "Outlet One" in page and "Outlet Three" not in page
    assert manager.get(f"/inspections/{submitted['one']}").status_code == 200
    assert manager.get(f"/inspections/{submitted['three']}").status_code == 404


def test_outlet_manager_never_sees_a_draft(login, submitted):
    manager = login("sub_branch_manager")
    page = manager.get("/branch/inspections").get_data(as_text=True)
    assert "Outlet Two" not in page
    assert manager.get(f"/inspections/{submitted['draft']}").status_code == 404


def test_filter_values_outside_ones_scope_show_nothing(login, submitted, world):
    page = login("outlet_manager").get(f"/branch/inspections?outlet={world.outlet_ids[2]}").get_data(as_text=True)
    assert "0 inspections" in page
