"""Creating entries (editors and admins), plus the small helpers the form calls via htmx."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import login_required
from markupsafe import escape

from app.auth.session import role_required
from app.cloudcruise.intervals import IntervalError, humanize_interval, parse_interval
from app.entries import bp
from app.entries.feedback import failure_banner
from app.entries.forms import EntryForm
from app.entries.provider_choices import load_provider_choices
from app.models import Role
from app.services import audit, entries, entry_commands
from app.services.entry_commands import Failed, refuse
from app.upstream_errors import ConflictError
from app.web import hx_redirect, render

DUPLICATE = "An entry for this permissioned user id and domain already exists."


def _render_form(form: EntryForm, status: int = 200, **extra):
    form.focus()  # the first field, or after a 422 the first with an error
    return render("entries/new.html", block="form", status=status, form=form, **extra)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new():
    form = EntryForm()
    provider_error = load_provider_choices(form)
    if request.method == "GET":
        return _render_form(form, provider_error=provider_error)
    typed_key = {
        "permissioned_user_id": (form.permissioned_user_id.data or "")[:255],
        "domain": (form.domain.data or "")[:2048],
    }
    actor = audit.current_actor()
    if not form.validate():
        refuse(actor, "entry.create", "refused by validation", target=typed_key,
               field_errors=form.errors)  # fmt: skip
        retyped = form.forget_secrets()
        return _render_form(form, 422, retyped=retyped, provider_error=provider_error)
    values = form.values()
    outcome = entry_commands.create(actor, values, form.payload())
    if isinstance(outcome, Failed):
        if isinstance(outcome.error, ConflictError):
            form.permissioned_user_id.errors.append(DUPLICATE)
            duplicate_of = entries.existing_id(values["permissioned_user_id"], values["domain"])
            return _render_form(form, 422, duplicate_of=duplicate_of, retyped=form.forget_secrets())
        banner, retry = failure_banner(form, outcome.error)
        return _render_form(form, 422, banner=banner, retyped=form.forget_secrets(), retry=retry)
    created = outcome.value
    flash(f"Created {created.user_alias or created.permissioned_user_id}.", "success")
    return hx_redirect(url_for("entries.detail", entry_id=created.id))


@bp.get("/provider-items")
@role_required(Role.EDITOR)
def provider_items():
    """The item picker for a chosen provider connection (htmx swaps it into the form)."""
    form = EntryForm(formdata=None)
    form.secret_provider_id.data = request.args.get("secret_provider_id", "")
    error = load_provider_choices(form)
    return render("entries/new.html", block="provider_items", form=form, items_error=error)


@bp.get("/interval-preview")
@login_required
def interval_preview():
    """Human preview of a PostgreSQL interval as the operator types it."""
    value = next((v for k, v in request.args.items() if k.startswith("expiry_")), "")
    if not value.strip():
        text, css = "Empty: no expiry.", "field-hint"
    else:
        try:
            text, css = f"= {humanize_interval(parse_interval(value))}", "field-hint preview-ok"
        except IntervalError as exc:
            text, css = str(exc), "field-hint preview-bad"
    return f'<span class="{css}">{escape(text)}</span>'
