"""The OpenAPI 3.1 document: public, complete, and written from the schemas that validate
requests, so what it promises is what the API does."""

from __future__ import annotations

import pytest

from tests.api.helpers import api_get

OPERATIONS = {
    "/api/v1/periods",
    "/api/v1/outlets",
    "/api/v1/inspections",
    "/api/v1/inspections/{inspection_id}",
    "/api/v1/notices",
    "/api/v1/notices/{notice_id}",
    "/api/v1/checklist-versions",
    "/api/v1/checklist-versions/{version_id}",
}


@pytest.fixture
def document(app):
    response = app.test_client().get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200 and response.content_type == "application/json"
    return response.get_json()


def test_the_document_is_openapi_3_1_with_every_operation_behind_a_bearer_token(document):
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == OPERATIONS
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token.",
    }
    assert document["security"] == [{"bearer": []}]
    for path, item in document["paths"].items():
        assert set(item) - {"parameters"} == {"get"}, path
        responses = item["get"]["responses"]
        assert "200" in responses and "default" in responses, path


def _query_parameters(document):
    for path, item in document["paths"].items():
        for parameter in item["get"].get("parameters", []):
            if parameter["in"] == "query":
                yield path, parameter


def test_every_bound_the_document_states_is_the_one_the_api_enforces(app, data, tokens, document):
    """Each documented maximum and minimum is accepted, one beyond is refused: the document
    and the validation are one code."""
    checked = 0
    for path, parameter in _query_parameters(document):
        schema, name = parameter["schema"], parameter["name"]
        for bound, beyond in (("maximum", 1), ("minimum", -1)):
            if bound in schema:
                ok = api_get(app, path, tokens["head_office"], **{name: schema[bound]})
                assert ok.status_code == 200, (path, name, ok.get_json())
                bad = api_get(app, path, tokens["head_office"], **{name: schema[bound] + beyond})
                assert bad.status_code == 400, (path, name)
                checked += 1
    assert checked >= 15


def test_every_documented_enum_is_accepted_and_nothing_else(app, data, tokens, document):
    for path, parameter in _query_parameters(document):
        for value in parameter["schema"].get("enum", []):
            params = {parameter["name"]: value}
            assert api_get(app, path, tokens["head_office"], **params).status_code == 200
            params = {parameter["name"]: value + "x"}
            assert api_get(app, path, tokens["head_office"], **params).status_code == 400
