"""Application logs are structured JSON and never carry secrets; under ``make run`` (the text
format) the terminal gets one short line per request and the JSON goes to a file.

A scenario exercises sign-in, listing and writes; afterwards the captured log stream is
searched for every secret involved: the operator password, entry plaintexts, every
ciphertext the sandbox holds, the API key, the encryption key and the session secret.
"""

from __future__ import annotations

import io
import json
import logging
import re
import stat
import sys
from pathlib import Path

import pytest
from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters
from flask import Flask

from app import upstream
from app.logs import LOG_FILE_NAME, log_format
from tests.conftest import AuthActions, make_app, unique


def _all_ciphertexts(sandbox) -> set[str]:
    sdk = CloudCruise(
        CloudCruiseParams(
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            encryption_key=sandbox.encryption_key,
        )
    )
    values = set()
    for entry in sdk.vault.get(GetVaultEntriesFilters(decryptCredentials=False)):
        for name in ("user_name", "password", "tfa_secret", "proxy_value"):
            value = getattr(entry, name)
            if isinstance(value, str) and len(value) >= 56:
                values.add(value)
    return values


def test_logs_are_json_lines_with_request_ids_and_no_secrets(
    app, client, auth, sandbox, log_stream
):
    plaintexts = {"Pl41n-Passw0rd!", "log-test-user@example.com", "JBSWY3DPEHPK3PXP"}
    auth.login("quinn", "admin")
    client.get("/entries")
    client.get("/entries", headers={"HX-Request": "true"})
    client.get("/readyz")
    with app.app_context():
        upstream.client().create_entry(
            {
                "permissioned_user_id": unique("logs"),
                "domain": "https://logs.example.com",
                "user_name": "log-test-user@example.com",
                "password": "Pl41n-Passw0rd!",
                "tfa_method": "AUTHENTICATOR",
                "tfa_secret": "JBSWY3DPEHPK3PXP",
            }
        )
    client.get("/entries")

    text = log_stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line.get("logger") == "app.access" for line in lines)
    assert any(line.get("logger") == "app.cloudcruise" for line in lines)
    assert all("ts" in line and "level" in line for line in lines)
    assert all(line.get("request_id") for line in lines if line["logger"] == "app.access")

    forbidden = plaintexts | _all_ciphertexts(sandbox)
    forbidden |= {auth.PASSWORD, sandbox.api_key, sandbox.encryption_key, app.config["SECRET_KEY"]}
    assert len(forbidden) > 40
    leaked = [secret for secret in forbidden if secret in text]
    assert leaked == []


def test_a_full_scenario_leaves_no_secret_in_the_logs(app, client, auth, sandbox, log_stream):
    """Create, reveal, view codes, edit every secret field, bulk change, export: then search the
    log for every plaintext and ciphertext involved."""
    import re

    from tests.entries_support import csrf, fetch, form_fields, hx, index_sync, make_entry

    auth.login("scenario", "admin")
    token = csrf(client)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret=secret,
                       proxy_setting="custom", proxy_value="socks5://u:Pr0xyPw@proxy.example.net:1080",
                       allow_multiple_sessions=True)  # fmt: skip
    index_sync(client, token)
    before = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    for field in ("password", "user_name", "tfa_secret", "proxy_value"):
        hx(client, "POST", f"/entries/{entry.id}/secrets/{field}/reveal", token,
           data={"password": auth.PASSWORD})  # fmt: skip
    hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    edits = {
        "credentials": {"password": "Edited-Pass-77", "user_name": "edited@example.com"},
        "twofactor": {"tfa_secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"},
        "proxy": {"proxy_value": "http://v:Pr0xyPw2@proxy2.example.net:8080"},
        "session": {"cookies_action": "replace",
                    "cookies": '[{"name": "sid", "value": "CookieVal99", "domain": ".e.com"}]'},
    }  # fmt: skip
    for section, changes in edits.items():
        html = hx(client, "GET", f"/entries/{entry.id}/sections/{section}/edit").get_data(True)
        data = form_fields(html, f"form-{section}")
        data.update(changes)
        assert (
            hx(
                client, "POST", f"/entries/{entry.id}/sections/{section}", token, data=data
            ).status_code
            == 200
        )
    client.post("/entries/bulk/apply", data={"csrf_token": token, "kind": "concurrency",
                "ids": entry.id, "allow_multiple_sessions": "keep", "max_concurrency_action": "set",
                "max_concurrency": "4", "prevent_concurrency_during_login": "keep"})  # fmt: skip
    client.post("/audit/export", data={"csrf_token": token, "format": "jsonl"}).get_data()
    after = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    forbidden = {
        secret, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", "Pr0xyPw", "Pr0xyPw2", "Edited-Pass-77",
        "edited@example.com", "Corr3ct-Horse!", "CookieVal99", auth.PASSWORD,
        before.password, before.user_name, before.tfa_secret, before.proxy_value,
        after.password, after.user_name, after.tfa_secret, after.proxy_value,
    }  # fmt: skip
    text = log_stream.getvalue()
    assert re.search(r'"action": "entry.credentials.update"', text)  # the scenario was logged
    assert [s for s in forbidden if s and s in text] == []


