"""Helper of bench/lighthouse.sh: a throwaway demo instance and the five pages to measure.

python bench/lighthouse_session.py seed DIR
    Migrates a new SQLite database in DIR, publishes checklists/ and seeds the demo
    organisation, keeping its logins in DIR/demo-logins.txt. Nothing is written under the
    repository's instance/ (`flask setup` would put the logins there).
    Needs SHOPPER_SECRET_KEY in the environment (or it would make instance/secret_key).

python bench/lighthouse_session.py pages BASE_URL DIR [LOCALE]
    Signs in over HTTP (stdlib urllib, 127.0.0.1 only) as the demo inspector, starts an
    inspection of an outlet not yet started, and as demo inspector2 finds a submitted one;
    prints one line per page: name, URL, and the Cookie header value to send with it.
    LOCALE (zh_CN, the app's default, or en) is chosen for each session first.

python bench/lighthouse_session.py scores REPORTS_DIR NAME...
    Prints each page's three scores from REPORTS_DIR/NAME.json with the audits that lost
    points, then the summary line (a missing report counts as 0).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def seed(folder: Path) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from shopper import create_app, demo, migrate
    from shopper.checklists.service import load_directory
    from shopper.extensions import db

    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'shopper.sqlite3'}",
            "STORAGE_DIR": str(folder / "storage"),
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine())
        load_directory(db.session, Path(app.config["CHECKLIST_DIR"]))
        db.session.commit()
        demo.seed(db.session, folder, app.config)
        db.session.commit()


class Browser:
    """Just enough of a browser: cookies, CSRF token, no redirects followed on POST."""

    def __init__(self, base: str) -> None:
        if urllib.parse.urlsplit(base).hostname != "127.0.0.1":
            raise SystemExit(f"refusing to talk to {base}: loopback (127.0.0.1) only")
        self.base = base
        self.jar = CookieJar()
        self.open = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar)).open
        self.no_redirect = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        ).open

    def get(self, path: str) -> tuple[str, str]:
        with self.open(self.base + path, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def post(self, path: str, data: dict[str, str]) -> str:
        """POST a form; returns the redirect's Location (the app answers a success with 302)."""
        body = urllib.parse.urlencode(data).encode()
        try:
            self.no_redirect(self.base + path, data=body, timeout=30)
        except urllib.error.HTTPError as exc:
            if exc.code in (302, 303):
                return exc.headers["Location"]
            raise SystemExit(f"POST {path}: HTTP {exc.code}") from exc
        raise SystemExit(f"POST {path}: expected a redirect")

    def sign_in(self, username: str, password: str, locale: str) -> str:
        self.get(f"/language/{locale}?next=/login")
        _, page = self.get("/login")
        token = CSRF.search(page).group(1)  # type: ignore[union-attr]
        self.post("/login", {"username": username, "password": password, "csrf_token": token})
        _, page = self.get("/")
        return page

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def pages(base: str, folder: Path, locale: str) -> None:
    logins = {
        username: password
        for _role, username, password in (
            line.split("\t") for line in (folder / "demo-logins.txt").read_text().splitlines()
        )
    }
    anonymous = Browser(base)
    anonymous.get(f"/language/{locale}?next=/login")
    rows = [("login", "/login", anonymous.cookie())]

    inspector = Browser(base)
    page = inspector.sign_in("inspector1", logins["inspector1"], locale)
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    starts = re.findall(r'action="(/inspect/assignments/\d+/start)"', page)
    if starts:
        fill = urllib.parse.urlsplit(
            inspector.post(starts[0], {"mode": "on_site", "csrf_token": token})
        ).path
    else:  # every outlet started already: continue the first one
        fill = re.findall(r'href="(/inspect/\d+)"', page)[0]
    cookie = inspector.cookie()
    rows += [
        ("assignments", "/inspect/", cookie),
        ("fill", fill, cookie),
        ("review", f"{fill}/review", cookie),
    ]

    submitter = Browser(base)
    page = submitter.sign_in("inspector2", logins["inspector2"], locale)
    records = re.findall(r'href="(/inspections/\d+)"', page)
    if not records:
        raise SystemExit("inspector2 has no submitted inspection: the demo seed changed?")
    rows.append(("record", records[0], submitter.cookie()))

    for name, path, cookie in rows:
        print(name, base + path, cookie, sep="\t")


CATEGORIES = [
    ("performance", "performance"),
    ("accessibility", "accessibility"),
    ("best-practices", "best practices"),
]


def scores(reports: Path, names: list[str]) -> None:
    """Per page, the median of each category over its runs (REPORTS/<page>-<run>.json)."""
    lowest = {key: 100 for key, _ in CATEGORIES}
    for name in names:
        runs = [json.loads(p.read_text()) for p in sorted(reports.glob(f"{name}-*.json"))]
        if not runs:
            print(f"{name:<12}no report")
            lowest = {key: 0 for key in lowest}
            continue
        row = []
        for key, label in CATEGORIES:
            each = [round((r["categories"][key]["score"] or 0) * 100) for r in runs]
            score = int(statistics.median_low(each))
            lowest[key] = min(lowest[key], score)
            spread = f" ({' '.join(map(str, each))})" if len(set(each)) > 1 else ""
            row.append(f"{label} {score:>3}{spread}")
        print(f"{name:<12}" + "  ".join(row))
        perf = [r["categories"]["performance"]["score"] or 0 for r in runs]
        median_run = runs[perf.index(statistics.median_low(perf))]
        for key, _ in CATEGORIES:
            for ref in median_run["categories"][key]["auditRefs"]:
                audit = median_run["audits"][ref["id"]]
                if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                    shown = audit.get("displayValue") or ""
                    line = f"{key}: {ref['id']} {audit['score']:.2f} {shown}".rstrip()
                    print(f"{'':<12}- {line}")
    print(
        f"lighthouse: min performance {lowest['performance']}, "
        f"accessibility {lowest['accessibility']}, best practices {lowest['best-practices']}"
    )


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "seed":
        seed(Path(argv[1]))
    elif len(argv) >= 2 and argv[0] == "scores":
        scores(Path(argv[1]), argv[2:])
    elif len(argv) in (3, 4) and argv[0] == "pages":
        pages(argv[1].rstrip("/"), Path(argv[2]), argv[3] if len(argv) == 4 else "zh_CN")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
