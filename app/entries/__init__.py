"""Vault entries: list, detail, create, reveal secrets, 2FA codes, clear state, delete."""

from flask import Blueprint

bp = Blueprint("entries", __name__, url_prefix="/entries")

from app.entries import actions, bulk, create, edit, routes, secrets  # noqa: E402,F401
