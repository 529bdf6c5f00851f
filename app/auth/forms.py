from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


def _username(**render_kw: Any) -> Any:
    return StringField(
        "Username",
        validators=[DataRequired("Enter your username."), Length(max=64)],
        render_kw={"autocomplete": "username", "spellcheck": "false", **render_kw},
    )


def _password(**render_kw: Any) -> Any:
    return PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password", **render_kw},
    )


class LoginForm(FlaskForm):
    username = _username(autofocus=True)
    password = _password()
    next = HiddenField()


class ResumeForm(FlaskForm):
    """The sign-in dialog of a page whose session ended (templates/auth/_idle.html): the
    login form's fields and checks, plus the operator the page was signed in as."""

    username = _username()
    password = _password()
    expect = HiddenField(validators=[DataRequired(), Length(max=64)])


class ReauthForm(FlaskForm):
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password to continue."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class TwoFactorForm(FlaskForm):
    """The second step of a sign-in: an authenticator code or a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code of your authenticator app."), Length(max=32)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "text",
            "spellcheck": "false",
            "autofocus": True,
        },
    )
