"""Login and logout pages, and the sign-in dialog of a page whose session ended."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block

from app.auth import bp
from app.auth.forms import LoginForm, ResumeForm, TwoFactorForm
from app.models import Operator, utcnow
from app.services import audit, operators, sessions, throttle, two_factor
from app.services.throttle import Lockout
from app.web import local_path, render

#: the answer to a successful sign-in in the dialog carries the new session's CSRF token
CSRF_HEADER = "X-CSRF-Token"
#: marks the dialog's form re-rendered with its messages (anything else is an error page)
SIGN_IN_FORM_HEADER = "X-Sign-In-Form"
#: the dialog's inputs are named signin-… (ids unique beside an entry form's "password")
RESUME_PREFIX = "signin"


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("entries.list"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status, lockout = 200, None
    if form.validate_on_submit():
        operator, status, lockout = _check_credentials(form)
        if operator is not None:
            target = local_path(form.next.data) or url_for("entries.list")
            if two_factor.enabled(operator):
                return _ask_for_code(operator, target)
            _sign_in(operator)
            return redirect(target, 303)
    elif request.method == "POST":
        status = 422
    form.password.data = ""
    response = render("auth/login.html", form=form, status=status)
    return _retry_after(response, lockout)


def _check_credentials(form: LoginForm | ResumeForm) -> tuple[Operator | None, int, Lockout | None]:
    """The operator whose username and password ``form`` holds, throttled and audited;
    otherwise None, the status to answer (401, or 429 when locked out) and the lockout,
    with the message added to the form's errors."""
    username = operators.normalize_username(form.username.data)
    cfg = current_app.config
    known = operators.find(username) is not None
    # counted before the password is checked: concurrent guesses cannot pass the limit
    lockout = throttle.attempt(
        username, _client_ip(), known=known, max_failures=cfg["LOGIN_MAX_FAILURES"],
        window=cfg["LOGIN_LOCKOUT_SECONDS"],
    )  # fmt: skip
    who = _who(username, known)
    if lockout:
        audit.record("auth.login", "refused", message=lockout.message, operator_override=who)
        form.form_errors.append(lockout.message)
        return None, 429, lockout
    operator = operators.authenticate(username, form.password.data)
    if operator is not None:
        return operator, 200, None
    unknown = f"unknown username ({len(username)} characters)"
    audit.record(
        "auth.login", "failure", message="wrong password" if known else unknown,
        operator_override=who,
    )  # fmt: skip
    form.form_errors.append("Unknown username or wrong password.")
    return None, 401, None


def _sign_in(operator: Operator) -> None:
    throttle.succeeded(operator.username, _client_ip())
    session.clear()  # a fresh session on sign-in (no fixation)
    sessions.start(operator)
    login_user(operator)
    audit.record("auth.login", "success")


#: the Flask-session key of a sign-in waiting for its second step (no operator session yet)
PENDING_KEY = "two_factor_pending"
#: how long the second step may take after the password was right
PENDING_SECONDS = 300


def _ask_for_code(operator: Operator, target: str) -> Any:
    """The password was right and the operator uses two-factor sign-in: no session yet; the
    browser remembers (in its signed cookie) who passed the first step, and when."""
    session.clear()
    session[PENDING_KEY] = {
        "id": operator.id,
        "v": operator.session_version,
        "at": utcnow().timestamp(),
        "next": target,
    }
    audit.record(
        "auth.two_factor", "attempt", message="password right; code asked",
        operator_override={"operator": operator.username},
    )  # fmt: skip
    return redirect(url_for("auth.two_factor"), 303)


def _pending_operator() -> Operator | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    operator = operators.get(int(pending.get("id", 0)))
    if (
        operator is None
        or not operator.is_active
        or operator.session_version != pending.get("v")
        or not two_factor.enabled(operator)
    ):
        session.pop(PENDING_KEY, None)
        return None
    return operator


