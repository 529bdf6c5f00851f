"""The field catalogue: one declaration per vault-entry field.

What a field *is* — its label, section, kind, choices, whether it is secret, whether the
console may write it, whether it is configuration (a change by anyone else is drift) or
runtime state, how it is cleared on update, how it is shown — is declared here once.
Forms, presenters, templates (through the ``fields`` Jinja global), audit redaction and
diffs, the conflict panel, toasts, bulk previews and the entries index read it.

The emulator (``app/sandbox``) keeps its own list on purpose: it is an independent check.
See docs/cloudcruise-api.md for the wire facts behind each declaration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


class Kind(StrEnum):
    TEXT = "text"
    SECRET = "secret"
    BOOL = "bool"
    CHOICE = "choice"
    INTERVAL = "interval"
    INTEGER = "integer"
    JSON = "json"
    TIME = "time"


class Clear(StrEnum):
    """How an update removes a field's value (the API documents ``null`` for only three)."""

    NULL = "null"  # documented: null clears (max_concurrency, the expiry intervals)
    EMPTY = "empty"  # a text field: the empty string
    FALSE = "false"  # a flag: false
    OMIT = "omit"  # not sent: another field decides (a proxy value outside the modes that take one)
    NEVER = "never"  # no documented way: the console says so instead of sending null


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    #: short text for badges and filters
    short: str
    #: badge colour class; "" shows no badge (a dash)
    badge: str = "badge-gray"
    #: tooltip of the badge
    title: str = ""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    section: str
    kind: Kind
    #: the console may send it (create or update); computed fields are read-only
    writable: bool = True
    #: configuration: a change made outside the console is drift; runtime state is not
    config: bool = False
    #: encrypted with the workspace key; ``proxy_value`` only in custom mode (see is_secret)
    secret: bool = False
    #: live browser state (cookies, storage): shown and recorded only as counts
    blob: bool = False
    clear: Clear = Clear.NEVER
    #: what the operator is told when a removal cannot be sent (``clear`` is NEVER)
    keep: str = ""
    choices: tuple[Choice, ...] = ()
    help: str = ""
    #: what an empty value reads as on the detail page
    empty: str = "—"
    #: the label inside a group that already names the rest (e.g. "Cookies" under "Persist")
    short: str = ""
    #: unit appended to a number ("300 s")
    unit: str = ""
    #: the entry rule (``app.services.entry_rules``) that checks and cleans a typed value;
    #: "" uses the kind's default rule
    rule: str = ""
    #: deprecated by the API: shown (badged) only when set
    deprecated: bool = False

    def choice(self, value: Any) -> Choice | None:
        key = "none" if value in (None, "") else value
        return next((c for c in self.choices if c.value == key), None)

    def cleared(self) -> Any:
        """The value an update sends to clear this field (only when ``clear`` allows)."""
        return {Clear.NULL: None, Clear.EMPTY: "", Clear.FALSE: False}.get(self.clear)


def _f(name: str, label: str, section: str, kind: Kind, **kw: Any) -> Field:
    return Field(name, label, section, kind, **kw)


TFA_METHODS: Final = (
    Choice("none", "None", "No 2FA", badge=""),
    Choice("AUTHENTICATOR", "Authenticator app (TOTP)", "Authenticator", "badge-blue"),
    Choice("EMAIL", "Email code", "Email"),
    Choice("SMS", "SMS code", "SMS"),
    Choice("MAGIC_LINK", "Magic link", "Magic link"),
)
PROXY_MODES: Final = (
    Choice("none", "No proxy", "No proxy", badge=""),
    Choice("random", "Random (managed)", "Random"),
    Choice("static", "Static IP (managed)", "Static IP"),
    Choice("country", "Country (managed)", "Country"),
    Choice("custom", "Custom proxy URL", "Custom", "badge-outline"),
    # derived, never sent: the deprecated proxy object
    Choice("legacy", "Legacy proxy object", "Legacy", "badge-amber",
           "Deprecated proxy object (target IP)"),
)  # fmt: skip

UNBIND = (
    "CloudCruise has no documented way to unbind a secret provider; delete the entry and "
    "create it again with stored credentials."
)

T, S, B, C, IV, N, J, W = (
    Kind.TEXT, Kind.SECRET, Kind.BOOL, Kind.CHOICE, Kind.INTERVAL, Kind.INTEGER, Kind.JSON,
    Kind.TIME,
)  # fmt: skip

