"""Login and logout pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm
from app.services import audit, operators, sessions, throttle
from app.web import local_path, render


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("entries.list"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        username = operators.normalize_username(form.username.data)
        cfg = current_app.config
        window = cfg["LOGIN_LOCKOUT_SECONDS"]
        known = operators.find(username) is not None
        # counted before the password is checked: concurrent guesses cannot pass the limit
        lockout = throttle.attempt(
            username, _client_ip(), known=known, max_failures=cfg["LOGIN_MAX_FAILURES"],
            window=window,
        )  # fmt: skip
        who = _who(username, known)
        if lockout:
            audit.record("auth.login", "refused", message=lockout.message, operator_override=who)
            form.form_errors.append(lockout.message)
            status = 429
        else:
            operator = operators.authenticate(username, form.password.data)
            if operator is not None:
                throttle.succeeded(username, _client_ip())
                session.clear()  # a fresh session on sign-in (no fixation)
                sessions.start(operator)
                login_user(operator)
                audit.record("auth.login", "success")
                target = local_path(form.next.data) or url_for("entries.list")
                return redirect(target, 303)
            unknown = f"unknown username ({len(username)} characters)"
            audit.record(
                "auth.login", "failure", message="wrong password" if known else unknown,
                operator_override=who,
            )  # fmt: skip
            form.form_errors.append("Unknown username or wrong password.")
            status = 401
    elif request.method == "POST":
        status = 422
    form.password.data = ""
    response = render("auth/login.html", form=form, status=status)
    if status == 429:
        response.headers["Retry-After"] = str(lockout.retry_after)
    return response


def _who(username: str, known: bool) -> dict[str, str]:
    """How the audit log names who tried: an operator's name, or, for an unknown username
    (often a password typed into the wrong field), only a keyed fingerprint."""
    if known:
        return {"operator": username[:64]}
    return {"operator": "unknown:" + audit.audit_log().fingerprint("username", username)[:16]}


@bp.post("/logout")
@login_required
def logout():
    audit.record("auth.logout", "success")
    sessions.end_current()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)
