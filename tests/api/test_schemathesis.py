"""Schemathesis against the live WSGI app, from the OpenAPI document the app serves: for a
head-office token and a sub-branch token, every operation gets generated requests (valid
ones and invalid ones); no 5xx, every response as documented, and the sub-branch token never
sees another sub-branch's outlets.

Schemathesis's Python API (`from_wsgi`, `operation.as_strategy`) drives Hypothesis directly:
its pytest plugin's lazy schemas do not run under pytest 9.2 (`Function._nodeid` is gone).
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import select

from shopper.extensions import db
from shopper.models import Outlet

MAX_EXAMPLES = 30  # per operation and generation mode: both scopes together in under 60 s


def _ids(value, key: str) -> set[int]:
    """Every integer under `key`, at any depth of a JSON value."""
    found: set[int] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, int):
                found.add(v)
            else:
                found |= _ids(v, key)
    elif isinstance(value, list):
        for v in value:
            found |= _ids(v, key)
    return found


@pytest.mark.parametrize("scope", ["head_office", "sb1"])
def test_generated_requests_get_documented_answers_within_the_tokens_scope(
    app, world, data, tokens, scope
):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # identity: the WSGI client does not undo Flask-Compress, as an HTTP client would
    headers = {
        "Authorization": f"Bearer {tokens[scope]}",
        "Accept-Language": "en",
        "Accept-Encoding": "identity",
    }
    with app.app_context():
        sb1_outlets = set(
            db.session.scalars(
                select(Outlet.id).where(Outlet.sub_branch_id == world.sub_branch_ids[0])
            )
        )
    figures = {"operations": 0, "examples": 0, "statuses": {}}
    started = time.perf_counter()

    def exercise(case) -> None:
        if case.query and case.meta.generation.mode.is_positive:
            # a cursor is opaque: any but one the API gave out is a 400 by design (see
            # test_pagination), while the schema can only say "a string"
            case.query.pop("cursor", None)
        response = case.call_and_validate()
        figures["examples"] += 1
        figures["statuses"][response.status_code] = (
            figures["statuses"].get(response.status_code, 0) + 1
        )
        assert response.status_code < 500, response.text
        if scope == "sb1" and response.status_code == 200:
            body = response.json()
            assert _ids(body, "outlet_id") <= sb1_outlets, body
            assert _ids(body, "sub_branch_id") <= {world.sub_branch_ids[0]}, body

    for result in schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            test = settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            )(given(case=operation.as_strategy(generation_mode=mode, headers=headers))(exercise))
            test()
    seconds = time.perf_counter() - started
    print(
        f"schemathesis {scope}: {figures['operations']} operations, {figures['examples']} "
        f"examples in {seconds:.1f} s, statuses {dict(sorted(figures['statuses'].items()))}"
    )
    assert figures["operations"] >= 8
