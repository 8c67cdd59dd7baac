"""The dashboard's logic without a browser: presets, filters, tiles, drill-downs, downloads as shown,
the store of preset screens, and refused requests from the page."""

import csv
import datetime as dt
import io
import json
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from passkit import charts, compare, dashboard, dashboard_data, dashboard_store, exports, params, registry, reports, summary
from passkit.params import prior_range

from .conftest import HEADER, pass_row, write_csv
from passkit.dashboard import App, Selection
from passkit.tables import Tables

D = dt.date


def weekdays(start, end):
    day, found = start, []
    while day <= end:
        if day.weekday() < 5:
            found.append(day)
        day += dt.timedelta(days=1)
    return found


# ---- presets and words ----------------------------------------------------------------------------

def test_presets_count_back_from_the_last_day_with_passes():
    days = weekdays(D(2025, 8, 18), D(2026, 5, 29))
    found = dashboard.presets(days)
    assert found["This week"] == (D(2026, 5, 25), D(2026, 5, 29))
    assert found["Last 30 days"] == (D(2026, 4, 30), D(2026, 5, 29))
    assert found["Whole year"] == (D(2025, 8, 18), D(2026, 5, 29))
    quarters = [found[f"Quarter {n} (estimated)"] for n in range(1, 5)]  # guessed, and saying so
    assert quarters[0][0] == D(2025, 8, 18) and quarters[-1][1] == D(2026, 5, 29)
    for (_, end), (start, _) in zip(quarters, quarters[1:]):
        assert start == end + dt.timedelta(days=1)  # no gaps, no overlaps
    sizes = [len([d for d in days if a <= d <= b]) for a, b in quarters]
    assert max(sizes) - min(sizes) <= 1
    assert dashboard.default_preset(found) == "Quarter 4 (estimated)"


def test_school_quarters_and_older_years():
    days = weekdays(D(2024, 9, 2), D(2024, 12, 20)) + weekdays(D(2025, 8, 18), D(2025, 11, 14))
    found = dashboard.presets(days, params.parse_quarters("2025-08-18,2025-10-20,2026-01-05,2026-03-30"))
    assert found["Quarter 1"] == (D(2025, 8, 18), D(2025, 10, 19))  # the school's own: no "(estimated)"
    assert found["Quarter 2"] == (D(2025, 10, 20), D(2025, 11, 14))
    assert "Quarter 3" not in found  # no data yet
    assert dashboard.default_preset(found) == "Quarter 2"
    assert dashboard.presets(days)["Whole year"][0] == D(2025, 8, 18)  # only this school year


def test_quarters_from_a_parameters_file_keep_their_own_ends():
    days = weekdays(D(2025, 8, 18), D(2026, 5, 29))
    spans = [(D(2025, 8, 18), D(2025, 10, 17)), (D(2025, 10, 20), D(2025, 12, 19)),
             (D(2026, 1, 5), D(2026, 3, 27)), (D(2026, 3, 30), D(2026, 5, 29))]
    file_quarters = params.parse_quarters(",".join(f"{start}..{end}" for start, end in spans))
    found = dashboard.presets(days, file_quarters)
    assert [found[f"Quarter {n}"] for n in range(1, 5)] == spans  # breaks fall between quarters
    assert found["Whole year"] == (D(2025, 8, 18), D(2026, 5, 29))
    text = dashboard.format_quarters(file_quarters)
    assert dashboard.read_quarters(text) == file_quarters  # the form a served kernel reads
    first_days = params.parse_quarters("2025-08-18, 2025-10-20")
    assert [(q.name, q.start, q.end) for q in first_days] == [("Quarter 1", D(2025, 8, 18), D(2025, 10, 19)),
                                                              ("Quarter 2", D(2025, 10, 20), D(2026, 7, 31))]


