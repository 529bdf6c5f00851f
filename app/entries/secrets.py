"""Revealing secrets and viewing 2FA codes: POST only, editors and admins, never cached.

Revealing needs a recent password re-entry (the sudo window). The value is decrypted from a
fresh read of the entry, rendered into a fragment sent with ``Cache-Control: no-store`` that
masks itself again after ``REMASK_SECONDS``. 2FA codes refresh themselves while they are
looked at, for at most ``TFA_ROUNDS`` periods, so a forgotten tab does not poll forever.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request

from app.auth.session import reauthenticate, role_required, sudo_active
from app.cloudcruise import SECRET_FIELDS
from app.entries import bp
from app.entries.lookup import fresh_or_404, indexed_or_404
from app.entries.presenters import EntryView
from app.models import Role
from app.services import audit, entry_commands
from app.services.outcomes import Failed
from app.upstream_errors import ConflictError, NotFoundError
from app.web import render, toast

REMASK_SECONDS = 30
TFA_ROUNDS = 10


def _no_store(response):
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


def _secret_fragment(view: Any, field: str, state: str, **extra):
    return render(
        "entries/_secret.html",
        view=view,
        field=field,
        state=state,
        remask_seconds=REMASK_SECONDS,
        sudo_minutes=current_app.config["SUDO_SECONDS"] // 60,
        **extra,
    )


@bp.post("/<entry_id>/secrets/<field>/reveal")
@role_required(Role.EDITOR)
def reveal(entry_id: str, field: str):
    if field not in SECRET_FIELDS:
        abort(404)
    view = EntryView(fresh_or_404(entry_id))
    if not sudo_active():
        password = request.form.get("password")
        if password is None:
            return _no_store(_secret_fragment(view, field, "sudo"))
        problem = reauthenticate(password)
        if problem is not None:
            response = _secret_fragment(view, field, "sudo", error=problem)
            response.status_code = 422
            return _no_store(response)
    if not view.has_secret(field):
        return _no_store(_secret_fragment(view, field, "masked"))
    # fail closed: no audit row, no plaintext
    outcome = entry_commands.reveal(audit.current_actor(), view.entry, field)
    if isinstance(outcome, Failed):
        return _no_store(_secret_fragment(view, field, "masked", error=outcome.message))
    return _no_store(_secret_fragment(view, field, "revealed", value=outcome.value))


@bp.get("/<entry_id>/secrets/<field>/masked")
@role_required(Role.VIEWER)
def masked(entry_id: str, field: str):
    if field not in SECRET_FIELDS:
        abort(404)
    row = indexed_or_404(entry_id)
    return _no_store(_secret_fragment(row, field, "masked"))


@bp.post("/<entry_id>/tfa-code")
@role_required(Role.EDITOR)
def tfa_code(entry_id: str):
    # one upstream call: the key comes from the index
    view = indexed_or_404(entry_id)
    try:
        round_ = max(1, min(int(request.form.get("round", 1)), TFA_ROUNDS + 1))
    except ValueError:
        round_ = 1
    context: dict[str, Any] = {"view": view, "round": round_, "refresh_in": None}
    outcome = entry_commands.tfa_code(audit.current_actor(), view, round_)
    if isinstance(outcome, Failed):
        error = outcome.error
        if isinstance(error, NotFoundError):
            response = render("entries/_tfa_code.html", state="none", **context)
        else:
            response = render(
                "entries/_tfa_code.html", state="error", error=outcome.message, **context
            )
            if not isinstance(error, ConflictError):
                toast(response, outcome.message, "error")
        return _no_store(response)
    code = outcome.value
    if code.type == "authenticator" and code.expires_in_seconds and round_ < TFA_ROUNDS:
        context["refresh_in"] = max(1, int(code.expires_in_seconds))
    response = render("entries/_tfa_code.html", state="code", code=code, **context)
    return _no_store(response)
