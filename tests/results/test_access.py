"""Only head office reaches the results pages (the rows of tests/access_rows/results.py,
walked here on their own as well as in the whole matrix)."""

from __future__ import annotations

import pytest

from tests.access_rows.results import ROWS
from tests.conftest import Client

ROLES = ["anonymous", "admin", "inspector", "outlet_manager", "sub_branch_manager"]


@pytest.mark.parametrize("role", ROLES)
def test_only_head_office_reaches_results(role, app, world):
    c = Client(app)
    if role != "anonymous":
        assert c.login(role).status_code == 302
    for (method, pattern), expected in ROWS.items():
        url = pattern.format(period=world.period_id)
        response = c.get(url) if method == "GET" else c.post(url)
        assert response.status_code == expected[role], f"{role} {method} {url}"