def test_dashboard_command_prepares_the_presets_and_names_the_school(monkeypatch, demo_folder, tmp_path):
    from passkit import cli, serve

    settings = tmp_path / "year.yaml"
    settings.write_text(f"school: Demo High\ndata: {demo_folder}\ntimezone: America/New_York\n"
                        f"cache: {tmp_path / 'cache'}\nquarters:\n  - {{start: 2025-08-18, end: 2025-10-17}}\n"
                        "  - {start: 2025-10-20, end: 2025-12-19}\n")
    served = {}
    monkeypatch.setattr(serve, "serve", lambda data, **options: served.update(data=data, **options))
    assert cli.main(["dashboard", str(settings), "--port", "8899"]) == 0
    assert served["data"].timezone == "America/New_York" and served["port"] == 8899
    assert [(q.start, q.end) for q in served["quarters"]] == [(D(2025, 8, 18), D(2025, 10, 17)),
                                                               (D(2025, 10, 20), D(2025, 12, 19))]
    assert served["school"] == "Demo High"  # serve() hands it to the kernels (titles and file names)
    store = dashboard_store.StoredSource(served["data"].cache)
    assert dashboard_store.key(Selection(D(2025, 10, 20), D(2025, 12, 19))) in store.files
    assert cli.main(["dashboard", "--port", "8899"]) == 2  # no data folder: one line, no traceback


def test_a_single_day_of_data_still_has_presets():
    found = dashboard.presets([D(2026, 2, 3)])
    assert found["Quarter 1 (estimated)"] == found["Whole year"] == (D(2026, 2, 3), D(2026, 2, 3))


def test_selection_words_titles_and_file_names():
    chosen = Selection(D(2026, 1, 5), D(2026, 3, 27), "9", "North High")
    assert chosen.describe() == "Jan 5 – Mar 27, 2026 · grade 9 · North High"
    assert chosen.caption("District") == "North High · Jan 5 – Mar 27, 2026 · grade 9"  # the chosen school
    assert chosen.filename("room_usage", "csv", "District") == \
        "room_usage_north-high_2026-01-05_2026-03-27_grade-9.csv"
    whole = Selection(D(2025, 12, 1), D(2026, 1, 9))
    assert whole.describe() == "Dec 1, 2025 – Jan 9, 2026"
    assert whole.caption("Demo High") == "Demo High · Dec 1, 2025 – Jan 9, 2026"
    assert whole.filename("staff_usage", "xlsx", "Demo High", filtered=True) == \
        "staff_usage_demo-high_2025-12-01_2026-01-09_filtered.xlsx"
    assert whole.filename("staff_usage", "png") == "staff_usage_2025-12-01_2026-01-09.png"


# ---- pass lengths and tiles, by hand ----------------------------------------------------------------

def test_tiles_equal_the_audit_summary_and_the_pass_lengths(demo_data):
    tables = Tables(demo_data, "2026-01-05", "2026-03-27")
    figures = dict(summary.headline(tables).itertuples(index=False))
    tiles = {tile["key"]: tile for tile in dashboard_data.tiles(tables)}
    assert list(tiles) == ["passes", "per_day", "students", "average_length", "long"]
    assert tiles["passes"]["number"] == figures["Passes"] and tiles["passes"]["value"] == f"{figures['Passes']:,}"
    assert tiles["per_day"]["number"] == figures["Passes per day (average)"]
    assert tiles["students"]["number"] == figures["Students with a pass"]
    assert tiles["average_length"]["number"] == figures["Average pass length (minutes)"]
    assert tiles["long"]["number"] == figures["Long passes"]
    passes = demo_data.con.execute("SELECT minutes FROM passes WHERE date BETWEEN '2026-01-05' AND '2026-03-27'"
                                   " AND minutes IS NOT NULL").df()["minutes"]  # plain SQL, not passkit's code
    assert tiles["average_length"]["number"] == round(passes.mean(), 1)
    moved = compare.changes(tables.get("comparison"))  # the prior period: Q2's weeks before, in the demo's exports
    assert tiles["passes"]["change"] == moved["Passes"] and tiles["per_day"]["change"] == moved[
        "Passes per day (average)"] and tiles["passes"]["change"].endswith("on the prior period ({:,})".format(
            compare.figures(tables.prior)["Passes"]))


