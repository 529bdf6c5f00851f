"""Helpers for the r4 tests (imported by the test modules and conftest)."""

from __future__ import annotations

from tests.sandbox.emulator_cli import Cli, spawn_emulator

PRODUCTION = "Production – agents"
STAGING = "Staging"
FINANCE = "Finance"
LEGACY = "Legacy import"
PAYMENTS = "Payments"
#: the compare pair (both verified; see app.sandbox.r4.seed SECRETS_*)
PRODUCTION_SECRETS = "Production Secrets"
STAGING_SECRETS = "Staging Secrets"
VAULT_NAMES = [PRODUCTION, STAGING, FINANCE, LEGACY, PAYMENTS, PRODUCTION_SECRETS, STAGING_SECRETS]


def spawn_r4_cli(*args: str) -> Cli:
    """Start ``python -m app.sandbox.r4 --host 127.0.0.1 --port 0 ARGS``; read its banner."""
    return spawn_emulator("app.sandbox.r4", *args)
