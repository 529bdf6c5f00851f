"""Vault Console: a Flask + htmx admin console for CloudCruise vault entries."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from app.config import ROOT, ConfigError, load_config


def _cli_command() -> str | None:
    """The ``flask`` command being run (``db`` for ``flask --app app db upgrade``), if any:
    the release step must be able to start the app whose schema it is about to upgrade."""
    if Path(sys.argv[0]).name != "flask":
        return None
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--app", "-A", "--env-file", "-e"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory. ``config`` overrides what the environment provides (tests)."""
    load_dotenv(ROOT / ".env", override=False)
    try:
        settings = load_config(
            env=(config or {}).get("ENV"),
            instance=Path(config["INSTANCE_PATH"])
            if config and "INSTANCE_PATH" in config
            else None,
        )
    except ConfigError as exc:
        # A clear one-line message instead of a traceback, for `make run` and gunicorn alike.
        _tell(f"Vault Console configuration error: {exc}")
        # 3 is gunicorn's "worker failed to boot": the arbiter stops instead of restarting
        # the worker forever. Elsewhere (flask CLI) 2, the usual "bad usage" code.
        raise SystemExit(3 if "gunicorn" in sys.modules else 2) from None
    settings.update({k: v for k, v in (config or {}).items() if k != "ENV"})

    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings)

    from app import logs
    from app.services import passwords

    logs.init_app(app)
    passwords.configure(app.config["ARGON2_MEMORY_KIB"], app.config["ARGON2_TIME_COST"])

    from app.database import SchemaBehind
    from app.extensions import csrf, db, login_manager

    app.config.setdefault("SCHEMA_CHECK", _cli_command() not in ("db", "bootstrap"))
    try:
        db.init_app(app)
    except SchemaBehind as exc:
        _tell(f"Vault Console cannot start: {exc}")
        raise SystemExit(3 if "gunicorn" in sys.modules else 2) from None
    csrf.init_app(app)
    login_manager.init_app(app)

    from app import providers, security, web
    from app.services import audit

    audit.init_app(app)
    security.init_app(app)
    from app import delivery  # compression (never of no-store responses), static URLs

    delivery.init_app(app)
    # every provider's connection, blueprint and template context (app/providers.py)
    providers.init_app(app)
    web.init_app(app)

    from app.account import bp as account_bp
    from app.audit import bp as audit_bp
    from app.auth import bp as auth_bp
    from app.auth.oidc import bp as oidc_bp
    from app.entries import bp as entries_bp
    from app.health import bp as health_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(entries_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(health_bp)
    from app import health

    health.init_app(app)
    from app.overview import bp as overview_bp
    from app.status import bp as status_bp
    from app.vaults import bp as vaults_bp

    app.register_blueprint(overview_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(vaults_bp)
    from app.operators import bp as operators_bp

    app.register_blueprint(operators_bp)

    from app import cli, errors

    errors.init_app(app)
    cli.init_app(app)
    return app


def _tell(line: str) -> None:
    """One line on stderr in one write: workers failing at the same moment share the log
    file, and ``print`` writes the text and its newline separately."""
    try:
        sys.stderr.flush()
        os.write(sys.stderr.fileno(), f"{line}\n".encode())
    except (OSError, ValueError):  # a stream without a file (captured in tests)
        sys.stderr.write(f"{line}\n")
