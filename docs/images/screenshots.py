"""Make the dashboard screenshots of docs/dashboard.md.

    python3 docs/images/screenshots.py   # about a minute; needs /usr/bin/chromium

Serves an app with authentication on and a few routes that take a while and
report progress, has three users submit jobs for a minute (so that the chart
has a story), then signs in as the superuser and saves dashboard.png (laptop)
and dashboard-phone.png next to this file.
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from playwright.sync_api import expect, sync_playwright
from quart import request

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))

from eventjobs import Settings, create_app, report_progress  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LAPTOP, PHONE  # noqa: E402
from tests.support import TEST_JWT_SECRET, TEST_USERS, basic, free_port, write_users_file  # noqa: E402

PEOPLE = {"root": TEST_USERS["root"], "alice": TEST_USERS["alice"], "bob": TEST_USERS["bob"],
          "reporting": ("reporting-pw-51aa", False)}


def make_app(directory: Path):
    secret = directory / "jwt-secret"
    secret.write_bytes(TEST_JWT_SECRET)
    settings = Settings(
        journal=":memory:", shutdown_timeout=0, max_running=5, progress_interval=0.2,
        users=write_users_file(directory / "users.json", PEOPLE), jwt_secret_file=str(secret),
    )
    app = create_app(settings)

    @app.route("/reports/<name>", methods=["POST"])
    async def build_report(name: str):
        steps = int(request.args.get("steps", "20"))
        for step in range(1, steps + 1):
            await trio.sleep(0.5)
            report_progress(step / steps, f"section {step} of {steps}")
        return {"report": name, "sections": steps}

    @app.route("/exports/<kind>", methods=["POST"])
    async def export(kind: str):
        await trio.sleep(float(request.args.get("seconds", "2")))
        if kind == "broken":
            return {"error": True, "errorMessage": "no such table", "code": 422}, 422
        return {"exported": kind}

    return app


def run_server(app, port: int, stop: threading.Event) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None

    async def main() -> None:
        async def stopped() -> None:
            while not stop.is_set():
                await trio.sleep(0.1)

        await serve(app, config, shutdown_trigger=stopped)

    trio.run(main)


def submit(url: str, user: str, path: str) -> None:
    password = PEOPLE[user][0]
    httpx.post(url + path, headers={"x-arango-async": "store", **basic(user, password)})


def main() -> None:
    random.seed(7)
    with tempfile.TemporaryDirectory() as directory:
        app = make_app(Path(directory))
        port = free_port()
        stop = threading.Event()
        server = threading.Thread(target=run_server, args=(app, port, stop), daemon=True)
        server.start()
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(url + "/_eventjobs/ui")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url + "/_eventjobs/ui")
            page.fill("#login-user", "root")
            page.fill("#login-password", PEOPLE["root"][0])
            page.click("#login-submit")
            expect(page.locator("#live")).to_have_attribute("data-state", "on")
            # A minute of work: reports, exports (one kind fails), quick echoes.
            for second in range(60):
                if second % 6 == 0:
                    submit(url, "reporting", f"/reports/q{second // 6 + 1}-sales?steps={random.randint(8, 30)}")
                if second % 2 == 0:
                    kind = random.choice(["customers", "orders", "invoices", "broken"])
                    submit(url, random.choice(["alice", "bob"]), f"/exports/{kind}?seconds={random.uniform(1, 6):.1f}")
                if second % 5 == 0:
                    submit(url, "alice", "/_admin/echo")
                if second in (30, 31):
                    submit(url, "bob", "/_admin/sleep?duration=300")
                time.sleep(1)
            time.sleep(1.5)
            page.set_viewport_size({"width": 1366, "height": 1000})
            page.screenshot(path=HERE / "dashboard.png")
            # The same page (and its minute of chart) on a phone's screen.
            page.set_viewport_size({"width": PHONE["width"], "height": 1150})
            time.sleep(1.5)
            page.screenshot(path=HERE / "dashboard-phone.png")
            page.set_viewport_size({"width": 1366, "height": 1000})
            page.locator("#pending-table tr[data-job]", has_text="/reports/").locator("a").first.click()
            expect(page.locator("#job-state")).to_be_visible()
            time.sleep(1.5)
            page.screenshot(path=HERE / "dashboard-job.png")
            browser.close()
        stop.set()
        server.join(timeout=20)


if __name__ == "__main__":
    main()
