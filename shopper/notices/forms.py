from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import UUID, DataRequired, Optional


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token (acknowledge, release, issue)."""


class ReasonForm(FlaskForm):
    reason = TextAreaField()  # required or not is the service's rule


class ResponseForm(FlaskForm):
    uuid = StringField(validators=[DataRequired(), UUID()])
    kind = StringField(validators=[DataRequired()])
    note = TextAreaField()
    photos = MultipleFileField()


class CommentForm(FlaskForm):
    text = TextAreaField()


class DecisionForm(FlaskForm):
    decision = StringField(validators=[DataRequired()])
    reason = TextAreaField()


class SubBranchNoticeForm(FlaskForm):
    period = IntegerField(validators=[Optional()])
    start = DateField(validators=[Optional()])
    end = DateField(validators=[Optional()])


class VerifyForm(FlaskForm):
    file = FileField()
