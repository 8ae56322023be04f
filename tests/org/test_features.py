"""Head office's outlet features: the list, and the outlets' profiles that decide which
items are answered N/A when an inspection starts."""

import pytest
from markupsafe import escape
from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections.models import Answer
from shopper.models import Feature, Outlet
from shopper.org import features as service
from tests.factories import start


def text(response) -> str:
    return response.get_data(as_text=True)


def kept(app) -> tuple:
    """Every feature with its names, and every outlet's features: what a refusal leaves."""
    with app.app_context():
        s = db.session
        return (
            tuple(s.execute(select(Feature.code, Feature.name_zh, Feature.name_en))),
            tuple((o.code, o.feature_codes) for o in s.scalars(select(Outlet).order_by(Outlet.id))),
        )


def profile(app, outlet_id: int) -> frozenset[str]:
    with app.app_context():
        return db.session.get(Outlet, outlet_id).feature_codes


def set_profile(app, outlet_id: int, codes) -> None:
    with app.app_context():
        s = db.session
        outlet = s.get(Outlet, outlet_id)
        outlet.features = [s.get(Feature, c) for c in sorted(codes)]
        s.commit()


def matrix(app, changes: dict[int, set[str]] | None = None) -> dict:
    """The profiles form as the page sends it: every outlet's row, with `changes` ticked."""
    data: dict = {"shown": []}
    with app.app_context():
        for outlet in service.profiles(db.session):
            codes = sorted(outlet.feature_codes)
            data["shown"].append(f"{outlet.id}:{','.join(codes)}")
            data[f"o{outlet.id}"] = sorted((changes or {}).get(outlet.id, codes))
    return data


def test_the_list_shows_each_features_code_and_names(login, world):
    admin = login("admin")
    page = text(admin.get("/office/features"))
    assert "vip_room" in page and "VIP or wealth room" in page and "贵宾/理财室" in page
    assert "Features apply to inspections started after you save." in page
    admin.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "贵宾/理财室" in text(admin.get("/office/features"))


def test_head_office_adds_a_feature(login, world, app):
    admin = login("admin")
    response = admin.post(
        "/office/features", {"code": "night_safe", "name_zh": "夜间金库", "name_en": "Night safe"}
    )
    assert response.status_code == 302
    with app.app_context():
        feature = db.session.get(Feature, "night_safe")
        assert (feature.name_zh, feature.name_en) == ("夜间金库", "Night safe")
    page = text(admin.get("/office/features"))
    assert "Feature night_safe added." in page and 'value="night_safe"' in page


@pytest.mark.parametrize(
    ("data", "status", "sentence"),
    [
        ({"code": "", "name_zh": "甲", "name_en": "A"}, 400, "A feature's code is 1 to 40"),
        ({"code": "VIP", "name_zh": "甲", "name_en": "A"}, 400, "A feature's code is 1 to 40"),
        ({"code": "night safe", "name_zh": "甲", "name_en": "A"}, 400, "A feature's code is"),
        ({"code": "x" * 41, "name_zh": "甲", "name_en": "A"}, 400, "A feature's code is 1 to 40"),
        ({"code": "vip_room", "name_zh": "甲", "name_en": "A"}, 409, "already a feature vip_room"),
        ({"code": "night_safe", "name_zh": " ", "name_en": "A"}, 400, "Chinese and English names"),
        ({"code": "night_safe", "name_zh": "甲", "name_en": ""}, 400, "Chinese and English names"),
        ({"code": "night_safe", "name_zh": "甲" * 101, "name_en": "A"}, 400, "at most 100"),
    ],
)
def test_a_feature_that_breaks_a_rule_is_refused_with_a_sentence(
    login, world, app, data, status, sentence
):
    before = kept(app)
    response = login("admin").post("/office/features", data)
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert kept(app) == before


