"""Who is signed in: the flask-login user loader, idle timeout, role checks, sudo window."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from app.auth import bp
from app.extensions import login_manager
from app.models import Role
from app.services import operators
from app.web import hx_redirect

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

#: htmx requests that refresh on a timer send this header; they do not count as activity.
BACKGROUND_HEADER = "X-Background-Refresh"


@login_manager.user_loader
def load_user(user_id: str):
    try:
        op_id, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    operator = operators.get(op_id)
    if operator is None or operator.session_version != version or not operator.is_active:
        return None
    return operator


@login_manager.unauthorized_handler
def unauthorized(message: str | None = None):
    """Send the browser to the login page; htmx requests get ``HX-Redirect``, not a swap."""
    flash(message or login_manager.login_message, "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
    if request.headers.get("HX-Request") == "true":
        target = request.headers.get("HX-Current-URL") or target
    login_url = url_for("auth.login", next=_local_path(target))
    if request.headers.get("HX-Request") == "true":
        return hx_redirect(login_url)
    return redirect(login_url, 302 if request.method == "GET" else 303)


def _local_path(target: str | None) -> str | None:
    """Only same-site paths are allowed as ``next`` (no open redirects)."""
    if not target:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


@bp.before_app_request
def enforce_idle_timeout() -> Any:
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    now = time.time()
    last_seen = session.get("last_seen", now)
    if now - last_seen > current_app.config["IDLE_TIMEOUT_SECONDS"]:
        logout_user()
        session.clear()
        minutes = current_app.config["IDLE_TIMEOUT_SECONDS"] // 60
        return unauthorized(f"You were signed out after {minutes} minutes without activity.")
    if request.headers.get(BACKGROUND_HEADER) != "1":
        session["last_seen"] = now
    return None


def role_required(minimum: Role) -> Callable:
    """Refuse with 403 unless the signed-in operator has at least ``minimum``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(minimum):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def start_sudo() -> None:
    session["sudo_until"] = time.time() + current_app.config["SUDO_SECONDS"]


def sudo_active() -> bool:
    return float(session.get("sudo_until", 0)) > time.time()


def sudo_remaining() -> int:
    return max(0, int(float(session.get("sudo_until", 0)) - time.time()))
