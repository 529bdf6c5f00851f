"""Who is signed in: the flask-login user loader over server-side sessions
(:mod:`app.services.sessions`), idle and absolute timeouts, role checks, the sudo window.

Idle sign-out never loses an edit (static/js/idle.js, templates/auth/_idle.html):

* every answer to a signed-in request says how long the session has left without activity
  (``X-Session-Seconds-Left``); the page warns before the end, and its "Stay signed in"
  (or typing in a form) POSTs ``/session/keep-alive``. ``GET /session/status`` and requests
  sent with ``X-Background-Refresh: 1`` report the time left without counting as activity.
* a request of the page (htmx or its script: ``X-Sign-In-Dialog: 1``), e.g. an editor's
  Save, sent after the session ended is answered 401 with ``X-Sign-In-Required`` instead of
  a redirect: the page signs in again in place (``POST /login/resume``) and resends it.
  Requests without the header (plain forms, other clients) keep the redirect to /login.
  Secrets typed into the form are named in ``X-Sign-In-Retype``: the page blanks them and
  asks for them again.
* the CSRF token survives the idle sign-out (the page's forms stay valid until sign-in).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user

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
#: sent by the page's script: it signs in again in place (answer 401, not a redirect)
DIALOG_HEADER = "X-Sign-In-Dialog"
#: on a 401 answered in place: why the session ended ("idle", "absolute" or "signed-out")
SIGN_IN_HEADER = "X-Sign-In-Required"
#: on that 401: the secrets typed into the refused form, {"names": [...], "labels": [...]}
RETYPE_HEADER = "X-Sign-In-Retype"
#: on every answer to a signed-in request: seconds until the idle (or absolute) end
SECONDS_LEFT_HEADER = "X-Session-Seconds-Left"


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
def unauthorized(
    message: str | None = None, reason: str = "signed-out", in_place: bool = True
) -> Any:
    """Send the browser to the login page; htmx requests get ``HX-Redirect``, not a swap.

    A request of a page that signs in again in place (``DIALOG_HEADER``: its Save, a
    keep-alive...) is answered 401 with ``SIGN_IN_HEADER`` instead (unless ``in_place`` is
    False): the page keeps what was typed and shows the sign-in dialog."""
    message = message or login_manager.login_message
    if in_place and _signs_in_in_place():
        response = make_response(message, 401)
        response.headers[SIGN_IN_HEADER] = reason
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["Cache-Control"] = "no-store"
        retype = _typed_secrets()
        if retype["names"]:
            response.headers[RETYPE_HEADER] = json.dumps(retype)
        return response
    target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
    if message != login_manager.login_message or local_path(target) not in (None, "/"):
        # the home page opened signed out needs no notice: the sign-in page says it all
        flash(message, "info")
    if sent_by_htmx():
        target = request.headers.get("HX-Current-URL") or target
    login_url = url_for("auth.login", next=local_path(target))
    if sent_by_htmx():
        return hx_redirect(login_url)
    return redirect(login_url, 302 if request.method == "GET" else 303)


def _signs_in_in_place() -> bool:
    """The request came from a page that signs in again in place (static/js/idle.js sends
    the header with every htmx request and its own); others keep the redirect."""
    return request.headers.get(DIALOG_HEADER) == "1"


def _typed_secrets() -> dict[str, list[str]]:
    """The secret inputs filled in the refused form (input names, and the labels its
    ``retype`` field takes): the console never sends a typed secret back, so the page blanks
    them and asks for them again rather than keeping them across the sign-in."""
    from app.entries.edit_forms import SECTIONS
    from app.entries.forms import EntryForm

    found: dict[str, list[str]] = {"names": [], "labels": []}
    args = request.view_args or {}
    if request.endpoint == "entries.save_section" and args.get("section") in SECTIONS:
        form_class: type = SECTIONS[args["section"]]
    elif request.endpoint == "entries.new" and request.method == "POST":
        form_class = EntryForm
    else:
        return found
    form = form_class(formdata=request.form, meta={"csrf": False})
    typed = {field.name: field.data for field in form}
    found["labels"] = list(form.forget_secrets())
    found["names"] = [field.name for field in form if field.data != typed[field.name]]
    return found


def _duration(seconds: float) -> str:
    if seconds % 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@bp.before_app_request
def enforce_idle_timeout() -> Any:
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    row = sessions.current()
    why = sessions.ending(row) if row is not None else "absolute"
    if why is not None:
        # the page's forms keep their CSRF token: what was typed can be sent after sign-in
        csrf_key = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        csrf_secret = session.get(csrf_key)
        sessions.end_current()
        logout_user()
        if csrf_secret:
            session[csrf_key] = csrf_secret
        if why == "idle":
            idle = _duration(current_app.config["IDLE_TIMEOUT_SECONDS"])
            return unauthorized(f"You were signed out after {idle} without activity.", why)
        hours = current_app.config["SESSION_HOURS"]
        return unauthorized(f"Your session ended after {hours:g} hours; please sign in again.", why)
    if row is not None and _counts_as_activity():
        sessions.touch(row)
    return None


def _counts_as_activity() -> bool:
    """Timed refreshes and the page's own checks of the time left do not keep a session."""
    return request.headers.get(BACKGROUND_HEADER) != "1" and request.endpoint != "auth.status"


