from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired


class NewDraftForm(FlaskForm):
    code = StringField(validators=[DataRequired()])


class ImportForm(FlaskForm):
    file = FileField(validators=[FileRequired()])
