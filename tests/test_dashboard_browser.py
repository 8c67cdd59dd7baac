"""End to end: `passkit dashboard` on the demo school, driven by Debian's Chromium through Playwright.

The steps an admin takes: open the link, pick a quarter, sort rooms by passes to, download the staff
report. Screenshots of each step go to test-artifacts/dashboard/ (git-ignored) to be looked at.
"""

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from passkit import dashboard, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
TOKEN = "browser-test-token-0123456789"
GRAPHS = sum(section.kind == "graph" for section in dashboard.sections())  # the charts on the page
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "blob:http://127.0.0.1:", "data:")


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make browser`")
    port = serve.free_port()
    cache = tmp_path_factory.mktemp("dashboard-cache")
    log_path = tmp_path_factory.mktemp("dashboard-log") / "server.log"
    with open(log_path, "w") as log:
        process = serve.spawn(demo_folder, cache_dir=cache, port=port, token=TOKEN, log=log)
        try:
            serve.wait_until_serving(process, port)
            yield {"url": f"http://127.0.0.1:{port}", "log": log_path, "cache": cache, "data": demo_folder}
        finally:
            serve.stop(process)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)

        def route(request_route):  # record and refuse anything that would leave the machine
            if not request_route.request.url.startswith(LOCAL):
                outside.append(request_route.request.url)
                return request_route.abort()
            return request_route.continue_()

        context.route("**/*", route)
        context.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else outside.append(ws.url))
        page = context.new_page()
        page.outside = outside
        page.goto(f"{server['url']}/?token={TOKEN}")
        wait_until_drawn(page)
        yield page
        browser.close()


def wait_until_drawn(page, revision=None):
    """The status says done and every chart shows the app's latest revision."""
    page.wait_for_selector(".passkit-state.done", timeout=90_000)
    page.wait_for_function(
        f"""() => {{
            const charts = [...document.querySelectorAll('.passkit-chart')];
            const drawn = charts.filter(c => c.passkitView && c.dataset.revision);
            return charts.length === {GRAPHS} && drawn.length === {GRAPHS}
                && new Set(drawn.map(c => c.dataset.revision)).size === 1;
        }}""", timeout=60_000)
    return page.eval_on_selector(".passkit-chart", "c => c.dataset.revision")


def shot(page, name, selector=None):
    target = page.locator(selector).first if selector else page
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def passkit_report(server, start, end, out):
    command = [sys.executable, "-m", "passkit.cli", "report", "--data", str(server["data"]),
               "--cache", str(server["cache"]), "--start", start, "--end", end, "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def test_loads_with_the_latest_quarter(page):
    shot(page, "01-load")
    assert page.locator(".passkit-preset select").input_value() == "Quarter 4"
    assert "passes ·" in page.inner_text(".passkit-state")
    assert page.locator(".passkit-section").count() == len(dashboard.sections())


def test_a_quarter_redraws_daily_passes_with_the_report_values(page, server, tmp_path):
    before = wait_until_drawn(page)
    page.select_option(".passkit-preset select", "Quarter 3")
    page.wait_for_function(f"document.querySelector('.passkit-chart').dataset.revision !== '{before}'")
    wait_until_drawn(page)
    shot(page, "02-quarter-3")
    start = page.input_value(".passkit-start input")
    end = page.input_value(".passkit-end input")
    drawn = page.eval_on_selector(
        ".passkit-section-daily_passes .passkit-chart",
        "c => c.passkitView.data('data-0').map(r => [r.date, r.grade, r.passes])")
    report = passkit_report(server, start, end, tmp_path / "q3")
    with open(report / "daily_passes.csv", newline="") as handle:
        expected = [[row["date"], row["grade"], int(row["passes"])] for row in csv.DictReader(handle)]
    assert sorted(map(tuple, drawn)) == sorted(map(tuple, expected))
    assert len(expected) > 100


def test_hovering_a_dot_names_the_student_and_count(page):
    section = page.locator(".passkit-section-passes_by_student")
    section.scroll_into_view_if_needed()
    busiest = page.evaluate("""() => {
        // Charts draw on a canvas: find the busiest student's dot in Vega's scenegraph.
        const chart = document.querySelector('.passkit-section-passes_by_student .passkit-chart');
        const view = chart.passkitView, box = chart.querySelector('canvas').getBoundingClientRect();
        let best = null;
        (function walk(mark, x, y) {
            for (const item of mark.items || []) {
                if (mark.marktype === 'symbol' && item.datum && (!best || item.datum.passes > best.datum.passes)) {
                    best = {datum: item.datum, x: x + item.x, y: y + item.y};
                }
                for (const child of (mark.marktype === 'group' ? item.items || [] : [])) {
                    walk(child, x + (item.x || 0), y + (item.y || 0));
                }
            }
        })(view.scenegraph().root, view.origin()[0] + view.padding().left, view.origin()[1] + view.padding().top);
        return {x: box.x + best.x, y: box.y + best.y, name: best.datum.student_name, passes: best.datum.passes};
    }""")
    page.mouse.move(busiest["x"] - 4, busiest["y"] - 4)
    page.mouse.move(busiest["x"], busiest["y"], steps=3)
    tooltip = page.wait_for_selector(".vg-tooltip.visible", timeout=10_000).inner_text()
    shot(page, "03a-hover-student", ".passkit-section-passes_by_student")
    assert busiest["name"] in tooltip and str(busiest["passes"]) in tooltip


def column(page, section, header):
    """The cells of one column of a section's table, as shown (current page)."""
    headers = page.locator(f"{section} thead th").all_inner_texts()
    index = [h.strip() for h in headers].index(header) + 1
    return page.locator(f"{section} tbody tr td:nth-child({index})").all_inner_texts()


def test_sorting_rooms_by_a_header_reverses_the_order(page):
    section = ".passkit-section-room_usage"
    page.locator(section).scroll_into_view_if_needed()
    from playwright.sync_api import expect

    header = page.locator(f"{section} thead th", has_text="Passes to this room")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")  # the table has redrawn in that order
    first = [int(v.replace(",", "")) for v in column(page, section, "Passes to this room")]
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    second = [int(v.replace(",", "")) for v in column(page, section, "Passes to this room")]
    shot(page, "03-rooms-sorted", section)
    assert len(first) > 5
    assert first == sorted(first) and second == sorted(second, reverse=True)
    assert first != second


def test_a_table_filters_and_pages(page):
    section = ".passkit-section-room_usage"
    table = page.locator(section)
    rows = int(table.locator(".passkit-table-widget").get_attribute("data-rows"))
    assert table.locator("tbody tr").count() == 15 and rows > 15  # one page of every room
    table.locator(".passkit-table-next").click()
    assert table.locator(".passkit-table-info").inner_text().startswith("16–")
    table.locator(".passkit-table-filter").fill("restroom")
    shot(page, "03b-rooms-filtered", section)
    shown = [" ".join(cells).lower() for cells in zip(column(page, section, "Room"), column(page, section, "Room folder"))]
    assert shown and all("restroom" in row for row in shown)
    assert "filtered from" in table.locator(".passkit-table-info").inner_text()
    table.locator(".passkit-table-filter").fill("")
    assert int(table.locator(".passkit-table-widget").get_attribute("data-rows")) == rows


def test_staff_csv_download_equals_passkit_report(page, server, tmp_path):
    section = page.locator(".passkit-section-staff_usage")
    section.scroll_into_view_if_needed()
    section.locator(".passkit-download-button").click()
    shot(page, "04-download-menu", ".passkit-section-staff_usage")
    with page.expect_download() as download_info:
        section.locator(".passkit-download-menu button[data-format=csv]").click()
    download = download_info.value
    saved = Path(download.path())
    start, end = page.input_value(".passkit-start input"), page.input_value(".passkit-end input")
    assert download.suggested_filename == f"staff_usage_{start}_{end}.csv"
    report = passkit_report(server, start, end, tmp_path / "staff")
    assert saved.read_bytes() == (report / "staff_usage.csv").read_bytes()
    assert len(list(csv.reader(io.StringIO(saved.read_text())))) > 10


def test_an_empty_range_says_so(page):
    saturday = next_weekend_day(page.input_value(".passkit-start input"))  # no school, no passes
    page.fill(".passkit-start input", saturday)
    page.fill(".passkit-end input", saturday)
    page.wait_for_selector(".passkit-empty >> visible=true", timeout=30_000)
    shot(page, "05-empty-range")
    assert "No passes" in page.inner_text(".passkit-state")
    assert page.locator(".passkit-chart >> visible=true").count() == 0


def next_weekend_day(day: str) -> str:
    import datetime as dt

    date = dt.date.fromisoformat(day)
    return (date + dt.timedelta(days=(5 - date.weekday()) % 7)).isoformat()


def test_nothing_left_the_machine_and_no_student_data_in_the_log(page, server):
    assert page.outside == []
    log = server["log"].read_text()
    with open(server["data"] / "roster.csv", newline="") as handle:
        names = [row.get("student_name") or row.get("name") for row in csv.DictReader(handle)]
    assert names and not [n for n in names if n and n in log]
    assert TOKEN not in log.split("Dashboard:", 1)[-1].split("\n", 1)[-1]  # printed once, never logged
