"""The other vault APIs operators meet: Qoder cloud vaults and r4 machine vaults, plus the
global search across CloudCruise, Qoder and r4."""

from flask import Blueprint

bp = Blueprint("vaults", __name__)

from app.vaults import qoder_views, r4_views, search  # noqa: E402,F401
