"""The dashboard server's log holds no student data: a whole session, in Debian's Chromium, then a grep.

The session opens the page with the token, changes the range, downloads a report that lists
students, and meets the server's error paths (a wrong token, malformed widget messages). The
server's stdout and stderr (its kernels write there too) must contain no student name or id from
the demo's exports, and the token only in the one line that prints the link.
"""

import asyncio
import csv
from pathlib import Path

import pytest

from passkit import registry, serve

from . import kernel_ws
from .kernel_ws import Kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TOKEN = "logs-test-token-0123456789"
GRAPHS = sum(entry.kind == "graph" for entry in registry.all_reports("dashboard"))  # the demo has every one
DRAWN = """() => {
    const state = document.querySelector('.passkit-state');
    const charts = [...document.querySelectorAll('.passkit-section .passkit-chart')];
    return state && state.dataset.state === 'done' && charts.length === GRAPHS
        && charts.every(c => c.passkitView && c.dataset.revision === charts[0].dataset.revision);
}""".replace("GRAPHS", str(GRAPHS))


def students(folder: Path) -> set[str]:
    """Every student name and id in the demo's exports."""
    found = set()
    for name in ("passes.csv", "roster.csv"):
        with open(folder / name, newline="") as handle:
            for row in csv.DictReader(handle):
                found |= {row.get("student_name") or "", row.get("student_id") or ""}
    found.discard("")
    return found


def session(port, downloads):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
        page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        page.wait_for_function(DRAWN, timeout=120_000)
        title, heading = page.title(), page.inner_text(".passkit-app h1")
        before = page.eval_on_selector(".passkit-chart", "c => c.dataset.revision")
        page.select_option(".passkit-preset select", "Whole year")
        page.wait_for_function(f"document.querySelector('.passkit-chart').dataset.revision !== '{before}'")
        page.wait_for_function(DRAWN, timeout=120_000)
        section = page.locator(".passkit-section-passes_by_student")
        section.locator(".passkit-download-button").click()
        with page.expect_download(timeout=60_000) as download:
            section.locator(".passkit-download-menu button", has_text="CSV").click()
        saved = downloads / download.value.suggested_filename
        download.value.save_as(saved)
        browser.close()
    return title, heading, saved


def test_a_dashboard_session_leaves_no_student_data_in_the_server_log(demo_folder, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    port, log_path = serve.free_port(), tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = serve.spawn(demo_folder, cache_dir=tmp_path / "cache", port=port, token=TOKEN, log=log)
        try:
            serve.wait_until_serving(process, port)
            title, heading, saved = session(port, tmp_path)
            assert kernel_ws.get(port, "/?token=wrong-token-0123456789")[0] == 302
            kernel_id, app = kernel_ws.session(port, TOKEN)

            async def malformed():
                async with Kernel(port, TOKEN, kernel_id) as kernel:
                    models = await kernel.models(app)
                    for model_id in list(models)[:20]:
                        await kernel.update(model_id, {"value": {"year": "x"}, "index": 999, "formats": 5})
                        await kernel.send("comm_msg", {"comm_id": model_id, "data": "x"})
                    return await kernel.alive()

            assert asyncio.run(malformed())
        finally:
            serve.stop(process)
    school = demo_folder.resolve().name
    assert title == heading == f"Hall-pass analytics - {school}"
    data = students(demo_folder)
    assert len(data) > 200 and sum(name in saved.read_text() for name in data) > 100  # the session saw them
    text = log_path.read_text()
    assert "Kernel started" in text and "Failed login" in text  # the log is the server's and its kernels'
    assert sorted(value for value in data if value in text) == []
    assert text.count(TOKEN) == 1 and f"Dashboard: http://127.0.0.1:{port}/?token={TOKEN}" in text
