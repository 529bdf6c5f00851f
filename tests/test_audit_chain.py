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

from app.services import audit
from app.services.audit import canonical
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
        prev = audit.GENESIS
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
    monkeypatch.setattr(audit, "CHECKPOINT_EVERY", 3)
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


def test_legacy_unkeyed_events_verify_as_a_prefix_only(app):
    """Events from before the chain was keyed (plain SHA-256, no chain version) still verify
    as a leading segment; an unkeyed event after keyed ones is refused."""
    conn = sqlite3.connect(db_path(app))
    prev = audit.GENESIS
    for i in range(1, 4):
        row = {c: None for c in audit.COLUMNS}
        row.update(id=i, ts=f"2025-01-0{i}T00:00:00.000000Z", phase="event", action="auth.login",
                   outcome="success", operator="old", prev_hash=prev)  # fmt: skip
        row["hash"] = hashlib.sha256((prev + canonical(row)).encode()).hexdigest()
        names = ", ".join(row)
        conn.execute(
            f"INSERT INTO audit_events ({names}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
            list(row.values()),
        )
        prev = row["hash"]
    conn.commit()
    conn.close()
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
