"""Audited commands on Qoder credentials: one call per action an operator takes.

Each takes the client and an explicit actor (``audit.current_actor()`` in a request), reads
the credential first (so the audit event names its MCP URL and status before the change),
records the attempt before anything is sent (fail closed: ``AuditUnavailable`` propagates
and nothing is sent) and its result after, and returns an outcome
(:mod:`app.services.outcomes`). Views parse the request and render the outcome.

A credential that does not exist raises :class:`~app.upstream_errors.NotFoundError`
(nothing audited: nothing was attempted); the view answers 404.
"""

from __future__ import annotations

from typing import Any

from app.qoder.client import TOKEN_FIELDS, Credential, QoderClient
from app.services import audit
from app.services.outcomes import Conflict, Failed, Refused, Saved, audited
from app.upstream_errors import ConflictError, NotFoundError, UpstreamError

ARCHIVE = "qoder.credential.archive"
ROTATE = "qoder.credential.rotate"
#: longer than any bearer token, access token or secret value the console expects
MAX_TOKEN = 8192


def target(vault_id: str, credential: Credential) -> dict[str, Any]:
    """How a credential appears in the audit log: its id, its MCP URL (or variable name) as
    the user id, ``qoder:<vault id>`` as the domain."""
    return {
        "id": credential.id,
        "permissioned_user_id": credential.mcp_server_url,
        "domain": f"qoder:{vault_id}",
    }


def _read(client: QoderClient, vault_id: str, credential_id: str) -> Credential | Failed:
    try:
        return client.get_credential(vault_id, credential_id)
    except NotFoundError:
        raise
    except UpstreamError as exc:
        return Failed(exc, exc.message)


def archive(
    client: QoderClient, actor: audit.Actor, vault_id: str, credential_id: str
) -> Saved[Credential] | Conflict[Credential] | Failed:
    """Archive a credential (agents stop getting it; there is no unarchive).

    ``Conflict.current``: it was already archived (Qoder's 409, audited as a failure) and
    this is the credential as it is now."""
    credential = _read(client, vault_id, credential_id)
    if isinstance(credential, Failed):
        return credential
    outcome = audited(
        actor,
        ARCHIVE,
        lambda: client.archive_credential(vault_id, credential_id),
        target=target(vault_id, credential),
        fields=["status"],
        changes={"status": {"before": credential.status, "after": "archived"}},
    )
    if isinstance(outcome, Failed) and isinstance(outcome.error, ConflictError):
        current = _read(client, vault_id, credential_id)
        return Conflict(credential if isinstance(current, Failed) else current)
    return outcome


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent, or None."""
    if not token or not token.strip():
        return "Enter the new token."
    if token != token.strip():
        return "The token starts or ends with white space; remove it and try again."
    if len(token) > MAX_TOKEN:
        return f"The token is longer than {MAX_TOKEN} characters."
    if not token.isprintable():
        return "The token contains a line break or another control character."
    return None


def rotate_token(
    client: QoderClient, actor: audit.Actor, vault_id: str, credential_id: str, token: str
) -> Saved[Credential] | Conflict[Credential] | Refused | Failed:
    """Replace a credential's secret (``token``, ``access_token`` or ``secret_value`` by its
    type) with ``token``, through Qoder's *Update credential*.

    The audit records only that the token changed: never the token, nor a fingerprint of it.
    ``Refused``: the token is unusable (``field_errors["token"]``, nothing audited) or the
    credential is archived (audited as refused). ``Conflict.current``: Qoder refused with a
    409 (archived meanwhile); this is the credential as it is now."""
    problem = token_problem(token)
    if problem:
        return Refused(problem, {"token": [problem]})
    credential = _read(client, vault_id, credential_id)
    if isinstance(credential, Failed):
        return credential
    where = target(vault_id, credential)
    if credential.archived:
        message = "This credential is archived: an archived credential cannot be rotated."
        audit.record(ROTATE, "refused", target=where, message="credential archived", actor=actor)
        return Refused(message)
    if credential.type not in TOKEN_FIELDS:
        message = "This credential has no token the console can rotate."
        return Refused(message)
    outcome = audited(
        actor,
        ROTATE,
        lambda: client.rotate_token(vault_id, credential_id, str(credential.type), token),
        target=where,
        fields=["token"],
        changes={"token": {"changed": True}},
        changed=("token",),
    )
    if isinstance(outcome, Failed) and isinstance(outcome.error, ConflictError):
        current = _read(client, vault_id, credential_id)
        return Conflict(credential if isinstance(current, Failed) else current)
    return outcome
