"""The operator CLI contract (README.md, Operating): create, list, set-role, disable, enable,
reset-password, unlock, bootstrap."""

from __future__ import annotations

import re

import pytest

from app.services import operators


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _password_from(output: str) -> str:
    match = re.search(r"Password: (\S+)", output)
    assert match, output
    return match.group(1)


def test_create_without_password_prints_a_generated_one_that_works(app, runner):
    result = runner.invoke(args=["operator", "create", "Dana", "--role", "editor"])
    assert result.exit_code == 0, result.output
    assert "Created operator 'dana' with role editor" in result.output
    password = _password_from(result.output)
    assert len(password) >= 16
    with app.app_context():
        assert operators.authenticate("dana", password) is not None
        assert operators.authenticate("dana", password + "x") is None


def test_generated_passwords_differ(runner):
    a = _password_from(runner.invoke(args=["operator", "create", "a1", "--role", "viewer"]).output)
    b = _password_from(runner.invoke(args=["operator", "create", "b1", "--role", "viewer"]).output)
    assert a != b


def test_password_from_stdin_is_used_and_not_printed(app, runner):
    result = runner.invoke(
        args=["operator", "create", "erin", "--role", "admin", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password:" not in result.output
    assert "a long enough passphrase" not in result.output
    with app.app_context():
        assert operators.authenticate("erin", "a long enough passphrase").role == "admin"


def test_short_stdin_password_is_refused(runner):
    result = runner.invoke(
        args=["operator", "create", "finn", "--role", "viewer", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_duplicate_and_invalid_names_and_roles(runner):
    assert runner.invoke(args=["operator", "create", "gus", "--role", "viewer"]).exit_code == 0
    dup = runner.invoke(args=["operator", "create", "GUS", "--role", "viewer"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad = runner.invoke(args=["operator", "create", "no spaces", "--role", "viewer"])
    assert bad.exit_code == 1 and "Usernames are" in bad.output
    role = runner.invoke(args=["operator", "create", "hal", "--role", "root"])
    assert role.exit_code == 2 and "viewer" in role.output


def test_list_shows_role_status_and_last_sign_in(runner):
    runner.invoke(args=["operator", "create", "ivy", "--role", "admin"])
    runner.invoke(args=["operator", "create", "jon", "--role", "viewer"])
    runner.invoke(args=["operator", "disable", "jon"])
    out = runner.invoke(args=["operator", "list"]).output
    assert re.search(r"ivy\s+admin\s+active\s+never", out)
    assert re.search(r"jon\s+viewer\s+disabled", out)


def test_set_role_and_last_admin_protection(app, runner):
    runner.invoke(args=["operator", "create", "kim", "--role", "admin"])
    runner.invoke(args=["operator", "create", "lee", "--role", "viewer"])
    result = runner.invoke(args=["operator", "set-role", "lee", "editor"])
    assert result.exit_code == 0 and "viewer → editor" in result.output
    last = runner.invoke(args=["operator", "set-role", "kim", "viewer"])
    assert last.exit_code == 1 and "last active admin" in last.output
    assert runner.invoke(args=["operator", "disable", "kim"]).exit_code == 1
    missing = runner.invoke(args=["operator", "set-role", "nobody", "admin"])
    assert missing.exit_code == 1 and "No operator named 'nobody'" in missing.output
    with app.app_context():
        assert operators.find("lee").role == "editor"
        assert operators.find("kim").role == "admin"


def test_disable_ends_open_sessions(app, client, auth, runner):
    auth.login("mia", "editor")
    assert client.get("/entries").status_code == 200
    assert runner.invoke(args=["operator", "disable", "mia"]).exit_code == 0
    response = client.get("/entries")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    again = auth.login("mia", "editor")
    assert again.status_code == 401  # disabled accounts cannot sign in


def test_bootstrap_creates_admin_once(app, runner):
    first = runner.invoke(args=["bootstrap"])
    assert first.exit_code == 0, first.output
    password = _password_from(first.output)
    assert "admin" in first.output and "only this once" in first.output
    with app.app_context():
        assert operators.authenticate("admin", password).role == "admin"
    second = runner.invoke(args=["bootstrap"])
    assert second.exit_code == 0
    assert "Password:" not in second.output


def test_reset_password_prints_a_new_one_and_ends_sessions(app, client, auth, runner):
    auth.login("rita", "editor")
    assert client.get("/entries").status_code == 200
    result = runner.invoke(args=["operator", "reset-password", "Rita"])
    assert result.exit_code == 0, result.output
    password = re.search(r"New password for 'rita': (\S+)", result.output)[1]
    assert "shown only this once" in result.output
    assert client.get("/entries").status_code == 302  # their session ended
    with app.app_context():
        assert operators.authenticate("rita", password) is not None
        assert operators.authenticate("rita", auth.PASSWORD) is None
    missing = runner.invoke(args=["operator", "reset-password", "nobody"])
    assert missing.exit_code == 1 and "No operator named 'nobody'" in missing.output


def test_enable_undoes_disable(app, client, auth, runner):
    auth.create("eno", "viewer")
    assert runner.invoke(args=["operator", "disable", "eno"]).exit_code == 0
    assert auth.login("eno", "viewer").status_code == 401
    result = runner.invoke(args=["operator", "enable", "eno"])
    assert result.exit_code == 0 and "Enabled operator 'eno'." in result.output
    assert auth.login("eno", "viewer").status_code in (302, 303)
    again = runner.invoke(args=["operator", "enable", "eno"])
    assert again.exit_code == 1 and "is not disabled" in again.output


def test_unlock_lets_a_locked_out_operator_sign_in_at_once(app, client, auth, runner):
    auth.create("ulla", "viewer")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit + 1):
        auth.login("ulla", "viewer", password="wrong-password-here")
    assert auth.login("ulla", "viewer").status_code == 429  # locked out, even the right one
    with app.app_context():
        from app.services import throttle

        ulla = operators.find("ulla")
        throttle._count(f"totp:{ulla.id}", 900)  # a wrong two-factor code counted too
    result = runner.invoke(args=["operator", "unlock", "ulla"])
    assert result.exit_code == 0 and "Unlocked operator 'ulla'" in result.output
    assert auth.login("ulla", "viewer").status_code in (302, 303)
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import AuditEvent

        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"operator.unlock"} <= actions
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import ThrottleCounter

        keys = set(db.session.scalars(select(ThrottleCounter.key)))
    assert not {k for k in keys if k.startswith(("user:ulla|", "totp:"))}
