"""Views of the Operators page: parse the form, call :mod:`app.services.operators` or
:mod:`app.services.operator_links`, audit, render. Every form carries the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from app.auth.session import role_required
from app.models import Operator, Role
from app.operators import bp
from app.operators.forms import ActionForm, CreateForm, RoleForm, SetPasswordForm
from app.services import audit, operator_links, operators, passwords
from app.services.operators import OperatorError
from app.web import render

#: what a link page says it is for
LINK_PAGES = {
    operator_links.INVITE: (
        "Welcome to Vault Console",
        "Choose the password you will sign in with.",
    ),
    operator_links.RESET: (
        "Choose a new password",
        "Your old password no longer works once you do.",
    ),
}


def _target(operator: Operator) -> dict[str, Any]:
    return {"id": f"operator:{operator.id}", "permissioned_user_id": operator.username}


def _record(action: str, operator: Operator, outcome: str = "success", **kwargs: Any) -> None:
    audit.record(action, outcome, target=_target(operator), actor=audit.current_actor(), **kwargs)


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def _index(status: int = 200, create_form: CreateForm | None = None, **context: Any) -> Any:
    rows = operators.all_operators()
    return render(
        "operators/index.html",
        status=status,
        rows=rows,
        create_form=create_form or CreateForm(formdata=None),
        role_forms={op.id: RoleForm(formdata=None, role=op.role) for op in rows},
        action_form=ActionForm(formdata=None),
        invited=operator_links.pending_invitations(),
        errors=context.pop("errors", {}),
        **context,
    )


def _operator(operator_id: int) -> Operator:
    operator = operators.get(operator_id)
    if operator is None:
        abort(404)
    return operator


@bp.get("/operators")
@role_required(Role.ADMIN)
def index() -> Any:
    return _index()


@bp.post("/operators")
@role_required(Role.ADMIN)
def create() -> Any:
    form = CreateForm()
    if not form.validate():
        return _index(422, create_form=form)
    try:
        if form.method.data == "invite":
            operator, token = operators.create_invited(
                form.username.data or "", form.role.data or "", current_user.username
            )
            secret = None
            link = url_for("operators.invite", token=token, _external=True)
        else:
            created = operators.create(
                form.username.data or "", form.role.data or "", must_change_password=True
            )
            operator, secret, link = created.operator, created.generated_password, None
    except OperatorError as exc:
        form.username.errors = [str(exc)]
        return _index(422, create_form=form)
    how = "invitation link" if link else "one-time password"
    _record("operator.create", operator, changes={"role": {"after": operator.role}}, message=how)
    if link:
        _record("operator.invite", operator, message="invitation link valid 24 h")
    return _no_store(
        render("operators/created.html", operator=operator, password=secret, link=link)
    )


def _change(
    operator_id: int,
    action: str,
    run: Callable[[Operator], Any],
    changes: dict[str, Any] | None,
    done: str,
    form: Any = None,
    refuse_self: str | None = None,
) -> Any:
    operator = _operator(operator_id)
    form = form or ActionForm()
    if not form.validate():
        return _index(422, errors={operator.id: "Choose a valid value."})
    try:
        if refuse_self and operator.id == current_user.id:
            raise OperatorError(refuse_self)
        result = run(operator)
    except OperatorError as exc:
        _record(action, operator, "refused", message=str(exc))
        return _index(409, errors={operator.id: str(exc)})
    _record(action, operator, changes=changes(result) if callable(changes) else changes)
    flash(done.format(name=operator.username), "success")
    return redirect(url_for("operators.index") + f"#operator-{operator.id}")


@bp.post("/operators/<int:operator_id>/role")
@role_required(Role.ADMIN)
def set_role(operator_id: int) -> Any:
    form = RoleForm()
    note = ""
    operator = _operator(operator_id)
    if operator.source == "sso":
        note = " Their identity provider sets it again at their next single sign-on."
    return _change(
        operator_id,
        "operator.role_change",
        lambda op: operators.set_role(op.username, form.role.data or ""),
        lambda r: {"role": {"before": r[1], "after": r[0].role}},  # type: ignore[arg-type]
        "Role of {name} changed to " + str(form.role.data) + "; their sessions ended." + note,
        form=form,
    )


@bp.post("/operators/<int:operator_id>/disable")
@role_required(Role.ADMIN)
def disable(operator_id: int) -> Any:
    return _change(
        operator_id,
        "operator.disable",
        lambda op: operators.disable(op.username),
        {"disabled": {"before": False, "after": True}},
        "Disabled {name}; their sessions have ended.",
        refuse_self="You cannot disable your own account.",
    )


@bp.post("/operators/<int:operator_id>/enable")
@role_required(Role.ADMIN)
def enable(operator_id: int) -> Any:
    return _change(
        operator_id,
        "operator.enable",
        lambda op: operators.enable(op.username),
        {"disabled": {"before": True, "after": False}},
        "Enabled {name}.",
    )


@bp.post("/operators/<int:operator_id>/sessions/end")
@role_required(Role.ADMIN)
def end_sessions(operator_id: int) -> Any:
    return _change(
        operator_id,
        "operator.sessions_end",
        lambda op: operators.end_sessions(op.username),
        lambda r: {"sessions": {"ended": r[1]}},  # type: ignore[arg-type]
        "Ended every session of {name}.",
        refuse_self="To end your own sessions, sign out.",
    )


@bp.post("/operators/<int:operator_id>/reset")
@role_required(Role.ADMIN)
def send_reset(operator_id: int) -> Any:
    operator = _operator(operator_id)
    if not ActionForm().validate():
        return _index(422, errors={operator.id: "Try again."})
    try:
        operator, token = operators.send_reset_link(operator.username, current_user.username)
    except OperatorError as exc:
        _record("operator.password_reset", operator, "refused", message=str(exc))
        return _index(409, errors={operator.id: str(exc)})
    _record(
        "operator.password_reset",
        operator,
        changes={"password": {"reset_link": True}},
        message="reset link valid 24 h",
    )
    link = url_for("operators.reset", token=token, _external=True)
    return _no_store(render("operators/created.html", operator=operator, link=link, reset=True))


def _link_page(token: str, purpose: str) -> Any:
    title, intro = LINK_PAGES[purpose]
    try:
        valid = operator_links.check(token, purpose)
    except operator_links.LinkError as exc:
        return _no_store(render("operators/link_invalid.html", message=str(exc), status=410))
    form = SetPasswordForm()
    page: dict[str, Any] = {
        "title": title,
        "intro": intro,
        "operator": valid.operator,
        "form": form,
    }
    if not form.is_submitted():
        return _no_store(render("operators/set_password.html", **page))
    if not form.validate():
        return _no_store(render("operators/set_password.html", status=422, **page))
    problem = passwords.password_problem(form.password.data or "")
    if problem:
        form.password.errors = [problem]
        return _no_store(render("operators/set_password.html", status=422, **page))
    try:
        operator = operator_links.consume(token, purpose, form.password.data or "")
    except operator_links.LinkError as exc:
        return _no_store(render("operators/link_invalid.html", message=str(exc), status=410))
    audit.record(
        "operator.link_used",
        "success",
        target=_target(operator),
        message=f"password set through a{'n invitation' if purpose == 'invite' else ' reset'} link",
        actor=audit.current_actor(),
        operator_override={
            "operator_id": operator.id,
            "operator": operator.username,
            "role": operator.role,
        },
    )
    flash("Your password is set. Sign in with it.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/operators/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> Any:
    return _link_page(token, operator_links.INVITE)


@bp.route("/operators/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    return _link_page(token, operator_links.RESET)
