"""Command-line interface (``flask --app app ...``): operators, bootstrap, database."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.services import audit, audit_prune, audit_verify, operators, throttle
from app.services.operators import OperatorError

operator_cli = AppGroup("operator", help="Manage the operators who can sign in.")
db_cli = AppGroup("db", help="Database schema (Alembic).")
audit_cli = AppGroup("audit", help="The audit log: verify the chain, prune old events.")
entries_cli = AppGroup("entries", help="The entries index in the console database.")

ROLES = click.Choice(["viewer", "editor", "admin"], case_sensitive=False)


def _audit(action: str, operator, changes: dict) -> None:
    """Operator changes made on the command line are audited with the actor ``cli``."""
    audit.record(
        action,
        "success",
        target={"id": f"operator:{operator.id}", "permissioned_user_id": operator.username},
        changes=changes,
        actor=audit.Actor(None, "cli", None),
    )


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@operator_cli.command("create")
@click.argument("name")
@click.option("--role", type=ROLES, required=True, help="viewer, editor or admin")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def operator_create(name: str, role: str, password_stdin: bool) -> None:
    """Create operator NAME. Without --password-stdin a password is generated and printed."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("no password on standard input.")
    try:
        created = operators.create(name, role, password)
    except OperatorError as exc:
        _fail(str(exc))
    _audit("operator.create", created.operator, {"role": {"after": created.operator.role}})
    click.echo(f"Created operator {created.operator.username!r} with role {created.operator.role}.")
    if created.generated_password:
        click.echo(f"Password: {created.generated_password}")
        click.echo("It is shown only this once.")


@operator_cli.command("list")
def operator_list() -> None:
    """List operators with role, status and last sign-in."""
    rows = operators.all_operators()
    if not rows:
        click.echo(
            "No operators yet. Create one with: flask --app app operator create NAME --role admin"
        )
        return
    click.echo(f"{'USERNAME':<24} {'ROLE':<8} {'STATUS':<9} LAST SIGN-IN")
    for op in rows:
        status = "disabled" if op.disabled_at else "active"
        last = op.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if op.last_login_at else "never"
        click.echo(f"{op.username:<24} {op.role:<8} {status:<9} {last}")


def _operator_change(
    action: str,
    change: Callable[[], Any],
    record: Callable[[Any], dict],
    said: Callable[[Any], str],
) -> None:
    """Run an operator change (its refusal printed, exit 1), audit it as the command line,
    and say what was done. ``change`` returns the operator, or (operator, extra)."""
    try:
        result = change()
    except OperatorError as exc:
        _fail(str(exc))
    operator = result[0] if isinstance(result, tuple) else result
    _audit(action, operator, record(result))
    click.echo(said(result))


@operator_cli.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLES)
def operator_set_role(name: str, role: str) -> None:
    """Change the role of operator NAME."""
    _operator_change(
        "operator.role_change",
        lambda: operators.set_role(name, role),
        lambda r: {"role": {"before": r[1], "after": r[0].role}},
        lambda r: f"{r[0].username!r}: role {r[1]} → {r[0].role}.",
    )


@operator_cli.command("disable")
@click.argument("name")
def operator_disable(name: str) -> None:
    """Disable operator NAME; their open sessions end at once."""
    _operator_change(
        "operator.disable",
        lambda: operators.disable(name),
        lambda _op: {"disabled": {"before": False, "after": True}},
        lambda op: f"Disabled operator {op.username!r}; their sessions have ended.",
    )


@operator_cli.command("enable")
@click.argument("name")
def operator_enable(name: str) -> None:
    """Enable operator NAME again (after ``operator disable``)."""
    _operator_change(
        "operator.enable",
        lambda: operators.enable(name),
        lambda _op: {"disabled": {"before": True, "after": False}},
        lambda op: f"Enabled operator {op.username!r}.",
    )


@operator_cli.command("reset-password")
@click.argument("name")
def operator_reset_password(name: str) -> None:
    """Give operator NAME a new one-time password (printed once, changed at their next
    sign-in); their sessions end."""
    _operator_change(
        "operator.password_reset",
        lambda: operators.reset_password(name),
        lambda _r: {"password": {"changed": True}},
        lambda r: (
            f"New password for {r[0].username!r}: {r[1]}\n"
            "It is shown only this once; their open sessions have ended."
        ),
    )


