"""Defect 4: every route, as every role, with hostile path parameters, query strings and form
fields: huge, negative and non-numeric numbers, NUL, long strings and percent-encodings that
are not UTF-8. Whatever the answer, it is never a 5xx (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import re
import uuid

from tests.conftest import Client
from tests.test_access_matrix import objects  # noqa: F401  (the fixture: real ids to aim at)

ROLES = ["anonymous", "admin", "inspector", "outlet_manager", "sub_branch_manager"]
# every name a view reads from the query string, and the fields the forms carry
QUERY_NAMES = ["page", "period", "sub_branch", "outlet", "band", "status", "item", "next", "v"]
FORM_NAMES = [
    "mode", "version", "item", "result", "note", "changed_at", "captured_at", "source", "kind",
    "text", "reason", "decision", "period", "start", "end", "ids", "confirm", "attest",
    "latitude", "longitude", "accuracy", "business", "arrived_at", "customers_waiting",
    "windows_open", "username", "password",
]  # fmt: skip
HOSTILE = [
    "%00",
    "99999999999999999999",
    "-9223372036854775809",
    "2147483648",
    "-1",
    "1e400",
    "%EF%BC%91%EF%BC%92",  # fullwidth digits, which int() reads
    "%FF%FE%C0%AF",
    "%ED%A0%80",  # an encoded UTF-16 surrogate
    "A" * 3000,
]
HOSTILE_FORM = [
    "\x00",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 400,
    "1e400",
    "２０２６-１１-２０",
    "x" * 20_000,
]
SKIP = {"auth.logout"}  # ends the session the other requests need


def _path_values(converter: str, real: str | None) -> list[str]:
    numbers = ["0", "2147483647", "2147483648", "99999999999999999999"]
    if converter == "IdConverter":
        return [v for v in [real, *numbers] if v]
    return [v for v in [real, "%00", "%FF%FE", "A" * 3000, "..%2F..%2Fetc"] if v]


def _urls(rule, ids) -> list[str]:
    """The rule's path with each argument in turn made hostile (the others real)."""
    real = {
        "inspection_id": ids["draft"],
        "assignment_id": ids["assignment"],
        "photo_id": ids["photo"],
        "notice_id": ids["notice"],
        "finding_id": ids["finding"],
        "response_id": ids["response"],
        "sha256": ids["sha"],
        "variant": "thumb",
        "number": ids["number"],
        "code": "en",
    }
    arguments = {name: type(conv).__name__ for name, conv in rule._converters.items()}
    base = {name: str(real.get(name, "x")) for name in arguments}
    urls = {_fill(rule.rule, base)}
    for name, converter in arguments.items():
        for value in _path_values(converter, base[name]):
            urls.add(_fill(rule.rule, {**base, name: value}))
    return sorted(urls)


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule)


def _client(app, role: str) -> Client:
    c = Client(app)
    if role != "anonymous":
        assert c.login(role).status_code == 302
    else:
        c.refresh_csrf()
    return c


def test_no_route_gives_a_5xx_whatever_it_is_sent(app, objects):  # noqa: F811
    app.testing = False  # what gunicorn does: exceptions become error pages
    # thousands of wrong sign-ins from one address: the throttle has its own tests
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = app.config["LOGIN_LIMIT_PER_ADDRESS"] = "9999/minute"
    failures = []
    for role in ROLES:
        c = _client(app, role)
        for rule in app.url_map.iter_rules():
            if rule.endpoint in SKIP or rule.endpoint == "static":
                continue
            for url in _urls(rule, objects):
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    for response, what in _send(c, method, url):
                        if response.status_code >= 500:
                            failures.append(f"{role} {method} {what}: {response.status_code}")
    assert not failures, "\n".join(failures[:40])


def _send(c: Client, method: str, url: str):
    if method == "GET":
        for value in HOSTILE:
            query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
            yield c.http.get(f"{url}?{query}"), f"{url}?…={value[:20]}"
        yield c.http.get(url, headers={"Accept": "application/json"}), url
        return
    for value in HOSTILE_FORM:
        data = dict.fromkeys(FORM_NAMES, value)
        data["uuid"] = str(uuid.uuid4())
        data["csrf_token"] = c.csrf or c.refresh_csrf()
        response = c.http.post(url, data=data, headers={"Accept": "application/json"})
        yield response, f"{url} form={value[:20]!r}"
    yield c.http.post(f"{url}?page=%00&next=%FF", data={"csrf_token": c.csrf}), f"{url}?%00"
    # a JSON body with a lone surrogate and a NUL, which no database text can hold
    body = json.dumps({"note": "\ud800", "reason": "\x00", "csrf_token": c.csrf})
    headers = {"Content-Type": "application/json", "X-CSRFToken": c.csrf or ""}
    yield c.http.post(url, data=body, headers=headers), f"{url} JSON"
