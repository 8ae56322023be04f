from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import UUID, DataRequired, InputRequired, Length, Optional

from shopper.inspections.models import Mode


class StartForm(FlaskForm):
    # empty: the assignment's kind decides (a video check by video, a mystery visit on site)
    mode = StringField(_l("How is it done?"), validators=[Optional()])
    modes = ((Mode.ON_SITE.value, _l("On site")), (Mode.VIDEO.value, _l("By video")))


class ItemForm(FlaskForm):
    """Fields every per-item write carries: which item, and the client's UUID."""

    uuid = StringField(validators=[DataRequired(), UUID()])
    version = IntegerField(validators=[InputRequired()])
    item = StringField(validators=[DataRequired(), Length(max=40)])


class AnswerForm(ItemForm):
    """A field left out is left unchanged: a tap on a result never touches the note."""

    result = StringField()
    note = StringField()  # length is a rule of the service
    changed_at = IntegerField(validators=[Optional()])  # the phone's clock, ms since 1970


class PhotoForm(ItemForm):
    photo = FileField(validators=[FileRequired()])
    # Sent beside the file by the phone, whose resizing drops EXIF; photos.service checks them.
    captured_at = StringField(validators=[Optional(), Length(max=40)])
    source = StringField(validators=[Optional(), Length(max=10)])


class SubmitForm(FlaskForm):
    pass


# ---- visit record, check-in, submit ----
class VisitForm(FlaskForm):
    """The visit record: every field optional; the service checks values and their order."""

    uuid = StringField(validators=[DataRequired(), UUID()])


class CheckinForm(FlaskForm):
    uuid = StringField(validators=[DataRequired(), UUID()])
    # checked by the service, so that any bad position gets the same sentence
    latitude = StringField(validators=[Length(max=40)])
    longitude = StringField(validators=[Length(max=40)])
    accuracy = StringField(validators=[Length(max=40)])


class FinalSubmitForm(FlaskForm):
    """The review page's submit: the attestation and the confirm step, a UUID for replays."""

    uuid = StringField(validators=[Optional(), UUID()])
    attest = BooleanField()
    confirm = StringField()
