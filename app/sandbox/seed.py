"""Deterministic, realistic seed data: a team running browser agents on business portals.

Entry ``i`` is generated from its own random stream, so the same ``count`` always gives
the same entries (ids, names, plaintext secrets, settings) and the first ``k`` entries of
a larger seed equal a seed of ``k``. Timestamps are relative to the seeding time (so
"active" sessions are active) and ciphertexts use fresh IVs. The first entries cycle
through every TFA method, proxy mode and session state so even a small seed shows all.
"""

from __future__ import annotations

import random
import string
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.cloudcruise.crypto import encrypt_value

from . import computed
from .store import Store, Tables
from .workspace import Workspace

# (domain, portal name, industry)
PORTALS = (
    ("https://provider.availity.com", "Availity", "health"),
    ("https://portal.availity.com", "Availity", "health"),
    ("https://www.aetna.com", "Aetna", "health"),
    ("https://secure.uhcprovider.com", "UHC Provider", "health"),
    ("https://cignaforhcp.cigna.com", "Cigna for HCP", "health"),
    ("https://account.humana.com", "Humana", "health"),
    ("https://providers.anthem.com", "Anthem", "health"),
    ("https://portal.officeally.com", "Office Ally", "health"),
    ("https://navinet.navimedix.com", "NaviNet", "health"),
    ("https://proview.caqh.org", "CAQH ProView", "health"),
    ("https://www.novitasphere.com", "Novitasphere", "health"),
    ("https://athenanet.athenahealth.com", "athenaNet", "health"),
    ("https://app.kareo.com", "Kareo", "health"),
    ("https://www.foragentsonly.com", "Progressive agents", "insurance"),
    ("https://app.gusto.com", "Gusto", "payroll"),
    ("https://workforcenow.adp.com", "ADP Workforce Now", "payroll"),
    ("https://runpayroll.adp.com", "RUN Powered by ADP", "payroll"),
    ("https://myapps.paychex.com", "Paychex Flex", "payroll"),
    ("https://app.rippling.com", "Rippling", "payroll"),
    ("https://access.paylocity.com", "Paylocity", "payroll"),
    ("https://www.fedex.com/secure-login", "FedEx", "logistics"),
    ("https://www.ups.com/lasso/login", "UPS", "logistics"),
    ("https://one.dat.com", "DAT One", "logistics"),
    ("https://app.project44.com", "project44", "logistics"),
    ("https://app.flexport.com", "Flexport", "logistics"),
    ("https://ltl.xpo.com", "XPO LTL", "logistics"),
    ("https://gateway.usps.com", "USPS Business", "logistics"),
)
# industry -> (agent team slugs, roles, (customer, mail domain) pairs)
HEALTH_ORGS = (
    ("Dr. Patel", "patelpediatrics.com"), ("Riverside Family Practice", "riversidefp.com"),
    ("Summit Dental", "summitdentalgroup.com"), ("Lakeview Ortho", "lakevieworthopedics.com"),
    ("Bay Area Dermatology", "bayareaderm.com"), ("Northside Urgent Care", "northsideuc.com"),
    ("Dr. Okafor", "okaforcardiology.com"), ("Mercy Physical Therapy", "mercypt.org"),
    ("Cedar Grove Clinic", "cedargroveclinic.com"),
)  # fmt: skip
INSURANCE_ORGS = (
    ("Keystone Insurance Agency", "keystoneins.com"),
    ("Bluewater Brokers", "bluewaterbrokers.com"),
)
EMPLOYERS = HEALTH_ORGS[:4] + (
    ("Greenleaf Staffing", "greenleafstaffing.com"),
    ("Acme Logistics", "acmelogistics.io"),
)
SHIPPERS = (
    ("Acme Logistics", "acmelogistics.io"),
    ("Harbor Freight Brokers", "harborfb.com"),
    ("Northwind Supply", "northwindsupply.com"),
)
INDUSTRIES = {
    "health": (
        (
            "billing-team",
            "claims-ops",
            "eligibility-bot",
            "rcm-agent",
            "prior-auth",
            "credentialing",
        ),
        ("billing", "claims", "eligibility", "prior auth", "credentialing", "front desk"),
        HEALTH_ORGS,
    ),
    "insurance": (
        ("quote-bot", "policy-service", "claims-ops"),
        ("quoting", "policy service", "claims"),
        INSURANCE_ORGS,
    ),
    "payroll": (
        ("payroll-bot", "hr-ops", "ap-automation"),
        ("payroll", "HR", "onboarding"),
        EMPLOYERS,
    ),
    "logistics": (
        ("dispatch", "freight-quotes", "shipping-bot", "tracking-agent"),
        ("dispatch", "freight quotes", "shipping", "tracking"),
        SHIPPERS,
    ),
}
FIRST = ("maria", "james", "priya", "wei", "olivia", "daniel", "fatima", "lucas", "grace", "omar")
LAST = ("garcia", "nguyen", "patel", "smith", "kim", "okafor", "rossi", "cohen", "silva", "brown")
WORDS = (
    "Harbor", "Maple", "Falcon", "Cobalt", "Juniper", "Summit", "Otter", "Copper", "Willow",
    "Granite", "Orchid", "Bison", "Lantern", "Meadow", "Quartz", "Raven",
)  # fmt: skip
COOKIE_NAMES = (
    "session_id",
    "XSRF-TOKEN",
    "JSESSIONID",
    "AWSALB",
    "remember_me",
    "_ga",
    "csrftoken",
)
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CUSTOM_PROXIES = (
    "http://{user}-zone-isp:{pw}@brd.superproxy.io:33335",
    "http://customer-{user}:{pw}@pr.oxylabs.io:7777",
    "socks5://{user}:{pw}@gate.smartproxy.com:7000",
    "socks5h://{user}:{pw}@45.77.112.9:1080",
)