@bp.after_app_request
def tell_when_the_session_ends(response: Response) -> Response:
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return response
    row = sessions.current()
    if row is not None:
        response.headers[SECONDS_LEFT_HEADER] = str(sessions.seconds_left(row))
    return response


@bp.post("/session/keep-alive")
@login_required
def keep_alive() -> Response:
    """ "Stay signed in", or typing in a form: activity without leaving the page."""
    row = sessions.current()
    if row is not None:
        sessions.touch(row, force=True)
    return _no_content()


@bp.get("/session/status")
@login_required
def status() -> Response:
    """The time left (``SECONDS_LEFT_HEADER``), without counting as activity. Asked by the
    sign-in dialog (``DIALOG_HEADER``) after an SSO sign-in in another tab: who is signed in
    and this session's CSRF token, so the page can send what was typed."""
    response = _no_content()
    if request.headers.get(DIALOG_HEADER) == "1":
        from flask_wtf.csrf import generate_csrf

        response.headers["X-CSRF-Token"] = generate_csrf()
        response.headers["X-Signed-In-As"] = current_user.username
    return response


def _no_content() -> Response:
    response = make_response("", 204)
    response.headers["Cache-Control"] = "no-store"
    return response


def idle_settings() -> dict[str, int]:
    """What the page's countdown needs (templates/auth/_idle.html): seconds left, when to
    warn (two minutes before, at most half the timeout), how often typing keeps the
    session (once a minute, at least three times per timeout)."""
    cfg = current_app.config
    timeout = int(cfg["IDLE_TIMEOUT_SECONDS"])
    row = sessions.current()
    return {
        "seconds_left": sessions.seconds_left(row) if row is not None else 0,
        "warn": min(int(cfg.get("IDLE_WARNING_SECONDS", 120)), timeout // 2),
        "keepalive": max(1, min(60, timeout // 3)),
    }


@bp.app_context_processor
def _idle_context() -> dict[str, Any]:
    from app.auth.routes import new_resume_form

    return {"idle_settings": idle_settings, "idle_signin_form": new_resume_form}


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

    if getattr(current_user, "source", "local") == "sso":
        # no password here: a fresh sign-in with the provider opens the window (app/auth/oidc.py)
        message = f"password re-entry by an SSO operator{purpose}"
        audit.record("auth.sudo", "refused", message=message)
        return "You sign in with SSO: confirm with your identity provider instead."
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
    abort(
        unauthorized(
            "Too many wrong passwords: you were signed out. Sign in again.", in_place=False
        )
    )


def sso_reauth_url(next_path: str | None) -> str:
    """Where an SSO operator confirms who they are (a fresh round trip to the provider),
    returning to ``next_path`` with the sudo window open."""
    return url_for("oidc.login", reauth="1", next=next_path)


@bp.app_context_processor
def _sso_reauth_context() -> dict[str, Any]:
    return {"sso_reauth_url": sso_reauth_url}


def start_sudo() -> None:
    sessions.start_sudo()


def sudo_active() -> bool:
    return sessions.sudo_remaining() > 0


def sudo_remaining() -> int:
    return sessions.sudo_remaining()
