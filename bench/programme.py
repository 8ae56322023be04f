"""The programme at a bank's scale: rankings, weak indicators, the next plan, an export.

Run from the project root:  python bench/programme.py [--db sqlite|postgresql|both] [--small]
                            [--runs 7] [--pg-url postgresql://…/shopper_ci] [--keep DIR]

Per database: a fresh one (a SQLite file, or a new PostgreSQL database beside --pg-url's),
migrated, the shipped checklists published (and a second version of the five courtesies
from the fifth period on: the same item codes across versions); then, straight into the
tables (executemany on SQLite, COPY on PostgreSQL): 5 000 outlets in 60 sub-branches, 60
agency inspectors and 60 bank checkers, 8 periods (2025Q1 … 2026Q4, the last open), in each
3 500 mystery-shopper visits (every outlet under 85 last period re-inspected) and 1 500 video
checks, all released, each with its 60 answers: 40 000 inspections, 2.4 million answers.
The stored results are then built in one go (`results.rebuild`, as the migration does) and
the seven closed periods frozen.

Timed (median of --runs, after one warm-up), signed in as head office through the Flask test
client: the rankings page and the weak-indicators page of the open period (and the rankings
of a closed, frozen period); beside them, in the same process, the baseline: the same figures
computed again from the answers (every inspection re-scored by the core, every item counted),
which is what a page would cost without stored results, with the ratio. Also: one
`results.record` (what every release and revision adds), the plan proposal for 2027Q1
(h2's `shopper.periods.plan.propose_for`, else the core's `planning.propose`), and the XLSX
export of all answers (h4's `shopper.results.exports.export_xlsx`) in a subprocess, peak RSS
exporting 10 000 inspections (two periods) and 40 000 (all eight). The query plans relied on
are printed (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE). The last lines, one per database:
  programme <sqlite|postgresql>: rankings <ms> ms, weak indicators <ms> ms, plan <s> s,
  export peak <MB> MB  (on one line)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "programme-bench-password"
TARGET_PAGE_MS, TARGET_PLAN_S = 200, 2.0


class Size:
    def __init__(self, small: bool):
        if small:
            self.sub_branches, self.outlets, self.periods = 12, 500, 4
            self.mystery, self.video, self.inspectors = 350, 150, 10
        else:
            self.sub_branches, self.outlets, self.periods = 60, 5000, 8
            self.mystery, self.video, self.inspectors = 3500, 1500, 60


# ---- building the data -------------------------------------------------------------------


def fresh_database(kind: str, pg_url: str, folder: Path) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        path = folder / "programme.sqlite3"
        for p in folder.glob("programme.sqlite3*"):
            p.unlink()
        return f"sqlite:///{path}"
    url = make_url(pg_url).set(drivername="postgresql+psycopg")
    name = f"{url.database}_programme"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def bulk(raw, dialect: str, table: str, columns: tuple[str, ...], rows) -> int:
    """Insert plain tuples: COPY on PostgreSQL, executemany on SQLite."""
    n = 0
    cursor = raw.cursor()
    if dialect == "postgresql":
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    else:
        rows = (tuple(_sqlite_value(v) for v in row) for row in rows)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 20000:
                cursor.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            n += len(batch)
    cursor.close()
    return n


def _sqlite_value(value):
    # what SQLAlchemy itself would bind on SQLite
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def build(url: str, size: Size, log) -> dict:
    """The organisation, periods, inspections and answers; returns what the timings need."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from shopper.auth.models import Role, User
    from shopper.checklists import service as checklists
    from shopper.config import DEFAULT_BANDS
    from shopper.core import checklist as core
    from shopper.core import scoring
    from shopper.db import make_engine
    from shopper.migrate import upgrade
    from shopper.models import Agency, Period
    from shopper.org.features import ensure_defaults

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    dialect = engine.dialect.name
    bands = scoring.bands_from_config(DEFAULT_BANDS)
    rng = random.Random(15)
    with Session(engine) as s:
        ensure_defaults(s)
        checklists.load_directory(s, ROOT / "checklists")
        agency = Agency(name="Bench agency")
        s.add(agency)
        s.flush()
        admin = User(username="admin", display_name="Head office", role=Role.ADMIN)
        admin.set_password(PASSWORD, method="pbkdf2:sha256:1000")
        s.add(admin)
        s.commit()
        agency_id = agency.id
    raw = engine.raw_connection()
    try:
        bulk(
            raw,
            dialect,
            "sub_branches",
            ("id", "code", "name"),
            ((n, f"SB{n:02d}", f"第{n}支行") for n in range(1, size.sub_branches + 1)),
        )
        sub_of = {o: 1 + (o - 1) % size.sub_branches for o in range(1, size.outlets + 1)}
        bulk(
            raw,
            dialect,
            "outlets",
            ("id", "code", "name", "sub_branch_id", "address", "timezone", "language"),
            (
                (o, f"O{o:04d}", f"网点{o}", sub_of[o], "", "Asia/Shanghai", "zh_CN")
                for o in range(1, size.outlets + 1)
            ),
        )
        raw.commit()
    finally:
        raw.close()
    with Session(engine) as s:
        users = []
        for n in range(size.inspectors):
            u = User(username=f"insp{n}", display_name=f"Inspector {n}", role=Role.INSPECTOR)
            u.agency_id = agency_id
            users.append(u)
        for sb in range(1, size.sub_branches + 1):
            u = User(username=f"check{sb}", display_name=f"Checker {sb}", role="bank_checker")
            u.sub_branch_id = sb
            users.append(u)
        for u in users:
            u.password_hash = "x"  # never signs in
        s.add_all(users)
        start = date(2025, 1, 1)
        periods = []
        for n in range(size.periods + 1):  # the last one is next period's, to be planned
            year, quarter = start.year + (n // 4), n % 4 + 1
            first = date(year, 3 * quarter - 2, 1)
            last = (date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)) - timedelta(days=1)
            state = (
                "closed" if n < size.periods - 1 else "open" if n == size.periods - 1 else "planned"
            )
            periods.append(
                Period(
                    code=f"{year}Q{quarter}",
                    starts_on=first,
                    ends_on=last,
                    state=state,
                    is_current=state == "open",
                )
            )
        s.add_all(periods)
        s.flush()
        # a second version of the five courtesies (one item's points raised) for later periods
        latest = checklists.history(s, "five_courtesies")[-1]
        data = core.to_data(latest.checklist())
        data["sections"][0]["items"][0]["points"] = float(
            Decimal(str(data["sections"][0]["items"][0]["points"])) + 1
        )
        checklists.publish(s, core.parse(json.loads(json.dumps(data)), "bench"), "bench", None)
        s.commit()
        agency_ids = [u.id for u in users if u.role == Role.INSPECTOR]
        checker_of = {u.sub_branch_id: u.id for u in users if u.role == "bank_checker"}
        period_rows = [(p.id, p.code, p.starts_on) for p in periods]
        versions = {
            code: [v for v in checklists.history(s, code)]
            for code in ("six_s", "teller_seven_steps", "five_courtesies")
        }
        pins = {code: [(v.id, v.checklist()) for v in vs] for code, vs in versions.items()}
    log(f"  organisation and checklists: {time.perf_counter() - started:.1f} s")

    quality = {o: rng.uniform(0.01, 0.16) for o in range(1, size.outlets + 1)}
    difficulty: dict[str, float] = {}
    now = datetime(2026, 12, 1, 8, 0)
    inspection_id = assignment_id = 0
    totals = {"inspections": 0, "answers": 0}
    last_scores: dict[int, Decimal] = {}
    raw = engine.raw_connection()
    try:
        for p_index, (period_id, code, starts_on) in enumerate(period_rows[: size.periods]):
            t0 = time.perf_counter()
            due = [o for o, sc in last_scores.items() if sc < 85]
            rest = [o for o in range(1, size.outlets + 1) if o not in set(due)]
            rng.shuffle(rest)
            mystery = sorted(
                set(due[: size.mystery]) | set(rest[: max(0, size.mystery - len(due))])
            )
            video = rng.sample(range(1, size.outlets + 1), size.video)
            due_set = set(due)
            assignments, inspections, pinned, answers = [], [], [], []
            scores_now: dict[int, Decimal] = {}
            chosen = {
                code_: (vs[-1] if p_index >= size.periods // 2 else vs[0])
                for code_, vs in pins.items()
            }
            day = datetime.combine(starts_on, datetime.min.time()) + timedelta(days=10)
            for kind, outlets_ in (("mystery", mystery), ("video", video)):
                for n, outlet in enumerate(outlets_):
                    assignment_id += 1
                    inspection_id += 1
                    inspector = (
                        agency_ids[(n + p_index) % len(agency_ids)]
                        if kind == "mystery"
                        else checker_of[sub_of[outlet]]
                    )
                    assignments.append(
                        (
                            assignment_id,
                            period_id,
                            outlet,
                            inspector,
                            kind,
                            kind == "mystery" and outlet in due_set,
                            n + 1 if kind == "video" else 1,
                        )
                    )
                    earned = applicable = Decimal(0)
                    red = False
                    for position, (version_id, checklist) in enumerate(chosen.values()):
                        pinned.append((inspection_id, version_id, position))
                        for item in checklist.items:
                            d = difficulty.setdefault(item.code, rng.uniform(0.3, 2.2))
                            roll = rng.random()
                            if roll < 0.03:
                                result = "na"
                            elif item.red_line:
                                result = "fail" if roll < 0.03 + quality[outlet] * 0.04 else "pass"
                            else:
                                result = "fail" if roll < 0.03 + quality[outlet] * d else "pass"
                            if result != "na":
                                applicable += item.points
                                if result == "pass":
                                    earned += item.points
                                elif item.red_line:
                                    red = True
                            answers.append(
                                (
                                    inspection_id,
                                    version_id,
                                    item.code,
                                    result,
                                    "seen" if result == "fail" else "",
                                    day,
                                    day,
                                )
                            )
                    score = scoring.percent(earned, applicable) or Decimal(0)
                    band = scoring.band_for(score, bands, red).code
                    when = day + timedelta(hours=n % 200)
                    inspections.append(
                        (
                            inspection_id,
                            assignment_id,
                            period_id,
                            outlet,
                            inspector,
                            "on_site" if kind == "mystery" else "video",
                            "released",
                            when,
                            when,
                            score,
                            band,
                            red,
                            earned,
                            applicable,
                            when,
                        )
                    )
                    if kind == "mystery":
                        scores_now[outlet] = score
            bulk(
                raw,
                dialect,
                "assignments",
                ("id", "period_id", "outlet_id", "inspector_id", "kind", "reinspection", "seq"),
                assignments,
            )
            bulk(
                raw,
                dialect,
                "inspections",
                (
                    "id",
                    "assignment_id",
                    "period_id",
                    "outlet_id",
                    "inspector_id",
                    "mode",
                    "status",
                    "started_at",
                    "submitted_at",
                    "score",
                    "band",
                    "red_line_failed",
                    "points_earned",
                    "points_applicable",
                    "released_at",
                ),
                inspections,
            )
            bulk(
                raw,
                dialect,
                "inspection_checklists",
                ("inspection_id", "checklist_version_id", "position"),
                pinned,
            )
            bulk(
                raw,
                dialect,
                "answers",
                (
                    "inspection_id",
                    "checklist_version_id",
                    "item_code",
                    "result",
                    "note",
                    "updated_at",
                    "changed_at",
                ),
                answers,
            )
            raw.commit()
            totals["inspections"] += len(inspections)
            totals["answers"] += len(answers)
            last_scores = scores_now
            log(
                f"  {code}: {len(inspections)} inspections, {len(answers)} answers"
                f" ({time.perf_counter() - t0:.1f} s)"
            )
        if dialect == "postgresql":
            cursor = raw.cursor()
            for table in ("assignments", "inspections", "sub_branches", "outlets"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
            cursor.close()
        else:
            cursor = raw.cursor()
            cursor.execute("ANALYZE")
            cursor.close()
        raw.commit()
    finally:
        raw.close()
    del now
    t0 = time.perf_counter()
    from shopper.results import service as results

    with Session(engine) as s:
        stored = results.rebuild(s)
        s.commit()
    rebuild_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Session(engine) as s:
        settings = results.Settings.from_config({"SCORE_BANDS": DEFAULT_BANDS})
        for period_id, _code, _start in period_rows[: size.periods - 1]:
            results.freeze(s, s.get(Period, period_id), settings)
        s.commit()
        if dialect == "postgresql":
            s.execute(text("ANALYZE"))
            s.commit()
        else:
            s.execute(text("ANALYZE"))
            s.commit()
        admin_id = s.scalar(select(User.id).where(User.username == "admin"))
    freeze_s = time.perf_counter() - t0
    log(
        f"  stored results: {stored} outlet rows rebuilt in {rebuild_s:.1f} s;"
        f" {size.periods - 1} closed periods frozen in {freeze_s:.1f} s"
    )
    engine.dispose()
    return {
        "periods": period_rows,
        "open": period_rows[size.periods - 1][0],
        "closed": period_rows[size.periods - 2][0],
        "next": period_rows[size.periods][0],
        "admin": admin_id,
        "totals": totals,
        "build_s": time.perf_counter() - started,
        "rebuild_s": rebuild_s,
    }


# ---- the baseline: recomputed from the answers --------------------------------------------


def recomputed_rankings(session, period_id: int, settings):
    """What the rankings would cost without stored results: every released inspection of
    the period scored again from its answers by the core, then ranked as the page ranks."""
    from sqlalchemy import select

    from shopper.checklists.models import ChecklistVersion
    from shopper.core import ranking, scoring
    from shopper.inspections.models import Answer, Inspection
    from shopper.org.models import Outlet
    from shopper.periods.models import Assignment

    checklists = {v.id: v.checklist() for v in session.scalars(select(ChecklistVersion))}
    rows = session.execute(
        select(
            Answer.inspection_id,
            Answer.checklist_version_id,
            Answer.item_code,
            Answer.result,
        )
        .join(Inspection, Inspection.id == Answer.inspection_id)
        .where(Inspection.period_id == period_id, Inspection.status == "released")
        .order_by(Answer.inspection_id)
    )
    meta = {
        i: (o, sb, k)
        for i, o, sb, k in session.execute(
            select(Inspection.id, Inspection.outlet_id, Outlet.sub_branch_id, Assignment.kind)
            .join(Outlet, Outlet.id == Inspection.outlet_id)
            .join(Assignment, Assignment.id == Inspection.assignment_id)
            .where(Inspection.period_id == period_id, Inspection.status == "released")
        )
    }
    answers: dict[int, dict] = defaultdict(dict)
    used: dict[int, set[int]] = defaultdict(set)
    for iid, vid, code, result in rows:
        answers[iid][(checklists[vid].code, code)] = scoring.Answer(scoring.Result(result))
        used[iid].add(vid)
    sums: dict[int, list] = {}
    for iid, given in answers.items():
        card = scoring.score([checklists[v] for v in sorted(used[iid])], given, settings.bands)
        outlet, sb, kind = meta[iid]
        entry = sums.setdefault(outlet, [sb, Decimal(0), 0, False, Decimal(0), 0, False])
        if kind == "video":
            entry[4] += card.score or 0
            entry[5] += 1
            entry[6] = entry[6] or bool(card.red_line_failures)
        else:
            entry[1] += card.score or 0
            entry[2] += 1
            entry[3] = entry[3] or bool(card.red_line_failures)
    figures = [
        ranking.OutletFigures(o, e[0], e[1], e[2], e[3], e[4], e[5], e[6]) for o, e in sums.items()
    ]
    ranked = ranking.rank(
        (ranking.outlet_score(f, settings.bands, settings.video_weight) for f in figures),
        settings.bands,
    )
    subs = ranking.sub_branch_scores(figures, settings.bands, settings.video_weight)
    return ranked, subs


def recomputed_weak(session, period_id: int):
    """The weak indicators counted again from every answer of the period."""
    from shopper.core import ranking
    from shopper.results import service as results

    counts = [
        ranking.ItemCount(code, item, int(applied), int(failed))
        for _p, _sb, kind, code, item, applied, failed in session.execute(
            results.item_counts_query(period_id)
        )
        if kind == "mystery"
    ]
    return ranking.weak_indicators(counts)


# ---- timings -----------------------------------------------------------------------------


CPU: dict[str, float] = {}  # the last timing's median CPU ms of this process, by label


def median_ms(fn, runs: int, label: str = "") -> tuple[float, list[float]]:
    """Median wall-clock ms of `runs` calls after a warm-up (and the CPU median in CPU)."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), times


def signed_in_client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def explain(session, dialect: str, statement, title: str, log) -> None:
    from sqlalchemy import text

    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    sql = str(compiled)
    log(f"  -- {title}")
    if dialect == "sqlite":
        for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)):
            log(f"     {row[-1]}")
    else:
        for (line,) in session.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)):
            log(f"     {line}")


def time_everything(url: str, built: dict, runs: int, size: Size, log) -> dict:
    from sqlalchemy import select

    from shopper import create_app
    from shopper.extensions import db
    from shopper.models import Inspection, Period
    from shopper.results import service as results

    folder = Path(tempfile.mkdtemp(prefix="programme-app-"))
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "programme-bench",
            "STORAGE_DIR": str(folder / "storage"),
            "PKI_DIR": str(folder / "pki"),
            "DATABASE_STATEMENT_TIMEOUT": 120.0,
        }
    )
    client = signed_in_client(app)
    out: dict = {}
    open_id, closed_id = built["open"], built["closed"]

    def page(path):
        def get():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return get

    out["rankings_ms"], out["rankings_runs"] = median_ms(
        page(f"/office/results/{open_id}/"), runs, "rankings"
    )
    size_kb = len(client.get(f"/office/results/{open_id}/").data) // 1024
    out["rankings_kb"] = size_kb
    out["frozen_ms"], _ = median_ms(page(f"/office/results/{closed_id}/"), runs)
    out["weak_ms"], out["weak_runs"] = median_ms(
        page(f"/office/results/{open_id}/weak"), runs, "weak"
    )
    out["weak_sub_ms"], _ = median_ms(page(f"/office/results/{open_id}/weak?sub_branch=1"), runs)
    out["charts_ms"], _ = median_ms(page(f"/office/results/{open_id}/charts"), runs)

    with app.app_context():
        s = db.session
        dialect = s.get_bind().dialect.name
        period = s.get(Period, open_id)
        settings = results.Settings.from_config(app.config)
        # service level: stored results against the recomputation from answers
        out["svc_rankings_ms"], _ = median_ms(lambda: results.rankings(s, period, settings), runs)
        out["svc_weak_ms"], _ = median_ms(lambda: results.weak_indicators(s, period), runs)
        base_runs = max(3, runs // 2)
        out["base_rankings_ms"], _ = median_ms(
            lambda: recomputed_rankings(s, open_id, settings), base_runs
        )
        out["base_weak_ms"], _ = median_ms(lambda: recomputed_weak(s, open_id), base_runs)
        # the two agree
        stored = {o.outlet_id: o.score for o in results.rankings(s, period, settings).outlets}
        again = {r.key: r.score for r in recomputed_rankings(s, open_id, settings)[0]}
        out["baseline_agrees"] = stored == again
        weak_stored = [(w.item, w.rate) for w in results.weak_indicators(s, period)]
        weak_again = [(w.item, w.rate) for w in recomputed_weak(s, open_id)]
        out["weak_agrees"] = weak_stored == weak_again
        # one release's cost: record() of an inspection of the open period
        inspection = s.scalar(
            select(Inspection).where(Inspection.period_id == open_id).order_by(Inspection.id)
        )

        def record_once():
            results.record(s, inspection)
            s.rollback()

        out["record_ms"], _ = median_ms(record_once, runs)

        log("  query plans relied on:")
        previous = results.previous_period(s, period)
        ranked = results._ranked(open_id, False, previous.id if previous else None)
        explain(
            s,
            dialect,
            select(ranked).order_by(ranked.c.rank, ranked.c.code),
            "rankings: RANK() over the period's stored outlet results, last period's beside",
            log,
        )
        frozen = results._ranked(closed_id, True, None)
        explain(
            s,
            dialect,
            select(frozen).order_by(frozen.c.rank, frozen.c.code),
            "rankings of a closed period: its frozen ranks",
            log,
        )
        explain(
            s,
            dialect,
            results.item_counts_statement(open_id, None, ("mystery",)),
            "weak indicators, whole bank (item_results, primary key prefix)",
            log,
        )
        explain(
            s,
            dialect,
            results.item_counts_statement(open_id, 1, ("mystery",)),
            "weak indicators, one sub-branch (item_results, primary key)",
            log,
        )
        explain(
            s,
            dialect,
            results.outlet_inspections_statement(open_id, inspection.outlet_id),
            "record: the outlet's released inspections of the period",
            log,
        )
        explain(
            s,
            dialect,
            results.item_counts_query(open_id, 1),
            "record: the sub-branch's item counts recomputed from its answers",
            log,
        )
        s.rollback()

    out["plan_s"], out["plan_note"] = time_plan(app, built["next"], log)
    return out


def time_plan(app, next_id: int, log) -> tuple[float, str]:
    from shopper.extensions import db
    from shopper.models import Period

    with app.app_context():
        s = db.session
        period = s.get(Period, next_id)
        try:
            from shopper.periods.plan import propose_for
        except ImportError:
            propose_for = None
        if propose_for is not None:
            t0 = time.perf_counter()
            proposal = propose_for(s, period, 1, app.config)
            took = time.perf_counter() - t0
            broken = [r.rule for r in proposal.results if not r.met]
            note = (
                f"h2's propose_for: {proposal.added} visits proposed,"
                f" broken rules {broken or 'none'}"
            )
            s.rollback()
            return took, note
        # no h2 service in this tree: the core's proposer on inputs read here
        from sqlalchemy import select

        from shopper.auth.models import User
        from shopper.core import planning
        from shopper.org.models import Outlet
        from shopper.results.models import OutletResult

        outlets = [
            planning.Outlet(i, sb) for i, sb in s.execute(select(Outlet.id, Outlet.sub_branch_id))
        ]
        people = [
            planning.Inspector(i, "agency")
            if role == "inspector"
            else planning.Inspector(i, "bank", sb)
            for i, role, sb in s.execute(
                select(User.id, User.role, User.sub_branch_id).where(
                    User.role.in_(["inspector", "bank_checker"])
                )
            )
        ]
        previous = period.id - 1
        last = {
            o: planning.OutletHistory(last_score=(m / c) if c else None)
            for o, m, c in s.execute(
                select(
                    OutletResult.outlet_id, OutletResult.mystery_sum, OutletResult.mystery_count
                ).where(OutletResult.period_id == previous)
            )
        }
        t0 = time.perf_counter()
        planning.propose(
            outlets, people, planning.History(last), planning.Rules(periods_left=4), seed=1
        )
        return time.perf_counter() - t0, "core planning.propose (h2's propose_for not in this tree)"


# ---- the export, in a subprocess ----------------------------------------------------------


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def export_child(url: str, period_ids: list[int]) -> None:
    """Export every answer of the given periods as XLSX (one workbook each, one after the
    other, into a temporary file); print the peak RSS (VmHWM, reset once the imports and
    the connection are made) after each period, and the rows written."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from shopper.config import DEFAULT_BANDS
    from shopper.db import make_engine
    from shopper.models import Period
    from shopper.results import exports

    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _reset_peak()
    start = _rss_mb("VmRSS")
    rows, peaks = 0, []
    t0 = time.perf_counter()
    cpu = time.process_time()
    options = {"lang": "zh_CN", "config": {"SCORE_BANDS": DEFAULT_BANDS}}
    with Session(engine) as s:
        for pid in period_ids:
            with tempfile.TemporaryFile() as out:
                rows += exports.export_xlsx(s, s.get(Period, pid), "answers", out, options)
            s.expunge_all()
            peaks.append(round(_rss_mb("VmHWM"), 1))
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - cpu,
                "peak_mb": _rss_mb("VmHWM"),
                "start_mb": start,
                "peaks_after_each_period": peaks,
            }
        )
    )


