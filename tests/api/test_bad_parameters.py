"""Bad requests are a 400 (a 404 for a path that names nothing) with a JSON sentence, never a
500: huge numbers, bad dates, unknown parameters, a NUL; whatever the client accepts."""

from __future__ import annotations

from tests.api.helpers import api_get

BAD_QUERIES = [
    ("/api/v1/inspections", {"limit": "0"}),
    ("/api/v1/inspections", {"limit": "101"}),
    ("/api/v1/inspections", {"limit": "ten"}),
    ("/api/v1/inspections", {"limit": "99999999999999999999"}),
    ("/api/v1/inspections", {"limit": "9" * 400}),
    ("/api/v1/inspections", {"period": "-1"}),
    ("/api/v1/inspections", {"period": "0"}),
    ("/api/v1/inspections", {"period": "2147483648"}),
    ("/api/v1/inspections", {"period": "99999999999999999999999999999"}),
    ("/api/v1/inspections", {"outlet": "1.5"}),
    ("/api/v1/inspections", {"sub_branch": "1e3"}),
    ("/api/v1/inspections", {"changed_since": "yesterday"}),
    ("/api/v1/inspections", {"changed_since": "2026-13-01"}),
    ("/api/v1/inspections", {"changed_since": "2026-02-30T00:00:00Z"}),
    ("/api/v1/inspections", {"changed_since": "0001-01-01T00:00:00+01:00"}),  # before year 1
    ("/api/v1/inspections", {"changed_since": "9999-12-31T23:59:59-01:00"}),  # after 9999
    ("/api/v1/inspections", {"changed_since": ""}),
    ("/api/v1/inspections", {"cursor": ""}),
    ("/api/v1/inspections", {"changed_after": "2026-12-01"}),  # misspelt: refused, not ignored
    ("/api/v1/inspections", {"page": "2"}),
    ("/api/v1/notices", {"kind": "branch"}),
    ("/api/v1/notices", {"outlet": "x"}),
    ("/api/v1/outlets", {"sub_branch": "99999999999"}),
    ("/api/v1/periods", {"limit": "-5"}),
    ("/api/v1/checklist-versions", {"code": "Six S"}),
    ("/api/v1/checklist-versions", {"code": "six_s\x00"}),
]


def test_a_bad_parameter_is_a_400_sentence(app, data, tokens):
    for url, params in BAD_QUERIES:  # one test, one set-up: the table is long
        response = api_get(app, url, tokens["sb1"], **params)
        assert response.status_code == 400, (url, params, response.get_data(as_text=True))
        assert response.content_type == "application/json"
        body = response.get_json()
        assert body["error"].endswith(".") and body["code"], (url, params)


def test_the_sentence_names_the_parameters_and_says_why(app, data, tokens):
    response = api_get(app, "/api/v1/inspections", tokens["head_office"], limit="0", outlet="x")
    body = response.get_json()
    assert body["code"] == "api_bad_parameters"
    assert body["error"] == "Some parameters are not valid: limit, outlet."
    assert set(body["details"]) == {"limit", "outlet"}
    huge = api_get(app, "/api/v1/inspections", tokens["head_office"], period="2147483648")
    assert huge.get_json()["details"] == {"period": ["Too large to be an id."]}


MISSING_PATHS = [
    "/api/v1/inspections/0",
    "/api/v1/inspections/2147483647",
    "/api/v1/inspections/2147483648",
    "/api/v1/inspections/99999999999999999999999",
    "/api/v1/inspections/-1",
    "/api/v1/inspections/abc",
    "/api/v1/notices/99999999999",
    "/api/v1/checklist-versions/1e3",
    "/api/v1/no-such-list",
]


def test_a_path_that_names_nothing_is_a_404_sentence_in_json(app, data, tokens):
    headers = {
        "Authorization": f"Bearer {tokens['head_office']}",
        "Accept": "text/html,*/*",  # a browser's: the API still answers JSON
        "Accept-Language": "en",
    }
    for path in MISSING_PATHS:
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.content_type == "application/json", path
        assert response.get_json()["error"].endswith("."), path


def test_an_unknown_method_is_a_405_with_allow(app, data, tokens):
    response = app.test_client().post(
        "/api/v1/inspections", headers={"Authorization": f"Bearer {tokens['head_office']}"}
    )
    assert response.status_code == 405
    assert response.content_type == "application/json"
    assert "GET" in response.headers["Allow"]


def test_errors_are_sentences_whatever_language_is_asked_for(app, world):
    english = app.test_client().get("/api/v1/periods", headers={"Accept-Language": "en"})
    chinese = app.test_client().get("/api/v1/periods", headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 401
    assert english.get_json()["code"] == chinese.get_json()["code"] == "api_token_missing"
    assert english.get_json()["error"].startswith("Send an API token")
