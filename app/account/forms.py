from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("new_password", "The two new passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class CodeForm(FlaskForm):
    """A code of the authenticator app (or, where it says so, a recovery code)."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code of your authenticator app."), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false"},
    )


class EndSessionForm(FlaskForm):
    """Ending one of one's other sessions (CSRF only)."""
