"""Configuration comes from the environment, with zero-configuration defaults."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from app.config import ROOT, ConfigError, load_config

KEY = "ab" * 32


def test_no_api_key_means_sandbox_and_sqlite_in_instance(tmp_path):
    cfg = load_config(env={}, instance=tmp_path)
    assert cfg["UPSTREAM"].sandbox is True
    assert cfg["UPSTREAM"].api_key is None
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'vault_console.db'}"
    assert cfg["SANDBOX_DATA"] == str(tmp_path / "sandbox.db")


def test_real_api_settings_use_the_sdk_variable_names(tmp_path):
    cfg = load_config(
        env={
            "CLOUDCRUISE_API_KEY": "sk_live_123",
            "CLOUDCRUISE_ENCRYPTION_KEY": KEY,
            "CLOUDCRUISE_BASE_URL": "https://staging-api.cloudcruise.app/",
            "VAULT_CONSOLE_DATABASE_URL": "sqlite:////tmp/other.db",
        },
        instance=tmp_path,
    )
    up = cfg["UPSTREAM"]
    assert (up.sandbox, up.api_key, up.encryption_key) == (False, "sk_live_123", KEY)
    assert up.base_url == "https://staging-api.cloudcruise.app"
    assert cfg["DATABASE_URL"] == "sqlite:////tmp/other.db"


def test_default_base_url_is_production(tmp_path):
    cfg = load_config(
        env={"CLOUDCRUISE_API_KEY": "k", "CLOUDCRUISE_ENCRYPTION_KEY": KEY}, instance=tmp_path
    )
    assert cfg["UPSTREAM"].base_url == "https://api.cloudcruise.com"


def test_api_key_without_encryption_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="CLOUDCRUISE_ENCRYPTION_KEY is not"):
        load_config(env={"CLOUDCRUISE_API_KEY": "k"}, instance=tmp_path)


@pytest.mark.parametrize("bad", ["abc", "x" * 64, KEY + "00"])
def test_malformed_encryption_key_is_refused_with_the_reason(tmp_path, bad):
    with pytest.raises(ConfigError, match="64 hex characters"):
        load_config(
            env={"CLOUDCRUISE_API_KEY": "k", "CLOUDCRUISE_ENCRYPTION_KEY": bad}, instance=tmp_path
        )


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = load_config(env={}, instance=tmp_path)["SECRET_KEY"]
    second = load_config(env={}, instance=tmp_path)["SECRET_KEY"]
    assert first == second and len(first) == 64
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_explicit_secret_key_wins_and_must_be_long(tmp_path):
    cfg = load_config(env={"VAULT_CONSOLE_SECRET_KEY": "s" * 40}, instance=tmp_path)
    assert cfg["SECRET_KEY"] == "s" * 40
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(env={"VAULT_CONSOLE_SECRET_KEY": "short"}, instance=tmp_path)


def test_numbers_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="VAULT_CONSOLE_SYNC_SECONDS must be a number"):
        load_config(env={"VAULT_CONSOLE_SYNC_SECONDS": "soon"}, instance=tmp_path)


def test_bad_configuration_stops_the_cli_with_one_clear_line(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "CLOUDCRUISE_API_KEY": "sk_test",
        "CLOUDCRUISE_ENCRYPTION_KEY": "not-a-key",
        "VAULT_CONSOLE_INSTANCE_PATH": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "operator", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CLOUDCRUISE_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr
