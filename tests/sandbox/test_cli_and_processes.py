"""``python -m app.sandbox`` as a real process, and several processes sharing one store."""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sandbox_helpers import Api, spawn_cli

from app.cloudcruise.crypto import generate_key


def test_cli_prints_generated_keys_and_serves_until_sigterm(tmp_path):
    cli = spawn_cli("--data", str(tmp_path / "sub" / "s.db"), "--seed", "3")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", cli.base_url), cli.stdout + cli.stderr
        key = cli.values["CLOUDCRUISE_API_KEY"]
        enc = cli.values["CLOUDCRUISE_ENCRYPTION_KEY"]
        assert re.fullmatch(r"sk_sandbox_[A-Za-z0-9_-]{32}", key)
        assert re.fullmatch(r"[0-9a-f]{64}", enc)
        assert cli.stdout.splitlines()[0] == f"CLOUDCRUISE_BASE_URL={cli.base_url}"
        r = requests.get(cli.base_url + "/vault", headers={"cc-key": key}, timeout=5)
        assert r.status_code == 200 and len(r.json()) == 3
        assert "X-RateLimit-Limit" in r.headers  # limits on by default
    finally:
        assert cli.stop() == 0
    assert (tmp_path / "sub" / "s.db").exists()


def test_cli_with_given_keys_does_not_print_them(tmp_path):
    enc = generate_key()
    cli = spawn_cli(
        "--data", str(tmp_path / "s.db"), "--api-key", "sk_given_1", "--encryption-key", enc,
        "--seed", "0", "--no-rate-limit",
    )  # fmt: skip
    try:
        assert set(cli.values) == {"CLOUDCRUISE_BASE_URL"}
        assert enc not in cli.stdout + cli.stderr and "sk_given_1" not in cli.stdout
        r = requests.get(cli.base_url + "/vault", headers={"cc-key": "sk_given_1"}, timeout=5)
        assert r.json() == [] and "X-RateLimit-Limit" not in r.headers
    finally:
        cli.proc.send_signal(signal.SIGINT)
        assert cli.stop() == 0


def test_cli_rejects_a_bad_encryption_key_with_exit_2(tmp_path):
    cli = spawn_cli("--data", str(tmp_path / "s.db"), "--encryption-key", "zz" * 10)
    assert cli.proc.returncode == 2
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: The encryption key is not valid")
    assert "Traceback" not in cli.stderr and cli.stdout == ""


def test_cli_bad_arguments_exit_2(tmp_path):
    cli = spawn_cli("--data", str(tmp_path / "s.db"), "--seed", "-1")
    assert cli.proc.returncode == 2 and "Traceback" not in cli.stderr


def test_two_processes_share_one_store_without_losing_writes(tmp_path):
    data = str(tmp_path / "shared.db")
    with ThreadPoolExecutor(2) as pool:  # both start at once on a new file
        a, b = pool.map(
            lambda _: spawn_cli("--data", data, "--seed", "4", "--no-rate-limit"), [0, 1]
        )
    try:
        # first writer wins: both processes serve the same workspace and keys, seeded once
        assert a.values["CLOUDCRUISE_API_KEY"] == b.values["CLOUDCRUISE_API_KEY"]
        assert a.values["CLOUDCRUISE_ENCRYPTION_KEY"] == b.values["CLOUDCRUISE_ENCRYPTION_KEY"]
        key, enc = a.values["CLOUDCRUISE_API_KEY"], a.values["CLOUDCRUISE_ENCRYPTION_KEY"]
        api_a, api_b = Api(a.base_url, key, enc), Api(b.base_url, key, enc)
        assert len(api_a.get("/vault").json()) == 4
        target = api_a.create(permissioned_user_id="shared", domain="https://app.gusto.com")
        pair = {"permissioned_user_id": "shared", "domain": "https://app.gusto.com"}

        def create(job):
            api, n = job
            r = api.post(
                "/vault", json={"permissioned_user_id": f"p{n}", "domain": "https://a.com"}
            )
            return r.status_code

        def update(job):
            api, n = job
            field = "user_alias" if api is api_a else "cookie_domain_to_store"
            r = api.put("/vault", json={**pair, field: f"v{n}"})
            return r.status_code

        jobs = [(api_a if n % 2 else api_b, n) for n in range(60)]
        with ThreadPoolExecutor(8) as pool:
            created = list(pool.map(create, jobs))
            updated = list(pool.map(update, [(api, n) for api, n in jobs if n < 40]))
        assert created == [201] * 60 and updated == [200] * 40
        for api in (api_a, api_b):
            everything = api.get("/vault").json()
            assert len(everything) == 4 + 1 + 60
        final = api_b.one(**pair).json()
        # neither process's read-modify-write overwrote the other's field
        assert final["user_alias"] in {f"v{n}" for n in range(1, 40, 2)}
        assert final["cookie_domain_to_store"] in {f"v{n}" for n in range(0, 40, 2)}
        assert final["id"] == target["id"]
        # a duplicate across processes is still a conflict
        assert (
            api_b.post(
                "/vault", json={"permissioned_user_id": "p1", "domain": "https://a.com"}
            ).status_code
            == 409
        )
    finally:
        assert a.stop() == 0 and b.stop() == 0


def test_a_busy_port_is_an_error_not_an_exit(tmp_path):
    import socket

    from app.sandbox import start_sandbox

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            start_sandbox(tmp_path / "a.db", port=port)  # a library must not sys.exit
        cli = spawn_cli("--data", str(tmp_path / "b.db"), "--port", str(port))
    assert cli.proc.returncode == 1
    assert (
        cli.stderr.startswith("error: cannot serve on 127.0.0.1:") and "Traceback" not in cli.stderr
    )
