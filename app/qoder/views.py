"""Qoder cloud vaults: vaults, their credentials (filters, cursor pages), archive."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from app.auth.session import role_required
from app.cloudcruise import CloudCruiseError, ConflictError, NotFoundError
from app.models import Role
from app.services import audit
from app.vaults import bp
from app.vaults.connections import connection, qoder
from app.vaults.paging import PAGE_SIZES, Cursor
from app.web import is_htmx, local_path, render, toast


def _day(value: str | None, end: bool = False) -> str | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    return f"{day.isoformat()}T{'23:59:59.999999' if end else '00:00:00'}Z"


@bp.get("/qoder")
@login_required
def qoder_index():
    cursor = Cursor.from_args(request.args)
    name = (request.args.get("name") or "").strip()[:200]
    archived = request.args.get("include_archived") == "1"
    page = error = None
    try:
        page = qoder().list_vaults(include_archived=archived, name=name or None, **cursor.kwargs())
    except (CloudCruiseError, ValueError) as exc:
        error = getattr(exc, "message", str(exc))
    keep = {"name": name, "include_archived": "1" if archived else ""}
    return render(
        "vaults/qoder_index.html",
        block="results",
        page=page,
        error=error,
        links=cursor.links(page, url_for("vaults.qoder_index"), keep) if page else {},
        name=name,
        include_archived=archived,
        cursor=cursor,
        page_sizes=PAGE_SIZES,
        sandbox=connection("qoder").is_sandbox,
    )


@bp.get("/qoder/vaults/<vault_id>")
@login_required
def qoder_vault(vault_id: str):
    cursor = Cursor.from_args(request.args)
    args = request.args
    filters = {
        "name": (args.get("name") or "").strip()[:200],
        "include_archived": "1" if args.get("include_archived") == "1" else "",
        "created_from": args.get("created_from", "")[:10],
        "created_to": args.get("created_to", "")[:10],
    }
    client = qoder()
    try:
        vault = client.get_vault(vault_id)
    except NotFoundError:
        abort(404)
    except CloudCruiseError as exc:
        return render("vaults/qoder_vault.html", vault=None, error=exc.message, filters=filters,
                      page=None, links={}, cursor=cursor, page_sizes=PAGE_SIZES)  # fmt: skip
    page = error = None
    try:
        page = client.list_credentials(
            vault_id,
            include_archived=bool(filters["include_archived"]),
            name=filters["name"] or None,
            created_gte=_day(filters["created_from"]),
            created_lte=_day(filters["created_to"], end=True),
            **cursor.kwargs(),
        )
    except (CloudCruiseError, ValueError) as exc:
        error = getattr(exc, "message", str(exc))
    base = url_for("vaults.qoder_vault", vault_id=vault_id)
    return render(
        "vaults/qoder_vault.html",
        block="results",
        vault=vault,
        page=page,
        error=error,
        filters=filters,
        links=cursor.links(page, base, filters) if page else {},
        cursor=cursor,
        page_sizes=PAGE_SIZES,
    )


@bp.post("/qoder/vaults/<vault_id>/credentials/<credential_id>/archive")
@role_required(Role.EDITOR)
def qoder_archive(vault_id: str, credential_id: str):
    client = qoder()
    try:
        credential = client.get_credential(vault_id, credential_id)
    except NotFoundError:
        abort(404)
    target = {
        "id": credential_id,
        "permissioned_user_id": credential.mcp_server_url,
        "domain": f"qoder:{vault_id}",
    }
    attempt = audit.attempt(
        "qoder.credential.archive",
        target=target,
        fields=["status"],
        changes={"status": {"before": credential.status, "after": "archived"}},
    )
    level, message = "success", "Credential archived: agents can no longer use it."
    try:
        credential = client.archive_credential(vault_id, credential_id)
    except ConflictError as exc:
        attempt.failure(exc)
        level, message = "info", "That credential was already archived."
        credential = client.get_credential(vault_id, credential_id)
    except CloudCruiseError as exc:
        attempt.failure(exc)
        level, message = "error", f"Not archived: {exc.message}"
    else:
        attempt.success()
    if not is_htmx():
        flash(message, level)
        return redirect(
            local_path(request.referrer) or url_for("vaults.qoder_vault", vault_id=vault_id), 303
        )
    response = render("vaults/qoder_vault.html", block="credential_row", credential=credential,
                      vault_id=vault_id)  # fmt: skip
    return toast(response, message, level)
