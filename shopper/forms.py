"""What every blueprint does with a posted form."""

from __future__ import annotations

from flask_wtf import FlaskForm

from shopper.refusals import Refused


def require_valid(form: FlaskForm) -> None:
    """Refuse (400, naming the fields) a form that is not valid or lacks its CSRF token."""
    if not form.validate_on_submit():
        raise Refused("bad_form", 400, fields=", ".join(sorted(form.errors)))
