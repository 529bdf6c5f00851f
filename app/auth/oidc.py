"""Single sign-on with OpenID Connect (Authlib's Flask client).

``GET /auth/oidc/login`` sends the browser to the provider: authorization code flow with
PKCE (S256), a ``state`` and a ``nonce`` kept in the signed session cookie, endpoints from
``<issuer>/.well-known/openid-configuration``. ``GET /auth/oidc/callback`` exchanges the
code; Authlib checks the state, the ID token's signature (the provider's JWKS), issuer,
audience, expiry and nonce. The console then checks the discovery document's issuer is the
configured one, and maps the roles claim (``VAULT_CONSOLE_OIDC_ROLES_CLAIM``) through
``VAULT_CONSOLE_OIDC_ROLE_MAP`` to a role, every sign-in: an operator is created or updated
(``source="sso"``, ``sso_subject="iss|sub"``). No matching group, or an operator disabled
in the console: a refusal page (403). Every attempt is audited as ``auth.sso`` with the
reason, never a token.

Re-authentication (reveal, export) of an SSO operator is a fresh round trip
(``?reauth=1``: ``prompt=login``, ``max_age=0``); the ID token's ``auth_time`` must be
after the round trip started, and the subject the signed-in one. It opens the sudo window
and returns to ``next``.

``VAULT_CONSOLE_PASSWORD_LOGIN=false`` hides the password form and refuses ``POST /login``
(:func:`refuse_password_login`); the operators CLI keeps working.
"""

from __future__ import annotations

import re
import time
from typing import Any

from authlib.integrations.flask_client import OAuth  # type: ignore[import-untyped]
from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from sqlalchemy import select

from app.config import OidcSettings
from app.extensions import db
from app.models import Operator, Role, utcnow
from app.services import audit, operators
from app.web import local_path, render

bp = Blueprint("oidc", __name__, url_prefix="/auth/oidc")

#: where the round trip keeps ``next``, whether it re-authenticates, and when it started
FLOW_KEY = "oidc_flow"
#: an ``auth_time`` this much before the re-authentication started still counts (clock skew)
AUTH_TIME_SKEW = 60
#: seconds the console waits for the provider (discovery, token, keys)
PROVIDER_TIMEOUT = 10
#: an SSO operator has no password here: this never verifies
NO_PASSWORD = "!sso"


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    settings: OidcSettings | None = app.config.get("OIDC")
    if settings is None:
        return
    oauth = OAuth(app)
    oauth.register(
        "vault",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "default_timeout": PROVIDER_TIMEOUT,
        },
    )
    app.extensions["vault_oidc"] = oauth


def _settings() -> OidcSettings:
    settings: OidcSettings | None = current_app.config.get("OIDC")
    if settings is None:
        abort(404)
    return settings


def _client(app: Flask | None = None) -> Any:
    return (app or current_app).extensions["vault_oidc"].vault


@bp.app_context_processor
def _sign_in_options() -> dict[str, Any]:
    return {
        "sso_enabled": current_app.config.get("OIDC") is not None,
        "password_login": current_app.config.get("PASSWORD_LOGIN", True),
    }


@bp.before_app_request
def refuse_password_login() -> Any:
    """``VAULT_CONSOLE_PASSWORD_LOGIN=false``: the password form is gone, and posting it
    anyway (or the in-place sign-in dialog) is refused."""
    if current_app.config.get("PASSWORD_LOGIN", True) or request.method != "POST":
        return None
    if request.endpoint not in ("auth.login", "auth.resume"):
        return None
    audit.record(
        "auth.login",
        "refused",
        message="password sign-in is turned off (VAULT_CONSOLE_PASSWORD_LOGIN=false)",
        operator_override={"operator": "unknown"},
    )
    return _refusal(
        "Password sign-in is turned off",
        "This console signs operators in with single sign-on only. Use “Sign in with SSO”.",
    )


@bp.get("/login")
def login() -> Any:
    """Start a round trip to the provider (``?reauth=1``: a fresh sign-in for the sudo
    window of the signed-in SSO operator; ``?next=``: where to return)."""
    _settings()
    reauth = request.args.get("reauth") == "1"
    if reauth and not (current_user.is_authenticated and current_user.source == "sso"):
        abort(403)
    session[FLOW_KEY] = {
        "next": local_path(request.args.get("next")),
        "reauth": reauth,
        "started": int(time.time()),
    }
    extra: dict[str, Any] = {"prompt": "login", "max_age": 0} if reauth else {}
    try:
        return _client().authorize_redirect(url_for("oidc.callback", _external=True), **extra)
    except Exception as exc:  # discovery failed: the provider is down or misconfigured
        return _failed(f"the provider could not be reached ({_describe(exc)})", status=502)