def test_without_end_times_there_are_no_length_tiles(tmp_path):
    import passkit

    header = [column for column in HEADER if column != "end_time"]
    write_csv(tmp_path / "data" / "passes.csv", [pass_row(1)[:-1]], header)
    data = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    keys = [tile["key"] for tile in dashboard_data.tiles(Tables(data, "2026-01-05", "2026-01-05"))]
    assert keys == ["passes", "per_day", "students"]


def test_outliers_are_explained_in_words_with_each_grade_s_figures():
    table = pd.DataFrame({"student_id": [f"S{i}" for i in range(5)], "grade": ["9"] * 5,
                          "passes": [1, 2, 3, 4, 100], "outlier": [False] * 4 + [True]})
    # linear quartiles of 1,2,3,4,100: Q1 = 2, Q3 = 4, fence = 4 + 1.5 x 2 = 7
    assert reports.grade_quartiles(table).iloc[0].tolist() == ["9", 5, 2.0, 4.0, 7.0, 1]
    lines = reports.outlier_words(table)
    assert "Q3 by more than 1.5 times" in lines[0]
    assert lines[1] == "Grade 9: half of its 5 students had 2 to 4 passes, so more than 7 is an outlier (1 student)."


# ---- the table view: the page's filter and sort, applied in the kernel -----------------------------------

COLUMNS = [{"name": "Room", "numeric": False}, {"name": "Passes", "numeric": True}]
ROWS = [["Room 10", 1234], ["room 9", 5], ["Gym", None], ["", 5], ["Room 9b", 7.5], ["Library", 1234]]


def test_numbers_are_written_as_the_page_writes_them():
    assert [dashboard_data.format_number(v) for v in (1234, 1234.5, 12.0, 0.005, 2.675, 1_000_000)] == \
        ["1,234", "1,234.5", "12", "0.01", "2.67", "1,000,000"]  # 2.675 is 2.67499... in binary, as in JavaScript


def test_the_filter_matches_cells_as_shown_ignoring_case():
    view = {"column": None, "descending": False, "filter": "ROOM"}
    assert dashboard_data.arrange(COLUMNS, ROWS, view) == [0, 1, 4]
    assert dashboard_data.arrange(COLUMNS, ROWS, {**view, "filter": "1,23"}) == [0, 5]  # "1,234" on screen
    assert dashboard_data.arrange(COLUMNS, ROWS, {**view, "filter": "1234"}) == []
    assert dashboard_data.arrange(COLUMNS, ROWS, {**view, "filter": ""}) == [0, 1, 2, 3, 4, 5]


def test_sorting_is_natural_stable_and_puts_blanks_last_either_way():
    up = {"column": 0, "descending": False, "filter": ""}
    assert [ROWS[i][0] for i in dashboard_data.arrange(COLUMNS, ROWS, up)] == \
        ["Gym", "Library", "room 9", "Room 9b", "Room 10", ""]  # 9 before 10, case ignored, blank last
    assert [ROWS[i][0] for i in dashboard_data.arrange(COLUMNS, ROWS, {**up, "descending": True})] == \
        ["Room 10", "Room 9b", "room 9", "Library", "Gym", ""]
    by_passes = dashboard_data.arrange(COLUMNS, ROWS, {"column": 1, "descending": True, "filter": ""})
    assert by_passes == [0, 5, 4, 1, 3, 2]  # ties (1234, 5) keep the report's order; no number last
    assert dashboard_data.arrange(COLUMNS, ROWS, {"column": 1, "descending": False, "filter": ""}) == [1, 3, 4, 0, 5, 2]


