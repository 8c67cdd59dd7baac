"""End to end: `passkit dashboard` on the demo school, driven by Debian's Chromium through Playwright.

The steps an admin takes, on a phone (390 x 844) and a desktop (1400 x 900): open the link, read the
tiles, pick a quarter, open a student's and a room's passes, sort and filter a table and download
it, work the menus with the keyboard. Screenshots go to test-artifacts/dashboard/ (git-ignored) to be
looked at.
"""

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from passkit import registry, serve, summary

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GRAPHS = sum(entry.kind == "graph" for entry in registry.all_reports("dashboard"))  # the demo has every one

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
TOKEN = "browser-test-token-0123456789"
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "blob:http://127.0.0.1:", "data:")
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1400, "height": 900}


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
def browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        launched.outside, launched.errors = [], []
        yield launched
        launched.close()


def open_page(browser, server, viewport):
    context = browser.new_context(viewport=viewport, accept_downloads=True)

    def route(request_route):  # record and refuse anything that would leave the machine
        if not request_route.request.url.startswith(LOCAL):
            browser.outside.append(request_route.request.url)
            return request_route.abort()
        return request_route.continue_()

    context.route("**/*", route)
    context.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else browser.outside.append(ws.url))
    page = context.new_page()
    page.on("pageerror", lambda error: browser.errors.append(error.message))
    page.goto(f"{server['url']}/?token={TOKEN}")
    wait_until_drawn(page)
    return page


@pytest.fixture(scope="module")
def page(browser, server):
    yield open_page(browser, server, DESKTOP)


@pytest.fixture(scope="module")
def phone(browser, server):
    yield open_page(browser, server, PHONE)


def wait_until_drawn(page):
    """The status says done and every chart shows the app's latest revision."""
    page.wait_for_selector(".passkit-state.done", timeout=90_000)
    page.wait_for_function(
        """() => {
            const charts = [...document.querySelectorAll('.passkit-section .passkit-chart')];
            const drawn = charts.filter(c => c.passkitView && c.dataset.revision);
            return charts.length === GRAPHS && drawn.length === GRAPHS
                && new Set(drawn.map(c => c.dataset.revision)).size === 1;
        }""".replace("GRAPHS", str(GRAPHS)), timeout=60_000)
    return page.eval_on_selector(".passkit-chart", "c => c.dataset.revision")


