"""A fourth provider, declared exactly as a real one is (tests/test_providers.py adds this
module to the registry): a package's ``provider.py`` plus its registry line is all it takes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template_string, url_for
from flask_login import login_required

from app.config import keyed_settings
from app.connection import KeyedConnection
from app.providers import Hit, Provider, Search

bp = Blueprint("fourth", __name__, url_prefix="/fourth")


@bp.get("")
@login_required
def index():
    return render_template_string(
        "{% extends 'base.html' %}{% block content %}<h1>Fourth vaults</h1>{% endblock %}"
    )


def search(q: str) -> list[Hit]:
    return [Hit("fourth", f"fourth item {q}", "in the fourth vault", url_for("fourth.index"))]


class FourthConnection(KeyedConnection):
    name, service = "fourth", "Fourth"

    def _start_sandbox(self) -> tuple[str, str]:
        raise AssertionError("the fourth provider's emulator is never started by these tests")

    def _make_client(self, base_url: str, key: str) -> Any:
        raise AssertionError("not used")


provider = Provider(
    key="fourth",
    name="Fourth",
    configure=lambda env: keyed_settings(
        env, "FOURTH_KEY", "FOURTH_BASE_URL", "https://fourth.example.com"
    ),
    connection=FourthConnection,
    key_env="FOURTH_KEY",
    nav_endpoint="fourth.index",
    nav_prefix="fourth.",
    blueprint="tests.fourth_provider:bp",
    search=Search("Fourth items", "tests.fourth_provider:search", "name"),
    audit_actions={"fourth.item.touch": "Fourth item touched"},
    audit_groups={"fourth.": "All Fourth events"},
)
