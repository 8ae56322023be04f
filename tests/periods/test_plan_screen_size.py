"""The plan screen at a bank's size stays light: its add form suggests a few outlet codes,
not every outlet (any code is checked by the server), and the coverage picture is a few
SVG paths, not an element per outlet."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from shopper.extensions import db
from shopper.models import Assignment, Outlet, SubBranch
from shopper.periods import board


def many_outlets(app, count: int) -> None:
    with app.app_context():
        s = db.session
        sb = s.scalar(select(SubBranch).where(SubBranch.code == "SB1"))
        s.add_all(
            Outlet(code=f"X{n:04d}", name=f"Extra {n}", sub_branch_id=sb.id) for n in range(count)
        )
        s.commit()


def test_the_add_form_suggests_a_few_outlets_and_takes_any_code(login, world, app):
    many_outlets(app, board.SUGGESTED + 50)
    admin = login("admin")
    page = admin.get(f"/office/periods/{world.period_id}/plan").get_data(as_text=True)
    datalist = re.search(r'<datalist id="outlet-codes">(.*?)</datalist>', page, re.S).group(1)
    suggested = re.findall(r'<option value="([^"]+)"', datalist)
    assert 0 < len(suggested) <= board.SUGGESTED
    assert "X0149" not in suggested  # the last outlet is not offered, but it can be added
    response = admin.post(
        f"/office/periods/{world.period_id}/plan/assignments",
        {"outlet": "X0149", "inspector": world.users["inspector"], "kind": "mystery"},
    )
    assert response.status_code == 302
    with app.app_context():
        s = db.session
        added = s.scalar(
            select(func.count())
            .select_from(Assignment)
            .join(Outlet, Outlet.id == Assignment.outlet_id)
            .where(Outlet.code == "X0149", Assignment.period_id == world.period_id)
        )
    assert added == 1
    refused = admin.post(
        f"/office/periods/{world.period_id}/plan/assignments",
        {"outlet": "X9999", "inspector": world.users["inspector"], "kind": "mystery"},
    )
    assert refused.status_code == 400


def test_the_coverage_picture_is_a_path_per_kind_of_square(login, world, app):
    many_outlets(app, 150)
    page = login("admin").get(f"/office/periods/{world.period_id}/plan").get_data(as_text=True)
    figure = re.search(r'<figure class="coverage">(.*?)</figure>', page, re.S).group(1)
    picture = figure.split("<figcaption")[0]
    assert "<rect" not in picture and "<circle" not in picture
    # 153 outlets, a square each, in at most four paths (visited or not, due, missed)
    squares = re.findall(r"M[\d.]+ [\d.]+h\d+v\d+h-\d+z", picture)
    assert len(squares) == 153
    assert picture.count('<path class="cell') <= 4
    assert 'class="no-video-dots"' in picture  # no video check planned yet


def test_the_picture_keeps_each_outlets_state():
    coverage = [
        {
            "code": "SB1",
            "outlets": 3,
            "cells": [
                {"visited": True, "due": False, "reinspected": False, "videos_done": True},
                {"visited": True, "due": True, "reinspected": True, "videos_done": False},
                {"visited": False, "due": True, "reinspected": False, "videos_done": True},
            ],
        }
    ]
    picture = board.coverage_picture(coverage)
    kinds = {p["class"]: p["d"].count("z") for p in picture["paths"]}
    assert kinds == {"cell visited": 1, "cell visited due": 1, "cell not-visited due missed": 1}
    assert picture["dots"].count("h0") == 1
    assert (picture["width"], picture["height"]) == (60 + 3 * 21, 4 + 24 + 4)
