"""What the vault providers share: cursor paging (:mod:`app.vaults.paging`) and the global
search page over every provider's search adapter (:mod:`app.vaults.search`). Each
provider's own pages live in its package (``app/qoder/views.py``, ``app/r4/views.py``)."""

from flask import Blueprint

bp = Blueprint("vaults", __name__)

from app.vaults import compare, search  # noqa: E402,F401
