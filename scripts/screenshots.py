#!/usr/bin/env python3
"""Screenshots of the list and a detail page at 390 and 1440 px, light and dark:
python shoot2.py PREFIX"""
import re, sys, tempfile, threading
from werkzeug.serving import make_server
from playwright.sync_api import sync_playwright
from app import create_app

prefix = sys.argv[1]
inst = tempfile.mkdtemp()
app = create_app({"ENV": {}, "INSTANCE_PATH": inst, "LOG_LEVEL": "ERROR"})
with app.app_context():
    from app.services import operators
    operators.create("shot", "editor", password="Correct-Horse-99!")
srv = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{srv.server_port}"
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium")
    for scheme in ("light", "dark"):
        for width in (390, 1440):
            ctx = b.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
            pg = ctx.new_page()
            pg.goto(base + "/login")
            pg.get_by_label("Username").fill("shot"); pg.get_by_label("Password").fill("Correct-Horse-99!")
            pg.get_by_role("button", name=re.compile("Sign in")).click()
            pg.wait_for_load_state("networkidle")
            pg.goto(base + "/entries"); pg.wait_for_load_state("networkidle")
            pg.screenshot(path=f"{prefix}-list-{width}-{scheme}.png")
            href = pg.locator("table tbody a, .entry-card a").first.get_attribute("href")
            pg.goto(base + href); pg.wait_for_load_state("networkidle")
            pg.screenshot(path=f"{prefix}-detail-{width}-{scheme}.png")
            ctx.close()
    b.close()
print("ok")