TFA_CYCLE = (None, "AUTHENTICATOR", "EMAIL", None, "SMS", "AUTHENTICATOR", "EMAIL", "MAGIC_LINK")
PROXY_CYCLE = (
    None,
    "random",
    None,
    "country",
    "static",
    None,
    "custom",
    "random",
    "legacy",
    None,
    "country",
)
SESSION_CYCLE = ("active", "none", "expiring", "expired", "active", "none", "active-no-expiry")

PROVIDER_VAULTS = ("Engineering", "RCM Shared")
PROVIDER_ITEMS = (
    ("Availity – billing-team-03", True), ("Aetna provider portal", False),
    ("UHC Provider – claims", True), ("Gusto payroll admin", True),
    ("ADP Workforce Now – HR ops", False), ("Office Ally – front desk", False),
    ("FedEx shipping account", False), ("CAQH ProView – credentialing", True),
    ("Humana – eligibility", False), ("DAT One load board", False),
)  # fmt: skip


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    size = len(alphabet)  # randbytes is several times faster than choices() per character
    return "".join([alphabet[b % size] for b in rng.randbytes(n)])


def _password(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return (
            f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.randrange(10, 99)}{rng.choice('!#$%&*?')}"
        )
    if style == 1:
        return _token(rng, 16, string.ascii_letters + string.digits + "!@#$%^&*")
    return f"{rng.choice(WORDS)}-{rng.choice(WORDS).lower()}-{rng.randrange(1000, 9999)}"


