"""Clear browser state (editors) and delete (admins, confirmed by typing the user id)."""

from __future__ import annotations

from flask import abort, flash, request, url_for

from app.auth.session import role_required
from app.cloudcruise import CloudCruiseError, NotFoundError
from app.entries import bp
from app.entries.presenters import EntryView
from app.models import Role
from app.services import audit, entries
from app.web import hx_redirect, render, toast


def _load(entry_id: str):
    try:
        return entries.load(entry_id)
    except NotFoundError:
        abort(404)


@bp.post("/<entry_id>/clear-state")
@role_required(Role.EDITOR)
def clear_state(entry_id: str):
    entry = _load(entry_id)
    attempt = audit.attempt(
        "entry.clear_state", target=entry, fields=["cookies", "local_storage", "session_storage"]
    )
    try:
        cleared = entries.clear_browser_state(entry)
    except CloudCruiseError as exc:
        attempt.failure(exc)
        response = render("entries/detail.html", block="session", view=EntryView(entry))
        return toast(response, f"Could not clear browser state: {exc.message}", "error")
    attempt.success()
    if request.headers.get("HX-Request") != "true":
        flash("Browser state cleared: the next run signs in from scratch.", "success")
        return hx_redirect(url_for("entries.detail", entry_id=entry_id))
    # cleared; if the re-read failed, show what we had
    response = render("entries/detail.html", block="session", view=EntryView(cleared or entry))
    return toast(response, "Browser state cleared: the next run signs in from scratch.")


@bp.post("/<entry_id>/delete")
@role_required(Role.ADMIN)
def delete(entry_id: str):
    # one upstream call: what is deleted, and what the audit records of it, come from the index
    try:
        entry = entries.locate(entry_id)
    except NotFoundError:
        abort(404)
    typed = request.form.get("confirm", "")
    view = entry
    if typed.strip() != entry.permissioned_user_id:
        audit.record("entry.delete", "refused", target=entry, message="confirmation did not match")
        message = (
            "Type the permissioned user id exactly to confirm."
            if typed.strip()
            else "Type the permissioned user id to confirm the deletion."
        )
        return render(
            "entries/detail.html",
            block="danger",
            status=422,
            view=view,
            delete_error=message,
            delete_typed=typed,
        )
    attempt = audit.attempt("entry.delete", target=entry, changes=audit.audit_log().snapshot(entry))
    try:
        entries.delete(entry)
    except NotFoundError as exc:
        attempt.failure(exc)
        flash("The entry was already deleted.", "info")
        return hx_redirect(url_for("entries.list"))
    except CloudCruiseError as exc:
        attempt.failure(exc)
        response = render(
            "entries/detail.html",
            block="danger",
            status=422,
            view=view,
            delete_error=f"CloudCruise refused the deletion: {exc.message}",
            delete_typed=typed,
        )
        return toast(response, exc.message, "error")
    attempt.success()
    flash(f"Deleted {view.title} ({entry.permissioned_user_id} on {entry.domain}).", "success")
    return hx_redirect(url_for("entries.list"))