def test_a_malformed_view_is_refused():
    good = {"column": 1, "descending": True, "filter": "a"}
    assert dashboard_data.checked_view(good, COLUMNS) == good
    for bad in ({"column": 2}, {"column": -1}, {"column": "1"}, {"column": True}, {"descending": "yes"},
                {"filter": 3}, {"filter": "x" * 201}, {"column": 0, "code": "1"}, [], "view"):
        assert dashboard_data.checked_view(bad, COLUMNS) is None, bad
    assert dashboard_data.view_words(COLUMNS, good) == 'rows containing "a", sorted by Passes, largest first'


# ---- the page -----------------------------------------------------------------------------------------

@pytest.fixture
def app(demo_data):
    return App(demo_data, school="Demo High")


def sent(widget):
    """Record what the kernel sends a widget's page (custom messages), as the page would receive it."""
    messages = []
    widget.send = lambda content, buffers=None: messages.append((content, buffers or []))
    return messages


def test_opens_on_the_latest_quarter_with_tiles_and_every_section(app, demo_data):
    start, end = app.presets["Quarter 4 (estimated)"]
    assert (app.preset.value, app.start.value, app.end.value) == ("Quarter 4 (estimated)", start, end)
    assert 'data-state="done"' in app.status.value
    expected = reports.passes_by_grade(demo_data, start, end)["passes"].sum()
    assert f"{expected:,} passes" in app.status.value
    assert 'data-tile="passes"' in app.tiles.value and f">{expected:,}<" in app.tiles.value
    assert [s.name for s in app.sections] == registry.names("dashboard")
    daily = app.section("daily_passes")
    assert sum(r["passes"] for r in daily.spec["datasets"]["data-0"]) == expected
    assert daily.spec["width"] == "container" and daily.spec["description"] == daily.summary  # its text alternative
    assert daily.summary.startswith(f"{expected:,} passes over ")
    assert app.school.layout.display == "none"  # one school: no selector
    for section in app.sections:
        assert section.state == "shown" and section.summary.endswith(".")
    assert app.section("passes_by_student").explain[1].startswith("Grade 9: half of its")


def test_a_preset_moves_the_pickers_and_redraws(app, demo_data):
    revision = app.revision
    app.preset.value = "Quarter 2 (estimated)"
    start, end = app.presets["Quarter 2 (estimated)"]
    assert (app.start.value, app.end.value) == (start, end)
    assert app.revision == revision + 1  # one redraw, not one per picker
    assert_table_sent(app.section("room_usage"), registry.get("room_usage"), reports.room_usage(demo_data, start, end))


def assert_table_sent(view, entry, expected):
    """What a table section sends the page: column labels, which are numbers, and every row."""
    assert [c["name"] for c in view.columns] == [entry.labels[c] for c in expected.columns]
    numeric = [c["name"] for c in view.columns if c["numeric"]]
    assert numeric == [entry.labels[c] for c in expected.columns if expected[c].dtype.kind in "iuf"]
    received = pd.DataFrame(view.rows, columns=expected.columns)
    pd.testing.assert_frame_equal(received, expected.reset_index(drop=True), check_dtype=False)


def test_custom_dates_and_grade(app, demo_data):
    app.start.value = D(2026, 2, 2)
    assert app.preset.value == dashboard.CUSTOM
    app.grade.value = "9"
    expected = reports.passes_by_grade(demo_data, D(2026, 2, 2), app.end.value, ["9"])["passes"].sum()
    assert f"{expected:,} passes" in app.status.value and "grade 9" in app.status.value
    app.start.value, app.end.value = app.presets["Quarter 3 (estimated)"]
    assert app.preset.value == "Quarter 3 (estimated)"


def test_an_empty_range_says_so_in_words(app):
    saturday = D(2026, 1, 17)
    app.start.value = saturday
    app.end.value = saturday
    assert "No passes on Sat Jan 17, 2026" in app.status.value
    for view in app.sections:
        assert view.state == "empty" and "No passes on Sat Jan 17, 2026" in view.message


