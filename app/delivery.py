"""Delivery: compressed responses and long-lived, content-hashed static URLs.

**Compression.** Flask-Compress encodes HTML pages and fragments, static files and exports
as ``br`` or ``gzip``, whichever the client's ``Accept-Encoding`` prefers (br on a tie).
Streamed responses (the audit and compare exports, static files) are compressed chunk by
chunk, so they still stream. Bodies under 500 bytes and statuses other than 2xx are sent
as they are, and so is a partial (``206``) answer to a range request.

**BREACH.** Compression leaks the length of a body, so a secret that shares a compressed
body with text an attacker chooses can be guessed byte by byte. The rule: *a response whose
view marked it* ``Cache-Control: no-store`` *is never compressed*. The views that put a
secret or a TFA code in a body do exactly that: the revealed and masked secret fragments
and the TFA code (``app/entries/secrets.py``), the TFA preview, which shows the code of a
secret being typed (``app/entries/edit.py``), and the compare export
(``app/vaults/compare.py``). ``app/security.py`` then marks *every* page ``no-store`` in an
``after_request`` hook, so the decision is taken on the response as the view returned it,
before any hook runs (see :func:`init_app`), and compression is applied after all of them.
Every other page is compressed: the ones that reflect a search term hold no secret (GET
pages show secrets masked; revealing is a POST answered with ``no-store``), and the CSRF
token they carry is signed with a timestamp that changes every second, which leaves BREACH
no fixed string to converge on. The session cookie is ``SameSite=Lax``, so a cross-site
page cannot send the signed-in requests that the attack needs in the first place.

**Static files.** ``url_for('static', filename=...)`` adds ``?v=`` and the first 12 hex
digits of the file's SHA-256 (computed once per file and kept until its size or mtime
changes). A request whose ``v`` is the file's current hash is answered with
``Cache-Control: public, max-age=31536000, immutable``; without it, or with an outdated
one, the file keeps Flask's ``no-cache`` with its ETag, so it is revalidated. The URLs stay
same-origin, which the Content-Security-Policy (``'self'``) allows.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Any

from flask import Flask, Response, request
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
VERSION_ARG = "v"
_HASH_DIGITS = 12
EXPORT_MIMETYPES = ("text/csv", "application/x-ndjson")


def init_app(app: Flask) -> None:
    # both lists ordered by preference: br is smaller at a similar cost; gzip for the rest.
    # Flask-Compress leaves gzip out of streaming by default, but chunked gzip through zlib is
    # ordinary, and without it static files would go uncompressed to gzip-only clients.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    # brotli 5 (Flask-Compress: 4) is the first level smaller than gzip 6 on htmx and app.css
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    # registered below, behind the BREACH rule, instead of as a plain after_request hook
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress(app)
    # besides Flask-Compress's text types: the exports (CSV and JSON Lines, both streamed)
    for mimetype in EXPORT_MIMETYPES:
        if mimetype not in compress.compress_mimetypes_set:
            app.config["COMPRESS_MIMETYPES"].append(mimetype)
            compress.compress_mimetypes_set.add(mimetype)
    versions = StaticVersions(app.static_folder)
    app.extensions["static_versions"] = versions

    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and VERSION_ARG not in values:
            version = versions.version(values.get("filename"))
            if version:
                values[VERSION_ARG] = version

    @app.after_request
    def _static_cache(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            asked = request.args.get(VERSION_ARG)
            filename = (request.view_args or {}).get("filename")
            if asked and asked == versions.version(filename):
                response.headers["Cache-Control"] = IMMUTABLE
                response.headers.pop("Expires", None)
        return response

    run_hooks = app.process_response

    def process_response(response: Response) -> Response:
        # Decided on the view's own headers: security's hook marks every page no-store later.
        secret = "no-store" in response.headers.get("Cache-Control", "")
        response = run_hooks(response)
        if secret or response.status_code == 206:
            return response
        return compress.after_request(response)

    # Flask's documented extension point ("can be overridden"), wrapped on this instance so
    # that the rule holds whatever order the after_request hooks are registered in.
    app.process_response = process_response  # type: ignore[method-assign]


class StaticVersions:
    """Short content hashes of the files in one static folder, cached per (size, mtime)."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def version(self, filename: object) -> str | None:
        """The hash of ``filename`` under the folder, or None when there is no such file."""
        if not self.folder or not isinstance(filename, str):
            return None
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (info.st_size, info.st_mtime_ns)
        known = self._known.get(filename)
        if known is not None and known[0] == key:
            return known[1]
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()[:_HASH_DIGITS]
        self._known[filename] = (key, digest)
        return digest
