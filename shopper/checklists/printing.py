"""A printable PDF of a checklist version, for training inspectors.

The same restricted renderer as the notices: nothing but data: URIs is fetched, so text
an item smuggles in as a URL reaches neither the disk nor the network.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from shopper import pdf
from shopper.checklists.models import ChecklistVersion


def printable_pdf(version: ChecklistVersion, locale: str, feature_names: dict[str, str]) -> bytes:
    """The version as inspectors read it; features by their names in `locale`."""
    checklist = version.checklist()
    with force_locale(locale):
        html = render_template(
            "checklists/print.html",
            version=version,
            checklist=checklist,
            lang=locale,
            feature_names=feature_names,
            sections=[
                {
                    "title": s.title.get(locale),
                    "points": sum(i.points for i in s.items),
                    "entries": s.items,
                }
                for s in checklist.sections
            ],
        )
    return pdf.html_to_pdf(html)
