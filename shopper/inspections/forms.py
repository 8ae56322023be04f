from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, StringField
from wtforms.validators import UUID, DataRequired, InputRequired, Length

from shopper.inspections.models import Mode


class StartForm(FlaskForm):
    mode = StringField(
        _l("How is it done?"), default=Mode.ON_SITE.value, validators=[DataRequired()]
    )
    modes = ((Mode.ON_SITE.value, _l("On site")), (Mode.VIDEO.value, _l("By video")))


class ItemForm(FlaskForm):
    """Fields every per-item write carries: which item, and the client's UUID."""

    uuid = StringField(validators=[DataRequired(), UUID()])
    version = IntegerField(validators=[InputRequired()])
    item = StringField(validators=[DataRequired(), Length(max=40)])


class AnswerForm(ItemForm):
    result = StringField(validators=[DataRequired()])
    note = StringField()  # length is a rule of the service


class PhotoForm(ItemForm):
    photo = FileField(validators=[FileRequired()])


class SubmitForm(FlaskForm):
    pass
