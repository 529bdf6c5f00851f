#!/usr/bin/env python3
"""Screenshots of the entries list and an entry's detail page at 390 and 1440 px, light and
dark, against a throwaway console on the embedded sandboxes:

    python scripts/screenshots.py docs/screens/after

writes ``after-list-390-light.png``, ``after-detail-1440-dark.png`` and so on.
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402

PASSWORD = "Correct-Horse-99!"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:
        pass


def main(prefix: str) -> None:
    app = create_app({"ENV": {}, "INSTANCE_PATH": tempfile.mkdtemp(), "LOG_LEVEL": "ERROR"})
    with app.app_context():
        from app.services import operators

        operators.create("shot", "editor", password=PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for scheme in ("light", "dark"):
            for width in (390, 1440):
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, color_scheme=scheme
                )
                page = context.new_page()
                page.goto(base + "/login")
                form = page.locator("main form")
                form.get_by_label("Username").fill("shot")
                form.get_by_label("Password").fill(PASSWORD)
                form.get_by_role("button", name=re.compile("Sign in")).click()
                page.wait_for_load_state("networkidle")
                page.goto(base + "/entries")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=f"{prefix}-list-{width}-{scheme}.png")
                href = page.locator("#entry-results a[href^='/entries/']").first
                page.goto(base + (href.get_attribute("href") or "/entries"))
                page.wait_for_load_state("networkidle")
                page.screenshot(path=f"{prefix}-detail-{width}-{scheme}.png")
                context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "screenshot")
