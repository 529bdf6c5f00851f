"""Regenerate the README screenshots: a fresh sandbox, the console, headless Chromium.

.venv/bin/python scripts/screenshots.py        # writes docs/screenshot-*.png
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Upstream  # noqa: E402
from app.sandbox import start_sandbox  # noqa: E402
from app.services import operators  # noqa: E402

PASSWORD = "screenshot-password-1"  # noqa: S105 - a throwaway operator in a temp database


def main() -> None:
    out = ROOT / "docs"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = start_sandbox(data=Path(tmp) / "sandbox.db", port=0, seed=40)
        app = create_app(
            {
                "ENV": {},
                "INSTANCE_PATH": str(Path(tmp) / "instance"),
                "UPSTREAM": Upstream(
                    True, sandbox.base_url, sandbox.api_key, sandbox.encryption_key
                ),
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            operators.create("dana", "admin", PASSWORD)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1360, "height": 820})
            page.goto(base + "/login")
            page.get_by_label("Username").fill("dana")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/entries"))
            page.screenshot(path=str(out / "screenshot-entries.png"))
            page.locator("td.cell-alias a").first.click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "screenshot-detail.png"))
            browser.close()
        server.shutdown()
        sandbox.stop()
    print(f"wrote {out}/screenshot-entries.png and screenshot-detail.png")


if __name__ == "__main__":
    main()
