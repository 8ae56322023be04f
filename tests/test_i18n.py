"""Chinese by default, English complete: every string in the code is in the catalog."""

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "shopper" / "translations" / "zh" / "LC_MESSAGES"


def extracted(tmp_path) -> set:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_pgettext:1c,2",
            "-k",
            "N_",  # the pure core's messages (checklist problems), translated by the views
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        return {(m.context, m.id) for m in read_po(f) if m.id}


def test_every_message_has_a_chinese_translation(tmp_path):
    with (CATALOG / "messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {
        (m.context, m.id)
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    missing = sorted(str(i) for i in extracted(tmp_path) - translated)
    assert not missing, f"untranslated (run pybabel update + translate): {missing}"


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_the_compiled_catalog_is_up_to_date():
    with (CATALOG / "messages.po").open("rb") as f:
        po = {(m.context, _key(m.id)): _key(m.string) for m in read_po(f) if m.id}
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = {(m.context, _key(m.id)): _key(m.string) for m in read_mo(f) if m.id}
    assert po == mo, "run: pybabel compile -d shopper/translations"


def test_wtforms_messages_are_in_the_request_language_from_a_catalogue_loaded_once(
    app, monkeypatch
):
    from babel import support
    from flask_wtf import FlaskForm
    from wtforms import IntegerField

    class Form(FlaskForm):
        class Meta:
            csrf = False

        number = IntegerField()

    loads = []
    real_load = support.Translations.load
    monkeypatch.setattr(
        support.Translations,
        "load",
        classmethod(lambda cls, *a, **k: loads.append(a) or real_load(*a, **k)),
    )
    errors = {}
    for language in ("zh-CN", "en", "zh-CN", "en"):
        headers = {"Accept-Language": language}
        with app.test_request_context("/", method="POST", data={"number": "x"}, headers=headers):
            app.preprocess_request()
            form = Form()
            assert not form.validate()
            errors.setdefault(language, set()).add(form.number.errors[0])
    assert errors == {"zh-CN": {"不是有效的整数。"}, "en": {"Not a valid integer value."}}
    assert len([a for a in loads if "wtforms" in str(a)]) <= 2  # once per language at most
