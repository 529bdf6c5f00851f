"""Base layout, strict CSP, vendored htmx, error pages and their htmx variants."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_vendored_htmx_matches_its_recorded_checksum():
    path = ROOT / "static" / "vendor" / "htmx-2.0.11.min.js"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == HTMX_SHA256
    assert HTMX_SHA256 in (ROOT / "static" / "vendor" / "README.md").read_text()
    assert 'version:"2.0.11"' in path.read_text()


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_style_or_handlers(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert "<style" not in text
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    assert "hx-on" not in text and "javascript:" not in text


def test_csp_and_security_headers_on_every_kind_of_page(client, auth):
    pages = [client.get("/login"), client.get("/nope")]
    auth.login("ann", "viewer")
    pages += [
        client.get("/entries"),
        client.get("/nope"),
        client.get("/entries", headers={"HX-Request": "true"}),
    ]
    for response in pages:
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_htmx_is_configured_by_meta_tag_and_csrf_header(client, auth):
    auth.login("ben", "viewer")
    html = client.get("/entries").get_data(as_text=True)
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False and config["historyCacheSize"] == 0
    assert config["selfRequestsOnly"] is True
    swapped = {rule["code"] for rule in config["responseHandling"] if rule.get("swap")}
    assert {"409", "422"} <= swapped
    body = re.search(r"<body hx-headers='([^']+)'", html)
    token = json.loads(body.group(1))["X-CSRFToken"]
    assert len(token) > 20
    # the pinned file, under a content-hashed URL (cached immutable)
    pinned = r'<script [^>]*src="/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12}"'
    assert re.search(pinned, html)


def test_sandbox_banner_is_on_every_signed_in_page(client, auth):
    auth.login("cleo", "viewer")
    assert "Sandbox" in client.get("/entries").get_data(as_text=True)
    assert 'class="sandbox-banner"' in client.get("/nope").get_data(as_text=True)


def test_no_sandbox_banner_against_the_real_apis(tmp_path, sandbox, other_vaults):
    from app.config import OtherVault, Upstream
    from tests.conftest import AuthActions, make_app

    real = {  # keys configured: the console treats them as the real services
        "qoder": OtherVault(False, other_vaults["qoder"].base_url, other_vaults["qoder"].pat),
        "r4": OtherVault(False, other_vaults["r4"].base_url, other_vaults["r4"].api_key),
    }
    app = make_app(
        tmp_path,
        sandbox,
        UPSTREAM=Upstream(False, sandbox.base_url, sandbox.api_key, sandbox.encryption_key),
        OTHER_VAULTS=real,
    )
    client = app.test_client()
    AuthActions(app, client).login("dora", "viewer")
    assert "sandbox-banner" not in client.get("/entries").get_data(as_text=True)
    assert "(embedded" not in client.get("/qoder").get_data(as_text=True)
    only_r4 = make_app(
        tmp_path / "mixed",
        sandbox,
        UPSTREAM=Upstream(False, sandbox.base_url, sandbox.api_key, sandbox.encryption_key),
        OTHER_VAULTS={"qoder": real["qoder"], "r4": OtherVault(True, None, None)},
    )
    client = only_r4.test_client()
    AuthActions(only_r4, client).login("dora", "viewer")
    banner = client.get("/entries").get_data(as_text=True)
    assert "r4 is a local emulator" in banner and "Qoder" not in banner.split("</div>")[0]


def test_not_found_full_page_and_htmx_variant(client, auth):
    auth.login("eli", "viewer")
    full = client.get("/entries/does/not/exist")
    assert full.status_code == 404
    html = full.get_data(as_text=True)
    assert "<html" in html and "Not found" in html and "Back to entries" in html
    partial = client.get("/entries/does/not/exist", headers={"HX-Request": "true"})
    assert partial.status_code == 404
    assert "<html" not in partial.get_data(as_text=True)
    trigger = json.loads(partial.headers["HX-Trigger"])
    assert trigger["toast"]["level"] == "error"
    assert partial.headers["Vary"] == "HX-Request" or "HX-Request" in partial.headers["Vary"]


def test_unexpected_errors_render_a_500_page_without_details(app, client, auth):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("internal detail that must not leak")

    auth.login("fay", "viewer")
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "internal detail" not in html
