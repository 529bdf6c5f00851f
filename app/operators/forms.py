from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

ROLE_CHOICES = [("viewer", "Viewer"), ("editor", "Editor"), ("admin", "Admin")]


class CreateForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Enter a username."), Length(max=64)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer")
    method = RadioField(
        "First sign-in",
        choices=[
            ("password", "One-time password, shown once (they choose their own at sign-in)"),
            ("invite", "Invitation link, valid 24 hours (they set their password)"),
        ],
        default="password",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
