"""The Operators page (admins): the team's accounts, and the public one-time links through
which an invited person (or one whose password was reset) sets a password."""

from flask import Blueprint

bp = Blueprint("operators", __name__)

from app.operators import routes  # noqa: E402,F401