def test_a_backwards_range_is_explained_not_drawn(app):
    revision = app.revision
    app.end.value = app.start.value - dt.timedelta(days=3)
    assert 'data-state="problem"' in app.status.value and "after the To date" in app.status.value
    assert app.revision == revision


# ---- downloads -----------------------------------------------------------------------------------------

def test_downloads_carry_the_screen_s_labels_range_and_school(app, demo_data, tmp_path):
    start, end = app.start.value, app.end.value
    exports.write_report_folder(Tables(demo_data, start, end), tmp_path)
    staff = app.section("staff_usage")
    name, payload = staff.download("csv")
    assert name == f"staff_usage_demo-high_{start}_{end}.csv"
    machine = (tmp_path / "staff_usage.csv").read_text().splitlines()
    labelled = payload.decode().splitlines()
    assert labelled[0] == "Staff member / kiosk,Total passes,Now passes,Scheduled passes"  # as on screen
    assert machine[0] == "issuer,total_passes,now_passes,scheduled_passes"  # passkit report keeps machine names
    assert labelled[1:] == machine[1:]
    _, workbook = staff.download("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    mine = [[c.value for c in row] for row in sheet.iter_rows()]
    assert mine[0][0] == f"Staff Usage · Demo High · {dashboard.format_range(start, end)}"
    reference = openpyxl.load_workbook(tmp_path / exports.workbook_name(start, end))[registry.get("staff_usage").title]
    assert mine[1:] == [[c.value for c in row] for row in reference.iter_rows()][1:], "below the title row"
    name, png = app.section("daily_passes").download("png")
    assert name == f"daily_passes_demo-high_{start}_{end}.png" and png.startswith(b"\x89PNG")
    titled = dashboard_data.picture_spec(registry.get("daily_passes"), Tables(demo_data, start, end).get(
        "daily_passes"), f"Daily Passes · {Selection(start, end).caption('Demo High')}")
    assert titled["title"] == {"text": "Daily Passes", "subtitle": f"Demo High · {dashboard.format_range(start, end)}",
                               "anchor": "start"}


def test_a_download_applies_the_page_s_filter_and_sort(app):
    rooms = app.section("room_usage")
    view = {"column": 2, "descending": True, "filter": "room 1"}  # Passes from this room, largest first
    name, payload = rooms.download("csv", view)
    assert name.endswith("_filtered.csv")
    rows = list(csv.reader(io.StringIO(payload.decode())))
    assert rows[0] == ["Room", "Room folder", "Passes from this room", "Passes to this room"]
    shown = [rooms.rows[i] for i in dashboard_data.arrange(rooms.columns, rows=rooms.rows, view=view)]
    assert [[str(v) for v in row] for row in shown] == rows[1:] and len(rows) > 3
    assert all("room 1" in row[0].lower() for row in rows[1:])
    passes = [int(row[2]) for row in rows[1:]]
    assert passes == sorted(passes, reverse=True)
    _, workbook = rooms.download("xlsx", view)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    assert sheet["A1"].value.endswith('rows containing "room 1", sorted by Passes from this room, largest first')
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=3)] == [
        [row[0], row[1], int(row[2]), int(row[3])] for row in rows[1:]]


