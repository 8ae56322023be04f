"""Head office's token screen: make a token (name, scope, expiry) or revoke one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from shopper.api.tokens import EXPIRY_DAYS, MAX_NAME


class TokenForm(FlaskForm):
    name = StringField(_l("What it is for"), validators=[InputRequired(), Length(max=MAX_NAME)])
    # "head_office", "sub_branch:<id>" or "outlet:<id>"; the choices are set by the view
    scope = SelectField(_l("What it may read"), validators=[InputRequired()])
    days = SelectField(
        _l("Expires after"),
        coerce=int,
        choices=[SelectChoice(d, _l("%(num)d days", num=d)) for d in EXPIRY_DAYS],
        default=90,
    )


class RevokeForm(FlaskForm):
    """Revoke a token: nothing but the CSRF token."""
