"""Delivery (app/delivery.py): pages, fragments, static files and exports come compressed when
the client asks; responses carrying a secret never do; static URLs carry a content hash and
are cached for a year."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import secrets as token_bytes

import brotli
import pytest
from flask import Response, stream_with_context, url_for
from flask_compress import Compress

from app.delivery import IMMUTABLE, StaticVersions
from app.security import CSP
from tests.entries_support import csrf, hx, index_sync, make_entry

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"?]+)(?:\?v=([^"]*))?"')
CSRF_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{27}")


def decoded(response) -> bytes:
    data = response.get_data()
    return {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        None: lambda body: body,
    }[response.headers.get("Content-Encoding")](data)


@pytest.fixture
def handed_over(monkeypatch) -> list[bytes]:
    """The exact bodies Flask-Compress was given, before it encoded them."""
    bodies: list[bytes] = []
    compress = Compress.after_request

    def spy(self, response):
        if not response.is_streamed:
            bodies.append(response.get_data())
        return compress(self, response)

    monkeypatch.setattr(Compress, "after_request", spy)
    return bodies


def _file(app, url: str) -> bytes:
    with open(os.path.join(app.static_folder, url.removeprefix("/static/")), "rb") as fh:
        return fh.read()


# ----------------------------------------------------------------------------- compression


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_page_comes_encoded_and_decodes_to_the_same_bytes(client, auth, handed_over, encoding):
    auth.login("quinn", "admin")
    handed_over.clear()
    response = client.get("/entries", headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"  # pages are still never stored
    assert decoded(response) == handed_over[-1]
    assert len(response.get_data()) * 4 < len(handed_over[-1])

    plain = client.get("/entries")  # no Accept-Encoding: as before
    assert "Content-Encoding" not in plain.headers
    # the same page but for its per-request CSRF token and "n s ago"
    same = [
        re.sub(r"\d+ s ago", "", CSRF_TOKEN.sub("", body.decode()))
        for body in (plain.get_data(), decoded(response))
    ]
    assert same[0] == same[1]


def test_the_rows_fragment_comes_gzip_encoded(client, auth, handed_over):
    auth.login("quinn", "admin")
    handed_over.clear()
    response = hx(client, "GET", "/entries?page=2", headers={"Accept-Encoding": "gzip, br;q=0"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert decoded(response) == handed_over[-1]
    assert b"<html" not in handed_over[-1]


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_static_file_comes_encoded_and_decodes_to_its_bytes(app, client, encoding):
    for name in ("css/app.css", "vendor/htmx-2.0.11.min.js"):
        with app.test_request_context():
            url = url_for("static", filename=name)
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        original = _file(app, url.split("?")[0])
        assert decoded(response) == original
        assert len(response.get_data()) < len(original) / 2
        # the ETag names the encoding, and revalidating with it still works
        etag = response.headers["ETag"]
        assert etag.endswith(f':{encoding}"')
        again = client.get(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
        assert again.status_code == 304


def test_secret_fragments_are_never_compressed(app, client, auth, sandbox):
    """Reveal, masked, TFA code and TFA preview answers: no Content-Encoding whatever the
    client accepts, even with the size threshold removed; the same client's other fragments
    and pages under the same settings are compressed."""
    app.config["COMPRESS_MIN_SIZE"] = 0
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret=SECRET)
    auth.login("eve", "editor")
    token = csrf(client)
    index_sync(client, token)
    both = {"Accept-Encoding": "br, gzip"}
    reveal = f"/entries/{entry.id}/secrets/password/reveal"
    answers = {
        "sudo prompt": hx(client, "POST", reveal, token, headers=both),
        "revealed": hx(
            client, "POST", reveal, token, headers=both, data={"password": auth.PASSWORD}
        ),  # fmt: skip
        "revealed in the sudo window": hx(client, "POST", reveal, token, headers=both),
        "masked": hx(
            client, "GET", f"/entries/{entry.id}/secrets/password/masked", headers=both
        ),  # fmt: skip
        "tfa code": hx(client, "POST", f"/entries/{entry.id}/tfa-code", token, headers=both),
        "tfa preview": hx(
            client,
            "POST",
            f"/entries/{entry.id}/tfa-preview",
            token,
            headers=both,
            data={"tfa_secret": SECRET},
        ),  # fmt: skip
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
        assert "no-store" in response.headers["Cache-Control"], name
        assert "Content-Encoding" not in response.headers, name
    assert "Corr3ct-Horse!" in answers["revealed"].get_data(as_text=True)
    assert 'id="tfa-digits"' in answers["tfa code"].get_data(as_text=True)
    assert "Current code from this secret" in answers["tfa preview"].get_data(as_text=True)

    section = hx(client, "GET", f"/entries/{entry.id}/sections/proxy/edit", headers=both)
    assert section.status_code == 200 and section.headers["Content-Encoding"] == "br"
    page = client.get(f"/entries/{entry.id}", headers=both)
    assert page.headers["Content-Encoding"] == "br"
    assert page.headers["Cache-Control"] == "no-store"  # marked by app/security.py, not the view


def test_a_streamed_response_is_compressed_chunk_by_chunk(app):
    produced: list[int] = []

    def lines():
        for number in range(400):
            produced.append(number)
            yield f"{number} {token_bytes.token_hex(512)}\n"

    app.add_url_rule(
        "/_test/stream",
        "stream_probe",
        lambda: Response(stream_with_context(lines()), mimetype="text/plain"),
    )
    response = app.test_client().get(
        "/_test/stream", headers={"Accept-Encoding": "gzip"}, buffered=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in response.headers
    chunks = iter(response.response)
    first = next(chunk for chunk in chunks if chunk)
    assert len(produced) < 100  # the first bytes left long before the last line was made
    body = gzip.decompress(first + b"".join(chunks)).decode()
    assert [int(line.split()[0]) for line in body.splitlines()] == list(range(400))


def test_exports_still_stream(client, auth, other_vaults):
    """The audit export streams compressed; the compare export, which its view marks
    no-store, streams as it is."""
    auth.login("rae", "admin")
    token = csrf(client, "/audit")
    audit = client.post(
        "/audit/export",
        data={"csrf_token": token, "format": "jsonl", "password": auth.PASSWORD},
        headers={"Accept-Encoding": "gzip"},
        buffered=False,
    )
    assert audit.status_code == 200 and audit.is_streamed
    assert audit.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in audit.headers
    lines = [json.loads(line) for line in decoded(audit).splitlines()]
    assert "auth.login" in {line["action"] for line in lines}

    vault = other_vaults["r4"].vault_id
    form = {"csrf_token": token, "provider": "r4", "format": "csv",
            "a": vault("Production – agents"), "b": vault("Staging")}  # fmt: skip
    compare = client.post(
        "/compare/export", data=form, headers={"Accept-Encoding": "gzip"}, buffered=False
    )
    assert compare.status_code == 200 and compare.is_streamed
    assert "Content-Encoding" not in compare.headers
    assert compare.get_data(as_text=True).startswith("group,")


# ----------------------------------------------------------------------------- static URLs


def test_static_urls_carry_the_content_hash_and_are_cached_immutable(app, client, auth):
    auth.login("quinn", "admin")
    page = client.get("/entries")
    refs = set(STATIC_REF.findall(page.get_data(as_text=True)))
    assert {url for url, _ in refs} >= {"/static/css/app.css", "/static/js/app.js"}
    for url, version in refs:
        body = _file(app, url)
        assert version == hashlib.sha256(body).hexdigest()[:12], url
        cached = client.get(f"{url}?v={version}")
        assert cached.status_code == 200
        assert cached.headers["Cache-Control"] == IMMUTABLE
        assert decoded(cached) == body
    # same-origin paths: the policy's 'self' covers them as before
    assert page.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "style-src 'self'" in CSP

    unversioned = client.get("/static/css/app.css")
    assert unversioned.headers["Cache-Control"] == "no-cache" and unversioned.headers["ETag"]
    outdated = client.get("/static/css/app.css?v=000000000000")
    assert outdated.headers["Cache-Control"] == "no-cache"


def test_the_hash_changes_when_the_file_changes(app, client, tmp_path, monkeypatch):
    folder = tmp_path / "static"
    folder.mkdir()
    style = folder / "site.css"
    style.write_text("body { color: black; }\n")
    monkeypatch.setattr(app, "static_folder", str(folder))
    monkeypatch.setattr(app.extensions["static_versions"], "folder", str(folder))

    def current_url() -> str:
        with app.test_request_context():
            return url_for("static", filename="site.css")

    first = current_url()
    assert first == f"/static/site.css?v={hashlib.sha256(style.read_bytes()).hexdigest()[:12]}"
    assert current_url() == first  # cached: the same while the file is the same
    assert client.get(first).headers["Cache-Control"] == IMMUTABLE

    style.write_text("body { color: navy; }\n")
    os.utime(style, ns=(1, 2_000_000_000_000_000_000))  # a different mtime even on coarse clocks
    second = current_url()
    assert second != first
    assert second.endswith(hashlib.sha256(style.read_bytes()).hexdigest()[:12])
    assert client.get(second).headers["Cache-Control"] == IMMUTABLE
    assert client.get(first).headers["Cache-Control"] == "no-cache"  # the old version


def test_static_versions_of_missing_or_outside_files(tmp_path):
    (tmp_path / "a.js").write_text("a")
    versions = StaticVersions(str(tmp_path))
    assert versions.version("a.js") == hashlib.sha256(b"a").hexdigest()[:12]
    assert versions.version("missing.js") is None
    assert versions.version("../etc/passwd") is None
    assert versions.version(".") is None
    assert StaticVersions(None).version("a.js") is None
