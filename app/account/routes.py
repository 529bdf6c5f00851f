"""``/account``: every signed-in operator's own password, two-factor sign-in, recovery codes
and sessions. Every change is audited (``account.*``)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user
from sqlalchemy import delete, select

from app.account import bp
from app.account.forms import CodeForm, EndSessionForm, PasswordChangeForm
from app.extensions import db
from app.models import Operator, OperatorSession, Role, utcnow
from app.services import audit, passwords, sessions, throttle, two_factor
from app.web import hx_redirect, render

#: the Flask-session key of a TOTP secret being set up (encrypted; confirmed by a code)
SETUP_KEY = "totp_setup"
#: reachable while a required step (new password, two-factor setup) is pending
EXEMPT = {None, "static", "auth.logout", "auth.keep_alive", "auth.status", "auth.resume"}


def _me() -> Operator:
    operator: Operator = current_user._get_current_object()
    return operator


def is_sso(operator: Operator) -> bool:
    return operator.source == "sso"


def required_step(operator: Operator) -> str | None:
    """What the operator must do before anything else: "password", "two-factor" or None."""
    if operator.must_change_password and not is_sso(operator):
        return "password"
    if (
        current_app.config.get("REQUIRE_2FA")
        and operator.has_role(Role.EDITOR)
        and not is_sso(operator)  # the identity provider asks for their second factor
        and not two_factor.enabled(operator)
    ):
        return "two-factor"
    return None


STEP_MESSAGES = {
    "password": "Choose a new password before you continue.",
    "two-factor": "Editors and admins sign in with a second factor here: set up two-factor "
    "sign-in before you continue.",
}


@bp.before_app_request
def take_to_required_step() -> Any:
    endpoint = request.endpoint
    if endpoint in EXEMPT or (endpoint or "").startswith(("account.", "health.")):
        return None
    if not current_user.is_authenticated:
        return None
    step = required_step(_me())
    if step is None:
        return None
    flash(STEP_MESSAGES[step], "warning")
    return hx_redirect(url_for("account.index"))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _sessions(operator: Operator) -> list[OperatorSession]:
    now = utcnow()
    rows = db.session.scalars(
        select(OperatorSession)
        .where(OperatorSession.operator_id == operator.id, OperatorSession.expires_at > now)
        .order_by(OperatorSession.last_seen_at.desc())
    )
    return [row for row in rows if sessions.ending(row, now) is None]


def _page(status: int = 200, **forms: Any) -> Response:
    operator = _me()
    row = sessions.current()
    context: dict[str, Any] = {
        "operator": operator,
        "sso": is_sso(operator),
        "step": required_step(operator),
        "step_messages": STEP_MESSAGES,
        "totp_on": two_factor.enabled(operator),
        "codes_left": two_factor.recovery_codes_left(operator),
        "sessions": _sessions(operator),
        "current_session_id": row.id if row is not None else None,
        "require_2fa": bool(current_app.config.get("REQUIRE_2FA"))
        and operator.has_role(Role.EDITOR),
        "password_form": forms.get("password_form") or PasswordChangeForm(formdata=None),
        "disable_form": forms.get("disable_form") or CodeForm(prefix="disable", formdata=None),
        "recovery_form": forms.get("recovery_form") or CodeForm(prefix="recovery", formdata=None),
        "setup_form": CodeForm(prefix="setup", formdata=None),
        "end_form": EndSessionForm(formdata=None),
        "min_length": passwords.MIN_LENGTH,
    }
    return _no_store(render("account/index.html", status=status, **context))


@bp.get("")
@login_required
def index() -> Response:
    return _page()


@bp.post("/password")
@login_required
def change_password() -> Any:
    operator = _me()
    form = PasswordChangeForm()
    if is_sso(operator):
        form.form_errors.append(
            "You sign in with single sign-on: your password is kept by your identity provider."
        )
        return _page(403, password_form=form)
    if form.validate_on_submit():
        cfg = current_app.config
        lockout, left = throttle.reauth_attempt(
            operator.id, max_failures=cfg["LOGIN_MAX_FAILURES"],
            window=cfg["LOGIN_LOCKOUT_SECONDS"],
        )  # fmt: skip
        new = form.new_password.data or ""
        if lockout is not None:
            form.form_errors.append(lockout.message)
            audit.record("account.password_change", "refused", message=lockout.message)
            return _page(429, password_form=form)
        if not passwords.verify_password(operator.password_hash, form.current_password.data or ""):
            form.current_password.errors = [f"That is not your password. {left} more tries."]
            audit.record("account.password_change", "failure", message="wrong current password")
        elif problem := passwords.password_problem(new, operator.username):
            form.new_password.errors = [problem]
        elif passwords.verify_password(operator.password_hash, new):
            form.new_password.errors = ["That is your current password; choose a new one."]
        else:
            throttle.reauth_succeeded(operator.id)
            operator.password_hash = passwords.hash_password(new)
            operator.password_changed_at = utcnow()
            operator.must_change_password = False
            operator.session_version += 1
            ended = sessions.end_all(operator.id)
            db.session.commit()
            # this browser stays signed in, with a new session; every other one ended
            session.clear()
            sessions.start(operator)
            login_user(operator)
            audit.record(
                "account.password_change", "success",
                message=f"{max(0, ended - 1)} other session(s) ended",
            )  # fmt: skip
            flash("Your password is changed. Your other sessions were signed out.", "success")
            return redirect(url_for("account.index"), 303)
    for field in (form.current_password, form.new_password, form.confirm_password):
        field.data = ""
    return _page(422, password_form=form)


def _setup_page(secret: str, form: CodeForm, status: int = 200) -> Response:
    uri = two_factor.provisioning_uri(secret, _me().username)
    return _no_store(
        render(
            "account/two_factor_setup.html",
            status=status,
            form=form,
            uri=uri,
            qr=two_factor.qr_svg(uri),
            secret=two_factor.grouped(secret),
        )
    )


@bp.post("/two-factor/setup")
@login_required
def totp_setup() -> Any:
    """A new secret to scan (nothing changes until a code confirms it)."""
    if two_factor.enabled(_me()):
        flash("Two-factor sign-in is already on.", "info")
        return redirect(url_for("account.index"), 303)
    secret = two_factor.new_secret()
    session[SETUP_KEY] = two_factor.encrypt(secret)
    return _setup_page(secret, CodeForm(prefix="setup", formdata=None))


@bp.post("/two-factor/confirm")
@login_required
def totp_confirm() -> Any:
    operator = _me()
    token = session.get(SETUP_KEY)
    secret = two_factor.decrypt(token, ttl=two_factor.SETUP_SECONDS) if token else None
    if secret is None or two_factor.enabled(operator):
        flash("The setup expired; start it again.", "warning")
        return redirect(url_for("account.index"), 303)
    form = CodeForm(prefix="setup")
    if form.validate_on_submit():
        if two_factor.code_matches(secret, form.code.data or ""):
            codes = two_factor.enable(operator, secret)
            session.pop(SETUP_KEY, None)
            audit.record("account.totp_enable", "success")
            audit.record("account.recovery_codes", "success", message="10 codes made")
            return _codes_page(codes, enabled=True)
        form.code.errors = ["That code is not right. Check the time on your phone and try again."]
        audit.record("account.totp_enable", "failure", message="wrong confirmation code")
    form.code.data = ""
    return _setup_page(secret, form, 422)


def _codes_page(codes: list[str], enabled: bool = False) -> Response:
    return _no_store(render("account/recovery_codes.html", codes=codes, enabled=enabled))


def _check_code(form: CodeForm, action: str) -> bool:
    """A code of the operator's authenticator (or a recovery code), throttled and audited."""
    operator = _me()
    if not form.validate_on_submit():
        return False
    lockout = two_factor.attempt(operator.id)
    if lockout is not None:
        form.code.errors = [lockout.message]
        audit.record(action, "refused", message=lockout.message)
        return False
    try:
        how = two_factor.verify(operator, form.code.data or "")
    except two_factor.TwoFactorError as exc:
        form.code.errors = [str(exc)]
        return False
    if how is None:
        form.code.errors = ["That code is not right (or was used already)."]
        audit.record(action, "failure", message="wrong code")
        return False
    two_factor.succeeded(operator.id)
    return True


