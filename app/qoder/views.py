"""Qoder cloud vaults: vaults, their credentials (filters, cursor pages), archive and token
rotation (editors), and the global-search adapter.

The views parse the request and render; archive and rotate are audited commands
(:mod:`app.qoder.commands`).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_login import login_required

from app import providers
from app.auth.session import role_required
from app.models import Role
from app.qoder import commands
from app.qoder.client import TOKEN_FIELDS, QoderClient
from app.services import audit
from app.services.outcomes import Conflict, Failed, Refused
from app.upstream_errors import NotFoundError, UpstreamError
from app.vaults.paging import PAGE_SIZES, Cursor
from app.web import is_htmx, local_path, render, toast

bp = Blueprint("qoder", __name__, url_prefix="/qoder")

#: what the rotate form calls the secret, by credential type
TOKEN_LABELS = {
    "static_bearer": "New bearer token",
    "mcp_oauth": "New access token",
    "environment_variable": "New secret value",
}


def qoder() -> QoderClient:
    return providers.client("qoder")


def _day(value: str | None, end: bool = False) -> str | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    return f"{day.isoformat()}T{'23:59:59.999999' if end else '00:00:00'}Z"


@bp.get("")
@login_required
def index():
    cursor = Cursor.from_args(request.args)
    name = (request.args.get("name") or "").strip()[:200]
    archived = request.args.get("include_archived") == "1"
    page = error = None
    try:
        page = qoder().list_vaults(include_archived=archived, name=name or None, **cursor.kwargs())
    except (UpstreamError, ValueError) as exc:
        error = getattr(exc, "message", str(exc))
    keep = {"name": name, "include_archived": "1" if archived else ""}
    return render(
        "vaults/qoder_index.html",
        block="results",
        page=page,
        error=error,
        links=cursor.links(page, url_for("qoder.index"), keep) if page else {},
        name=name,
        include_archived=archived,
        cursor=cursor,
        page_sizes=PAGE_SIZES,
        sandbox=providers.connection("qoder").is_sandbox,
    )


@bp.get("/vaults/<vault_id>")
@login_required
def vault(vault_id: str):
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
        found = client.get_vault(vault_id)
    except NotFoundError:
        abort(404)
    except UpstreamError as exc:
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
    except (UpstreamError, ValueError) as exc:
        error = getattr(exc, "message", str(exc))
    from app.vaults.compare import other_vaults

    base = url_for("qoder.vault", vault_id=vault_id)
    return render(
        "vaults/qoder_vault.html",
        block="results",
        vault=found,
        others=other_vaults("qoder", vault_id) if not is_htmx() else [],
        page=page,
        error=error,
        filters=filters,
        links=cursor.links(page, base, filters) if page else {},
        cursor=cursor,
        page_sizes=PAGE_SIZES,
        token_labels=TOKEN_LABELS,
    )


def _row(vault_id: str, credential, status: int = 200):
    """The credential's table row (the swap target of its buttons)."""
    response = render(
        "vaults/qoder_vault.html",
        block="credential_row",
        credential=credential,
        vault_id=vault_id,
        token_labels=TOKEN_LABELS,
    )
    response.status_code = status
    return response


def _rotate_form(vault_id: str, credential_id: str, *, errors=None, banner=None):
    """The rotate form again (422), with the message beside the field or as a banner; the
    token input is always empty (it is asked for again, never sent back)."""
    kind = request.form.get("credential_type", "")
    response = render(
        "vaults/qoder_vault.html",
        block="rotate_form",
        credential_id=credential_id,
        vault_id=vault_id,
        errors=errors or {},
        banner=banner,
        credential_type=kind if kind in TOKEN_LABELS else "",
        label=TOKEN_LABELS.get(kind, "New token"),
    )
    response.status_code = 422
    return response


def _back(vault_id: str, message: str, level: str):
    """Without JavaScript: the message as a banner, back on the vault page."""
    flash(message, level)
    back = local_path(request.referrer) or url_for("qoder.vault", vault_id=vault_id)
    return redirect(back, 303)


def _no_swap(message: str, level: str):
    """An htmx answer that changes nothing on the page but says why in a toast."""
    return toast(make_response("", 204), message, level)


@bp.post("/vaults/<vault_id>/credentials/<credential_id>/archive")
@role_required(Role.EDITOR)
def archive(vault_id: str, credential_id: str):
    try:
        outcome = commands.archive(qoder(), audit.current_actor(), vault_id, credential_id)
    except NotFoundError:
        abort(404)
    if isinstance(outcome, Failed):
        message = f"Not archived: {outcome.message}"
        return _no_swap(message, "error") if is_htmx() else _back(vault_id, message, "error")
    if isinstance(outcome, Conflict):
        level, message = "info", "That credential was already archived."
        credential = outcome.current
    else:
        level, message = "success", "Credential archived: agents can no longer use it."
        credential = outcome.value
    if not is_htmx():
        return _back(vault_id, message, level)
    return toast(_row(vault_id, credential), message, level)


@bp.post("/vaults/<vault_id>/credentials/<credential_id>/token")
@role_required(Role.EDITOR)
def rotate(vault_id: str, credential_id: str):
    """Rotate the credential's token. The token lives only in this request: it is never
    rendered back, logged or audited."""
    try:
        outcome = commands.rotate_token(
            qoder(), audit.current_actor(), vault_id, credential_id, request.form.get("token", "")
        )
    except NotFoundError:
        abort(404)
    if isinstance(outcome, Refused):
        if not is_htmx():
            return _back(vault_id, outcome.message, "error")
        if outcome.field_errors:
            return _rotate_form(vault_id, credential_id, errors=outcome.field_errors)
        return _rotate_form(vault_id, credential_id, banner=outcome.message)
    if isinstance(outcome, Failed):
        message = f"Not rotated: {outcome.message}"
        if not is_htmx():
            return _back(vault_id, message, "error")
        return _rotate_form(vault_id, credential_id, banner=message)
    if isinstance(outcome, Conflict):
        level, status, credential = "error", 409, outcome.current
        message = (
            "Not rotated: the credential was archived meanwhile, and an archived credential "
            "cannot be rotated."
            if outcome.current.archived
            else "Not rotated: Qoder reported a conflict. Reload the page and try again."
        )
    else:
        level, status, credential = "success", 200, outcome.value
        message = "Token rotated: agents get the new token from now on."
    if not is_htmx():
        return _back(vault_id, message, level)
    response = toast(_row(vault_id, credential, status), message, level)
    response.headers["HX-Retarget"] = "closest tr"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def search(q: str) -> list[providers.Hit]:
    """Credentials whose MCP server URL contains ``q``, across the first vaults."""
    client, hits = qoder(), []
    limit = providers.Search.LIMIT
    for found in client.list_vaults(limit=100).data[: providers.Search.MAX_VAULTS]:
        page = client.list_credentials(found.id, name=q, include_archived=True, limit=100)
        for cred in page.data:
            hits.append(
                providers.Hit(
                    "qoder", cred.mcp_server_url or cred.id, f"{found.display_name} · {cred.type}",
                    url_for("qoder.vault", vault_id=found.id, name=q, include_archived="1"),
                    cred.status,
                )
            )  # fmt: skip
        if len(hits) >= limit:
            break
    return hits[:limit]


__all__ = ["TOKEN_FIELDS", "bp", "search"]