def test_head_office_renames_a_feature_and_its_code_stays(login, world, app):
    admin = login("admin")
    response = admin.post(
        "/office/features/vip_room/rename", {"name_zh": "贵宾室", "name_en": "VIP room"}
    )
    assert response.status_code == 302
    with app.app_context():
        feature = db.session.get(Feature, "vip_room")
        assert (feature.name_zh, feature.name_en) == ("贵宾室", "VIP room")
    assert "vip_room" in profile(app, world.outlet_ids[0])


def test_a_rename_without_a_name_or_of_an_unknown_feature_is_refused(login, world, app):
    admin = login("admin")
    before = kept(app)
    response = admin.post("/office/features/vip_room/rename", {"name_zh": "", "name_en": "VIP"})
    assert response.status_code == 400
    assert str(escape("Give the feature's Chinese and English names.")) in text(response)
    names = {"name_zh": "甲", "name_en": "A"}
    assert admin.post("/office/features/nothing_here/rename", names).status_code == 404
    assert admin.post("/office/features/Not-A-Code/rename", names).status_code == 404
    assert admin.post("/office/features/vip_room/rename", names, csrf=False).status_code == 400
    assert kept(app) == before


def test_a_feature_nothing_uses_is_deleted(login, world, app):
    for outlet_id in world.outlet_ids:
        set_profile(app, outlet_id, profile(app, outlet_id) - {"vip_room"})
    admin = login("admin")
    assert 'action="/office/features/vip_room/delete"' in text(admin.get("/office/features"))
    assert admin.post("/office/features/vip_room/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Feature, "vip_room") is None
    assert "Feature vip_room deleted." in text(admin.get("/office/features"))
    assert admin.post("/office/features/vip_room/delete").status_code == 404


def test_a_feature_an_outlet_has_is_not_deleted(login, world, app):
    before = kept(app)
    response = login("admin").post("/office/features/vip_room/delete")
    assert response.status_code == 409
    assert "Feature vip_room cannot be deleted while outlets have it (3)." in text(response)
    assert kept(app) == before


def test_a_feature_a_published_checklist_needs_is_not_deleted(login, world, app):
    for outlet_id in world.outlet_ids:
        set_profile(app, outlet_id, profile(app, outlet_id) - {"lobby_manager"})
    admin = login("admin")
    assert 'action="/office/features/lobby_manager/delete"' not in text(
        admin.get("/office/features")
    )
    before = kept(app)
    response = admin.post("/office/features/lobby_manager/delete")
    assert response.status_code == 409
    assert "items of these checklist versions need it: five_courtesies v1." in text(response)
    assert kept(app) == before


def test_deleting_needs_the_csrf_token(login, world, app):
    for outlet_id in world.outlet_ids:
        set_profile(app, outlet_id, profile(app, outlet_id) - {"vip_room"})
    before = kept(app)
    assert login("admin").post("/office/features/vip_room/delete", csrf=False).status_code == 400
    assert kept(app) == before


def test_the_profiles_matrix_has_a_box_per_outlet_and_feature_by_sub_branch(login, world, app):
    set_profile(app, world.outlet_ids[1], {"cash_counter"})
    page = text(login("admin").get("/office/features"))
    east, west = page.index(">East<"), page.index(">West<")
    one, two, three = (page.index(f'name="shown" value="{i}:') for i in world.outlet_ids)
    assert east < one < two < west < three
    o2 = world.outlet_ids[1]
    assert f'name="o{o2}" value="cash_counter" checked' in page
    assert f'name="o{o2}" value="vip_room">' in page
    assert page.count('type="checkbox"') == 3 * 10


def test_saving_the_profiles_writes_only_the_outlets_changed(login, world, app):
    o1, o2, o3 = world.outlet_ids
    data = matrix(app, {o1: profile(app, o1) - {"vip_room", "lobby_manager"}})
    # meanwhile someone else takes O3's cash counter away: this page did not change O3
    set_profile(app, o3, profile(app, o3) - {"cash_counter"})
    admin = login("admin")
    response = admin.post("/office/features/profiles", data)
    assert response.status_code == 302 and response.headers["Location"].endswith("#profiles")
    assert profile(app, o1) == frozenset(f for f, *_ in service.DEFAULT_FEATURES) - {
        "vip_room",
        "lobby_manager",
    }
    assert "cash_counter" not in profile(app, o3)
    assert len(profile(app, o2)) == 10
    page = text(admin.get("/office/features"))
    assert "1 outlet&#39;s features saved; they apply to inspections started from now on." in page


def test_a_tick_is_applied_to_the_outlet_as_it_is_now(login, world, app):
    o1 = world.outlet_ids[0]
    data = matrix(app, {o1: profile(app, o1) - {"vip_room"}})
    set_profile(app, o1, profile(app, o1) - {"cash_counter"})  # another change, elsewhere
    assert login("admin").post("/office/features/profiles", data).status_code == 302
    assert not {"vip_room", "cash_counter"} & profile(app, o1)


def test_saving_unchanged_profiles_writes_nothing(login, world, app):
    before = kept(app)
    admin = login("admin")
    assert admin.post("/office/features/profiles", matrix(app)).status_code == 302
    assert "No outlet&#39;s features changed." in text(admin.get("/office/features"))
    assert kept(app) == before


@pytest.mark.parametrize(
    ("tamper", "status", "sentence"),
    [
        ("unknown_outlet", 409, "Outlets or features changed since this page was loaded."),
        ("unknown_feature", 409, "Outlets or features changed since this page was loaded."),
        ("bad_row", 400, "Some fields are missing or invalid: shown."),
        ("twice", 400, "Some fields are missing or invalid: shown."),
        ("huge_id", 400, "Some fields are missing or invalid: shown."),
        ("no_csrf", 400, "This form has expired or did not come from this site."),
    ],
)
def test_a_tampered_or_stale_profiles_form_is_refused_and_writes_nothing(
    login, world, app, tamper, status, sentence
):
    o1 = world.outlet_ids[0]
    data = matrix(app, {o1: set()})  # untick everything of O1: refused with the rest
    csrf = True
    if tamper == "unknown_outlet":
        data["shown"].append("999999:")
        data["o999999"] = ["vip_room"]
    elif tamper == "unknown_feature":
        data["shown"][1] = f"{world.outlet_ids[1]}:"
        data[f"o{world.outlet_ids[1]}"] = ["time_machine"]
    elif tamper == "bad_row":
        data["shown"].append("O1:vip_room")
    elif tamper == "twice":
        data["shown"].append(data["shown"][0])
    elif tamper == "huge_id":
        data["shown"].append("9999999999:")
    else:
        csrf = False
    before = kept(app)
    response = login("admin").post("/office/features/profiles", data, csrf=csrf)
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert kept(app) == before


def test_an_inspection_started_after_a_profile_change_gets_the_outlets_na_answers(
    login, world, app
):
    o1, o2, _o3 = world.outlet_ids
    inspector = login("inspector")
    before_change = start(inspector, world.assignment_ids["inspector"][0])  # O1
    lacking = {o1: profile(app, o1) - {"lobby_manager"}, o2: profile(app, o2) - {"lobby_manager"}}
    assert login("admin").post("/office/features/profiles", matrix(app, lacking)).status_code == 302
    after_change = start(inspector, world.assignment_ids["inspector"][1])  # O2
    with app.app_context():
        s = db.session
        presets = {
            inspection: set(
                s.execute(
                    select(Answer.item_code, Answer.result, Answer.na_reason).where(
                        Answer.inspection_id == inspection
                    )
                )
            )
            for inspection in (before_change, after_change)
        }
    assert presets[before_change] == set()
    assert presets[after_change]
    assert {(result, reason) for _code, result, reason in presets[after_change]} == {
        ("na", "outlet")
    }
    assert len(presets[after_change]) == 4  # the five courtesies' lobby manager items