def test_requests_from_the_page_are_checked(app):
    rooms, daily = app.section("room_usage"), app.section("daily_passes")  # a table: CSV and XLSX, no picture
    assert rooms.formats == ["csv", "xlsx"]
    check = dashboard.checked_request
    for bad in (None, "csv", [], {"kind": "download"}, {"kind": "download", "format": "png"},
                {"kind": "download", "format": "../../etc/passwd"}, {"kind": "run", "format": "csv"},
                {"kind": "download", "format": ["csv"]}, {"kind": "download", "format": "csv", "view": "all"},
                {"kind": "table", "open": True}, {"kind": "close"}, {"kind": "pick", "row": 10_000},
                {"kind": "pick", "row": "1"}, {"kind": "pick", "row": True}, {"kind": "pick", "datum": {}}):
        assert check(bad, rooms) is None, bad
    for bad in ({"kind": "table", "open": "yes"}, {"kind": "pick", "row": 0},
                {"kind": "pick", "datum": {"student_id": "S1"}}):
        assert check(bad, daily) is None, bad  # daily passes picks nothing
    flyers = app.section("frequent_flyers")
    for bad in ({"kind": "pick", "datum": {"student_id": 5}}, {"kind": "pick", "datum": {"student_id": "x" * 201}},
                {"kind": "pick", "datum": {"student_id": "S1", "sql": "drop"}}, {"kind": "pick", "datum": "S1"}):
        assert check(bad, flyers) is None, bad
    assert check({"kind": "pick", "datum": {"student_id": "S1"}}, flyers)["target"] == ("student", "", "S1")
    assert check({"kind": "pick", "row": 0}, rooms)["target"] == ("room", "", rooms.rows[0][0])
    messages = sent(rooms)
    app.answer(rooms, {"kind": "download", "format": "csv", "view": {"column": 9}})
    assert messages == [({"kind": "error", "text": "This download request was not understood."}, [])]
    app.answer(rooms, {"kind": "download", "format": "csv", "view": None})
    assert messages[-1][0]["kind"] == "file" and messages[-1][1][0].startswith(b"Room,")


def test_a_failing_request_says_so_without_details(app, monkeypatch):
    def broken(selection):
        raise KeyError("Luke Cook")

    monkeypatch.setattr(app.source, "tables", broken)
    staff, flyers = app.section("staff_usage"), app.section("frequent_flyers")
    messages = sent(staff)
    app.answer(staff, {"kind": "download", "format": "csv", "view": None})
    assert messages == [({"kind": "error", "text": "This file could not be made."}, [])]
    flyer_messages = sent(flyers)
    app.answer(flyers, {"kind": "pick", "datum": {"student_id": "S1"}})
    assert app.drill.message == "This could not be shown." and "Luke" not in json.dumps(flyer_messages)


def test_malformed_widget_messages_are_refused(app):
    """What the kernel does with a comm message from the page: the app keeps working."""
    before = (app.start.value, app.preset.value)
    for state in ({"value": "not a date"}, {"value": {"year": "x"}}, {"value": [1, 2]}):
        with pytest.raises(Exception):
            app.start.set_state(state)
    assert (app.start.value, app.preset.value) == before
    with pytest.raises(Exception):
        app.preset.set_state({"index": 999})
    assert app.preset.value == before[1]
    rooms = app.section("room_usage")
    rooms.set_state({"formats": ["png"], "pick": "student", "rows": [["x"]], "kind": "graph"})
    assert (rooms.formats, rooms.pick, rooms.kind) == (["csv", "xlsx"], "room", "table") and len(rooms.rows) > 10
    app.start.set_state({"value": {"year": 1900, "month": 0, "date": 1}})
    assert app.start.value == app.days[0]  # clamped into the data
    assert 'data-state="done"' in app.status.value


# ---- drill-downs ---------------------------------------------------------------------------------------

