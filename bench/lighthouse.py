#!/usr/bin/env python3
"""Lighthouse scores of the console's main pages, on demand (not part of the test suite).

Starts the console on a loopback port (embedded sandboxes, a throwaway instance folder) and
runs Lighthouse 12 through its Node API (bench/lighthouse.mjs) in one Debian Chromium page
that signs in between the login page and the others (Chrome ignores a Cookie header given
to the Lighthouse CLI). Login, entries list, entry detail, audit log and overview, desktop
and mobile presets: performance, accessibility, best practices, and bytes on the wire.

    npm install --prefix /tmp/lh lighthouse@12.2.3
    python bench/lighthouse.py --lighthouse /tmp/lh
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402

USER, PASSWORD = "lighthouse", "Correct-Horse-99!"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lighthouse", type=Path, required=True, help="its npm --prefix")
    args = parser.parse_args()
    app = create_app({"ENV": {}, "INSTANCE_PATH": tempfile.mkdtemp(prefix="lighthouse-"),
                      "LOG_LEVEL": "ERROR"})  # fmt: skip
    with app.app_context():
        from app.services import operators

        operators.create(USER, "editor", password=PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    script = ROOT / "bench" / "lighthouse.mjs"
    done = subprocess.run(["node", str(script), base, str(args.lighthouse.resolve()), USER,
                           PASSWORD], check=False)  # fmt: skip
    server.shutdown()
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
