"""Deterministic seed: five vaults, each showing one verification outcome, and a pair of
vaults to compare.

=====================  ==========================================================
Production – agents    25 items of all 8 types, correctly signed (user key pair),
                       summary version 26, DEK version 2
Staging                6 items, correctly signed by the AGENT key
                       (``signerEncryptionKeyId``)
Finance                5 items; served listing differs from what was signed (the
                       first item's website is redirected) -> "items differ"
Legacy import          4 items signed by a user key that is NOT in the signer
                       directory -> "signer key not in the vault's signer directory"
Payments               valid history v1..v12; the first ``GET …/items`` serves v12,
                       later ones serve v9 (still validly signed, and it brings back
                       a revoked Stripe key archived in v10) -> rollback
Production Secrets     the compare pair, both correctly signed (user key pair): the
Staging Secrets        same items and the differences listed in SECRETS_ONLY_A,
                       SECRETS_ONLY_B, SECRETS_SAME and SECRETS_CHANGED (only on
                       one side; type, websites, field count or group changed;
                       names equal but for case and spaces; websites reordered)
=====================  ==========================================================

Names, types, websites, field names and versions are fixed; ids, keys, DEKs and field
values are random per store. Group ids are random per store too: one per label of
SECRETS_GROUPS, the same id in both vaults of the compare pair (no group objects are
served: ``groups`` and ``vaultItemGroups`` stay empty).
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .crypto import new_id
from .vaults import AGENT_ENCRYPTION_KEY, USER_KEY_PAIR, VaultModel, iso

SEED_EPOCH = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

#: per item type: up to six (field name, field type) pairs; an item uses 2..6 of them
FIELD_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "LOGIN": [("Username", "TEXT"), ("Password", "PASSWORD"), ("Sign-in URL", "URL"),
              ("One-time code", "TOTP"), ("Recovery codes", "SECRET"), ("Notes", "TEXT")],
    "API_KEY": [("API key", "SECRET"), ("Key ID", "TEXT"), ("Scopes", "TEXT"),
                ("Endpoint", "URL"), ("Rotation (days)", "NUMBER")],
    "DATABASE": [("Host", "TEXT"), ("Port", "NUMBER"), ("Username", "TEXT"),
                 ("Password", "PASSWORD"), ("Database", "TEXT"), ("TLS CA", "FILE")],
    "SSH_KEY": [("Private key", "SECRET"), ("Public key", "TEXT"), ("Passphrase", "PASSWORD"),
                ("Host", "TEXT")],
    "SERVER": [("Hostname", "TEXT"), ("IP address", "TEXT"), ("Username", "TEXT"),
               ("Password", "PASSWORD"), ("Console URL", "URL")],
    "SECURE_NOTE": [("Note", "SECRET"), ("Owner", "TEXT"), ("Review by", "TEXT")],
    "CREDIT_CARD": [("Cardholder", "TEXT"), ("Card number", "SECRET"), ("Expiry", "TEXT"),
                    ("CVC", "SECRET"), ("Billing ZIP", "TEXT")],
    "CUSTOM": [("Value", "SECRET"), ("Environment", "TEXT"), ("Owner", "TEXT"),
               ("Docs", "URL"), ("Limit", "NUMBER"), ("Extra", "TEXT")],
}  # fmt: skip

PRODUCTION = [
    ("GitHub – deploy bot", "LOGIN", ["https://github.com"]),
    ("AWS – agent runtime", "API_KEY", ["https://console.aws.amazon.com"]),
    ("OpenAI API", "API_KEY", ["https://platform.openai.com"]),
    ("Anthropic API", "API_KEY", ["https://console.anthropic.com"]),
    ("Postgres – primary", "DATABASE", ["https://db-primary.internal.example.com"]),
    ("Redis – cache", "DATABASE", ["https://cache.internal.example.com"]),
    ("Bastion SSH", "SSH_KEY", ["https://bastion.example.com"]),
    ("Build runner SSH", "SSH_KEY", ["https://ci.example.com"]),
    ("Edge server – fra-1", "SERVER", ["https://fra-1.edge.example.com"]),
    ("Edge server – iad-1", "SERVER", ["https://iad-1.edge.example.com"]),
    ("Incident runbook access", "SECURE_NOTE", []),
    ("Break-glass procedure", "SECURE_NOTE", []),
    ("Corporate card – cloud spend", "CREDIT_CARD", ["https://billing.example.com"]),
    ("Grafana", "LOGIN", ["https://grafana.example.com"]),
    ("Sentry", "LOGIN", ["https://sentry.io", "https://example.sentry.io"]),
    ("Datadog API", "API_KEY", ["https://app.datadoghq.com"]),
    ("PagerDuty", "LOGIN", ["https://example.pagerduty.com"]),
    ("Slack bot token", "API_KEY", ["https://api.slack.com"]),
    ("Cloudflare API", "API_KEY", ["https://dash.cloudflare.com"]),
    ("Twilio", "API_KEY", ["https://console.twilio.com"]),
    ("Mongo – analytics", "DATABASE", ["https://cloud.mongodb.com"]),
    ("Vendor portal – Acme", "LOGIN", ["https://portal.acme.example", "https://acme.example"]),
    ("Jira automation", "LOGIN", ["https://example.atlassian.net"]),
    ("Feature flags", "CUSTOM", ["https://flags.example.com"]),
    ("Webhook signing secret", "CUSTOM", ["https://hooks.example.com"]),
]

STAGING = [
    ("GitHub – staging bot", "LOGIN", ["https://github.com"]),
    ("Postgres – staging", "DATABASE", ["https://db-staging.internal.example.com"]),
    ("OpenAI API (staging)", "API_KEY", ["https://platform.openai.com"]),
    ("Staging server", "SERVER", ["https://staging.example.com"]),
    ("Staging deploy key", "SSH_KEY", ["https://ci.example.com"]),
    ("Test card", "CREDIT_CARD", ["https://dashboard.stripe.com/test"]),
]

FINANCE = [
    ("Bank portal – operating account", "LOGIN", ["https://bank.example.com"]),
    ("Corporate card – travel", "CREDIT_CARD", ["https://cards.example.com"]),
    ("Payroll provider", "LOGIN", ["https://payroll.example.com"]),
    ("Accounting API", "API_KEY", ["https://api.accounting.example.com"]),
    ("Wire instructions", "SECURE_NOTE", []),
]

LEGACY = [
    ("Old FTP server", "SERVER", ["https://ftp.legacy.example.com"]),
    ("Old CRM login", "LOGIN", ["https://crm.legacy.example.com"]),
    ("Imported note", "SECURE_NOTE", []),
    ("MySQL – legacy", "DATABASE", ["https://mysql.legacy.example.com"]),
]

PAYMENTS_BEFORE = [
    ("Stripe restricted key", "API_KEY", ["https://dashboard.stripe.com"]),
    ("Adyen API", "API_KEY", ["https://ca-live.adyen.com"]),
    ("PayPal REST", "API_KEY", ["https://developer.paypal.com"]),
    ("Payments DB", "DATABASE", ["https://payments-db.internal.example.com"]),
    ("Reconciliation server", "SERVER", ["https://recon.example.com"]),
    ("Merchant portal", "LOGIN", ["https://merchant.example.com"]),
    ("Settlement card", "CREDIT_CARD", ["https://settlement.example.com"]),
]
PAYMENTS_REVOKED = ("Stripe live key (revoked)", "API_KEY", ["https://dashboard.stripe.com"])
PAYMENTS_AFTER = [
    ("Stripe live key (rotated)", "API_KEY", ["https://dashboard.stripe.com"]),
    ("Chargeback webhook secret", "CUSTOM", ["https://hooks.example.com/chargebacks"]),
]
#: Payments serves this version first, then the rollback version
PAYMENTS_LATEST, PAYMENTS_ROLLBACK = 12, 9


class ItemSpec(NamedTuple):
    """An item to seed; the other vaults use plain ``(name, type, websites)`` triples."""

    name: str
    type: str
    websites: list[str]
    #: how many fields (the first ones of the type's template); None: chosen by position
    fields: int | None = None
    #: a label of SECRETS_GROUPS (the seed gives each label one group id), or None
    group: str | None = None


#: the compare pair (side A, side B): both signed by the in-directory user key pair
PRODUCTION_SECRETS_NAME = "Production Secrets"
STAGING_SECRETS_NAME = "Staging Secrets"
SECRETS_GROUPS = ("platform", "observability", "security")

_SAME = [
    ItemSpec("Database URL", "DATABASE", ["https://db.internal.example.com"], 5, "platform"),
    ItemSpec("Sentry DSN", "API_KEY", ["https://sentry.io"], 2, "observability"),
    ItemSpec("Grafana", "LOGIN", ["https://grafana.example.com"], 3, "observability"),
    ItemSpec("SMTP credentials", "LOGIN", ["https://smtp.example.com"], 2),
]
PRODUCTION_SECRETS = [
    *_SAME,
    ItemSpec("GitHub Deploy Key", "SSH_KEY", ["https://github.com"], 3, "platform"),
    ItemSpec("Stripe live key", "API_KEY", ["https://dashboard.stripe.com"], 3),
    ItemSpec("PagerDuty", "LOGIN", ["https://example.pagerduty.com"], 3, "observability"),
    ItemSpec("Feature flags", "CUSTOM", ["https://flags.example.com"], 2),
    ItemSpec("Admin console", "LOGIN", ["https://admin.example.com"], 2),
    ItemSpec("Status page", "LOGIN", ["https://status.example.com", "https://statuspage.io"], 2),
    ItemSpec("Redis cache", "DATABASE", ["https://cache.internal.example.com"], 5),
    ItemSpec("Vault unseal key", "SECURE_NOTE", [], 2, "security"),
]
STAGING_SECRETS = [
    # another order than side A: items are matched by name, not by position
    ItemSpec("Vault unseal key", "SECURE_NOTE", [], 2, "platform"),
    ItemSpec("Redis cache", "DATABASE", ["https://cache.internal.example.com"], 3),
    ItemSpec("Status page", "LOGIN", ["https://statuspage.io", "https://status.example.com"], 2),
    ItemSpec("Admin console", "LOGIN", ["https://admin.staging.example.com"], 2),
    ItemSpec("Feature flags", "API_KEY", ["https://flags.example.com"], 2),
    ItemSpec("Mailtrap inbox", "LOGIN", ["https://mailtrap.io"], 2),
    ItemSpec("Stripe test key", "API_KEY", ["https://dashboard.stripe.com/test"], 3),
    ItemSpec("  github deploy key ", "SSH_KEY", ["https://github.com"], 3, "platform"),
    *reversed(_SAME),
]
# What comparing Production Secrets (A) with Staging Secrets (B) must find; items are
# keyed by their name case-folded, spaces trimmed.
SECRETS_ONLY_A = ["stripe live key", "pagerduty"]
SECRETS_ONLY_B = ["stripe test key", "mailtrap inbox"]
#: in both and alike ("github deploy key": names differ in case and spaces only;
#: "status page": the same websites in another order)
SECRETS_SAME = ["database url", "sentry dsn", "grafana", "smtp credentials",
                "github deploy key", "status page"]  # fmt: skip
#: in both, exactly one attribute differs (the compare page's attribute names)
SECRETS_CHANGED = {
    "feature flags": "type",
    "admin console": "websites",
    "redis cache": "field_count",
    "vault unseal key": "group",
}


def fake_value(name: str, field_type: str, websites: list[str], n: int) -> str:
    token = secrets.token_urlsafe(18)
    return {
        "TEXT": f"{name.lower().replace(' ', '-')}-{n}",
        "PASSWORD": token,
        "SECRET": "sk_sbx_" + token,
        "URL": websites[0] if websites else "https://example.com",
        "NUMBER": str(5432 + n),
        "TOTP": f"otpauth://totp/sandbox:{n}?secret={secrets.token_hex(10).upper()}",
        "FILE": "-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----",
    }[field_type]


def _fields(
    item_type: str, websites: list[str], n: int, count: int | None = None
) -> list[tuple[str, str, str]]:
    template = FIELD_TEMPLATES[item_type]
    if count is None:
        count = 2 + n % (len(template) - 1)  # 2 .. len(template) (at most 6)
    elif not 1 <= count <= len(template):
        raise ValueError(f"{item_type} items have 1 to {len(template)} fields, not {count}")
    return [(fn, ft, fake_value(fn, ft, websites, n)) for fn, ft in template[:count]]


class _Clock:
    def __init__(self) -> None:
        self.t = SEED_EPOCH

    def __call__(self) -> str:
        self.t += timedelta(minutes=7)
        return iso(self.t)


def _add(model, conn, vault_id, specs, clock, start: int = 0, groups=None) -> list[str]:
    """Add ``specs`` (``(name, type, websites)`` triples or :class:`ItemSpec`); ``groups``
    maps an ItemSpec's group label to its group id."""
    added = []
    for i, spec in enumerate(specs):
        name, kind, websites, count, group = ItemSpec(*spec)
        fields = _fields(kind, websites, start + i, count)
        group_id = groups[group] if group is not None else None
        added.append(model.add_item(conn, vault_id, name, kind, websites, fields,
                                    created_at=clock(), group_id=group_id))  # fmt: skip
    return added


