"""Who is signed in: the flask-login user loader over server-side sessions
(:mod:`app.services.sessions`), idle and absolute timeouts, role checks, the sudo window."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, logout_user

from app.auth import bp
from app.extensions import login_manager
from app.models import Role
from app.services import operators, sessions
from app.web import hx_redirect, local_path, sent_by_htmx

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
    row = sessions.current()
    if row is None or row.operator_id != op_id:
        return None  # signed out (here or on another host), or ended by an admin
    operator = operators.get(op_id)
    if operator is None or operator.session_version != version or not operator.is_active:
        return None
    return operator


@login_manager.unauthorized_handler
def unauthorized(message: str | None = None):
    """Send the browser to the login page; htmx requests get ``HX-Redirect``, not a swap."""
    flash(message or login_manager.login_message, "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
    if sent_by_htmx():
        target = request.headers.get("HX-Current-URL") or target
    login_url = url_for("auth.login", next=local_path(target))
    if sent_by_htmx():
        return hx_redirect(login_url)
    return redirect(login_url, 302 if request.method == "GET" else 303)


@bp.before_app_request
def enforce_idle_timeout() -> Any:
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    row = sessions.current()
    why = sessions.ending(row) if row is not None else "absolute"
    if why is not None:
        sessions.end_current()
        logout_user()
        if why == "idle":
            minutes = current_app.config["IDLE_TIMEOUT_SECONDS"] // 60
            return unauthorized(f"You were signed out after {minutes} minutes without activity.")
        hours = current_app.config["SESSION_HOURS"]
        return unauthorized(f"Your session ended after {hours:g} hours; please sign in again.")
    if row is not None and request.headers.get(BACKGROUND_HEADER) != "1":
        sessions.touch(row)
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


def reauthenticate(password: str, purpose: str = "") -> str | None:
    """A password re-entry by the signed-in operator, throttled like sign-in: None when it
    is right (the sudo window starts), else the message to show. Audited either way."""
    from app.services import audit, throttle
    from app.services.passwords import verify_password

    cfg = current_app.config
    lockout, left = throttle.reauth_attempt(
        current_user.id, max_failures=cfg["LOGIN_MAX_FAILURES"], window=cfg["LOGIN_LOCKOUT_SECONDS"]
    )
    if lockout is not None:
        audit.record("auth.sudo", "refused", message=lockout.message)
        _sign_out_after_guessing()
    if not verify_password(current_user.password_hash, password):
        audit.record("auth.sudo", "failure", message=f"wrong password{purpose}")
        if left == 0:  # the limit is reached: whoever holds this session must sign in again
            _sign_out_after_guessing()
        return f"That password is not right. {left} more wrong and you will be signed out."
    throttle.reauth_succeeded(current_user.id)
    audit.record("auth.sudo", "success")
    start_sudo()
    return None


def _sign_out_after_guessing() -> None:
    """End this session (everywhere) and send the browser to the sign-in page."""
    from app.services import audit

    audit.record("auth.logout", "success", message="too many wrong password re-entries")
    sessions.end_current()
    logout_user()
    abort(unauthorized("Too many wrong passwords: you were signed out. Sign in again."))


def start_sudo() -> None:
    sessions.start_sudo()


def sudo_active() -> bool:
    return sessions.sudo_remaining() > 0


def sudo_remaining() -> int:
    return sessions.sudo_remaining()
