"""The keyed audit chain against an attacker who can write the database (SQLite file opened
directly) but does not hold the audit key: every rewrite the outside probe found is caught,
a truncation is reported every time, forged anchors and checkpoints are refused, and prune
leaves a trace."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from app.services import audit, audit_store
from app.services.audit_store import canonical
from tests.test_audit import _seed_events, _verify, db_path, events


def _attacker(app, *statements, rehash_from: int | None = None):
    """Run ``statements`` with the triggers dropped; then, like the probe, recompute every
    link from ``rehash_from`` on with plain SHA-256 (all one can do without the key)."""
    conn = sqlite3.connect(db_path(app))
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    for statement in statements:
        conn.execute(statement)
    if rehash_from is not None:
        rows = [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY id")]
        prev = audit_store.GENESIS
        for row in rows:
            if row["id"] >= rehash_from:
                row["prev_hash"] = prev
                row["hash"] = hashlib.sha256((prev + canonical(row)).encode()).hexdigest()
                conn.execute(
                    "UPDATE audit_events SET prev_hash=?, hash=? WHERE id=?",
                    (row["prev_hash"], row["hash"], row["id"]),
                )
            prev = row["hash"]
    conn.commit()
    conn.close()


def test_an_edit_with_recomputed_hashes_is_caught(app):
    _seed_events(app, 8)
    _attacker(app, "UPDATE audit_events SET message='nothing happened' WHERE id=4", rehash_from=4)
    result = _verify(app)
    assert result.exit_code == 1
    assert "Chain broken at event #4" in result.output and "was edited" in result.output


def test_a_deletion_with_renumbering_and_recomputed_hashes_is_caught(app):
    _seed_events(app, 8)
    _attacker(
        app,
        "DELETE FROM audit_events WHERE id=5",
        "UPDATE audit_events SET id=id-1 WHERE id>5",
        rehash_from=5,
    )
    result = _verify(app)
    assert result.exit_code == 1 and "Chain broken at event #5" in result.output


def test_a_forged_prune_anchor_is_caught(app):
    _seed_events(app, 8)
    head = events(app)[3]
    _attacker(
        app,
        "DELETE FROM audit_events WHERE id<=4",
        "INSERT INTO audit_anchors (created_at, pruned_before, first_kept_id, anchor_hash, "
        "archived_count, archive_path, archive_sha256) VALUES ('2026-01-01 00:00:00', "
        f"'2026-01-01', 5, '{head.hash}', 4, '/dev/null', 'x')",
    )
    result = _verify(app)
    assert result.exit_code == 1 and "anchor does not carry a valid MAC" in result.output


def test_truncating_the_newest_events_is_reported_every_time(app):
    _seed_events(app, 8)
    assert _verify(app).exit_code == 0  # writes a checkpoint through #8
    _attacker(app, "DELETE FROM audit_events WHERE id>5")
    for _ in range(3):  # never accepted later, never a new checkpoint at the cut
        result = _verify(app)
        assert result.exit_code == 1
        assert "truncated after #5" in result.output and "through #8" in result.output
    with sqlite3.connect(db_path(app)) as conn:
        highest = conn.execute("SELECT max(through_id) FROM audit_checkpoints").fetchone()[0]
    assert highest == 8


def test_appenders_write_checkpoints_as_they_go(app, monkeypatch):
    monkeypatch.setattr(audit_store, "CHECKPOINT_EVERY", 3)
    _seed_events(app, 7)
    with sqlite3.connect(db_path(app)) as conn:
        points = [r[0] for r in conn.execute("SELECT through_id FROM audit_checkpoints")]
    assert points == [3, 6]
    _attacker(app, "DELETE FROM audit_events WHERE id>4")  # nobody verified yet
    result = _verify(app)
    assert result.exit_code == 1 and "truncated after #4" in result.output


def test_verify_with_the_log_file_catches_deleted_checkpoints(app, log_stream, tmp_path):
    _seed_events(app, 6)
    assert _verify(app).exit_code == 0
    logged = tmp_path / "console.log"
    logged.write_text(log_stream.getvalue())
    assert '"audit_checkpoint"' in logged.read_text()
    # rewrite the tail, drop the table's checkpoints: the table alone now looks intact
    _attacker(app, "DELETE FROM audit_events WHERE id>3", "DELETE FROM audit_checkpoints")
    assert _verify(app).exit_code == 0
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--log", str(logged)])
    assert result.exit_code == 1 and "truncated after #3" in result.output


def test_a_forged_checkpoint_is_refused(app):
    _seed_events(app, 4)
    _attacker(
        app,
        "INSERT INTO audit_checkpoints (verified_at, through_id, through_hash, full, "
        "event_count, mac) VALUES ('2026-01-01 00:00:00', 2, 'x', 1, 2, 'not a mac')",
    )
    result = _verify(app)
    assert result.exit_code == 1 and "no valid MAC" in result.output


def _insert_legacy_events(app, count: int) -> None:
    """Events as the console wrote them before the chain was keyed: plain SHA-256 links and no
    chain version, dated 2025-01-01 onwards (one a day)."""
    conn = sqlite3.connect(db_path(app))
    prev = audit_store.GENESIS
    for i in range(1, count + 1):
        row = {c: None for c in audit_store.COLUMNS}
        row.update(
            id=i, ts=f"2025-01-{i:02d}T00:00:00.000000Z", phase="event",
            action="auth.login", outcome="success", operator="old", prev_hash=prev,
        )  # fmt: skip
        row["hash"] = hashlib.sha256((prev + canonical(row)).encode()).hexdigest()
        conn.execute(
            f"INSERT INTO audit_events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        prev = row["hash"]
    conn.commit()
    conn.close()


def test_legacy_unkeyed_events_verify_as_a_prefix_only(app):
    """Events from before the chain was keyed (plain SHA-256, no chain version) still verify
    as a leading segment; an unkeyed event after keyed ones is refused."""
    _insert_legacy_events(app, 3)
    _seed_events(app, 2)  # keyed, linked to the legacy head
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "Chain intact: 5 events verified. (#1–#3 in the legacy unkeyed segment)" in (
        result.output
    )
    # rewriting a legacy event breaks the first keyed link after it
    _attacker(app, "UPDATE audit_events SET operator='someone' WHERE id=2", rehash_from=2)
    assert _verify(app).exit_code == 1


def test_prune_records_itself_and_refuses_recent_events(app, tmp_path):
    _seed_events(app, 3)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["audit", "prune", "--before", "2099-01-01",
                                  "--archive", str(tmp_path / "a.jsonl")])  # fmt: skip
    assert refused.exit_code == 1 and "younger than 30 days" in refused.output
    assert not Path(tmp_path / "a.jsonl").exists() and len(events(app)) == 3
    forced = runner.invoke(args=["audit", "prune", "--before", "2099-01-01", "--force",
                                 "--archive", str(tmp_path / "a.jsonl")])  # fmt: skip
    assert forced.exit_code == 0, forced.output
    kept = events(app)
    assert [e.action for e in kept] == ["audit.pruned", "audit.pruned"]
    assert kept[-1].outcome == "success" and "archive sha256" in kept[-1].message
    # deleting the archive does not make the log look like nothing happened
    Path(tmp_path / "a.jsonl").unlink()
    result = _verify(app)
    assert result.exit_code == 0 and "Chain intact: 2 events verified." in result.output


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    from app.audit.routes import csv_cell

    assert csv_cell(cell) == "'" + cell
    assert csv_cell("plain") == "plain" and csv_cell(7) == 7
    assert json.dumps(cell)  # JSONL keeps the raw value (nothing to neutralise there)


# --------------------------------------------------------------- exact verification results

from app.services import audit_checkpoints, audit_prune, audit_verify  # noqa: E402
from app.services.audit_checkpoints import Checkpoint  # noqa: E402
from app.services.audit_verify import Verification  # noqa: E402


def _key(app) -> bytes:
    return app.extensions["audit"].chain_key


def _run_verify(app, *, full=True, log_file=None):
    with app.app_context():
        result, _ = audit_verify.verify_and_checkpoint(
            app.extensions["audit"], full=full, log_file=log_file
        )
    return result


def _checkpoints(app) -> list[tuple]:
    with sqlite3.connect(db_path(app)) as conn:
        return conn.execute(
            "SELECT through_id, through_hash, event_count, full FROM audit_checkpoints ORDER BY id"
        ).fetchall()


def _signed_checkpoint(app, through_id: int, through_hash: str) -> None:
    """A checkpoint only the key holder could write (to show what verify compares)."""
    with app.app_context(), app.extensions["audit"].engine.connect() as conn:
        audit_checkpoints.write_checkpoint(conn, app.extensions["audit"], through_id, through_hash)
        conn.commit()


def test_summaries_are_exact():
    assert Verification(True, 6, 6).summary == "Chain intact: 6 events verified."
    assert Verification(True, 5, 5, legacy=3).summary == (
        "Chain intact: 5 events verified. (#1–#3 in the legacy unkeyed segment)"
    )
    assert Verification(False, 0, None, None, "why").summary == "Chain broken: why"
    assert Verification(False, 2, 2, 3, "why").summary == "Chain broken at event #3: why"


def test_macs_are_exact():
    import hmac

    key = b"k"
    point = Checkpoint(3, "h", 2, "2026-01-01T00:00:00.000000Z", "")
    expected = hmac.new(key, b"checkpoint|3|h|2|2026-01-01T00:00:00.000000Z", "sha256")
    assert audit_checkpoints._checkpoint_mac(key, point) == expected.hexdigest()
    assert not point.valid(key)
    assert Checkpoint(3, "h", 2, point.verified_at, expected.hexdigest()).valid(key)
    anchor = {"pruned_before": "2021-01-01", "first_kept_id": 6, "anchor_hash": "a",
              "archived_count": 5, "archive_sha256": "s", "pruned_by": None,
              "other": "x"}  # fmt: skip
    expected = hmac.new(key, b"anchor|2021-01-01|6|a|5|s|None", "sha256").hexdigest()
    assert audit_prune.anchor_mac(key, anchor) == expected


def test_log_checkpoints_reads_only_well_formed_lines(tmp_path):
    point = {"through_id": 4, "through_hash": "h", "event_count": 4,
             "verified_at": "2026-01-01T00:00:00.000000Z", "mac": "m"}  # fmt: skip
    lines = [
        '{"msg": "other"}',
        '{"audit_checkpoint": ',  # cut short
        json.dumps({"msg": "audit_checkpoint mentioned"}),
        json.dumps({"audit_checkpoint": {"through_id": 1}}),
        json.dumps({"audit_checkpoint": point}),
    ]
    path = tmp_path / "console.log"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe not utf-8 audit_checkpoint\n")
    assert audit_checkpoints.log_checkpoints(path) == [Checkpoint(**point)]


def test_iter_events_pages_through_everything(app):
    _seed_events(app, 5)
    with app.app_context(), app.extensions["audit"].engine.connect() as conn:
        assert [e["id"] for e in audit_store.iter_events(conn, batch=2)] == [1, 2, 3, 4, 5]
        assert [e["id"] for e in audit_store.iter_events(conn, 3, 2)] == [4, 5]
        assert [e["id"] for e in audit_store.iter_events(conn)] == [1, 2, 3, 4, 5]
        first = next(audit_store.iter_events(conn))
    assert set(first) == {*audit_store.COLUMNS, "hash"} and first["message"] == "event 0"


def test_an_empty_chain_verifies_and_writes_no_checkpoint(app):
    result = _verify(app)
    assert result.exit_code == 0 and result.output == "Chain intact: 0 events verified.\n"
    assert _checkpoints(app) == []
    with app.app_context():
        assert not audit_checkpoints.has_checkpoint(app.extensions["audit"])


def test_checkpoints_are_written_once_full_then_incremental(app, log_stream):
    log = app.extensions["audit"]

    def default_verify():  # incremental and writing: from the newest checkpoint
        with app.app_context():
            result, row = audit_verify.verify_and_checkpoint(log)
            return result, (row.through_id, row.full, row.event_count)

    _seed_events(app, 1)
    with app.app_context():
        assert not audit_checkpoints.has_checkpoint(log)
    assert default_verify() == (Verification(True, 1, 1), (1, True, 1))
    with app.app_context():
        assert audit_checkpoints.has_checkpoint(log)
    _seed_events(app, 2)
    assert default_verify() == (Verification(True, 2, 3), (3, False, 3))
    assert default_verify() == (Verification(True, 0, 3), (3, False, 3))  # nothing new
    _seed_events(app, 2)
    assert _run_verify(app, full=False) == Verification(True, 2, 5)
    assert _run_verify(app) == Verification(True, 5, 5)  # full, but not grown: no checkpoint
    stored = events(app)
    assert _checkpoints(app) == [
        (1, stored[0].hash, 1, 1), (3, stored[2].hash, 3, 0), (5, stored[4].hash, 5, 0),
    ]  # fmt: skip
    logged = [json.loads(line) for line in log_stream.getvalue().splitlines()
              if "audit_checkpoint" in line]  # fmt: skip
    assert [(x["msg"], x["audit_checkpoint"]["through_id"]) for x in logged] == [
        ("audit checkpoint #1", 1), ("audit checkpoint #3", 3), ("audit checkpoint #5", 5),
    ]  # fmt: skip
    assert [Checkpoint(**x["audit_checkpoint"]).valid(_key(app)) for x in logged] == [True] * 3


def test_what_pages_run_verifies_from_the_newest_checkpoint_and_writes_nothing(app):
    log = app.extensions["audit"]

    def page_verify():  # the audit and status pages: a GET never writes
        with app.app_context():
            result, row = audit_verify.verify_since_checkpoint(log)
            return result, row and (row.through_id, row.full)

    _seed_events(app, 2)
    assert page_verify() == (Verification(True, 2, 2), None)  # no checkpoint: everything
    assert _checkpoints(app) == []
    assert _run_verify(app) == Verification(True, 2, 2)
    _seed_events(app, 3)
    assert page_verify() == (Verification(True, 3, 5), (2, True))  # only what is new
    assert page_verify() == (Verification(True, 3, 5), (2, True))
    assert [p[0] for p in _checkpoints(app)] == [2]
    _attacker(app, "UPDATE audit_events SET message='rewritten' WHERE id=4")
    result, _ = page_verify()
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert [p[0] for p in _checkpoints(app)] == [2]


def _rows(app) -> list[dict]:
    conn = sqlite3.connect(db_path(app))
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY id")]
    conn.close()
    return rows


def _rehash_plain(app, event_id: int, **changes) -> None:
    """Give event ``event_id`` new values and a plain SHA-256 link (what an attacker can)."""
    row = {**next(r for r in _rows(app) if r["id"] == event_id), **changes}
    row["hash"] = hashlib.sha256((row["prev_hash"] + canonical(row)).encode()).hexdigest()
    sets = ", ".join(f"{name}=?" for name in row if name != "id")
    _attacker(app, "SELECT 1")
    with sqlite3.connect(db_path(app)) as conn:
        conn.execute(
            f"UPDATE audit_events SET {sets} WHERE id=?",  # noqa: S608
            [v for k, v in row.items() if k != "id"] + [event_id],
        )


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            ["DELETE FROM audit_events WHERE id=3"],
            Verification(
                False,
                2,
                2,
                3,
                "expected event #3 next but found #4 (an event was deleted or inserted)",
            ),
        ),
        (
            ["UPDATE audit_events SET prev_hash='x' WHERE id=3"],
            Verification(
                False,
                2,
                2,
                3,
                "its link to the previous event does not match (deleted, inserted or reordered)",
            ),
        ),
        (
            ["UPDATE audit_events SET message='rewritten' WHERE id=4"],
            Verification(
                False, 3, 3, 4, "its content does not match its hash (the event was edited)"
            ),
        ),
        (
            ["UPDATE audit_events SET chain=3 WHERE id=2"],
            Verification(False, 1, 1, 2, "unknown chain version 3"),
        ),
    ],
    ids=["deleted", "link", "edited", "version"],
)
def test_every_broken_link_is_named_exactly(app, tamper, expected):
    _seed_events(app, 5)
    _attacker(app, *tamper)
    with app.app_context():
        assert audit_verify.verify(app.extensions["audit"]) == expected
    result = _verify(app)
    assert result.exit_code == 1 and result.output == expected.summary + "\n"


def test_an_unkeyed_event_after_keyed_ones_is_refused(app):
    _seed_events(app, 3)
    _rehash_plain(app, 3, chain=None)
    reason = "an unkeyed event after keyed ones (the chain was rewritten)"
    assert _run_verify(app) == Verification(False, 2, 2, 3, reason)
    assert _checkpoints(app) == []  # a broken chain gets no checkpoint
    # also right after the checkpoint an incremental walk starts from
    _attacker(app, "DELETE FROM audit_events WHERE id=3")
    assert _run_verify(app) == Verification(True, 2, 2)
    _seed_events(app, 1)
    _rehash_plain(app, 3, chain=None)
    assert _run_verify(app, full=False) == Verification(False, 0, 2, 3, reason)


def _legacy_events(app, n: int) -> None:
    conn = sqlite3.connect(db_path(app))
    prev = audit_store.GENESIS
    for i in range(1, n + 1):
        row = {c: None for c in audit_store.COLUMNS}
        row.update(id=i, ts=f"2025-01-0{i}T00:00:00.000000Z", phase="event", action="auth.login",
                   outcome="success", operator="old", prev_hash=prev)  # fmt: skip
        row["hash"] = hashlib.sha256((prev + canonical(row)).encode()).hexdigest()
        conn.execute(
            f"INSERT INTO audit_events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
            list(row.values()),
        )
        prev = row["hash"]
    conn.commit()
    conn.close()


def test_a_rewritten_checkpointed_event_is_caught_by_its_checkpoint(app):
    """Legacy events carry plain SHA-256 links, which an attacker can recompute: only the
    checkpoint that vouched for them catches a rewrite (verification must not ignore it)."""
    _legacy_events(app, 3)
    assert _run_verify(app) == Verification(True, 3, 3, legacy=3)
    _attacker(app, "UPDATE audit_events SET operator='someone' WHERE id=2", rehash_from=2)
    expected = Verification(False, 2, 2, 3, "it does not match the checkpoint that vouched "
                            "for it", legacy=3)  # fmt: skip
    assert _run_verify(app) == expected
    result = _verify(app)
    assert result.output == (
        "Chain broken at event #3: it does not match the checkpoint that vouched for it\n"
    )
    # the incremental walk starts at the checkpoint and finds its event changed
    assert _run_verify(app, full=False) == Verification(
        False, 0, None, 3, "the last verified event is missing or was changed"
    )


def test_a_broken_link_after_the_legacy_segment_counts_it(app):
    _legacy_events(app, 2)
    _seed_events(app, 2)
    _attacker(app, "UPDATE audit_events SET message='rewritten' WHERE id=4")
    reason = "its content does not match its hash (the event was edited)"
    assert _run_verify(app) == Verification(False, 3, 3, 4, reason, legacy=2)


def test_a_checkpoint_for_another_hash_is_caught_on_keyed_events(app):
    _seed_events(app, 4)
    _signed_checkpoint(app, 1, "0" * 64)
    expected = Verification(False, 0, None, 1, "it does not match the checkpoint that vouched "
                            "for it")  # fmt: skip
    assert _run_verify(app) == expected


def test_deleting_the_last_checkpointed_event_is_caught(app):
    _seed_events(app, 5)
    assert _run_verify(app) == Verification(True, 5, 5)
    _seed_events(app, 2)
    _attacker(app, "DELETE FROM audit_events WHERE id=5")
    assert _run_verify(app, full=False) == Verification(
        False, 0, None, 5, "the last verified event is missing or was changed"
    )
    assert _run_verify(app) == Verification(
        False, 4, 4, 5, "expected event #5 next but found #6 (an event was deleted or inserted)"
    )
    assert [p[0] for p in _checkpoints(app)] == [5]


def test_truncation_messages_are_exact(app):
    _seed_events(app, 8)
    assert _run_verify(app) == Verification(True, 8, 8)
    with sqlite3.connect(db_path(app)) as conn:
        (verified_at,) = conn.execute("SELECT verified_at FROM audit_checkpoints").fetchone()
    stamp = verified_at.replace(" ", "T")[:26] + "Z"
    if len(verified_at) == 19:
        stamp = verified_at.replace(" ", "T") + ".000000Z"
    _attacker(app, "DELETE FROM audit_events WHERE id>5")
    reason = f"truncated after #5: a checkpoint vouches for events through #8 (8 events, {stamp})"
    assert _run_verify(app) == Verification(False, 0, 5, 6, reason)
    assert _verify(app).output == f"Chain broken at event #6: {reason}\n"
    _attacker(app, "DELETE FROM audit_events")
    reason = f"truncated after #0: a checkpoint vouches for events through #8 (8 events, {stamp})"
    assert _run_verify(app) == Verification(False, 0, None, 1, reason)
    assert _run_verify(app, full=False) == Verification(False, 0, None, 1, reason)


def test_forged_checkpoints_in_the_table_or_the_log_are_named(app, tmp_path):
    _seed_events(app, 4)
    _attacker(
        app,
        "INSERT INTO audit_checkpoints (verified_at, through_id, through_hash, full, "
        "event_count, mac) VALUES ('2026-01-01 00:00:00', 3, 'x', 1, 3, 'not a mac')",
        "INSERT INTO audit_checkpoints (verified_at, through_id, through_hash, full, "
        "event_count, mac) VALUES ('2026-01-01 00:00:00', 2, 'x', 1, 2, NULL)",
    )
    reason = "the checkpoint through #2 has no valid MAC (forged)"
    assert _run_verify(app) == Verification(False, 0, None, None, reason)
    assert _verify(app).output == f"Chain broken: {reason}\n"
    # a checkpoint without an event count (written before counts were kept) still verifies
    stamp = "2026-01-01T00:00:00.000000Z"
    mac = audit_checkpoints._checkpoint_mac(
        _key(app), Checkpoint(2, events(app)[1].hash, 0, stamp, "")
    )
    _attacker(
        app,
        "DELETE FROM audit_checkpoints",
        "INSERT INTO audit_checkpoints (verified_at, through_id, through_hash, full, "
        f"event_count, mac) VALUES ('2026-01-01 00:00:00', 2, '{events(app)[1].hash}', 1, "
        f"NULL, '{mac}')",
    )
    assert _run_verify(app) == Verification(True, 4, 4)
    _attacker(app, "DELETE FROM audit_checkpoints")
    logged = tmp_path / "console.log"
    forged = {"through_id": 1, "through_hash": "x", "event_count": 1,
              "verified_at": "2026-01-01T00:00:00.000000Z", "mac": "0" * 64}  # fmt: skip
    logged.write_text(json.dumps({"audit_checkpoint": forged}) + "\n")
    assert _run_verify(app, log_file=logged) == Verification(
        False, 0, None, None, "the checkpoint through #1 has no valid MAC (forged)"
    )
    assert _checkpoints(app) == []


def _insert_anchor(app, first_kept_id, anchor_hash, *, mac: str | None) -> None:
    anchor = {"pruned_before": "2026-01-01", "first_kept_id": first_kept_id,
              "anchor_hash": anchor_hash, "archived_count": 4, "archive_sha256": "x",
              "pruned_by": "cli"}  # fmt: skip
    if mac == "valid":
        mac = audit_prune.anchor_mac(_key(app), anchor)
    with sqlite3.connect(db_path(app)) as conn:
        conn.execute(
            "INSERT INTO audit_anchors (created_at, pruned_before, first_kept_id, anchor_hash, "
            "archived_count, archive_path, archive_sha256, pruned_by, mac) VALUES "
            "('2026-01-01 00:00:00', ?, ?, ?, ?, '/dev/null', ?, ?, ?)",
            [*anchor.values(), mac],
        )


def test_anchors_are_checked_newest_first(app):
    _seed_events(app, 3)
    _insert_anchor(
        app, None, audit_store.GENESIS, mac="valid"
    )  # no first id: the chain starts at 1
    assert _run_verify(app) == Verification(True, 3, 3)
    _insert_anchor(app, 1, audit_store.GENESIS, mac="0" * 64)
    reason = "the newest prune anchor does not carry a valid MAC (forged)"
    assert _run_verify(app) == Verification(False, 0, None, None, reason)
    assert _verify(app).output == f"Chain broken: {reason}\n"
    _insert_anchor(app, 1, audit_store.GENESIS, mac="valid")
    assert _run_verify(app) == Verification(True, 3, 3)
    with app.app_context():
        newest_first = audit_prune.anchors()
    assert [(a.id, a.mac == "0" * 64) for a in newest_first] == [(3, False), (2, True), (1, False)]


def test_prune_refuses_recent_events_at_exactly_30_days(app, tmp_path):
    from datetime import UTC, datetime, timedelta

    tmp_path = tmp_path / "archives"

    log = app.extensions["audit"]
    today = datetime.now(UTC).date()
    with app.app_context():
        with pytest.raises(audit_prune.PruneRefused) as refused:
            audit_prune.prune(log, (today - timedelta(days=29)).isoformat(), tmp_path / "a")
        assert str(refused.value) == (
            "events younger than 30 days are kept; choose an earlier --before, or add --force"
        )
        old_enough = (today - timedelta(days=30)).isoformat()
        assert audit_prune.prune(log, old_enough, tmp_path / "b") == audit_prune.PruneResult(
            0, str(tmp_path / "b"), None, None
        )
        forced = audit_prune.prune(log, today.isoformat() + "T00:00:00Z", tmp_path / "c",
                                   force=True)  # fmt: skip
        assert forced == audit_prune.PruneResult(0, str(tmp_path / "c"), None, None)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "prune", "--before", today.isoformat(),
                                 "--archive", str(tmp_path / "d")])  # fmt: skip
    assert result.exit_code == 1 and result.output == (
        "Error: events younger than 30 days are kept; choose an earlier --before, or add --force\n"
    )
    assert events(app) == [] and not tmp_path.exists()


def test_prune_exact_archive_anchor_messages_and_guards(app, tmp_path, monkeypatch, log_stream):
    monkeypatch.setattr(audit_store, "now_iso", lambda: "2020-01-01T00:00:00.000000Z")
    _seed_events(app, 5)
    monkeypatch.undo()
    _seed_events(app, 1)
    before = events(app)
    archive = tmp_path / "deep" / "er" / "archive.jsonl"
    amy = audit.Actor(3, "amy", "admin")
    with app.app_context():
        # strictly before: events stamped exactly at the cutoff are kept
        exact = audit_prune.prune(app.extensions["audit"], before[0].ts, tmp_path / "x", force=True)
        assert exact == audit_prune.PruneResult(0, str(tmp_path / "x"), None, None)
        result = audit_prune.prune(app.extensions["audit"], "2021-01-01", archive, actor=amy)
    body = archive.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    assert result == audit_prune.PruneResult(5, str(archive), digest, 6)
    assert [json.loads(line) for line in body.decode().splitlines()] == [
        {**{c: getattr(e, c) for c in audit_store.COLUMNS}, "hash": e.hash} for e in before[:5]
    ]
    assert body.decode().splitlines()[0] == json.dumps(
        json.loads(body.decode().splitlines()[0]), sort_keys=True
    )
    kept = events(app)
    assert [(e.id, e.action, e.outcome, e.operator) for e in kept] == [
        (6, "test.event", "success", "cli"),
        (7, "audit.pruned", "attempt", "amy"),
        (8, "audit.pruned", "success", "amy"),
    ]  # fmt: skip
    assert (kept[1].phase, kept[2].phase) == ("attempt", "event")
    assert kept[1].message == (
        f"pruning events before 2021-01-01: 5 events through #5, archive {archive}"
    )
    assert kept[2].message == (
        f"archived events #1–#5 (5) before 2021-01-01, archive sha256 {digest}"
    )
    with sqlite3.connect(db_path(app)) as conn:
        conn.row_factory = sqlite3.Row
        anchor = dict(conn.execute("SELECT * FROM audit_anchors").fetchone())
    assert {k: anchor[k] for k in ("pruned_before", "first_kept_id", "anchor_hash",
                                   "archived_count", "archive_path", "archive_sha256",
                                   "pruned_by")} == {
        "pruned_before": "2021-01-01", "first_kept_id": 6, "anchor_hash": before[4].hash,
        "archived_count": 5, "archive_path": str(archive), "archive_sha256": digest,
        "pruned_by": "amy",
    }  # fmt: skip
    assert anchor["mac"] == audit_prune.anchor_mac(_key(app), anchor)
    assert anchor["created_at"] is not None
    pruned = [json.loads(x) for x in log_stream.getvalue().splitlines() if "audit pruned" in x]
    assert [(x["msg"], x["archived"], x["archive"]) for x in pruned] == [
        ("audit pruned", 5, str(archive))
    ]
    # the append-only guards are back once the prune is done
    conn = sqlite3.connect(db_path(app))
    for statement in ("UPDATE audit_events SET message='x'", "DELETE FROM audit_events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()
    assert _run_verify(app) == Verification(True, 3, 8)
    assert _checkpoints(app)[-1][:3] == (8, kept[2].hash, 3)


def test_prune_on_the_command_line_reports_exact_counts(app, tmp_path, monkeypatch):
    monkeypatch.setattr(audit_store, "now_iso", lambda: "2020-01-01T00:00:00.000000Z")
    _seed_events(app, 2)
    with app.app_context():
        audit.record(
            "test.event", "success", message="café ✓", actor=audit.Actor(None, "cli", None)
        )
    archive = tmp_path / "a.jsonl"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "prune", "--before", "2021-01-01",
                                 "--archive", str(archive)])  # fmt: skip
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert result.exit_code == 0 and result.output == (
        f"Archived 3 events to {archive} (sha256 {digest}) and removed them; the chain "
        "continues at #4.\nChain intact: 2 events verified.\n"
    )
    assert archive.read_bytes().isascii() and "caf\\u00e9 \\u2713" in archive.read_text()
    assert [e.operator for e in events(app)] == ["cli", "cli"]
    with app.app_context():
        (anchor,) = audit_prune.anchors()
    assert (anchor.first_kept_id, anchor.archived_count, anchor.pruned_by) == (4, 3, "cli")
    # the prune's own events (#4, #5) are old enough for the next prune: ids no longer start at 1
    monkeypatch.undo()
    second = tmp_path / "b.jsonl"
    result = runner.invoke(args=["audit", "prune", "--before", "2021-01-01",
                                 "--archive", str(second)])  # fmt: skip
    digest = hashlib.sha256(second.read_bytes()).hexdigest()
    assert result.output == (
        f"Archived 2 events to {second} (sha256 {digest}) and removed them; the chain "
        "continues at #6.\nChain intact: 2 events verified.\n"
    )
    assert [e.message for e in events(app)] == [
        f"pruning events before 2021-01-01: 2 events through #5, archive {second}",
        f"archived events #4–#5 (2) before 2021-01-01, archive sha256 {digest}",
    ]
    nothing = runner.invoke(args=["audit", "prune", "--before", "2021-01-01",
                                  "--archive", str(tmp_path / "c.jsonl")])  # fmt: skip
    assert nothing.output == "No events before 2021-01-01; nothing pruned.\n"


def test_the_full_walk_keeps_its_lease_while_it_runs(app, monkeypatch, log_stream):
    """The job's lease is short and renewed by the walk, so every host stops showing
    "running" soon after a holder died, and a long walk keeps it."""
    from datetime import UTC, datetime, timedelta

    from app.extensions import db
    from app.services import jobs

    _seed_events(app, 5)
    beats = []
    monkeypatch.setattr(audit_verify, "HEARTBEAT_EVERY", 2)
    with app.app_context():
        log = app.extensions["audit"]
        result = audit_verify.verify(log, heartbeat=lambda: beats.append(1))
        assert (result, len(beats)) == (Verification(True, 5, 5), 2)  # after #2 and #4
        assert audit_verify.verify(log) == Verification(True, 5, 5)  # no heartbeat: fine

        job = audit_verify.VERIFY_JOB
        assert jobs.try_lease(db.engine, job, "host:1:verify", 120)
        until = jobs.state(db.engine, job).lease_until
        lease = audit_verify._Lease(db.engine, "host:1:verify")
        lease.renewed -= 29  # less than a quarter of the lease ago: nothing written
        lease.keep()
        assert jobs.state(db.engine, job).lease_until == until
        lease.renewed -= 2
        lease.keep()
        renewed = jobs.state(db.engine, job).lease_until
        assert renewed > until
        assert 0 <= (datetime.now(UTC) + timedelta(seconds=120) - renewed).total_seconds() < 5
        lost = audit_verify._Lease(db.engine, "elsewhere:2:verify")
        lost.renewed -= 31
        lost.keep()  # another holder's lease is never extended; the walk goes on
        assert jobs.state(db.engine, job).lease_until == renewed
    warned = [json.loads(x)["msg"] for x in log_stream.getvalue().splitlines() if "lease" in x]
    assert warned == ["audit full verification lost its lease; finishing anyway"]


def test_full_verification_runs_once_in_the_background(app, monkeypatch, log_stream):
    import threading
    import time

    from app.extensions import db
    from app.services import jobs

    _seed_events(app, 3)
    assert _run_verify(app) == Verification(True, 3, 3)
    _seed_events(app, 1)
    gate, calls, crashes = threading.Event(), [], []
    real = audit_verify.verify_and_checkpoint

    def slow(log_, **kwargs):
        calls.append(kwargs)
        assert gate.wait(10)
        if len(calls) > 1:
            raise RuntimeError("disk gone")
        return real(log_, **kwargs)

    def finished():
        for _ in range(250):
            if audit_verify.full_verification_running() is None:
                return True
            time.sleep(0.02)
        return False

    monkeypatch.setattr(audit_verify, "verify_and_checkpoint", slow)
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_type))
    with app.app_context():
        assert audit_verify.last_full_verification() is None
        assert audit_verify.full_verification_running() is None
        assert audit_verify.start_full_verification(app) is True
        assert audit_verify.start_full_verification(app) is False  # one at a time
        (worker,) = [t for t in threading.enumerate() if t.name == "audit-verify"]
        assert worker.daemon
        state = jobs.state(db.engine, audit_verify.VERIFY_JOB)
        assert state.lease_owner == jobs.owner_id() + ":verify"
        assert (state.lease_until - state.started_at).total_seconds() == 120
        assert 0 <= audit_verify.full_verification_running() < 5
        assert audit_verify.last_full_verification() is None
        gate.set()
        assert finished()
        worker.join(5)
        assert audit_verify.last_full_verification() == Verification(True, 4, 4)
        assert [sorted(c) for c in calls] == [["full", "heartbeat"]] and calls[0]["full"]
        assert [p[:2] for p in _checkpoints(app)] == [(3, events(app)[2].hash),
                                                      (4, events(app)[3].hash)]  # fmt: skip
        assert _checkpoints(app)[-1][3] == 1
        # a crash is recorded on the job, and the last good result is kept
        assert audit_verify.start_full_verification(app) is True
        assert finished()
        state = jobs.state(db.engine, audit_verify.VERIFY_JOB)
        assert (state.last_error, state.lease_owner) == ("RuntimeError", None)
        assert audit_verify.last_full_verification() == Verification(True, 4, 4)
    for _ in range(100):
        if crashes:
            break
        time.sleep(0.02)
    assert crashes == [RuntimeError]
    done = [json.loads(x) for x in log_stream.getvalue().splitlines()
            if '"audit full verification"' in x]  # fmt: skip
    assert [x["summary"] for x in done] == ["Chain intact: 4 events verified."]


def test_the_legacy_segment_is_named_from_where_it_starts_after_a_prune(app, tmp_path):
    """A prune that removed the start of a legacy segment: the summary names what is left."""
    _insert_legacy_events(app, 3)
    _seed_events(app, 1)
    result = app.test_cli_runner().invoke(
        args=["audit", "prune", "--before", "2025-01-03", "--archive", str(tmp_path / "a.jsonl")]
    )
    assert result.exit_code == 0, result.output
    assert "(#3–#3 in the legacy unkeyed segment)" in result.output