def _base32_secret(rng: random.Random) -> str:
    return _token(rng, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def provider_seed() -> list[dict[str, Any]]:
    """Two 1Password connections: one with items in two vaults, one still empty."""
    rng = random.Random("cloudcruise-sandbox-providers")
    first, second = _uuid(rng), _uuid(rng)
    items = []
    for n, (title, has_totp) in enumerate(PROVIDER_ITEMS):
        vault = PROVIDER_VAULTS[n % 2]
        item_id = _token(rng, 26, string.ascii_lowercase + string.digits)
        item = {"id": item_id, "title": title, "ref": f"op://{vault}/{item_id}", "vaultName": vault}
        if has_totp:
            item["totp_secret"] = _base32_secret(rng)
        items.append(item)
    return [
        {
            "id": first,
            "provider_type": "1password",
            "name": "Engineering 1Password",
            "config_hint": {"service_account": "cloudcruise-agents", "token_last4": "Qx7f"},
            "cache_ttl_seconds": 300,
            "items": items,
        },
        {
            "id": second,
            "provider_type": "1password",
            "name": "Finance 1Password",
            "config_hint": {"service_account": "finance-readonly", "token_last4": "m2Lc"},
            "cache_ttl_seconds": 900,
            "items": [],
        },
    ]


def _cookies(rng: random.Random, host: str, now: datetime) -> list[dict[str, Any]]:
    parent = "." + ".".join(host.split(".")[-2:])
    out = []
    for name in rng.sample(COOKIE_NAMES, rng.randrange(2, 5)):
        session = name in ("JSESSIONID", "XSRF-TOKEN") or rng.random() < 0.2
        host_only = name != "_ga" and rng.random() < 0.6
        cookie: dict[str, Any] = {
            "name": name,
            "value": _token(rng, rng.choice((24, 32, 48))),
            "domain": host if host_only else parent,
            "path": "/",
            "httpOnly": name not in ("XSRF-TOKEN", "_ga"),
            "hostOnly": host_only,
            "secure": True,
            "session": session,
            "sameSite": rng.choice(("lax", "no_restriction", "strict", "unspecified")),
            "storeId": "0",
        }
        if not session:
            expires = now + timedelta(days=rng.randrange(1, 365))
            cookie["expirationDate"] = round(expires.timestamp() + rng.random(), 6)
        out.append(cookie)
    return out


def _session(rng: random.Random, state: str, host: str, now: datetime) -> dict[str, Any]:
    if state == "none":
        return {}
    hours = {
        "active": rng.uniform(1, 48),
        "active-no-expiry": rng.uniform(1, 200),
        "expiring": 24 * 6 + rng.uniform(2, 20),  # 7-day expiry: 4 to 22 h left
        "expired": rng.uniform(24 * 8, 24 * 30),
    }[state]
    set_at = now - timedelta(hours=hours)
    fields: dict[str, Any] = {
        "cookies": _cookies(rng, host, now),
        "session_data_set_at": computed.format_ts(set_at),
        "persist_cookies": True,
    }
    if state == "expired":
        fields["last_used_at"] = computed.format_ts(set_at + timedelta(hours=rng.uniform(0.5, 20)))
    else:
        fields["last_used_at"] = computed.format_ts(
            now - timedelta(hours=rng.uniform(0.05, min(hours, 6)))
        )
    if rng.random() < 0.6:
        fields["persist_local_storage"] = True
        fields["local_storage"] = {
            "ajs_user_id": f'"{_uuid(rng)}"',
            "lastVisitedPage": rng.choice(("/claims/status", "/eligibility", "/payroll/run", "/")),
            "featureFlags": '{"newDashboard":true}',
        }
    if rng.random() < 0.3:
        fields["persist_session_storage"] = True
        fields["session_storage"] = {"tabId": _token(rng, 12), "csrf": _token(rng, 32)}
    if state != "active-no-expiry":
        fields["expiry_time_from_session_data_set"] = "7 days"
        fields["expiry_time_from_last_use"] = rng.choice(("1 day", "2 days", None))
    if state == "expiring":
        fields["expiry_time_from_last_use"] = None
    return fields


def seed_entry(i: int, workspace: Workspace, providers: list[dict], now: datetime) -> dict:
    """The stored form of seed entry ``i`` (credentials encrypted with the workspace key)."""
    rng = random.Random(f"cloudcruise-sandbox-entry:{i}")
    domain, portal, industry = PORTALS[i] if i < len(PORTALS) else rng.choice(PORTALS)
    host = urlsplit(domain).hostname or ""
    teams, roles, orgs = INDUSTRIES[industry]
    practice, mail_domain = rng.choice(orgs)
    team_slug = f"{rng.choice(teams)}-{rng.randrange(1, 31):02d}"
    puid = _uuid(rng) if rng.random() < 0.35 else team_slug
    role = rng.choice(roles)
    org_word = practice.removeprefix("Dr. ").split()[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    created = now - timedelta(days=rng.uniform(1, 365))
    key = workspace.encryption_key
    entry: dict[str, Any] = {
        "id": _uuid(rng),
        "permissioned_user_id": puid,
        "domain": domain,
        "workspace_id": workspace.workspace_id,
        "organization_id": workspace.organization_id,
        "user_id": workspace.user_id if rng.random() < 0.7 else _uuid(random.Random(f"u{i % 4}")),
        "session_data_set_at": None,
        **computed.DEFAULTS,
        "user_alias": rng.choice(
            (
                f"{practice} – {role}",
                f"{portal} ({first.title()} {last[0].upper()}.)",
                f"{portal} – {role} bot",
            )
        ),
    }
    provider_backed = i % 8 == 5
    tfa_method = TFA_CYCLE[i % len(TFA_CYCLE)] if i < 64 else rng.choice(TFA_CYCLE)
    if provider_backed:
        items = providers[0]["items"]
        if tfa_method == "AUTHENTICATOR":
            items = [it for it in items if it.get("totp_secret")]
        item = rng.choice(items)
        entry.update(secret_provider_id=providers[0]["id"], secret_ref=item["ref"])
        if rng.random() < 0.5:
            entry["secret_cache_ttl_seconds"] = rng.choice((60, 300, 3600))
    else:
        login = rng.choice(
            (
                f"{first[0]}.{last}@{mail_domain}",
                f"{role.replace(' ', '').lower()}.ops@{mail_domain}",
                f"{first}{last[0]}{rng.randrange(1, 99)}",
                f"{org_word.upper()}_{role[:4].strip()}{i % 100:02d}",
            )
        )
        entry["user_name"] = encrypt_value(login, key)
        entry["password"] = encrypt_value(_password(rng), key)
        if tfa_method == "AUTHENTICATOR":
            entry["tfa_secret"] = encrypt_value(_base32_secret(rng), key)
    entry["tfa_method"] = tfa_method
    entry["simulated_inbox"] = tfa_method == "EMAIL" and rng.random() < 0.65
    proxy = PROXY_CYCLE[i % len(PROXY_CYCLE)] if i < 88 else rng.choice(PROXY_CYCLE)
    if proxy == "legacy":
        target = computed.public_ip(rng) if rng.random() < 0.5 else None
        entry["proxy"] = {"enable": True, **({"target_ip": target} if target else {})}
        entry["ip_address"] = target  # the deprecated legacy target IP, set by old clients
    elif proxy == "static":
        entry.update(proxy_setting="static", proxy_value=computed.public_ip(rng))
    elif proxy == "country":
        entry.update(
            proxy_setting="country",
            proxy_value=rng.choice(("US", "US", "US", "CA", "GB", "DE", "IN")),
        )
    elif proxy == "custom":
        url = rng.choice(CUSTOM_PROXIES).format(user=_token(rng, 8).lower(), pw=_token(rng, 14))
        entry.update(proxy_setting="custom", proxy_value=encrypt_value(url, key))
        entry["custom_proxy_endpoint"] = computed.custom_proxy_endpoint(url)
    elif proxy == "random":
        entry["proxy_setting"] = "random"
    state = SESSION_CYCLE[i % len(SESSION_CYCLE)] if i < 77 else rng.choice(SESSION_CYCLE)
    entry.update(_session(rng, state, host, now))
    if i % 6 == 2:
        entry.update(allow_multiple_sessions=True, max_concurrency=rng.choice((2, 3, 5, None)))
        entry["prevent_concurrency_during_login"] = rng.random() < 0.7
    if rng.random() < 0.15:
        entry["cookie_domain_to_store"] = "." + ".".join(host.split(".")[-2:])
    if rng.random() < 0.1:
        entry["skip_csrf_cookies"] = True
    if rng.random() < 0.25:
        entry["user_agent"] = USER_AGENT
    if entry["session_data_set_at"]:
        created = min(created, computed.parse_ts(entry["session_data_set_at"]) - timedelta(hours=1))
        entry["session_id"] = "sess_" + _token(rng, 24, string.hexdigits.lower()[:16])
    updated = created + (now - created) * rng.random()
    if entry["session_data_set_at"]:
        updated = max(updated, computed.parse_ts(entry["session_data_set_at"]))
    entry["created_at"] = computed.format_ts(created)
    entry["updated_at"] = computed.format_ts(updated)
    return entry


def _insert_providers(
    db: Tables, providers: list[dict[str, Any]], workspace: Workspace, now: datetime
) -> None:
    for seq, provider in enumerate(providers):
        stamp = computed.format_ts(now - timedelta(days=200 - 90 * seq))
        public = {k: v for k, v in provider.items() if k != "items"}
        public = {
            "id": public["id"],
            "workspace_id": workspace.workspace_id,
            **{k: public[k] for k in ("provider_type", "name", "config_hint", "cache_ttl_seconds")},
            "created_at": stamp,
            "updated_at": stamp,
        }
        db.insert_provider(public, seq)
        for n, item in enumerate(provider["items"]):
            shown = {k: item[k] for k in ("id", "title", "ref", "vaultName")}
            db.insert_provider_item(provider["id"], item, shown, n)


def seed_store(store: Store, workspace: Workspace, count: int, now: datetime | None = None) -> bool:
    """Seed the providers and ``count`` entries unless the store was ever seeded.

    Returns True when this call seeded. Runs in one transaction, so of several
    processes starting on one new file exactly one seeds.
    """
    now = now or computed.utcnow()
    with store.read() as db:
        if "seeded_at" in db.meta():
            return False
    providers = provider_seed()
    rows, seen = [], set()
    for i in range(count):  # built outside the write lock: other processes keep writing
        entry = seed_entry(i, workspace, providers, now)
        pair = (entry["permissioned_user_id"], entry["domain"])
        if pair in seen:
            entry["permissioned_user_id"] = str(uuid.UUID(entry["id"]).hex[:8]) + f"-agent-{i}"
            pair = (entry["permissioned_user_id"], entry["domain"])
        seen.add(pair)
        rows.append((entry, computed.render_json(entry)))
    with store.write() as db:
        if "seeded_at" in db.meta():
            return False  # another process seeded meanwhile
        _insert_providers(db, providers, workspace, now)
        taken = set(db.conn.execute("SELECT permissioned_user_id, domain FROM entries"))
        db.insert_entries(
            [r for r in rows if (r[0]["permissioned_user_id"], r[0]["domain"]) not in taken]
        )
        db.set_meta("seeded_at", computed.format_ts(now))
        db.set_meta("seed_count", str(count))
    return True