def seed(model: VaultModel, conn: sqlite3.Connection, created_by: str) -> dict[str, str]:
    """Create signers and the seven vaults (inside the caller's transaction)."""
    clock = _Clock()
    user = model.add_signer(conn, USER_KEY_PAIR, in_directory=True)
    agent = model.add_signer(conn, AGENT_ENCRYPTION_KEY, in_directory=True)
    rogue = model.add_signer(conn, USER_KEY_PAIR, in_directory=False)

    def vault(name: str, classification: str, signer: str, **kw) -> str:
        return model.create_vault(
            conn, name, classification, signer, created_by=created_by, created_at=clock(), **kw
        )

    prod = vault("Production – agents", "CONFIDENTIAL", user, dek_version=2)
    _add(model, conn, prod, PRODUCTION, clock)
    staging = vault("Staging", "INTERNAL", agent)
    _add(model, conn, staging, STAGING, clock)
    finance = vault("Finance", "CONFIDENTIAL", user, tamper="items")
    _add(model, conn, finance, FINANCE, clock)
    legacy = vault("Legacy import", "INTERNAL", rogue)
    _add(model, conn, legacy, LEGACY, clock)

    payments = vault("Payments", "CUI", user)  # v1
    _add(model, conn, payments, PAYMENTS_BEFORE, clock)  # v2..v8
    (revoked,) = _add(model, conn, payments, [PAYMENTS_REVOKED], clock, 7)  # v9
    model.archive_item(conn, payments, revoked)  # v10
    _add(model, conn, payments, PAYMENTS_AFTER, clock, 8)  # v11, v12
    latest = model._latest_version(conn, payments)
    assert latest == PAYMENTS_LATEST, latest
    conn.execute(
        "UPDATE vaults SET pinned_version = ?, pin_after_reads = 1 WHERE id = ?",
        (PAYMENTS_ROLLBACK, payments),
    )

    groups = {label: new_id() for label in SECRETS_GROUPS}
    production_secrets = vault(PRODUCTION_SECRETS_NAME, "CONFIDENTIAL", user)
    _add(model, conn, production_secrets, PRODUCTION_SECRETS, clock, groups=groups)
    staging_secrets = vault(STAGING_SECRETS_NAME, "INTERNAL", user)
    _add(model, conn, staging_secrets, STAGING_SECRETS, clock, groups=groups)
    return {
        "production": prod,
        "staging": staging,
        "finance": finance,
        "legacy": legacy,
        "payments": payments,
        "production_secrets": production_secrets,
        "staging_secrets": staging_secrets,
        "user_signer": user,
        "agent_signer": agent,
        "rogue_signer": rogue,
    }
