"""Click-to-edit sections of the detail page.

GET  …/sections/<s>/edit  the section as a form (htmx: that block; otherwise the whole page)
GET  …/sections/<s>       the section in view mode (Cancel / Escape)
POST …/sections/<s>       save: 422 with the form and messages, 409 with a conflict panel,
                          or the section in view mode plus a toast (htmx) / a redirect.
POST …/tfa-preview        the code a typed TFA secret would produce now (nothing is stored)

Every response comes from ``entries/detail.html``: the section's block for htmx, the full
page otherwise, so the forms also work without JavaScript.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from app.auth.session import role_required
from app.cloudcruise import fields as catalogue
from app.cloudcruise.totp import current_code
from app.entries import bp
from app.entries.edit_forms import SECTIONS, ProviderForm, SectionForm, form_for
from app.entries.feedback import failure_banner, place_errors
from app.entries.lookup import page_or_404
from app.entries.presenters import EntryView
from app.entries.provider_choices import load_provider_choices
from app.models import Role
from app.services import audit, entries, entry_rules
from app.services.entry_commands import Conflict, Failed, Refused, refuse, save
from app.upstream_errors import NotFoundError
from app.web import add_trigger, is_htmx, render, toast


def _section(section: str) -> str:
    if section not in SECTIONS:
        abort(404)
    return section


def _providers(form: SectionForm) -> str | None:
    return load_provider_choices(form) if isinstance(form, ProviderForm) else None


#: Other sections that show what a section changes, refreshed out of band after a save
#: (binding a provider changes what Credentials shows).
ALSO_REFRESH = {"provider": ["credentials"]}


def _page(entry, section: str, *, status: int = 200, editing: bool = True, **context):
    """The section (editing or viewing) from the detail page; after a save, htmx also gets
    the header and the sections that show what changed, out of band."""
    saved = not editing and is_htmx()
    return render(
        "entries/detail.html",
        block=section,
        oob=["header", *ALSO_REFRESH.get(section, [])] if saved else (),
        status=status,
        view=EntryView(entry),
        editing=section if editing else None,
        **context,
    )


@bp.get("/<entry_id>/sections/<section>/edit")
@role_required(Role.EDITOR)
def edit_section(entry_id: str, section: str):
    entry = page_or_404(entry_id)
    form = form_for(_section(section), entry)
    return _page(entry, section, form=form, provider_error=_providers(form))


@bp.get("/<entry_id>/sections/<section>")
@login_required
def view_section(entry_id: str, section: str):
    return _page(page_or_404(entry_id), _section(section), editing=False)


@bp.post("/<entry_id>/sections/<section>")
@role_required(Role.EDITOR)
def save_section(entry_id: str, section: str):
    section = _section(section)
    action = f"entry.{section}.update"
    actor = audit.current_actor()
    try:
        entry = entries.load(entry_id)
    except NotFoundError:
        return _gone(entry_id, section)
    form = form_for(section, entry, request.form)
    provider_error = _providers(form)

    def again(status: int, **context):
        retyped = form.forget_secrets()
        return _page(entry, section, status=status, form=form, retyped=retyped,
                     provider_error=provider_error, **context)  # fmt: skip

    if not form.validate():
        refuse(actor, action, "refused by validation", target=entry, field_errors=form.errors)
        return again(422)
    outcome = save(
        actor,
        entry_id,
        form.changes(),
        seen_updated_at=form.updated_at.data or None,
        action=action,
        current=entry,
    )
    if isinstance(outcome, Refused):
        general: list[str] = []
        place_errors(form, dict(outcome.field_errors), general)
        return again(422, banner="; ".join(general) or None)
    if isinstance(outcome, Failed):
        if isinstance(outcome.error, NotFoundError):
            return _gone(entry_id, section)
        banner, retry = failure_banner(form, outcome.error)
        return again(422, banner=banner, retry=retry)
    if isinstance(outcome, Conflict):
        form.updated_at.data = outcome.current.updated_at  # "save mine anyway" overwrites
        entry = outcome.current
        return again(409, conflict=outcome.rows)
    noun = catalogue.SECTIONS[section].noun
    message = (
        f"Saved {noun}: {', '.join(catalogue.labels(outcome.changed))}."
        if outcome.changed
        else "Nothing changed."
    )
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("entries.detail", entry_id=entry_id), 303)
    response = _page(outcome.value, section, editing=False)
    if outcome.changed:
        add_trigger(response, "entry-changed", {"entry": entry_id})
    return toast(response, message, "success" if outcome.changed else "info")


def _gone(entry_id: str, section: str):
    message = "This entry no longer exists: it was deleted outside this page."
    if not is_htmx():
        flash(message, "error")
        return redirect(url_for("entries.list"), 303)
    html = render("entries/_gone.html", message=message, section=section)
    html.status_code = 422
    return html


@bp.post("/<entry_id>/tfa-preview")
@role_required(Role.EDITOR)
def tfa_preview(entry_id: str):
    """The current code of the secret being typed, so it can be checked before saving."""
    value = request.form.get("tfa_secret", "")
    try:
        secret = entry_rules.tfa_secret(value)
    except entry_rules.RuleError as exc:
        text, css = str(exc), "preview-bad"
    else:
        if secret:
            code, left = current_code(secret)
            text, css = f"Current code from this secret: {code} ({left} s left)", "preview-ok"
        else:
            text, css = "Enter a secret to see its current code.", ""
    response = render("entries/_tfa_preview.html", text=text, css=css)
    response.headers["Cache-Control"] = "no-store"
    return response