CATALOGUE: Final[tuple[Field, ...]] = (
    # identity (the natural key) and metadata
    _f("id", "Entry id", "metadata", T, writable=False),
    _f("permissioned_user_id", "Permissioned user id", "metadata", T, config=True,
       help="The id your workflows pass as the credential, e.g. billing-team-03."),
    _f("domain", "Domain", "metadata", T, config=True,
       help="Exactly the domain in the workflow's vault schema, e.g. https://portal.example.com."),
    _f("user_id", "Created by (user id)", "metadata", T, writable=False),
    _f("workspace_id", "Workspace", "metadata", T, writable=False),
    _f("organization_id", "Organization", "metadata", T, writable=False),
    _f("site_identifier", "Site identifier", "metadata", T, writable=False),
    _f("user_agent", "User agent", "metadata", T, clear=Clear.EMPTY,
       help="Browser user agent the agent should present (optional)."),
    _f("session_id", "Session id", "metadata", T, writable=False),
    _f("headers", "Request headers", "metadata", J, writable=False),
    _f("created_at", "Created", "metadata", W, writable=False),
    _f("updated_at", "Updated", "metadata", W, writable=False),
    # credentials
    _f("user_alias", "Alias", "credentials", T, config=True, clear=Clear.EMPTY,
       help="A human-readable name, e.g. “Dr. Patel – billing”."),
    _f("user_name", "Username", "credentials", S, secret=True,
       keep="CloudCruise has no documented way to remove a stored username."),
    _f("password", "Password", "credentials", S, secret=True,
       keep="CloudCruise has no documented way to remove a stored password."),
    # two-factor
    _f("tfa_method", "Two-factor method", "twofactor", C, config=True, choices=TFA_METHODS,
       empty="None", keep="CloudCruise has no documented way to remove a two-factor method "
       "once set; choose another method."),
    _f("tfa_secret", "TFA secret", "twofactor", S, secret=True,
       help="Base32 secret or an otpauth:// link; needed for the authenticator app method.",
       keep="CloudCruise has no documented way to remove a stored TFA secret; enter a new "
       "one to replace it."),
    _f("tfa_email", "Code email", "twofactor", T, writable=False),
    _f("tfa_phone_number", "Code phone number", "twofactor", T, writable=False),
    # session persistence
    _f("persist_cookies", "Persist cookies", "session", B, config=True, clear=Clear.FALSE,
       short="Cookies"),
    _f("persist_local_storage", "Persist local storage", "session", B, config=True,
       clear=Clear.FALSE, short="Local storage"),
    _f("persist_session_storage", "Persist session storage", "session", B, config=True,
       clear=Clear.FALSE, short="Session storage"),
    _f("skip_csrf_cookies", "Skip CSRF cookies", "session", B, config=True, clear=Clear.FALSE),
    _f("cookie_domain_to_store", "Cookie domain to store", "session", T, config=True,
       clear=Clear.EMPTY, help="Optional: store the cookies of this domain instead."),
    _f("expiry_time_from_last_use", "Expire after last use", "session", IV, config=True,
       clear=Clear.NULL, empty="No expiry"),
    _f("expiry_time_from_session_data_set", "Expire after the session is saved", "session", IV,
       config=True, clear=Clear.NULL, empty="No expiry"),
    _f("cookies", "Cookies", "session", J, blob=True, clear=Clear.EMPTY,
       help="A JSON array in the Chrome-extension cookie format (name, value, domain, path, …)."),
    _f("local_storage", "Local storage", "session", J, blob=True, clear=Clear.EMPTY,
       help="A JSON object of keys and values."),
    _f("session_storage", "Session storage", "session", J, blob=True, clear=Clear.EMPTY,
       help="A JSON object of keys and values."),
    _f("session_data_set_at", "Session saved", "session", W, writable=False),
    _f("effective_expires_at", "Session expires", "session", W, writable=False),
    # concurrency
    _f("allow_multiple_sessions", "Allow multiple sessions", "concurrency", B, config=True,
       clear=Clear.FALSE),
    _f("max_concurrency", "Max concurrent sessions", "concurrency", N, config=True,
       clear=Clear.NULL, empty="Unlimited",
       help="At least 1; leave empty for unlimited. Only with multiple sessions."),
    _f("prevent_concurrency_during_login", "Block others during login", "concurrency", B,
       config=True, clear=Clear.FALSE),
    # proxy
    _f("proxy_setting", "Proxy mode", "proxy", C, config=True, choices=PROXY_MODES,
       keep="CloudCruise has no documented way to turn a proxy off once set; choose "
       "another mode."),
    _f("proxy_value", "Proxy value", "proxy", T, config=True, clear=Clear.OMIT,
       short="Proxy URL"),
    _f("proxy_string", "Assigned proxy", "proxy", T, writable=False),
    _f("ip_address", "Legacy target IP", "proxy", T, clear=Clear.EMPTY, rule="legacy_ip",
       deprecated=True,
       help="Deprecated by CloudCruise: the target IP of the old proxy object. Leave empty "
       "to clear it."),
    _f("location", "Proxy location", "proxy", T, writable=False),
    _f("proxy", "Legacy proxy object", "proxy", J, writable=False),
    # secret provider
    _f("secret_provider_id", "Provider connection", "provider", T, config=True,
       keep=UNBIND),
    _f("secret_ref", "Item reference", "provider", T, config=True,
       keep=UNBIND),
    _f("secret_cache_ttl_seconds", "Cache time", "provider", N, config=True, unit="s",
       empty="Provider default", help="Leave empty for the connection's default.",
       keep="CloudCruise has no documented way to clear the cache time once set; enter "
       "a number of seconds."),
)  # fmt: skip

FIELDS: Final[Mapping[str, Field]] = {f.name: f for f in CATALOGUE}