def test_a_student_s_passes_open_from_a_bar_a_dot_or_a_row(app, demo_folder):
    flyers = app.section("frequent_flyers")
    top = flyers.spec["datasets"]["data-0"][0]
    app.answer(flyers, {"kind": "pick", "datum": {"student_id": top["student_id"]}})
    drill = app.drill
    assert drill.visible and not drill.loading and drill.title.startswith(top["student_name"])
    start, end = app.start.value, app.end.value
    with open(demo_folder / "passes.csv", newline="") as handle:
        theirs = [row for row in csv.DictReader(handle) if row["student_id"] == top["student_id"]
                  and start.isoformat() <= row["start_time"][:10] <= end.isoformat()]
    theirs.sort(key=lambda row: row["start_time"])
    assert len(drill.rows) == len(theirs) == top["passes"]
    for shown, row in zip(drill.rows, theirs):
        minutes = None
        if row["end_time"]:
            seconds = (dt.datetime.fromisoformat(row["end_time"]) - dt.datetime.fromisoformat(row["start_time"]))
            minutes = summary.tenth(int(seconds.total_seconds() * 1000), 60_000) if seconds.total_seconds() >= 0 else None
        assert shown == [row["start_time"][:10], row["start_time"][11:16], row["end_time"][11:16],
                         row["origin"], row["destination"], minutes]
    assert [chart["title"] for chart in drill.charts] == ["When they leave", "Where they go"]
    assert sum(v["passes"] for v in drill.charts[0]["spec"]["data"]["values"]) == len(theirs)
    app.answer(drill, {"kind": "close"})
    assert not drill.visible
    flyers_table = app.section("frequent_flyers")
    app.answer(flyers_table, {"kind": "table", "open": True})  # the chart's numbers, with names to click
    assert flyers_table.table_open and flyers_table.rows[0][1] == top["student_name"] and flyers_table.pick == "student"
    app.answer(flyers_table, {"kind": "pick", "row": 0})
    assert drill.visible and drill.title.startswith(top["student_name"]) and len(drill.rows) == len(theirs)
    name, payload = app.download(drill, "csv", {"column": 5, "descending": True, "filter": ""})
    assert name.startswith("student_") and payload.decode().startswith("Date,Left at,Back at,From,To,Minutes\n")


def test_a_room_shows_its_busiest_times_and_students(app, demo_data):
    rooms = app.section("room_usage")
    app.answer(rooms, {"kind": "pick", "row": 0})
    drill, room = app.drill, rooms.rows[0][0]
    assert drill.title == room and [chart["title"] for chart in drill.charts] == ["Busiest times", "Leaving and arriving"]
    start, end = app.start.value, app.end.value
    usage = reports.room_usage(demo_data, start, end).set_index("room").loc[room]
    assert sum(row[3] for row in drill.rows) == usage["passes_from"]
    assert sum(row[4] for row in drill.rows) == usage["passes_to"]
    heat = drill.charts[0]["spec"]["data"]["values"]
    assert sum(cell["passes"] for cell in heat) == usage["passes_from"] + usage["passes_to"]
    student = drill.rows[0]
    app.answer(drill, {"kind": "pick", "row": 0})  # a student of the room opens their passes
    assert drill.title.startswith(student[0]) and drill.subtitle == f"Student ID {student[1]}"


def test_a_student_with_no_passes_in_the_range_says_so(app):
    app.open_detail("student", "", "no-such-student")
    assert app.drill.visible and app.drill.message.startswith("No passes from ") and not app.drill.rows


# ---- districts, parameters and the store -------------------------------------------------------------------

def test_a_district_gets_a_school_selector(demo_district):
    app = App(demo_district, school="district")
    assert app.school.layout.display is None and len(app.school.options) == 4
    school = app.school.options[1]
    app.school.value = school
    start, end = app.start.value, app.end.value
    assert_table_sent(app.section("staff_usage"), registry.get("staff_usage"),
                      reports.staff_usage(demo_district, start, end, schools=[school]))
    assert school in app.status.value
    name, _ = app.section("staff_usage").download("csv")
    assert name.startswith("staff_usage_" + school.lower().split()[0])
    app.school.value = dashboard.ALL_SCHOOLS
    rooms = app.section("room_usage")
    assert rooms.columns[0]["name"] == "School" and rooms.table["key_columns"] == [0, 1]
    app.answer(rooms, {"kind": "pick", "row": 0})
    assert app.drill.title == f"{rooms.rows[0][1]} · {rooms.rows[0][0]}"