# ------------------------------------------------------------------ the text format (make run)

ACCESS_LINE = re.compile(r"^\d\d:\d\d:\d\d (GET|POST) /\S* \d{3} \d+(\.\d+)? ms$")


@pytest.fixture
def text_app(tmp_path, sandbox, other_vaults):
    """The console as ``make run`` serves it: VAULT_CONSOLE_LOG_FORMAT=text."""
    terminal = io.StringIO()
    application = make_app(tmp_path, sandbox, terminal, LOG_FORMAT="text")
    application.terminal = terminal
    yield application
    application.extensions["upstream"].close()


def _file_lines(app) -> list[dict]:
    text = (Path(app.instance_path) / LOG_FILE_NAME).read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_text_format_prints_one_short_line_per_request(text_app):
    client = text_app.test_client()
    auth = AuthActions(text_app, client)
    auth.login("tess", "admin")
    client.get("/entries")
    client.get("/entries", headers={"HX-Request": "true"})
    client.get("/static/css/app.css")  # static files are not logged, as before
    client.get("/no-such-page")

    terminal = text_app.terminal.getvalue().splitlines()
    assert all(ACCESS_LINE.match(line) for line in terminal), terminal
    requests = [line.split(" ", 1)[1].rsplit(" ", 2)[0] for line in terminal]
    assert requests == [
        "GET /login 200", "POST /login 303", "GET /entries 200", "GET /entries 200",
        "GET /no-such-page 404",
    ]  # fmt: skip

    # the structured log, audit events included, is in the instance folder as JSON lines
    path = Path(text_app.instance_path) / LOG_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = _file_lines(text_app)
    access = [line for line in lines if line["logger"] == "app.access"]
    assert [line["path"] for line in access] == [
        "/login", "/login", "/entries", "/entries", "/no-such-page"
    ]  # fmt: skip
    assert all(line["request_id"] and line["duration_ms"] is not None for line in access)
    assert any(line.get("audit", {}).get("action") == "auth.login" for line in lines)
    assert auth.PASSWORD not in path.read_text() + text_app.terminal.getvalue()


def test_text_format_shows_warnings_as_one_line_and_keeps_info_in_the_file(text_app):
    with text_app.app_context():
        logging.getLogger("app.entry_index").info("synced 40 entries")
        try:
            raise RuntimeError("upstream went away")
        except RuntimeError:
            logging.getLogger("app.errors").exception("unhandled upstream error")
    terminal = text_app.terminal.getvalue().splitlines()
    assert len(terminal) == 1
    assert re.match(
        r"^\d\d:\d\d:\d\d ERROR app.errors: unhandled upstream error "
        r"\(RuntimeError: upstream went away\)$",
        terminal[0],
    )
    lines = _file_lines(text_app)
    assert [line["msg"] for line in lines] == ["synced 40 entries", "unhandled upstream error"]
    assert "Traceback" in lines[1]["exc"]


def test_bootstrap_prints_the_password_box_without_a_json_line(text_app):
    result = text_app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert result.output.lstrip().startswith("┌") and "Password: " in result.output
    assert text_app.terminal.getvalue() == ""  # the audit event went to the file only
    created = [line["audit"] for line in _file_lines(text_app) if "audit" in line]
    assert [(event["action"], event["target_pid"]) for event in created] == [
        ("operator.create", "admin")
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("config", "env", "gunicorn", "stream", "expected"),
    [
        ({}, "text", True, io.StringIO, "text"),  # make run: gunicorn with the variable set
        ({}, " JSON ", False, _Terminal, "json"),
        ({}, None, True, _Terminal, "json"),  # the Procfile: gunicorn, nothing set
        ({}, None, False, _Terminal, "text"),  # flask run / flask commands at a terminal
        ({}, None, False, io.StringIO, "json"),  # piped or captured
        ({"TESTING": True}, "text", False, io.StringIO, "json"),  # tests ignore the variable
        ({"TESTING": True, "LOG_FORMAT": "text"}, None, True, io.StringIO, "text"),
    ],
)
def test_log_format_choice(monkeypatch, config, env, gunicorn, stream, expected):
    if env is None:
        monkeypatch.delenv("VAULT_CONSOLE_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("VAULT_CONSOLE_LOG_FORMAT", env)
    if gunicorn:
        monkeypatch.setitem(sys.modules, "gunicorn", sys)
    else:
        monkeypatch.delitem(sys.modules, "gunicorn", raising=False)
    flask_app = Flask(__name__)
    flask_app.config.update(config)
    assert log_format(flask_app, stream()) == expected


def test_an_unknown_log_format_says_so_and_falls_back_to_json(monkeypatch):
    monkeypatch.setenv("VAULT_CONSOLE_LOG_FORMAT", "pretty")
    stream = _Terminal()
    assert log_format(Flask(__name__), stream) == "json"
    assert "VAULT_CONSOLE_LOG_FORMAT='pretty' is not json or text" in stream.getvalue()
