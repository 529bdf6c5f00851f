"""Sign-in, sign-out, sessions (idle timeout), roles and the sudo window."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes, session  # noqa: E402,F401
