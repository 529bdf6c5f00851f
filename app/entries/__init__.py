"""Vault entries: list, detail, create, edit, delete."""

from flask import Blueprint

bp = Blueprint("entries", __name__, url_prefix="/entries")

from app.entries import routes  # noqa: E402,F401
