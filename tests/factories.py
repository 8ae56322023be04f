"""Helpers that drive the app the way the phone does, for view tests."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from shopper.extensions import db
from shopper.inspections import service
from shopper.inspections.models import Answer, ClientWrite, Inspection
from shopper.photos.models import Photo


def start(client, assignment_id: int, mode: str = "on_site") -> int:
    response = client.post(f"/inspect/assignments/{assignment_id}/start", {"mode": mode})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/inspect/(\d+)", response.headers["Location"]).group(1))


def items(app, inspection_id: int) -> list[tuple[int, str, object]]:
    """(version id, item code, core item) of every item the inspection pinned, in order."""
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        return [
            (pin.version.id, item.code, item)
            for pin in service.pinned(inspection)
            for item in pin.checklist.items
        ]


def answer(client, inspection_id: int, version: int, item: str, result: str, note: str = "", **kw):
    data = {
        "uuid": kw.pop("uuid", None) or str(uuid.uuid4()),
        "version": version,
        "item": item,
        "result": result,
        "note": note,
    }
    return client.post(f"/inspect/{inspection_id}/answers", data, json=True, **kw)


def answer_all(client, app, inspection_id: int, result_for=lambda item: "pass") -> None:
    for version, code, item in items(app, inspection_id):
        result = result_for(item)
        note = "seen on site" if result == "fail" else ""
        response = answer(client, inspection_id, version, code, result, note)
        assert response.status_code == 200, response.get_data(as_text=True)


def counts(app) -> dict[str, int]:
    """Row counts of everything a refused write must leave alone."""
    with app.app_context():
        s = db.session
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (Answer, ClientWrite, Inspection, Photo)
        } | {
            "answer_state": tuple(
                s.execute(select(Answer.item_code, Answer.result, Answer.note).order_by(Answer.id))
            )
        }
