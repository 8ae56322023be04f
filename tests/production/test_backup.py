"""Backup and verified restore: an archive made while inspections keep being submitted
restores into a fresh instance whole and consistent (every row, every file, notices that
still verify, the audit chain); a damaged, incomplete or truncated archive, and an instance
that is not empty, are refused with nothing changed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from shopper import create_app, migrate
from shopper.auth.models import User
from shopper.backup import MANIFEST, MANIFEST_SUM
from shopper.core.scoring import bands_from_config
from shopper.extensions import db
from shopper.inspections import service
from shopper.inspections.models import Answer, Inspection
from shopper.models import Assignment, Outlet, Period, SubBranch
from shopper.notices import service as notices
from shopper.notices.models import Notice
from shopper.notices.pki import ensure_pki
from shopper.org.features import all_features
from shopper.photos import service as photos
from shopper.photos.models import Photo
from shopper.photos.storage import photo_keys
from tests.factories import jpeg, submitted_directly

# ---- instances ------------------------------------------------------------------------------


def _admin(url, *statements: str) -> None:
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


@pytest.fixture
def fresh(database_url, tmp_path):
    """fresh(name) → the app of a new, empty instance: a database of its own (a SQLite file
    not made yet in a folder that exists, or a new PostgreSQL database beside the suite's, with no tables), storage
    and PKI folders that do not exist yet."""
    apps, databases = [], []

    def make(name: str = "restored"):
        folder = tmp_path / name
        if database_url.startswith("postgresql"):
            url = make_url(database_url)
            new = f"{url.database}_{name}"
            _admin(url, f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)', f'CREATE DATABASE "{new}"')
            databases.append((url, new))
            instance_url = url.set(database=new).render_as_string(hide_password=False)
        else:
            (folder / "db").mkdir(parents=True)
            instance_url = f"sqlite:///{folder / 'db' / 'shopper.sqlite3'}"
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": instance_url,
                "STORAGE_DIR": str(folder / "storage"),
                "SECRET_KEY": "test-secret",
                "PKI_DIR": str(folder / "pki"),
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        db.engine(app).dispose()
    for url, name in databases:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def files_of(folder: Path) -> dict[str, str] | None:
    """Relative path → SHA-256 of every file under `folder`; None when it does not exist."""
    if not folder.exists():
        return None
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def state(app) -> dict:
    """Everything a refused restore must leave as it was: the database's tables and their
    row counts (or that its SQLite file does not exist), the stored files, the PKI folder."""
    engine = db.engine(app)
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if path and not Path(path).exists():
        database: object = "no database file"
    else:
        with engine.connect() as conn:
            database = {
                name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
                for name in sorted(inspect(conn).get_table_names())
            }
    engine.dispose()
    return {
        "database": database,
        "storage": files_of(Path(app.config["STORAGE_DIR"])),
        "pki": files_of(Path(app.config["PKI_DIR"])),
    }


def head_revision(app) -> str:
    config = migrate.alembic_config(db.engine(app))
    return ScriptDirectory.from_config(config).get_current_head()


# ---- an inspector who never stops ------------------------------------------------------------


class Writer(threading.Thread):
    """Starts, answers (committing halfway, as the phone's autosave does), photographs and
    submits inspections one after another through the services, in an app context of its
    own, until stopped; logs each committed state (inspection id, status, answers, photos)."""

    def __init__(self, app, inspector_id: int, assignment_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.inspector_id = inspector_id
        self.assignment_ids = assignment_ids
        self.states: list[tuple[int, str, int, int]] = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def log(self) -> list[tuple[int, str, int, int]]:
        with self.lock:
            return list(self.states)

    def run(self) -> None:
        try:
            for n, assignment_id in enumerate(self.assignment_ids):
                if self.halt.is_set():
                    return
                self.inspect(n, assignment_id)
        except BaseException as exc:  # the test reports it
            self.error = exc

    def commit(self, inspection: Inspection) -> None:
        s = db.session
        answers = s.scalar(
            select(func.count()).select_from(Answer).where(Answer.inspection_id == inspection.id)
        )
        shots = s.scalar(
            select(func.count()).select_from(Photo).where(Photo.inspection_id == inspection.id)
        )
        s.commit()
        with self.lock:
            self.states.append((inspection.id, inspection.status, answers, shots))

    def inspect(self, n: int, assignment_id: int) -> None:
        app = self.app
        with app.app_context():
            s = db.session
            inspector = s.get(User, self.inspector_id)
            order = app.config["CHECKLIST_ORDER"]
            inspection = service.start(s, inspector, assignment_id, "on_site", order)
            self.commit(inspection)
            items = [
                (pin.version.id, item.code)
                for pin in service.pinned(inspection)
                for item in pin.checklist.items
            ]
            for k, (version_id, code) in enumerate(items, start=1):
                service.save_answer(
                    s,
                    inspector,
                    inspection,
                    version_id=version_id,
                    item_code=code,
                    result="pass",
                    note=None,
                    client_uuid=str(uuid.uuid4()),
                )
                if k == len(items) // 2:
                    self.commit(inspection)
            photos.attach(
                s,
                photos.storage(),
                inspector,
                inspection,
                version_id=items[0][0],
                item_code=items[0][1],
                data=jpeg(color=(n * 37 % 256, 90, 200 - n % 100)),  # a file of its own
                client_uuid=str(uuid.uuid4()),
            )
            self.commit(inspection)
            bands = bands_from_config(app.config["SCORE_BANDS"])
            service.submit(s, inspector, inspection, bands, attested=True)
            self.commit(inspection)


def more_assignments(app, world, count: int) -> list[int]:
    """`count` more outlets (every feature), each assigned to the inspector this period."""
    with app.app_context():
        s = db.session
        sub_branch = s.get(SubBranch, world.sub_branch_ids[1])
        period = s.get(Period, world.period_id)
        inspector = s.get(User, world.users["inspector"])
        features = all_features(s)
        made = []
        for n in range(count):
            outlet = Outlet(code=f"B{n:03d}", name=f"Backup outlet {n}", sub_branch=sub_branch)
            s.add(outlet)
            outlet.features = features
            made.append(Assignment(period=period, outlet=outlet, inspector=inspector))
        s.add_all(made)
        s.commit()
        return [a.id for a in made]


def one_failure():
    """The first item that may fail without a photo and is no red line fails."""
    failed: list[str] = []

    def result_for(item):
        if not failed and not item.red_line and not item.photo_required_on_fail:
            failed.append(item.code)
            return "fail"
        return "pass"

    return result_for


def released_with_notice(app, world) -> tuple[str, str]:
    """Inspector2's inspection with a failed item, released by head office: its signed
    notice is issued and stored. The notice's number and storage key."""
    iid = submitted_directly(
        app, world.users["inspector2"], world.assignment_ids["inspector2"][0], one_failure()
    )
    with app.app_context():
        s = db.session
        notice = notices.release(
            s,
            photos.storage(),
            s.get(User, world.users["admin"]),
            s.get(Inspection, iid),
            notices.Settings.from_config(app.config),
        )
        assert notice is not None
        s.commit()
        return notice.number, notice.storage_key


def wait_until(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@dataclass
class Run:
    archive: Path
    before_start: list[tuple[int, str, int, int]]  # committed before the backup started
    before_end: list[tuple[int, str, int, int]]  # committed before it finished
    seconds: float
    output: str


def backed_up_while_writing(app, world, tmp_path) -> Run:
    """`flask backup` while the writer thread keeps submitting inspections: it has
    submitted two before the backup starts and commits more after it has finished."""
    writer = Writer(app, world.users["inspector"], more_assignments(app, world, 40))
    writer.start()
    try:
        wait_until(lambda: sum(s[1] == "submitted" for s in writer.log()) >= 2)
        archive = tmp_path / "backups" / "shopper.tar"
        archive.parent.mkdir()
        before_start = writer.log()
        started = time.monotonic()
        result = app.test_cli_runner().invoke(args=["backup", str(archive)])
        seconds = time.monotonic() - started
        before_end = writer.log()
        wait_until(lambda: len(writer.log()) > len(before_end) or not writer.is_alive())
    finally:
        writer.halt.set()
        writer.join(120)
    assert writer.error is None, repr(writer.error)
    assert len(writer.log()) > len(before_end), "the writer stopped before the backup ended"
    assert result.exit_code == 0, result.output
    return Run(archive, before_start, before_end, seconds, result.output)


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile(MANIFEST))


# ---- the backup while writing, and the restore ----------------------------------------------


def test_a_backup_made_while_inspections_are_submitted_restores_whole_into_a_fresh_instance(
    app, world, fresh, tmp_path
):
    number, notice_key = released_with_notice(app, world)
    run = backed_up_while_writing(app, world, tmp_path)
    assert "Backup written to" in run.output and "private key" in run.output
    assert run.archive.stat().st_mode & 0o777 == 0o600  # it holds the signing key
    assert sorted(os.listdir(run.archive.parent)) == ["shopper.tar"]  # no temp file left
    manifest = manifest_of(run.archive)
    assert manifest["database"]["kind"] == db.engine(app).dialect.name
    assert manifest["database"]["schema_revision"] == head_revision(app)
    assert manifest["created_at"].endswith("Z") and manifest["app_version"]
    assert manifest["missing_files"] == []

    target = fresh()
    started = time.monotonic()
    result = target.test_cli_runner().invoke(args=["restore", str(run.archive)])
    restore_seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Restored {run.archive}")
    during = len(run.before_end) - len(run.before_start)
    print(
        f"\nbackup {run.seconds:.2f} s ({during} commits meanwhile), restore {restore_seconds:.2f} s"
    )

    with target.app_context():
        s = db.session
        restored = {
            i.id: (
                i.id,
                i.status,
                s.scalar(
                    select(func.count()).select_from(Answer).where(Answer.inspection_id == i.id)
                ),
                s.scalar(
                    select(func.count()).select_from(Photo).where(Photo.inspection_id == i.id)
                ),
            )
            for i in s.scalars(select(Inspection))
        }
        assert s.scalar(text("SELECT version_num FROM alembic_version")) == head_revision(target)
        if db.engine(target).dialect.name == "sqlite":
            assert s.execute(text("PRAGMA foreign_key_check")).all() == []
    # the writer's inspections: each in a state it committed before the backup ended, and
    # none older than what it had committed before the backup started
    written = {state[0] for state in run.before_end}
    for inspection_id in {state[0] for state in run.before_start}:
        last_before = max(
            k for k, state in enumerate(run.before_start) if state[0] == inspection_id
        )
        allowed = [s for s in run.before_end[last_before:] if s[0] == inspection_id]
        assert restored[inspection_id] in allowed
    for inspection_id, got in restored.items():
        if inspection_id in written:
            assert got in [s for s in run.before_end if s[0] == inspection_id]
    assert len(restored) >= len({s[0] for s in run.before_start}) + 1  # + the released one

    # every submitted inspection exactly as the source holds it, answers and score
    def submitted(some_app) -> dict:
        with some_app.app_context():
            s = db.session
            return {
                i.id: (
                    i.score,
                    i.band,
                    i.submitted_at,
                    sorted(
                        s.execute(
                            select(Answer.item_code, Answer.result, Answer.note).where(
                                Answer.inspection_id == i.id
                            )
                        ).all()
                    ),
                )
                for i in s.scalars(select(Inspection).where(Inspection.status != "draft"))
            }

    got, source = submitted(target), submitted(app)
    assert got and all(got[k] == source[k] for k in got)

    # every stored file matches the manifest, its name, and every row that points at it
    storage = Path(target.config["STORAGE_DIR"])
    files = files_of(storage)
    listed = {m["name"].removeprefix("storage/"): m["sha256"] for m in manifest["members"]}
    assert files == {k: v for k, v in listed.items() if k in files}
    assert set(files) == {k for k in listed if not k.startswith(("database/", "pki/"))}
    for key, sha in files.items():
        parts = key.split("/")
        if parts[0] == "notices":
            assert parts[-1] == f"{sha}.pdf"
        elif parts[-1] == "main.jpg":
            assert parts[2] == sha
    with target.app_context():
        for photo in db.session.scalars(select(Photo)):
            assert all(key in files for key in photo_keys(photo.sha256).values())
            assert files[photo_keys(photo.sha256)["main"]] == photo.sha256
        for notice in db.session.scalars(select(Notice)):
            assert files[notice.storage_key] == notice.sha256

    # the signing PKI came back as it was (keys 0600), and the notice still verifies
    source_pki, target_pki = Path(app.config["PKI_DIR"]), Path(target.config["PKI_DIR"])
    assert files_of(target_pki) == files_of(source_pki)
    assert (target_pki / "signing.key").stat().st_mode & 0o777 == 0o600
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes((storage / notice_key).read_bytes())
    verdict = target.test_cli_runner().invoke(args=["verify-notice", str(pdf)])
    assert verdict.exit_code == 0 and f"genuine: notice {number}" in verdict.output


def test_the_restored_audit_chain_verifies(app, world, fresh, tmp_path):
    audit = pytest.importorskip("shopper.audit.service")
    run = backed_up_while_writing(app, world, tmp_path)
    target = fresh()
    result = target.test_cli_runner().invoke(args=["restore", str(run.archive)])
    assert result.exit_code == 0, result.output
    with target.app_context():
        verdict = audit.verify(db.session)
    assert verdict.ok, verdict
    assert verdict.records == manifest_of(run.archive)["database"]["tables"]["audit_records"] > 0


# ---- a small archive, and what restore refuses ----------------------------------------------


@pytest.fixture
def archive(app, world, tmp_path) -> Path:
    """An archive of the world with one submitted inspection, its photo and the signing PKI."""
    ensure_pki(Path(app.config["PKI_DIR"]))
    writer = Writer(app, world.users["inspector"], [world.assignment_ids["inspector"][0]])
    writer.run()
    assert writer.error is None, repr(writer.error)
    path = tmp_path / "backup.tar"
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return path


def member(archive: Path, kind: str) -> tarfile.TarInfo:
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    pick = {
        "database": lambda m: m.name.startswith("database/"),
        "photo": lambda m: m.name.endswith("/main.jpg"),
        "signing key": lambda m: m.name == "pki/signing.key",
        "manifest": lambda m: m.name == MANIFEST,
        "manifest checksum": lambda m: m.name == MANIFEST_SUM,
    }[kind]
    return next(m for m in members if pick(m))


def refused(target, archive: Path, *words: str) -> str:
    """Restore `archive` into `target`: refused with a sentence naming what is wrong, and
    the target exactly as it was."""
    before = state(target)
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 1, (result.output, result.exception)
    message = result.output.strip()
    assert message.endswith(".") and "Traceback" not in message and "\n" not in message
    for word in words:
        assert word in message
    assert state(target) == before
    return message


def rewritten(archive: Path, tmp_path: Path, *, drop: str | None = None, add: bool = False):
    """A copy of the archive without the member `drop`, or with a member added."""
    copy = tmp_path / "rewritten.tar"
    with tarfile.open(archive) as source, tarfile.open(copy, "w", format=tarfile.PAX_FORMAT) as out:
        for info in source.getmembers():
            if info.name != drop:
                out.addfile(info, source.extractfile(info))
        if add:
            extra = tarfile.TarInfo("storage/notices/ab/extra.pdf")
            extra.size = 3
            out.addfile(extra, io.BytesIO(b"pdf"))
    return copy


@pytest.mark.parametrize(
    "kind", ["database", "photo", "signing key", "manifest", "manifest checksum"]
)
def test_restore_refuses_an_archive_with_a_flipped_byte(archive, fresh, kind):
    info = member(archive, kind)
    data = bytearray(archive.read_bytes())
    data[info.offset_data + info.size // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    message = refused(fresh(), archive)
    assert "damaged" in message or "does not match" in message


def test_restore_refuses_an_archive_with_a_damaged_header(archive, fresh):
    info = member(archive, "photo")
    data = bytearray(archive.read_bytes())
    data[info.offset + 10] ^= 0x20  # in the member's name: the header checksum fails
    archive.write_bytes(bytes(data))
    refused(fresh(), archive)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("database", ["incomplete", "database/"]),
        ("photo", ["incomplete", "main.jpg"]),
        ("signing key", ["incomplete", "pki/signing.key"]),
        ("manifest", ["no manifest"]),
        ("manifest checksum", ["no manifest checksum"]),
    ],
)
def test_restore_refuses_an_archive_missing_a_member(archive, fresh, tmp_path, kind, words):
    refused(fresh(), rewritten(archive, tmp_path, drop=member(archive, kind).name), *words)


def test_restore_refuses_an_archive_with_a_member_its_manifest_does_not_list(
    archive, fresh, tmp_path
):
    refused(fresh(), rewritten(archive, tmp_path, add=True), "does not list")


@pytest.mark.parametrize("where", ["inside the database", "half way", "before the end marker"])
def test_restore_refuses_a_truncated_archive(archive, fresh, where):
    last = member(archive, "manifest checksum")
    cut = {
        "inside the database": member(archive, "database").offset_data + 1000,
        "half way": archive.stat().st_size // 2,
        "before the end marker": last.offset_data + tarfile.BLOCKSIZE,  # the marker is gone
    }[where]
    data = archive.read_bytes()
    archive.write_bytes(data[:cut])
    refused(fresh(), archive)


@pytest.mark.parametrize("content", [b"", b"not a tar archive at all" * 100])
def test_restore_refuses_a_file_that_is_no_archive(fresh, tmp_path, content):
    path = tmp_path / "backup.tar"
    path.write_bytes(content)
    refused(fresh(), path, "not a Shopper backup")
    refused(fresh("other"), tmp_path / "missing.tar", "There is no archive")


def test_restore_refuses_an_instance_in_use(app, archive):
    """The source itself: its users and inspections are never written over."""
    refused(app, archive, "not empty", "users", "inspections")


def test_restore_refuses_an_instance_with_stored_files(archive, fresh):
    target = fresh()
    (Path(target.config["STORAGE_DIR"]) / "photos").mkdir(parents=True)
    (Path(target.config["STORAGE_DIR"]) / "photos" / "stray.jpg").write_bytes(b"jpeg")
    refused(target, archive, "storage folder", "not empty")


def test_restore_refuses_an_instance_with_another_signing_key(archive, fresh):
    target = fresh()
    ensure_pki(Path(target.config["PKI_DIR"]))  # what a first notice check would make
    refused(target, archive, "PKI folder", "never replaces a signing key")


def test_restore_into_a_migrated_empty_instance_replaces_its_empty_tables(app, archive, fresh):
    target = fresh()
    assert target.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert state(target)["database"] == state(app)["database"]


def test_an_archive_of_an_older_schema_is_restored_and_migrated(fresh, tmp_path):
    old = fresh("old")
    migrate.upgrade(db.engine(old), "0005")  # before the audit trail
    path = tmp_path / "old.tar"
    made = old.test_cli_runner().invoke(args=["backup", str(path)])
    assert made.exit_code == 0 and "schema revision 0005" in made.output, made.output
    target = fresh()
    result = target.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert f"schema revision 0005, now {head_revision(target)}." in result.output
    assert "audit_records" in state(target)["database"]


# ---- what backup refuses ---------------------------------------------------------------------


def test_backup_never_overwrites_a_file_and_leaves_nothing_behind_when_refused(
    app, world, tmp_path
):
    path = tmp_path / "backup.tar"
    path.write_bytes(b"an older backup")
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert path.read_bytes() == b"an older backup"
    missing = tmp_path / "no such folder" / "backup.tar"
    result = app.test_cli_runner().invoke(args=["backup", str(missing)])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith((".part", ".work"))) == []


def test_backup_into_a_folder_names_the_archive_by_its_time(app, world, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    result = app.test_cli_runner().invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    (made,) = folder.iterdir()
    assert made.name.startswith("shopper-") and made.name.endswith("Z.tar")
    assert made.stat().st_mode & 0o777 == 0o600
