"""Clear browser state (editors) and delete (admins, confirmed by typing the user id)."""

from __future__ import annotations

from flask import flash, request, url_for

from app.auth.session import role_required
from app.entries import bp
from app.entries.lookup import fresh_or_404, indexed_or_404
from app.entries.presenters import EntryView
from app.models import Role
from app.services import audit, entry_commands
from app.services.outcomes import Failed, Refused
from app.upstream_errors import NotFoundError
from app.web import hx_redirect, is_htmx, render, toast


@bp.post("/<entry_id>/clear-state")
@role_required(Role.EDITOR)
def clear_state(entry_id: str):
    entry = fresh_or_404(entry_id)
    outcome = entry_commands.clear_browser_state(audit.current_actor(), entry)
    if isinstance(outcome, Failed):
        response = render("entries/detail.html", block="session", view=EntryView(entry))
        return toast(response, f"Could not clear browser state: {outcome.message}", "error")
    done = "Browser state cleared: the next run signs in from scratch."
    if not is_htmx():
        flash(done, "success")
        return hx_redirect(url_for("entries.detail", entry_id=entry_id))
    # cleared; if the re-read failed, show what we had
    # the header's session badge changes too
    view = EntryView(outcome.value or entry)
    response = render("entries/detail.html", block="session", oob=["header"], view=view)
    return toast(response, done)


@bp.post("/<entry_id>/delete")
@role_required(Role.ADMIN)
def delete(entry_id: str):
    # one upstream call: what is deleted, and what the audit records of it, come from the index
    entry = indexed_or_404(entry_id)
    typed = request.form.get("confirm", "")
    outcome = entry_commands.delete(audit.current_actor(), entry, typed)
    if isinstance(outcome, Refused):
        return render(
            "entries/detail.html",
            block="danger",
            status=422,
            view=entry,
            delete_error=outcome.message,
            delete_typed=typed,
        )
    if isinstance(outcome, Failed):
        if isinstance(outcome.error, NotFoundError):
            flash("The entry was already deleted.", "info")
            return hx_redirect(url_for("entries.list"))
        response = render(
            "entries/detail.html",
            block="danger",
            status=422,
            view=entry,
            delete_error=f"CloudCruise refused the deletion: {outcome.message}",
            delete_typed=typed,
        )
        return toast(response, outcome.message, "error")
    flash(f"Deleted {entry.title} ({entry.permissioned_user_id} on {entry.domain}).", "success")
    return hx_redirect(url_for("entries.list"))