@bp.route("/login/two-factor", methods=["GET", "POST"], endpoint="two_factor")
def two_factor_step():
    """The second step of a sign-in: a code of the operator's authenticator app, or one of
    their recovery codes (each works once). Throttled like passwords, audited."""
    if current_user.is_authenticated:
        return redirect(url_for("entries.list"))
    operator = _pending_operator()
    if operator is None:
        flash("Sign in again: the sign-in was not finished in time.", "info")
        return redirect(url_for("auth.login"), 303)
    form = TwoFactorForm()
    status, lockout = 200, None
    who = {"operator": operator.username}
    if form.validate_on_submit():
        lockout = two_factor.attempt(operator.id)
        if lockout is not None:
            audit.record(
                "auth.two_factor", "refused", message=lockout.message, operator_override=who
            )
            form.form_errors.append(lockout.message)
            status = 429
        else:
            try:
                how = two_factor.verify(operator, form.code.data or "")
            except two_factor.TwoFactorError as exc:
                how, status = None, 401
                form.form_errors.append(str(exc))
            if how is not None:
                two_factor.succeeded(operator.id)
                target = session.get(PENDING_KEY, {}).get("next") or url_for("entries.list")
                message = f"with a {how}"
                if how == "recovery code":
                    message += f" ({two_factor.recovery_codes_left(operator)} left)"
                audit.record("auth.two_factor", "success", message=message, operator_override=who)
                _sign_in(operator)
                if how == "recovery code":
                    flash(
                        "You signed in with a recovery code; it cannot be used again. "
                        f"{two_factor.recovery_codes_left(operator)} left.", "warning"
                    )  # fmt: skip
                return redirect(local_path(target) or url_for("entries.list"), 303)
            audit.record("auth.two_factor", "failure", message="wrong code", operator_override=who)
            if not form.form_errors:
                left = two_factor.attempts_left(operator.id)
                form.form_errors.append(
                    f"That code is not right (or was used already). {left} more tries."
                )
            status = 401
    elif request.method == "POST":
        status = 422
    form.code.data = ""
    response = render("auth/two_factor.html", form=form, operator=operator, status=status)
    response.headers["Cache-Control"] = "no-store"
    return _retry_after(response, lockout)


def _retry_after(response: Response, lockout: Lockout | None) -> Response:
    if lockout is not None:
        response.headers["Retry-After"] = str(lockout.retry_after)
    return response


def _who(username: str, known: bool) -> dict[str, str]:
    """How the audit log names who tried: an operator's name, or, for an unknown username
    (often a password typed into the wrong field), only a keyed fingerprint."""
    if known:
        return {"operator": username[:64]}
    return {"operator": "unknown:" + audit.audit_log().fingerprint("username", username)[:16]}


@bp.post("/login/resume")
def resume():
    """The sign-in dialog (static/js/idle.js): the login form's checks and throttling, but
    only for the operator the page belongs to, whose unsent work the page then resends.
    204 with the new CSRF token on success; otherwise the dialog's form with the message."""
    form = ResumeForm(prefix=RESUME_PREFIX)
    status, lockout = 200, None
    if form.validate_on_submit():
        expected = operators.normalize_username(form.expect.data)
        username = operators.normalize_username(form.username.data)
        if username != expected:
            known = operators.find(username) is not None
            audit.record(
                "auth.login", "refused", operator_override=_who(username, known),
                message=f"sign-in dialog of a page of {expected[:64]}",
            )  # fmt: skip
            form.form_errors.append(
                f"This page holds unsaved work of {expected}: sign in as {expected} to save "
                f"it. To work as {username}, go to the sign-in page (what is typed on this "
                "page is then lost)."
            )
            status = 403
        else:
            operator, status, lockout = _check_credentials(form)
            if operator is not None and two_factor.enabled(operator):
                # this dialog has no code field: the sign-in page asks for it
                audit.record(
                    "auth.two_factor", "refused", operator_override={"operator": expected[:64]},
                    message="sign-in dialog: two-factor sign-in needs the sign-in page",
                )  # fmt: skip
                form.form_errors.append(
                    "Your account signs in with a two-factor code, which this dialog cannot "
                    "ask for. Open the sign-in page in a new tab, sign in there, then come "
                    "back and save again."
                )
                operator, status = None, 403
            if operator is not None:
                if current_user.is_authenticated:  # signed in meanwhile in another tab
                    sessions.end_current()
                    logout_user()
                _sign_in(operator)
                response = make_response("", 204)
                # the form cached the old session's token for this request: make a new one
                g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
                response.headers[CSRF_HEADER] = generate_csrf()
                response.headers["Cache-Control"] = "no-store"
                return response
    else:
        status = 422
    form.password.data = ""
    return _retry_after(resume_form(form, status), lockout)


def resume_form(form: FlaskForm | None = None, status: int = 200) -> Response:
    """The dialog's form alone (the ``signin_form`` block of templates/auth/_idle.html)."""
    html = render_block("auth/_idle.html", "signin_form", signin=form or new_resume_form())
    response = make_response(html, status)
    response.headers[SIGN_IN_FORM_HEADER] = "1"
    response.headers["Cache-Control"] = "no-store"
    return response


def new_resume_form() -> ResumeForm:
    """The dialog's form as a page renders it: prefilled with who is signed in."""
    form = ResumeForm(prefix=RESUME_PREFIX, formdata=None)
    if current_user.is_authenticated:
        form.username.data = form.expect.data = current_user.username
    return form


@bp.post("/logout")
@login_required
def logout():
    audit.record("auth.logout", "success")
    sessions.end_current()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)
