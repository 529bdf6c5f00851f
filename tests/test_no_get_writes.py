"""No GET request writes to the console database.

An admin (who sees every page, the audit chain status included) requests every GET route of
the app (``url_map``), each with real ids: an entry from the index, an audit event, a Qoder
vault and an r4 vault and item from their pages; every entry section and secret field; a
full page and its htmx fragment. After each request a dump of every table is compared with
the one taken before it, so a failure names each route that wrote and what it changed.

Before the first dump the state a GET might otherwise create is made by the ways meant for
it: the entries index is synced (``flask entries sync``) and the audit chain verified
(``flask audit verify``, which writes a checkpoint), then events are appended after that
checkpoint, so the audit and status pages verify new events read-only. A page read may hand
maintenance to a background thread (``app/background.py``: an index row healed after a fresh
read, r4's rollback high-water mark raised after a newer checkpoint is seen); the r4 pages
are read once before the first dump for that, and after every request the test waits for
such work to finish, so any write it did would be counted against the request.

The one exception is sign-in bookkeeping: ``app/services/sessions.py`` writes the session
row's ``last_seen_at`` at most every ``TOUCH_SECONDS`` (15 s), on whichever request of that
browser comes then, GET included; idle sign-out on every host depends on it. The dump leaves
out that one column of ``operator_sessions`` and nothing else.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import MetaData, func, select

from app.background import wait_idle
from app.cloudcruise import SECRET_FIELDS
from app.entries.edit_forms import SECTIONS
from app.extensions import db
from app.models import AuditEvent, IndexedEntry
from app.services import audit

#: what a GET may change (see the module docstring)
VOLATILE = {("operator_sessions", "last_seen_at")}


def _cell(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def dump(app) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table of the console database, order-independent."""
    with app.app_context():
        meta = MetaData()
        meta.reflect(db.engine)
        out = {}
        with db.engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                columns = [c for c in table.columns if (name, c.name) not in VOLATILE]
                rows = conn.execute(select(*columns)).all()
                out[name] = sorted(tuple(_cell(v) for v in row) for row in rows)
    return out


def changes(before: dict, after: dict) -> dict[str, dict[str, list]]:
    """Per changed table, the rows that appeared and the rows that went (a few of each)."""
    out = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            out[name] = {"added": sorted(new - old)[:3], "removed": sorted(old - new)[:3]}
    return out


def _first(pattern: str, html: str, what: str) -> str:
    match = re.search(pattern, html)
    assert match, f"no {what} found to request its pages with"
    return match.group(1)


def test_no_get_request_writes_to_the_database(app, client, auth):
    runner = app.test_cli_runner()
    auth.create("gina", "admin")
    with app.app_context():
        audit.record("test.event", "success", actor=audit.Actor(None, "cli", None))
    synced = runner.invoke(args=["entries", "sync"])
    assert synced.exit_code == 0, synced.output
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.output == "Chain intact: 1 events verified.\n"
    assert auth.login("gina", "admin").status_code in (302, 303)  # events after the checkpoint
    client.get("/r4")  # r4's high-water marks, raised in the background
    assert wait_idle()

    with app.app_context():
        entry_id = db.session.scalars(select(IndexedEntry.id).order_by(IndexedEntry.id)).first()
        event_id = db.session.scalars(select(func.max(AuditEvent.id))).one()
    assert entry_id and event_id

    wrote: list[tuple[str, dict]] = []
    answered: set[str] = set()
    routes = app.url_map.bind("localhost")
    state = {"dump": dump(app)}

    def get(url: str) -> str:
        html = ""
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code < 500, (url, headers, response.status_code)
            assert wait_idle()
            html = html or response.get_data(as_text=True)
            after = dump(app)
            changed = changes(state["dump"], after)
            if changed:
                wrote.append((f"GET {url}{' (htmx)' if headers else ''}", changed))
            state["dump"] = after
        answered.add(routes.match(url.partition("?")[0], "GET")[0])
        return html

    assert "Chain intact" in get("/audit")  # verified after the checkpoint, read-only
    qoder = _first(r'href="/qoder/vaults/([^"/?#]+)"', get("/qoder"), "Qoder vault")
    r4 = _first(r'href="/r4/vaults/([^"/?#]+)"', get("/r4"), "r4 vault")
    r4_page = get(f"/r4/vaults/{r4}")
    item = _first(rf'href="/r4/vaults/{re.escape(r4)}/items/([^"/?#]+)"', r4_page, "r4 item")

    values = {
        "entry_id": [entry_id],
        "event_id": [event_id],
        "item_id": [item],
        "section": sorted(SECTIONS),
        "field": sorted(SECRET_FIELDS),
        "filename": ["css/app.css"],
        "batch_id": ["0" * 32],  # an unknown batch: 404, and nothing written
        "token": ["0" * 43],  # an unknown one-time link (/operators/invite/…): 410, nothing written
    }
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    for rule in sorted(rules, key=lambda r: r.rule):
        combos: list[dict] = [{}]
        for name in sorted(rule.arguments):
            if name == "vault_id":
                options = [qoder if rule.rule.startswith("/qoder/") else r4]
            else:
                options = values[name]
            combos = [{**combo, name: option} for combo in combos for option in options]
        for args in combos:
            get(rule.build(args, append_unknown=False)[1])

    # query strings the pages send themselves
    others = re.findall(r'href="/r4/vaults/([^"/?#]+)"', get("/r4"))
    other = next(v for v in others if v != r4)
    for url in (
        f"/compare?provider=r4&a={r4}&b={other}",
        f"/compare?provider=r4&a={r4}&b={other}&group=only_b&q=a",
        f"/entries?q={entry_id}",
        "/audit?action=auth.login",
        f"/search?q={entry_id[:4]}",
        "/entries/interval-preview?expiry_interval=1+day",
        "/entries/provider-items?secret_provider_id=none",
    ):
        get(url)

    assert answered == {rule.endpoint for rule in rules}
    assert wrote == [], "GET requests wrote to the database:\n" + "\n".join(
        f"  {request}: {changed}" for request, changed in wrote
    )