@bp.post("/two-factor/disable")
@login_required
def totp_disable() -> Any:
    operator = _me()
    form = CodeForm(prefix="disable")
    if not two_factor.enabled(operator):
        return redirect(url_for("account.index"), 303)
    if current_app.config.get("REQUIRE_2FA") and operator.has_role(Role.EDITOR):
        form.code.errors = ["Two-factor sign-in is required for editors and admins here."]
        audit.record("account.totp_disable", "refused", message="required for this role")
        return _page(403, disable_form=form)
    if _check_code(form, "account.totp_disable"):
        two_factor.disable(operator)
        audit.record("account.totp_disable", "success")
        flash("Two-factor sign-in is off; your recovery codes no longer work.", "success")
        return redirect(url_for("account.index"), 303)
    form.code.data = ""
    return _page(422, disable_form=form)


@bp.post("/recovery-codes")
@login_required
def recovery_codes() -> Any:
    operator = _me()
    form = CodeForm(prefix="recovery")
    if not two_factor.enabled(operator):
        return redirect(url_for("account.index"), 303)
    if _check_code(form, "account.recovery_codes"):
        codes = two_factor.new_recovery_codes(operator)
        audit.record("account.recovery_codes", "success", message="10 new codes; old ones void")
        return _codes_page(codes)
    form.code.data = ""
    return _page(422, recovery_form=form)


@bp.post("/sessions/<string:session_id>/end")
@login_required
def end_session(session_id: str) -> Any:
    operator = _me()
    form = EndSessionForm()
    row = db.session.get(OperatorSession, session_id[:64])
    current = sessions.current()
    if not form.validate_on_submit() or row is None or row.operator_id != operator.id:
        flash("That session has ended already.", "info")
        return redirect(url_for("account.index"), 303)
    if current is not None and row.id == current.id:
        flash("To end this session, sign out.", "info")
        return redirect(url_for("account.index"), 303)
    agent = (row.user_agent or "unknown browser")[:80]
    db.session.execute(delete(OperatorSession).where(OperatorSession.id == row.id))
    db.session.commit()
    audit.record("account.session_end", "success", message=f"{agent} from {row.ip or '?'}")
    flash("The session is ended: that browser must sign in again.", "success")
    return redirect(url_for("account.index"), 303)