@operator_cli.command("unlock")
@click.argument("name")
def operator_unlock(name: str) -> None:
    """Forget NAME's failed sign-ins and password re-entries, so they may sign in at once."""

    def unlock() -> tuple[Any, int]:
        operator = operators.require(name)
        return operator, throttle.unlock(operator.username, operator.id)

    _operator_change(
        "operator.unlock",
        unlock,
        lambda r: {"failed_attempts": {"cleared": r[1]}},
        lambda r: f"Unlocked operator {r[0].username!r} ({r[1]} lockout counters cleared).",
    )


@audit_cli.command("verify")
@click.option(
    "--log",
    "log_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also check the table against the checkpoints recorded in this JSON-lines log file.",
)
def verify_command(log_file: Path | None) -> None:
    """Walk the whole keyed chain and check it against every checkpoint; exit 1 naming the
    first problem (an edited, missing or inserted event, a forged checkpoint or anchor, or a
    table truncated below a checkpoint)."""
    result, _ = audit_verify.verify_and_checkpoint(audit.audit_log(), full=True, log_file=log_file)
    if result.ok:
        click.echo(result.summary)
        return
    click.echo(result.summary, err=True)
    sys.exit(1)


@audit_cli.command("prune")
@click.option(
    "--before", "before", required=True, help="Remove events before this date (YYYY-MM-DD)."
)
@click.option(
    "--archive",
    type=click.Path(dir_okay=False),
    default=None,
    help="JSON Lines file to archive the events to (default instance/audit-archive-DATE.jsonl).",
)
@click.option(
    "--force",
    is_flag=True,
    help=f"Also prune events younger than {audit_prune.PRUNE_MIN_AGE_DAYS} days.",
)
def prune_command(before: str, archive: str | None, force: bool) -> None:
    """Archive events older than --before to JSON Lines, then delete them from the database."""
    from datetime import date

    try:
        cutoff = date.fromisoformat(before)
    except ValueError:
        _fail(f"--before must be a date like 2026-01-31, not {before!r}.")
    path = Path(archive or Path(current_app.instance_path) / f"audit-archive-{cutoff}.jsonl")
    if path.exists():
        _fail(f"{path} already exists; choose another --archive file.")
    try:
        result = audit_prune.prune(audit.audit_log(), cutoff.isoformat(), path, force=force)
    except audit_prune.PruneRefused as exc:
        _fail(str(exc))
    if not result.archived:
        click.echo(f"No events before {cutoff}; nothing pruned.")
        return
    click.echo(
        f"Archived {result.archived} events to {result.archive_path} "
        f"(sha256 {result.archive_sha256}) and removed them; the chain continues at "
        f"#{result.first_kept_id}."
    )
    verification, _ = audit_verify.verify_and_checkpoint(audit.audit_log(), full=True)
    click.echo(verification.summary)


@entries_cli.command("sync")
@click.option(
    "--wait", default=120.0, show_default=True, help="Seconds to wait for a sync already running."
)
def entries_sync(wait: float) -> None:
    """Sync the entries index with CloudCruise now and print what changed."""
    from app.services import entry_index
    from app.services.audit import AuditUnavailable
    from app.upstream_errors import UpstreamError

    try:
        result = entry_index.sync(wait=wait)
    except entry_index.SyncBusy as exc:
        _fail(str(exc))
    except UpstreamError as exc:
        _fail(f"CloudCruise: {exc.message} The index was left as it was.")
    except AuditUnavailable as exc:
        _fail(str(exc))
    click.echo(result.line())


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default head)."""
    db.upgrade(Path(current_app.config["INSTANCE_PATH"]), revision)
    click.echo(f"Database at {revision}.")


@click.command("bootstrap")
@with_appcontext
def bootstrap() -> None:
    """First-run setup for `make run`: migrate, and create `admin` if there is no operator."""
    db.upgrade(Path(current_app.config["INSTANCE_PATH"]))
    if operators.count() == 0:
        created = operators.create("admin", "admin")
        _audit("operator.create", created.operator, {"role": {"after": "admin"}})
        url = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
        line = "─" * 62
        click.echo(
            f"\n┌{line}┐\n"
            f"│ {'First run: created operator  admin  (role admin)':<60} │\n"
            f"│ {'Password: ' + str(created.generated_password):<60} │\n"
            f"│ {'Shown only this once. Sign in at ' + url:<60} │\n"
            f"└{line}┘\n"
        )
    upstream = current_app.config["UPSTREAM"]
    if upstream.sandbox:
        click.echo("No CLOUDCRUISE_API_KEY set: the console runs against the embedded sandbox.")
    else:
        click.echo(f"Talking to CloudCruise at {upstream.base_url}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(operator_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(entries_cli)
    app.cli.add_command(bootstrap)
