"""Creating entries (editors and admins), plus the small helpers the form calls via htmx."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import login_required
from markupsafe import escape

from app.auth.session import role_required
from app.cloudcruise import (
    AuthError,
    CloudCruiseError,
    ConflictError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from app.cloudcruise.intervals import IntervalError, humanize_interval, parse_interval
from app.entries import bp
from app.entries.forms import EntryForm, load_provider_choices
from app.models import Role
from app.services import audit, entries
from app.web import hx_redirect, render

DUPLICATE = "An entry for this permissioned user id and domain already exists."


def upstream_message(exc: CloudCruiseError) -> str:
    """One sentence an operator can act on, for a failed write."""
    if isinstance(exc, UnavailableError) and exc.kind in ("timeout", "connection", "malformed"):
        return (
            f"{exc.message} The change may or may not have been applied: reload the entry "
            "to check before you retry. Your input is kept."
        )
    if isinstance(exc, AuthError):
        return "CloudCruise rejected the API key or the encryption key; nothing was saved."
    if isinstance(exc, RateLimitedError):
        return exc.message
    if isinstance(exc, ValidationError) and not exc.general_errors and exc.field_errors:
        return "CloudCruise rejected some fields; see the messages beside them."
    return f"{exc.message} Your input is kept; submit again to retry."


def _render_form(form: EntryForm, status: int = 200, **extra):
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
    if not form.validate():
        audit.record(
            "entry.create", "refused", target=typed_key, fields=form.errors,
            message="refused by validation",
        )  # fmt: skip
        retyped = form.forget_secrets()
        return _render_form(form, 422, retyped=retyped, provider_error=provider_error)
    values = form.values()
    payload = form.payload()
    attempt = audit.attempt(
        "entry.create",
        target=values,
        fields=payload,
        changes=audit.audit_log().describe_changes(payload),
    )
    try:
        created = entries.create(payload)
    except ConflictError as exc:
        # one upstream call: the API's 409 is the duplicate check; the index names the entry
        attempt.failure(exc)
        form.permissioned_user_id.errors.append(DUPLICATE)
        return _render_form(
            form, 422, duplicate_of=entries.existing_id(values["permissioned_user_id"],
                                                        values["domain"]),
            retyped=form.forget_secrets(),
        )  # fmt: skip
    except ValidationError as exc:
        attempt.failure(exc)
        for name, messages in exc.field_errors.items():
            field = getattr(form, name, None)
            (field.errors if field is not None else exc.general_errors).extend(messages)
        banner = "; ".join(exc.general_errors) or upstream_message(exc)
        return _render_form(form, 422, banner=banner, retyped=form.forget_secrets())
    except CloudCruiseError as exc:
        attempt.failure(exc)
        return _render_form(
            form, 422, banner=upstream_message(exc), retyped=form.forget_secrets(), retry=True
        )
    attempt.success(target=created)
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
