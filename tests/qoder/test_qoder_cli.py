"""``python -m app.sandbox.qoder`` as a real process."""

from __future__ import annotations

import re
import signal

import requests
from qoder_helpers import spawn_cli


def test_cli_prints_its_generated_pat_and_serves(tmp_path):
    cli = spawn_cli("--data", str(tmp_path / "sub" / "q.db"))
    try:
        assert cli.stdout.splitlines()[0].startswith("QODER_BASE_URL="), cli.stdout + cli.stderr
        base = cli.values["QODER_BASE_URL"]
        pat = cli.values["QODER_PAT"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/cloud", base)
        assert re.fullmatch(r"qpat_[A-Za-z0-9_-]{40}", pat)
        r = requests.get(base + "/vaults", headers={"Authorization": f"Bearer {pat}"}, timeout=5)
        assert r.status_code == 200 and len(r.json()["data"]) == 7
        assert "status" not in r.json()["data"][0]  # nested (G3) by default
    finally:
        assert cli.stop() == 0
    assert (tmp_path / "sub" / "q.db").exists()


def test_cli_with_a_given_pat_does_not_print_it(tmp_path):
    cli = spawn_cli(
        "--data", str(tmp_path / "q.db"), "--pat", "qpat_given_1", "--shape", "flat", "--no-seed"
    )
    try:
        assert set(cli.values) == {"QODER_BASE_URL"} and "qpat_given_1" not in cli.stdout
        assert "qpat_given_1" not in cli.stderr
        headers = {"Authorization": "Bearer qpat_given_1"}
        base = cli.values["QODER_BASE_URL"]
        assert requests.get(base + "/vaults", headers=headers, timeout=5).json()["data"] == []
        r = requests.post(base + "/vaults", json={"display_name": "v"}, headers=headers, timeout=5)
        assert r.status_code == 201 and r.json()["status"] == "active"  # flat (G2)
    finally:
        cli.proc.send_signal(signal.SIGINT)
        assert cli.stop() == 0


def test_cli_bad_arguments_exit_2(tmp_path):
    cli = spawn_cli("--data", str(tmp_path / "q.db"), "--shape", "round")
    assert cli.proc.returncode == 2 and "Traceback" not in cli.stderr
    cli = spawn_cli("--data", str(tmp_path / "q.db"), "--pat", "two words")
    assert cli.proc.returncode == 2 and cli.stderr.startswith("error: The PAT")