def shot(page, name, selector=None):
    target = page.locator(selector).first if selector else page
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def shoot_whole_page(page, name):
    """The page scrolls inside Voila's #rendered_cells: screenshots of it from top to bottom, 900 px each."""
    viewport = page.viewport_size
    height = page.evaluate("document.getElementById('rendered_cells').scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.wait_for_timeout(500)  # charts follow their new boxes
    for part, top in enumerate(range(0, height, 900)):
        page.screenshot(path=str(ARTIFACTS / f"{name}-{part}.png"),
                        clip={"x": 0, "y": top, "width": viewport["width"], "height": min(900, height - top)})
    page.set_viewport_size(viewport)


def passkit_report(server, start, end, out):
    command = [sys.executable, "-m", "passkit.cli", "report", "--data", str(server["data"]),
               "--cache", str(server["cache"]), "--start", start, "--end", end, "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def shown_range(page):
    return page.input_value(".passkit-start input"), page.input_value(".passkit-end input")


OVERFLOWING = """() => {
    // Every visible element of the app lies within the viewport's width, except inside a table's own
    // scrolling box (which itself must fit); and the page never scrolls sideways.
    const width = document.documentElement.clientWidth, found = [];
    const scroller = document.getElementById('rendered_cells');
    if (scroller.scrollWidth > scroller.clientWidth + 1) found.push('the page scrolls sideways');
    for (const node of document.querySelectorAll('#rendered_cells *')) {
        if (node.closest('.passkit-sr-only, [hidden]')) continue;
        const scrolling = node.parentElement.closest('.passkit-table-scroll');
        if (scrolling && ['auto', 'scroll'].includes(getComputedStyle(scrolling).overflowX)) continue;
        const box = node.getBoundingClientRect();
        if (!box.width || !box.height || getComputedStyle(node).visibility === 'hidden') continue;
        if (box.left < -0.5 || box.right > width + 0.5) {
            found.push(`${node.tagName.toLowerCase()}.${String(node.className).split(' ').join('.')} `
                       + `${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
        }
    }
    return found;
}"""


@pytest.mark.parametrize("device", ["phone", "page"])
def test_nothing_overflows_the_screen_and_charts_fit_their_boxes(device, request):
    page = request.getfixturevalue(device)
    name = "390" if device == "phone" else "1400"
    assert page.evaluate(OVERFLOWING) == []
    widths = page.evaluate("""() => [...document.querySelectorAll('.passkit-section .passkit-chart')].map(c =>
        [c.getBoundingClientRect().width, c.querySelector('canvas').getBoundingClientRect().width])""")
    assert all(canvas <= box + 1 and canvas >= box * 0.85 for box, canvas in widths), widths  # as wide as its box
    legend = page.evaluate("""() => { const view = document.querySelector('.passkit-section-daily_passes .passkit-chart')
        .passkitView; return view.scenegraph().root.items[0].items.some(m => m.role === 'legend'
        || (m.items || []).some(i => i.role === 'legend' || (i.items || []).some(j => j.role === 'legend'))); }""")
    assert legend, "the Daily Passes legend is drawn"
    filters = page.evaluate("""() => ['.passkit-start input', '.passkit-end input', '.passkit-grade select']
        .map(s => document.querySelector(s).getBoundingClientRect().right)""")
    assert max(filters) <= page.viewport_size["width"], "every filter can be reached"
    if device == "page":
        tops = page.evaluate("""() => ['passes_by_grade', 'passes_by_student'].map(n =>
            document.querySelector('.passkit-section-' + n).getBoundingClientRect().top)""")
        assert tops[0] == tops[1], "a wide screen puts sections side by side"
    shoot_whole_page(page, f"00-whole-page-{name}")
    assert page.evaluate(OVERFLOWING) == []


@pytest.mark.parametrize("device", ["phone", "page"])
def test_tiles_show_what_passkit_report_says(device, request, server, tmp_path):
    page = request.getfixturevalue(device)
    start, end = shown_range(page)
    report = passkit_report(server, start, end, tmp_path / "tiles")
    with open(report / "audit_summary.csv", newline="") as handle:
        figures = {row["figure"]: row["value"] for row in csv.DictReader(handle)}
    tiles = dict(zip(page.locator(".passkit-tile").evaluate_all("ts => ts.map(t => t.dataset.tile)"),
                     page.locator(".passkit-tile-value").all_inner_texts()))
    assert tiles["passes"].replace(",", "") == figures["Passes"]
    assert tiles["per_day"].replace(",", "") == figures["Passes per day (average)"]
    assert tiles["students"].replace(",", "") == figures["Students with a pass"]
    passes = next(Path(server["cache"]).glob("*/passes.parquet"))
    ended = duckdb.sql(f"SELECT minutes FROM '{passes}' WHERE date BETWEEN '{start}' AND '{end}'"
                       " AND minutes IS NOT NULL").df()["minutes"]  # plain SQL on the cache, not passkit's code
    assert tiles["average_length"] == f"{summary.tenth(round(ended.mul(60_000).round().sum()), 60_000 * len(ended))} min"
    assert tiles["average_length"] == f"{figures['Average pass length (minutes)']} min"
    assert tiles["long"].replace(",", "") == figures["Long passes"]  # over each destination's own limit
    shot(page, f"01-tiles-{device}", ".passkit-tiles")


def test_loads_with_the_latest_quarter_saying_it_is_estimated(page):
    shot(page, "01-load")
    assert page.locator(".passkit-preset select").input_value() == "Quarter 4 (estimated)"
    assert "Quarters are estimated" in page.inner_text(".passkit-subtitle")
    assert "passes ·" in page.inner_text(".passkit-state")
    assert page.locator(".passkit-section").count() == len(registry.names("dashboard"))
    alternatives = page.locator(".passkit-section .passkit-chart").evaluate_all(
        "cs => cs.map(c => [c.getAttribute('role'), c.getAttribute('aria-label')])")
    assert all(role == "img" and label.endswith(".") and len(label) > 30 for role, label in alternatives)
    legend = page.evaluate("""() => document.querySelector('.passkit-section-passes_by_student .passkit-chart')
        .passkitView.scale('color').domain()""")
    assert legend == ["Typical", "Outlier"]
    assert "Q3" in page.inner_text(".passkit-section-passes_by_student .passkit-explain")


def test_a_quarter_redraws_daily_passes_with_the_report_values(page, server, tmp_path):
    before = wait_until_drawn(page)
    page.select_option(".passkit-preset select", "Quarter 3 (estimated)")
    page.wait_for_function(f"document.querySelector('.passkit-chart').dataset.revision !== '{before}'")
    wait_until_drawn(page)
    shot(page, "02-quarter-3")
    start, end = shown_range(page)
    drawn = page.eval_on_selector(
        ".passkit-section-daily_passes .passkit-chart",
        "c => c.passkitView.data('data-0').map(r => [r.date, r.grade, r.passes])")
    report = passkit_report(server, start, end, tmp_path / "q3")
    with open(report / "daily_passes.csv", newline="") as handle:
        expected = [[row["date"], row["grade"], int(row["passes"])] for row in csv.DictReader(handle)]
    assert sorted(map(tuple, drawn)) == sorted(map(tuple, expected))
    assert len(expected) > 100


def busiest_dot(page):
    """The busiest student's dot, found in Vega's scenegraph (charts draw on a canvas)."""
    return page.evaluate("""() => {
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


def test_hovering_a_dot_names_the_student_and_clicking_opens_their_passes(page):
    section = page.locator(".passkit-section-passes_by_student")
    section.scroll_into_view_if_needed()
    busiest = busiest_dot(page)
    page.mouse.move(busiest["x"] - 4, busiest["y"] - 4)
    page.mouse.move(busiest["x"], busiest["y"], steps=3)
    tooltip = page.wait_for_selector(".vg-tooltip.visible", timeout=10_000).inner_text()
    shot(page, "03a-hover-student", ".passkit-section-passes_by_student")
    assert busiest["name"] in tooltip and str(busiest["passes"]) in tooltip
    page.mouse.click(busiest["x"], busiest["y"])
    dialog = page.locator(".passkit-drill[data-state=done]")
    dialog.wait_for(timeout=60_000)
    assert page.inner_text("#passkit-drill-title").startswith(busiest["name"])
    assert page.inner_text("#passkit-drill-summary").startswith(f"{busiest['passes']:,} pass")
    page.keyboard.press("Escape")
    page.locator(".passkit-drill-backdrop").wait_for(state="hidden")


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
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")  # the table has redrawn in that order
    first = [int(v.replace(",", "")) for v in column(page, section, "Passes to this room")]
    header.locator("button").press("Enter")  # the keyboard sorts too
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


def screen_rows(page, section):
    """Every row of a section's table as shown (all on one page), with its header."""
    page.locator(f"{section} .passkit-table-size").select_option("500")
    headers = [h.strip() for h in page.locator(f"{section} thead th").all_inner_texts()]
    rows = page.locator(f"{section} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    return headers, rows


def test_a_downloaded_csv_equals_the_table_on_screen_after_a_filter_and_a_sort(page, tmp_path):
    section = ".passkit-section-room_usage"
    table = page.locator(section)
    table.scroll_into_view_if_needed()
    table.locator(".passkit-table-filter").fill("room 2")
    header = table.locator("thead th", has_text="Passes from this room")
    header.locator("button").click()
    header.locator("button").click()  # largest first
    headers, shown = screen_rows(page, section)
    numeric = [("numeric" in (c or "")) for c in table.locator("thead th").evaluate_all("hs => hs.map(h => h.className)")]
    table.locator(".passkit-download-button").click()
    with page.expect_download() as download_info:
        table.locator(".passkit-download-menu button[data-format=csv]").click()
    download = download_info.value
    start, end = shown_range(page)
    assert download.suggested_filename.startswith("room_usage_")
    assert download.suggested_filename.endswith(f"_{start}_{end}_filtered.csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0] == headers == ["Room", "Room folder", "Passes from this room", "Passes to this room"]
    on_screen = [[cell.replace(",", "") if numeric[i] else cell for i, cell in enumerate(row)] for row in shown]
    assert rows[1:] == on_screen and len(on_screen) > 3
    assert [int(row[2]) for row in rows[1:]] == sorted((int(row[2]) for row in rows[1:]), reverse=True)
    shot(page, "04a-rooms-filtered-sorted", section)
    table.locator(".passkit-table-filter").fill("")


def test_the_download_menu_works_from_the_keyboard_and_matches_passkit_report(page, server, tmp_path):
    section = page.locator(".passkit-section-staff_usage")
    section.scroll_into_view_if_needed()
    button = section.locator(".passkit-download-button")
    button.focus()
    page.keyboard.press("ArrowDown")
    menu = section.locator(".passkit-download-menu")
    assert menu.is_visible() and page.evaluate("document.activeElement.dataset.format") == "csv"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.format") == "xlsx"
    shot(page, "04-download-menu", ".passkit-section-staff_usage")
    page.keyboard.press("Escape")
    assert menu.is_hidden() and page.evaluate("document.activeElement.classList.contains('passkit-download-button')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.format") == "csv"
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    saved = Path(download_info.value.path())
    start, end = shown_range(page)
    assert download_info.value.suggested_filename.endswith(f"_{start}_{end}.csv")
    report = passkit_report(server, start, end, tmp_path / "staff")
    mine, theirs = saved.read_text().splitlines(), (report / "staff_usage.csv").read_text().splitlines()
    assert mine[0] == "Staff member / kiosk,Total passes,Now passes,Scheduled passes"  # the screen's labels
    assert mine[1:] == theirs[1:] and len(mine) > 10  # the same rows as passkit report's CSV


def test_a_student_s_passes_open_from_the_keyboard_and_match_the_passes_file(page, server):
    section = page.locator(".passkit-section-frequent_flyers")
    section.scroll_into_view_if_needed()
    section.locator(".passkit-table-toggle").click()
    first = section.locator("tbody tr").first
    first.wait_for()
    student_id, name = first.locator("td").nth(0).inner_text(), first.locator("td").nth(1).inner_text()
    link = first.locator("button.passkit-link")
    link.focus()
    page.keyboard.press("Enter")
    dialog = page.locator(".passkit-drill[data-state=done]")
    dialog.wait_for(timeout=60_000)
    assert page.evaluate("document.activeElement.id") == "passkit-drill-title"  # focus moved into the dialog
    assert page.inner_text("#passkit-drill-title").startswith(name)
    headers, shown = screen_rows(page, ".passkit-drill")
    assert headers == ["Date", "Left at", "Back at", "From", "To", "Minutes"]
    start, end = shown_range(page)
    with open(server["data"] / "passes.csv", newline="") as handle:
        theirs = sorted((row for row in csv.DictReader(handle) if row["student_id"] == student_id
                         and start <= row["start_time"][:10] <= end), key=lambda row: row["start_time"])
    expected = []
    for row in theirs:
        left, back = dt.datetime.fromisoformat(row["start_time"]), row["end_time"]
        ms = (dt.datetime.fromisoformat(back) - left).total_seconds() * 1000 if back else -1
        expected.append([row["start_time"][:10], row["start_time"][11:16], back[11:16], row["origin"],
                         row["destination"], f"{summary.tenth(int(ms), 60_000):g}" if ms >= 0 else ""])
    assert shown == expected and len(expected) > 10
    charts = page.locator(".passkit-drill .passkit-chart").evaluate_all("cs => cs.map(c => !!c.passkitView)")
    assert charts == [True, True]
    shoot = page.locator(".passkit-drill")
    shoot.screenshot(path=str(ARTIFACTS / "05-student-passes.png"))
    page.keyboard.press("Escape")
    page.locator(".passkit-drill-backdrop").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('passkit-link')"), "focus back where it was"


def test_a_room_opens_its_busiest_times_and_students(page, phone):
    for device, where in ((page, "1400"), (phone, "390")):
        section = device.locator(".passkit-section-room_usage")
        section.scroll_into_view_if_needed()
        section.locator("tbody tr button.passkit-link").first.click()
        device.locator(".passkit-drill[data-state=done]").wait_for(timeout=60_000)
        room = device.inner_text("#passkit-drill-title")
        assert room and "busiest hour" in device.inner_text("#passkit-drill-summary")
        assert device.locator(".passkit-drill figcaption").all_inner_texts() == ["Busiest times",
                                                                                   "Leaving and arriving"]
        assert device.evaluate(OVERFLOWING) == []
        device.locator(".passkit-drill").screenshot(path=str(ARTIFACTS / f"06-room-{where}.png"))
        device.locator(".passkit-drill-close").click()
        device.locator(".passkit-drill-backdrop").wait_for(state="hidden")


def test_an_empty_range_says_so(page):
    saturday = next_weekend_day(page.input_value(".passkit-start input"))  # no school, no passes
    page.fill(".passkit-start input", saturday)
    page.fill(".passkit-end input", saturday)
    page.wait_for_selector(".passkit-empty >> visible=true", timeout=30_000)
    shot(page, "07-empty-range")
    assert "No passes" in page.inner_text(".passkit-state")
    assert page.locator(".passkit-section .passkit-chart >> visible=true").count() == 0


def next_weekend_day(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return (date + dt.timedelta(days=(5 - date.weekday()) % 7)).isoformat()


def test_nothing_left_the_machine_no_page_error_and_no_student_data_in_the_log(browser, page, phone, server):
    assert browser.outside == []
    assert browser.errors == []
    log = server["log"].read_text()
    with open(server["data"] / "roster.csv", newline="") as handle:
        names = [row.get("student_name") or row.get("name") for row in csv.DictReader(handle)]
    assert names and not [n for n in names if n and n in log]
    assert TOKEN not in log.split("Dashboard:", 1)[-1].split("\n", 1)[-1]  # printed once, never logged
