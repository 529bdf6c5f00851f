"""The vault services the console talks to, each declared once; everything that lists
providers (configuration, navigation, the sandbox banner, global search, audit labels, the
status page) iterates this registry instead of naming them.

A provider is a package with a ``provider.py`` that declares ``provider = Provider(...)``:
its key and display name, how it reads its settings, its connection (real API or embedded
emulator), its blueprint, its search adapter, its audit action labels and its status check.
Adding a fourth provider is its package (client, connection, views, emulator, tests) plus
one line in :data:`REGISTRY`.

Declarations are plain data: blueprints and search adapters are named by import path
(``"app.qoder.views:bp"``) and imported when the app is built, so reading the registry (as
configuration does) never imports views. ``app/__init__.py`` calls :func:`init_app` once.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from app.connection import LazyConnection

#: One line per provider, in the order the console lists them (navigation, banner, search).
REGISTRY = (
    "app.cloudcruise.provider",
    "app.qoder.provider",
    "app.r4.provider",
)

#: Authenticator codes change every 30 s; beyond this the status page warns.
SKEW_WARNING_SECONDS = 15


def load(path: str) -> Any:
    """The object at ``"package.module:attribute"``."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Hit:
    """One global-search result."""

    source: str  # the provider's key
    title: str
    detail: str
    url: str
    badge: str = ""


@dataclass(frozen=True)
class Search:
    """A provider's global-search adapter: ``find(q)`` returns at most ``LIMIT`` hits
    (upstream errors propagate; the search page shows them per group)."""

    label: str  # "Qoder credentials"
    find: str  # import path of ``find(q: str) -> list[Hit]``
    matches: str = ""  # what the query is matched against ("MCP server URL")

    LIMIT = 50  # results per provider
    MAX_VAULTS = 50  # vaults searched per provider


@dataclass(frozen=True)
class Provider:
    key: str  # "qoder": URLs, blueprint name, ``OTHER_VAULTS[key]``, search group id
    name: str  # "Qoder": navigation, banner, messages
    #: ``configure(env)``: the validated settings (``.sandbox``: no key, use the emulator)
    configure: Callable[[Mapping[str, str]], Any]
    #: ``connection(app, settings)``: a :class:`~app.connection.LazyConnection`
    connection: Callable[[Flask, Any], LazyConnection[Any]]
    #: the environment variable whose absence means "run on the emulator"
    key_env: str
    #: where the navigation's provider switch links to, and the endpoints it marks current
    nav_endpoint: str
    nav_prefix: str
    #: ``"module:bp"``; None when the provider's pages are registered elsewhere
    blueprint: str | None = None
    search: Search | None = None
    #: ``"module:adapter"``: how two of its vaults are compared (:mod:`app.vaults.comparison`)
    compare: str | None = None
    #: audit action -> label ("qoder.credential.archive" -> "Qoder credential archived")
    audit_actions: Mapping[str, str] = field(default_factory=dict)
    #: action prefix -> label of the audit filter that selects them all
    audit_groups: Mapping[str, str] = field(default_factory=dict)
    #: ``status(connection) -> dict`` for the /status page (default :func:`probe_status`)
    status: Callable[[Any], dict[str, Any]] | None = None
    #: the console's own vault (entries, index, overview): its settings are
    #: ``config["UPSTREAM"]`` and its connection ``extensions["upstream"]``
    primary: bool = False

    def check(self, connection: LazyConnection[Any]) -> dict[str, Any]:
        return (self.status or probe_status)(connection)


@cache
def all() -> tuple[Provider, ...]:  # noqa: A001 - ``providers.all()`` reads as intended
    """Every registered provider, in :data:`REGISTRY` order."""
    found = tuple(importlib.import_module(path).provider for path in REGISTRY)
    keys = [p.key for p in found]
    if len(set(keys)) != len(keys) or sum(p.primary for p in found) != 1:
        raise RuntimeError("providers need unique keys and exactly one primary provider")
    return found


def get(key: str) -> Provider:
    return next(p for p in all() if p.key == key)


def primary() -> Provider:
    return next(p for p in all() if p.primary)


def settings_of(config: Mapping[str, Any], provider: Provider) -> Any:
    """A provider's settings in a Flask config (see :mod:`app.config`)."""
    if provider.primary:
        return config["UPSTREAM"]
    return config["OTHER_VAULTS"][provider.key]


# ---------------------------------------------------------------------------- Flask glue
def init_app(app: Flask) -> None:
    """Make each provider's connection (nothing starts yet), register its blueprint, and
    give templates the registry (``vault_providers``) and the sandbox banner (``sandboxes``)."""
    connections = {p.key: p.connection(app, settings_of(app.config, p)) for p in all()}
    app.extensions["providers"] = connections
    # the names other modules (and tests) know the connections by
    app.extensions["upstream"] = connections[primary().key]
    app.extensions["other_vaults"] = {
        key: conn for key, conn in connections.items() if key != primary().key
    }
    for provider in all():
        if provider.blueprint:
            app.register_blueprint(load(provider.blueprint))

    @app.context_processor
    def _providers_context() -> dict[str, Any]:
        sandboxes = [p.name for p in all() if connections[p.key].is_sandbox]
        return {
            "vault_providers": all(),
            "sandboxes": sandboxes,
            "sandbox_mode": connections[primary().key].is_sandbox,
        }


def connection(key: str) -> LazyConnection[Any]:
    from flask import current_app

    found: LazyConnection[Any] = current_app.extensions["providers"][key]
    return found


def client(key: str) -> Any:
    return connection(key).client()


# ---------------------------------------------------------------------------- search
def search_sources() -> list[tuple[Provider, Search]]:
    return [(p, p.search) for p in all() if p.search is not None]


# ---------------------------------------------------------------------------- audit
def audit_actions() -> dict[str, str]:
    """Every provider's audit action labels, in registry order."""
    return {action: label for p in all() for action, label in p.audit_actions.items()}


def audit_groups() -> dict[str, str]:
    return {prefix: label for p in all() for prefix, label in p.audit_groups.items()}


# ---------------------------------------------------------------------------- status
def probe_status(connection: LazyConnection[Any]) -> dict[str, Any]:
    """Where the provider's client points, whether one cheap authenticated read answers, how
    fast, and the server's clock skew. A sandboxed provider whose emulator has not started
    yet is reported as such (the status page never starts emulators)."""
    import requests

    info: dict[str, Any] = {"sandbox": connection.is_sandbox, "rows": []}
    if connection.starts_emulator() and not connection.connected:
        info.update(ok=True, idle=True, error="not started yet (starts on first use)")
        return info
    try:
        client = connection.client()
        info.update(base_url=client.base_url, key_hint=client.key_hint)
        before = time.time()
        probe = client.probe()
        after = time.time()
    except requests.RequestException as exc:
        info.update(ok=False, error=f"not reachable ({type(exc).__name__})")
        return info
    info.update(ok=probe["status"] == 200, status=probe["status"], latency_ms=probe["latency_ms"])
    if probe["status"] in (401, 403):
        info["error"] = "the API key was rejected"
    elif probe["status"] != 200:
        info["error"] = f"answered {probe['status']}"
    if probe["server_time"] is not None:
        midpoint = datetime.fromtimestamp((before + after) / 2, UTC)
        skew = (probe["server_time"] - midpoint).total_seconds()
        info.update(skew=skew, skew_warning=abs(skew) > SKEW_WARNING_SECONDS)
    return info
