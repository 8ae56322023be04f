"""Language and time zone: Chinese by default, English complete; times shown in local time."""

from __future__ import annotations

import functools
import uuid

from babel import support
from flask import Flask, current_app, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms.i18n import messages_path

from shopper.core.checklist import Text
from shopper.extensions import babel

ACCEPT_TO_LOCALE = {"zh": "zh_CN", "zh-cn": "zh_CN", "zh-hans": "zh_CN", "en": "en"}


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    for lang, _quality in request.accept_languages:
        lang = lang.lower()
        if lang in ACCEPT_TO_LOCALE:
            return ACCEPT_TO_LOCALE[lang]
        if lang.split("-")[0] in ACCEPT_TO_LOCALE:
            return ACCEPT_TO_LOCALE[lang.split("-")[0]]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def localized(text: Text | None) -> str:
    """A checklist text in the reader's language (Chinese when no translation exists)."""
    if text is None:
        return ""
    return text.get(str(get_locale() or "zh_CN"))


BAND_LABELS = {
    "excellent": _l("Excellent"),
    "pass": _l("Passed"),
    "fail": _l("Failed"),
    "severe_fail": _l("Failed badly"),
}


def band_label(code: str | None) -> str:
    return str(BAND_LABELS.get(code or "", code or ""))


def page_url(page: int) -> str:
    return url_for(request.endpoint or "auth.home", **{**request.args.to_dict(), "page": page})


@functools.lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """WTForms' own messages in the request's language, from catalogues loaded once per
    process: Flask-WTF reads the catalogue file anew in every request that uses a form
    (~0.3 ms), unless the request already holds one as `wtforms_translations`."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_TRANSLATIONS = _WTFormsTranslations()


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def wtforms_translations() -> None:
        request.wtforms_translations = _WTFORMS_TRANSLATIONS  # type: ignore[attr-defined]

    app.jinja_env.globals.update(
        localized=localized,
        get_locale=get_locale,
        band_label=band_label,
        page_url=page_url,
        new_uuid=lambda: str(uuid.uuid4()),
    )
