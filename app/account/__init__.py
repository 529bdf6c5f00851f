"""The signed-in operator's own account: password, two-factor sign-in, recovery codes and
sessions (``/account``), and the steps a sign-in may require first (a new password, or
setting up two-factor sign-in when ``VAULT_CONSOLE_REQUIRE_2FA`` is on)."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.account import routes  # noqa: E402,F401