def test_from_parameters_needs_some_data(monkeypatch):
    monkeypatch.delenv(dashboard.ENV_CACHE, raising=False)
    with pytest.raises(dashboard.PasskitError, match="no data"):
        App.from_parameters()


def test_from_parameters_opens_a_folder(demo_folder, tmp_path):
    app = App.from_parameters(data_dir=demo_folder, quarters="2025-08-18,2025-10-20,2026-01-05,2026-03-30",
                              cache_dir=tmp_path)
    assert app.presets["Quarter 3"] == (D(2026, 1, 5), D(2026, 3, 29))
    app = App.from_parameters(data_dir=demo_folder, quarters="2026-01-05..2026-03-27", cache_dir=tmp_path)
    assert app.presets["Quarter 1"] == (D(2026, 1, 5), D(2026, 3, 27))
    assert isinstance(app.section("daily_passes").spec, dict)


def test_the_store_holds_the_presets_as_a_kernel_would_compute_them(demo_data):
    data = demo_data
    folder = dashboard_store.prepare(data)
    meta = json.loads((folder / "meta.json").read_text())
    days = [D.fromisoformat(day) for day in meta["days"]]
    assert len(meta["screens"]) == len(set(dashboard.presets(days).values()))
    stored = dashboard_store.StoredSource(data.cache)
    live = dashboard_data.LiveSource(data)
    assert stored.facts == {**live.facts, "format": dashboard_store.FORMAT,
                            "screen_format": dashboard_data.SCREEN_FORMAT}
    options = dashboard.presets(days)
    span = options["Quarter 2 (estimated)"]
    quarter = Selection(*span, prior=prior_range(*span, dashboard.quarter_presets(options)))  # as the page picks
    assert stored._stored(quarter) == json.loads(json.dumps(live.screen(quarter)))
    assert stored._live is None  # presets never needed the kernel's own computing
    custom = Selection(D(2026, 2, 2), D(2026, 2, 6), "10")
    assert stored._stored(custom) is None and stored.screen(custom)["passes"] == live.screen(custom)["passes"]


def test_a_served_kernel_shows_the_presets_without_pandas_or_duckdb(demo_data):
    """The kernel of a page as `passkit dashboard` starts it: it reads the store and nothing more."""
    dashboard_store.prepare(demo_data)
    code = ("import sys\nfrom passkit.dashboard import App\napp = App.from_parameters()\n"
            "print(app.status.value)\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'duckdb', 'narwhals', 'altair', 'pyarrow')))")
    env = {**dashboard.os.environ, dashboard.ENV_CACHE: str(demo_data.cache), dashboard.ENV_SCHOOL: "Demo High"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    status, heavy = out.strip().splitlines()
    assert 'data-state="done"' in status and " passes · " in status
    assert heavy == "[]"


def test_a_district_scatter_draws_outliers_and_an_even_sample():
    table = pd.DataFrame({"student_id": [f"S{i}" for i in range(10_000)], "passes": list(range(10_000)),
                          "outlier": [i >= 9_900 for i in range(10_000)]})
    drawn = charts.plotted_students(table, limit=1_000)
    assert len(drawn) == 1_000 and drawn["outlier"].sum() == 100
    others = drawn.loc[~drawn["outlier"], "passes"]
    assert others.min() == 0 and others.max() == 9_899  # the whole spread, not just the top
    assert list(drawn.index) == sorted(drawn.index)  # the report's order kept
    assert len(charts.plotted_students(table.head(50), limit=1_000)) == 50


def test_tiles_are_escaped_and_leave_room_for_a_change():
    html = dashboard.tiles_html([{"key": "passes", "label": "<b>Passes</b>", "value": "1", "detail": "x",
                                  "change": "+5% on the prior period"}])
    assert "&lt;b&gt;Passes&lt;/b&gt;" in html and 'class="passkit-tile-change">+5% on the prior period<' in html