def time_export(url: str, periods: list[int], sizes: list[int], log) -> dict:
    """Peak RSS of the answers export, in a fresh subprocess per size (periods exported)."""
    out = {}
    for count in sizes:
        ids = periods[:count]
        result = subprocess.run(
            [sys.executable, __file__, "--export-child", url, ",".join(map(str, ids))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if result.returncode != 0:
            log(f"  export failed: {result.stderr[-2000:]}")
            continue
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        out[count] = figures
        log(
            f"  XLSX export of every answer of {len(ids)} period(s), {figures['rows']} rows:"
            f" {figures['seconds']:.0f} s ({figures['cpu_seconds']:.0f} s CPU), peak RSS"
            f" {figures['peak_mb']:.0f} MB (RSS before the export {figures['start_mb']:.0f} MB;"
            f" peak after each period {figures['peaks_after_each_period']})"
        )
    return out


# ---- main ----------------------------------------------------------------------------------


def run(kind: str, args, log) -> str:
    size = Size(args.small)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="programme-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        url = reused_database(kind, args.pg_url, folder)
        log(f"\n== {kind}: {url.split('@')[-1]} (built before, reused)")
        built = described(url, size)
    else:
        url = fresh_database(kind, args.pg_url, folder)
        log(f"\n== {kind}: {url.split('@')[-1]}")
        built = build(url, size, log)
    t = built["totals"]
    log(
        f"  built {t['inspections']} inspections, {t['answers']} answers in"
        f" {built['build_s']:.0f} s"
    )
    timed = time_everything(url, built, args.runs, size, log)
    periods = [p[0] for p in built["periods"][: size.periods]]
    per_period = size.mystery + size.video
    sizes = sorted({max(1, round(n / per_period)) for n in args.export_at})
    report_timings(timed, args, log)
    exported = time_export(url, periods, [n for n in sizes if n <= len(periods)], log)
    return summarise(kind, timed, exported, per_period, log)


def reused_database(kind: str, pg_url: str, folder: Path) -> str:
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        return f"sqlite:///{folder / 'programme.sqlite3'}"
    url = make_url(pg_url).set(drivername="postgresql+psycopg")
    return url.set(database=f"{url.database}_programme").render_as_string(hide_password=False)


def described(url: str, size: Size) -> dict:
    """What `build` returns, read back from a database it built earlier."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from shopper.auth.models import User
    from shopper.db import make_engine
    from shopper.models import Answer, Inspection, Period

    engine = make_engine(url)
    with Session(engine) as s:
        rows = [
            (p.id, p.code, p.starts_on)
            for p in s.scalars(select(Period).order_by(Period.starts_on))
        ]
        totals = {
            "inspections": s.scalar(select(func.count()).select_from(Inspection)),
            "answers": s.scalar(select(func.count()).select_from(Answer)),
        }
        admin = s.scalar(select(User.id).where(User.username == "admin"))
    engine.dispose()
    return {
        "periods": rows,
        "open": rows[size.periods - 1][0],
        "closed": rows[size.periods - 2][0],
        "next": rows[size.periods][0],
        "admin": admin,
        "totals": totals,
        "build_s": 0.0,
    }


def report_timings(timed: dict, args, log) -> None:
    log(
        f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while timing;"
        f" CPU of this process: rankings page {CPU.get('rankings', 0):.0f} ms,"
        f" weak indicators {CPU.get('weak', 0):.0f} ms (PostgreSQL's own CPU not included)"
    )
    log(
        f"  rankings page (open period, {timed['rankings_kb']} KB): {timed['rankings_ms']:.0f} ms"
        f" median of {args.runs} {[round(x) for x in timed['rankings_runs']]}"
    )
    log(f"  rankings page of a closed period (frozen snapshot): {timed['frozen_ms']:.0f} ms")
    log(
        f"  weak-indicators page (bank): {timed['weak_ms']:.0f} ms"
        f" {[round(x) for x in timed['weak_runs']]}; one sub-branch {timed['weak_sub_ms']:.0f} ms"
    )
    log(f"  charts page: {timed['charts_ms']:.0f} ms")
    for name, stored, base in (
        ("rankings", timed["svc_rankings_ms"], timed["base_rankings_ms"]),
        ("weak indicators", timed["svc_weak_ms"], timed["base_weak_ms"]),
    ):
        log(
            f"  {name}, service level: stored {stored:.1f} ms vs recomputed from answers"
            f" {base:.0f} ms (x{base / stored:.0f}; stored/recomputed = {stored / base:.3f})"
        )
    log(
        f"  baseline agrees: rankings {timed['baseline_agrees']},"
        f" weak indicators {timed['weak_agrees']}"
    )
    log(f"  one record() (what a release or revision adds): {timed['record_ms']:.1f} ms")
    log(f"  plan proposal for the next period: {timed['plan_s']:.2f} s ({timed['plan_note']})")


def summarise(kind: str, timed: dict, exported: dict, per_period: int, log) -> str:
    peak = exported[max(exported)] if exported else None
    peak_mb = f"{peak['peak_mb']:.0f}" if peak else "n/a"
    for count, figures in sorted(exported.items()):
        log(
            f"  export peak RSS at {count * per_period} inspections"
            f" ({figures['rows']} answer rows): {figures['peak_mb']:.0f} MB"
        )
    ok = timed["rankings_ms"] < TARGET_PAGE_MS and timed["weak_ms"] < TARGET_PAGE_MS
    log(
        f"  targets: pages < {TARGET_PAGE_MS} ms {'met' if ok else 'MISSED'};"
        f" plan < {TARGET_PLAN_S} s {'met' if timed['plan_s'] < TARGET_PLAN_S else 'MISSED'}"
    )
    return (
        f"programme {kind}: rankings {timed['rankings_ms']:.0f} ms, weak indicators"
        f" {timed['weak_ms']:.0f} ms, plan {timed['plan_s']:.2f} s, export peak {peak_mb} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--small", action="store_true", help="500 outlets, 4 periods: quick")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "SHOPPER_DATABASE_URL", "postgresql://shopper_ci:shopper_ci@localhost/shopper_ci"
        ),
    )
    parser.add_argument("--keep", help="folder for the SQLite file (default: a temporary one)")
    parser.add_argument(
        "--reuse", action="store_true", help="time the database an earlier run built (--keep)"
    )
    parser.add_argument(
        "--export-at",
        type=int,
        nargs="*",
        default=[10000, 40000],
        help="numbers of inspections whose answers the export measures (whole periods)",
    )
    parser.add_argument(
        "--export-child", nargs=2, metavar=("URL", "PERIODS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child[0], [int(x) for x in args.export_child[1].split(",")])
        return

    def log(line: str) -> None:
        print(line, flush=True)

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    summaries = [run(kind, args, log) for kind in kinds]
    print()
    for line in summaries:
        print(line)


if __name__ == "__main__":
    main()
