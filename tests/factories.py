"""Helpers that drive the app the way the phone does, for view tests."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

from PIL import Image
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


def preset(app, inspection_id: int) -> dict[str, str]:
    """Item code → why, for the items the start answered N/A (outlet feature, video)."""
    with app.app_context():
        rows = db.session.execute(
            select(Answer.item_code, Answer.na_reason).where(
                Answer.inspection_id == inspection_id, Answer.na_reason.is_not(None)
            )
        )
        return dict(rows.all())


def answer_all(client, app, inspection_id: int, result_for=lambda item: "pass") -> None:
    """Answer every item the inspector may answer (not those set N/A at the start)."""
    skip = preset(app, inspection_id)
    for version, code, item in items(app, inspection_id):
        if code in skip:
            continue
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


def jpeg(width=640, height=480, exif=None, color=(180, 40, 40)) -> bytes:
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 20):  # some detail, so the JPEG is not trivial
        image.paste((20, 120, 200), (x, 0, x + 5, height))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x9003] = "2026:11:20 09:30:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 14.0, 1.0), 3: "E", 4: (121.0, 28.0, 2.0)})
    exif[0x0110] = "SecretPhone 12"
    return exif.tobytes()


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload(c, iid, version, code, data: bytes, name="photo.jpg", client_uuid=None):
    return c.post(
        f"/inspect/{iid}/photos",
        {
            "uuid": client_uuid or str(uuid.uuid4()),
            "version": version,
            "item": code,
            "photo": (io.BytesIO(data), name),
        },
        json=True,
        content_type="multipart/form-data",
    )


def submit(client, inspection_id: int, *, attest: bool = True, confirm: bool = True, **kw):
    """Submit from the review page: the attestation ticked and the confirm step taken."""
    data = {"uuid": kw.pop("uuid", None) or str(uuid.uuid4())}
    if attest:
        data["attest"] = "y"
    if confirm:
        data["confirm"] = "yes"
    return client.post(f"/inspect/{inspection_id}/submit", data, **kw)


def release(app, inspection_id: int) -> None:
    """Mark a submitted inspection released (head office's check), without its notice."""
    from shopper.db import utcnow

    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection.status == "submitted"
        inspection.status = "released"
        inspection.released_at = utcnow()
        db.session.commit()


def submitted_directly(app, inspector_id: int, assignment_id: int, result_for) -> int:
    """Start, answer and submit an inspection through the services (no HTTP): fast set-up
    for tests about what happens after submission. A failed item gets a note."""
    from shopper.auth.models import User
    from shopper.core.scoring import bands_from_config

    with app.app_context():
        s = db.session
        inspector = s.get(User, inspector_id)
        order = app.config["CHECKLIST_ORDER"]
        inspection = service.start(s, inspector, assignment_id, "on_site", order)
        for pin in service.pinned(inspection):
            for item in pin.checklist.items:
                result = result_for(item)
                service.save_answer(
                    s,
                    inspector,
                    inspection,
                    version_id=pin.version.id,
                    item_code=item.code,
                    result=result,
                    note="seen on site" if result == "fail" else None,
                    client_uuid=str(uuid.uuid4()),
                )
        service.submit(
            s, inspector, inspection, bands_from_config(app.config["SCORE_BANDS"]), attested=True
        )
        s.commit()
        return inspection.id