@bp.get("/callback")
def callback() -> Any:
    settings = _settings()
    flow = session.pop(FLOW_KEY, None) or {}
    if request.args.get("error"):
        error = request.args.get("error", "")[:64]
        return _failed(f"the provider answered {error!r}")
    if not request.args.get("state") or not flow:
        return _failed("state mismatch: no sign-in was started in this browser")
    client = _client()
    try:
        token = client.authorize_access_token()
    except Exception as exc:  # state, code exchange, signature, issuer, audience, expiry
        return _failed(_describe(exc))
    claims = token.get("userinfo")
    if not claims:
        return _failed("the provider sent no ID token")
    issuer = str(client.load_server_metadata().get("issuer", "")).rstrip("/")
    if issuer != settings.issuer or str(claims.get("iss", "")).rstrip("/") != settings.issuer:
        return _failed(f"issuer mismatch: expected {settings.issuer}")
    subject = f"{settings.issuer}|{claims['sub']}"
    role = map_role(claims.get(settings.roles_claim), settings)
    if flow.get("reauth"):
        return _reauthenticated(flow, claims, subject, role)
    name = _username_claim(claims)
    if role is None:
        return _refused(
            f"no matching group in the {settings.roles_claim!r} claim", name, _groups(claims)
        )
    operator = db.session.scalar(select(Operator).where(Operator.sso_subject == subject))
    if operator is not None and not operator.is_active:
        return _refused("the operator is disabled in the console", operator.username)
    if operator is None:
        operator = Operator(
            username=_free_username(name or str(claims["sub"])),
            password_hash=NO_PASSWORD,
            role=role,
            source="sso",
            sso_subject=subject,
            created_at=utcnow(),
        )
        db.session.add(operator)
        created = True
    else:
        created = False
        operator.role = role
    operator.last_login_at = utcnow()
    db.session.commit()

    from app.auth.routes import _sign_in

    _sign_in(operator)
    audit.record(
        "auth.sso", "success", message=f"{'created' if created else 'signed in'} as {role}"
    )
    return redirect(flow.get("next") or url_for("entries.list"), 303)


def _reauthenticated(
    flow: dict[str, Any], claims: dict[str, Any], subject: str, role: str | None
) -> Any:
    from app.auth.session import start_sudo

    if not current_user.is_authenticated or current_user.sso_subject != subject:
        return _failed("re-authentication as another identity than the signed-in one")
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int) or auth_time < flow["started"] - AUTH_TIME_SKEW:
        audit.record("auth.sudo", "failure", message="SSO re-authentication was not fresh")
        return _failed("re-authentication was not fresh (auth_time before the request)")
    if role is None:
        return _refused("no matching group in the roles claim", current_user.username)
    if role != current_user.role:
        current_user.role = role
        db.session.commit()
    start_sudo()
    audit.record("auth.sudo", "success", message="SSO re-authentication")
    audit.record("auth.sso", "success", message="re-authentication")
    return redirect(flow.get("next") or url_for("entries.list"), 303)


def map_role(value: Any, settings: OidcSettings) -> str | None:
    """The highest role the groups in ``value`` map to, else the ``*`` role, else None."""
    groups = set(_names(value))
    found = [role for group, role in settings.role_map if group in groups]
    if not found:
        return settings.default_role
    return max(found, key=lambda role: Role(role).rank)


def _names(value: Any) -> list[str]:
    """The group names of a roles claim: a string, or a list of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _groups(claims: dict[str, Any]) -> str:
    names = _names(claims.get(_settings().roles_claim))
    return ", ".join(str(name)[:40] for name in names[:10]) or "none"


def _username_claim(claims: dict[str, Any]) -> str | None:
    for key in ("preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            cleaned = re.sub(r"[^a-z0-9._-]+", "-", value.strip().lower()).strip("-._")
            if cleaned:
                return cleaned[:56]
    return None


def _free_username(name: str) -> str:
    """``name``, or ``name-2``, ``name-3``…: never the name of another operator (a local
    operator of that name is another person until an admin says otherwise)."""
    base = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:56] or "sso"
    if len(base) < 2:
        base = f"sso-{base}"
    candidate, n = base, 1
    while operators.find(candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _describe(exc: Exception) -> str:
    """Why a round trip failed, for the audit log: the exception's kind and message, which
    name the failed check (never a token)."""
    error = getattr(exc, "error", None)
    description = getattr(exc, "description", None) or str(exc)
    text = f"{type(exc).__name__}: {error or ''} {description}".strip()
    text = re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]*", "[token]", text)  # never a JWT
    return text[:240]


def _failed(reason: str, status: int = 403) -> Any:
    audit.record("auth.sso", "failure", message=reason, operator_override=_anyone())
    return _refusal(
        "Single sign-on failed",
        "The sign-in with your identity provider could not be verified, so you are not "
        f"signed in. Reason: {reason}.",
        status,
    )


def _refused(reason: str, username: str | None, groups: str | None = None) -> Any:
    message = reason + (f" (groups: {groups})" if groups is not None else "")
    audit.record("auth.sso", "refused", message=message, operator_override=_anyone(username))
    return _refusal(
        "Sign-in refused",
        f"Your identity provider signed you in, but this console refuses you: {reason}. "
        "Ask an administrator of the console for access.",
    )


def _anyone(username: str | None = None) -> dict[str, Any] | None:
    if current_user.is_authenticated:
        return None
    return {"operator": f"sso:{username[:60]}" if username else "unknown"}


def _refusal(title: str, message: str, status: int = 403) -> Any:
    response = render("auth/sso_refused.html", title=title, message=message, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