#: Fields that may hold ciphertext (``proxy_value`` only in custom mode).
SECRET_FIELDS: Final = (*(f.name for f in CATALOGUE if f.secret), "proxy_value")
#: Credentials encrypted whenever they are strings.
CREDENTIAL_FIELDS: Final = tuple(f.name for f in CATALOGUE if f.secret)
SESSION_BLOBS: Final = frozenset(f.name for f in CATALOGUE if f.blob)
#: Configuration fields the index keeps and compares for drift (secrets by fingerprint).
CONFIG_FIELDS: Final = tuple(f.name for f in CATALOGUE if f.config)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    #: the words of "Saved …" toasts
    noun: str


SECTIONS: Final[Mapping[str, Section]] = {
    s.key: s
    for s in (
        Section("credentials", "Credentials", "credentials"),
        Section("twofactor", "Two-factor", "two-factor settings"),
        Section("session", "Session persistence", "session persistence"),
        Section("concurrency", "Concurrency", "concurrency"),
        Section("proxy", "Proxy", "proxy"),
        Section("provider", "Secret provider", "secret provider"),
        Section("metadata", "Metadata", "metadata"),
    )
}


def field(name: str) -> Field:
    return FIELDS[name]


#: Kinds a section editor can offer with a generated input.
GENERATED_KINDS: Final = frozenset({Kind.TEXT, Kind.BOOL, Kind.CHOICE, Kind.INTERVAL, Kind.INTEGER})


def generated(section: str, explicit: Iterable[str]) -> tuple[Field, ...]:
    """The fields of ``section`` its editor and its card handle generically: writable,
    plain (not secret, not browser state) and not among the ``explicit`` ones its form
    declares by hand. A new such field needs only its catalogue line."""
    claimed = set(explicit)
    return tuple(
        f
        for f in CATALOGUE
        if f.section == section
        and f.writable
        and not f.secret
        and not f.blob
        and f.kind in GENERATED_KINDS
        and f.name not in claimed
    )


def section(key: str) -> Section:
    return SECTIONS[key]


def is_secret(name: str, values: Mapping[str, Any]) -> bool:
    """Whether ``name``'s value in ``values`` is (or becomes) ciphertext: the credentials
    always, ``proxy_value`` when the mode in ``values`` is custom."""
    if name == "proxy_value":
        return values.get("proxy_setting") == "custom"
    spec = FIELDS.get(name)
    return spec is not None and spec.secret


def label(name: str) -> str:
    """The human label; an unknown field (the API sent something new) shows its name."""
    spec = FIELDS.get(name)
    return spec.label if spec else name


def short_label(name: str) -> str:
    """The label inside a group that names the rest, e.g. "Cookies" under "Persist"."""
    spec = FIELDS[name]
    return spec.short or spec.label


def inline(name: str) -> str:
    """The short label inside a sentence: "username", "TFA secret", "proxy URL"."""
    text = short_label(name)
    return text if text[:2].isupper() else text[0].lower() + text[1:]


def labels(names: Iterable[str]) -> list[str]:
    return [label(n) for n in names]


def choice_label(name: str, value: Any) -> str:
    spec = FIELDS[name].choice(value)
    return spec.label if spec else str(value)


def choice_pairs(name: str, *, values: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(value, label) options of a choice field, optionally restricted to ``values``."""
    wanted = set(values) if values is not None else None
    return [
        (c.value, c.label)
        for c in FIELDS[name].choices
        if (wanted is None or c.value in wanted) and c.value != "legacy"
    ]


def format_value(name: str, value: Any) -> str:
    """A value as an operator reads it: labels for choices, durations for intervals,
    Yes/No for flags, counts for browser state. Never called with a secret."""
    from app.cloudcruise.intervals import describe_interval

    spec = FIELDS.get(name)
    if spec is not None and spec.blob:
        return _blob_size(value)
    if value is None or value == "":
        return spec.empty if spec else "—"
    if spec is None:
        return _plain(value)
    if spec.kind is Kind.BOOL:
        return "Yes" if value else "No"
    if spec.kind is Kind.CHOICE:
        return choice_label(name, value)
    if spec.kind is Kind.INTERVAL:
        return describe_interval(value)
    return f"{_plain(value)} {spec.unit}" if spec.unit else _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:500]
    return str(value)


def _blob_size(value: Any) -> str:
    if not value:
        return "none"
    noun = "cookie" if isinstance(value, list) else "key"
    return f"{len(value)} {noun}{'' if len(value) == 1 else 's'}"


class Catalogue:
    """The ``fields`` Jinja global: labels, formatted values and badges in templates."""

    label = staticmethod(label)
    short = staticmethod(short_label)
    inline = staticmethod(inline)
    format = staticmethod(format_value)
    choice_label = staticmethod(choice_label)

    @staticmethod
    def badge(name: str, value: Any) -> Choice | None:
        spec = FIELDS[name].choice(value)
        return spec if spec is not None and spec.badge else None

    @staticmethod
    def get(name: str) -> Field | None:
        return FIELDS.get(name)

    @staticmethod
    def section(key: str) -> Section:
        return SECTIONS[key]


catalogue = Catalogue()
