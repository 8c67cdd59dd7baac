"""The dashboard's logic without a browser: presets, filters, empty ranges, downloads, refused input."""

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from passkit import charts, dashboard, exports, params, registry, reports
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


def test_presets_count_back_from_the_last_day_with_passes():
    days = weekdays(D(2025, 8, 18), D(2026, 5, 29))
    found = dashboard.presets(days)
    assert found["This week"] == (D(2026, 5, 25), D(2026, 5, 29))
    assert found["Last 30 days"] == (D(2026, 4, 30), D(2026, 5, 29))
    assert found["Whole year"] == (D(2025, 8, 18), D(2026, 5, 29))
    quarters = [found[f"Quarter {n}"] for n in range(1, 5)]
    assert quarters[0][0] == D(2025, 8, 18) and quarters[-1][1] == D(2026, 5, 29)
    for (_, end), (start, _) in zip(quarters, quarters[1:]):
        assert start == end + dt.timedelta(days=1)  # no gaps, no overlaps
    sizes = [len([d for d in days if a <= d <= b]) for a, b in quarters]
    assert max(sizes) - min(sizes) <= 1
    assert dashboard.default_preset(found) == "Quarter 4"


def test_school_quarters_and_older_years():
    days = weekdays(D(2024, 9, 2), D(2024, 12, 20)) + weekdays(D(2025, 8, 18), D(2025, 11, 14))
    found = dashboard.presets(days, params.parse_quarters("2025-08-18,2025-10-20,2026-01-05,2026-03-30"))
    assert found["Quarter 1"] == (D(2025, 8, 18), D(2025, 10, 19))
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


def test_dashboard_command_takes_its_settings_from_a_parameters_file(monkeypatch, demo_folder, tmp_path):
    from passkit import cli, serve

    settings = tmp_path / "year.yaml"
    settings.write_text(f"data: {demo_folder}\ntimezone: America/New_York\ncache: {tmp_path / 'cache'}\n"
                        "quarters:\n  - {start: 2025-08-18, end: 2025-10-17}\n  - {start: 2025-10-20, end: 2025-12-19}\n")
    served = {}
    monkeypatch.setattr(serve, "serve", lambda data, **options: served.update(data=data, **options))
    assert cli.main(["dashboard", str(settings), "--port", "8899"]) == 0
    assert served["data"].timezone == "America/New_York" and served["port"] == 8899
    assert [(q.start, q.end) for q in served["quarters"]] == [(D(2025, 8, 18), D(2025, 10, 17)),
                                                               (D(2025, 10, 20), D(2025, 12, 19))]
    assert cli.main(["dashboard", "--port", "8899"]) == 2  # no data folder: one line, no traceback


def test_a_single_day_of_data_still_has_presets():
    found = dashboard.presets([D(2026, 2, 3)])
    assert found["Quarter 1"] == found["Whole year"] == (D(2026, 2, 3), D(2026, 2, 3))


def test_selection_words_and_file_names():
    chosen = Selection(D(2026, 1, 5), D(2026, 3, 27), "9", "North High")
    assert chosen.describe() == "Jan 5 – Mar 27, 2026 · grade 9 · North High"
    assert chosen.filename("room_usage", "csv") == "room_usage_2026-01-05_2026-03-27_grade-9_north-high.csv"
    assert Selection(D(2025, 12, 1), D(2026, 1, 9)).describe() == "Dec 1, 2025 – Jan 9, 2026"


@pytest.fixture
def app(demo_data):
    return App(demo_data)


def test_opens_on_the_latest_quarter_with_every_section(app, demo_data):
    start, end = app.presets["Quarter 4"]
    assert (app.preset.value, app.start.value, app.end.value) == ("Quarter 4", start, end)
    assert 'data-state="done"' in app.status.value
    expected = reports.passes_by_grade(demo_data, start, end)["passes"].sum()
    assert f"{expected:,} passes" in app.status.value
    assert [s.section.name for s in app.sections] == registry.names("dashboard")
    daily = app.section("daily_passes").view.spec
    rows = daily["datasets"]["data-0"]
    assert sum(r["passes"] for r in rows) == expected
    assert app.school.layout.display == "none"  # one school: no selector


def test_a_preset_moves_the_pickers_and_redraws(app, demo_data):
    revision = app.revision
    app.preset.value = "Quarter 2"
    start, end = app.presets["Quarter 2"]
    assert (app.start.value, app.end.value) == (start, end)
    assert app.revision == revision + 1  # one redraw, not one per picker
    table = reports.room_usage(demo_data, start, end)
    assert_table_sent(app.section("room_usage").view, dashboard.shown_table(table))


def assert_table_sent(view, expected):
    """What the table widget sends the page: column titles, which are numbers (right-aligned and sorted
    as numbers), and every row."""
    assert [c["name"] for c in view.columns] == list(expected.columns)
    numeric = [c["name"] for c in view.columns if c["numeric"]]
    assert numeric == [c for c in expected.columns if expected[c].dtype.kind in "iuf"]
    sent = pd.DataFrame(view.rows, columns=expected.columns)
    pd.testing.assert_frame_equal(sent, expected.reset_index(drop=True), check_dtype=False)


def test_custom_dates_and_grade(app, demo_data):
    app.start.value = D(2026, 2, 2)
    assert app.preset.value == dashboard.CUSTOM
    app.grade.value = "9"
    expected = reports.passes_by_grade(demo_data, D(2026, 2, 2), app.end.value, ["9"])["passes"].sum()
    assert f"{expected:,} passes" in app.status.value and "grade 9" in app.status.value
    app.start.value, app.end.value = app.presets["Quarter 3"]
    assert app.preset.value == "Quarter 3"


def test_an_empty_range_says_so_in_words(app):
    saturday = D(2026, 1, 17)
    app.start.value = saturday
    app.end.value = saturday
    assert "No passes on Sat Jan 17, 2026" in app.status.value
    for view in app.sections:
        assert view.view.layout.display == "none" and view.empty.layout.display is None
        assert "No passes on Sat Jan 17, 2026" in view.empty.value


def test_a_backwards_range_is_explained_not_drawn(app):
    revision = app.revision
    app.end.value = app.start.value - dt.timedelta(days=3)
    assert 'data-state="problem"' in app.status.value and "after the To date" in app.status.value
    assert app.revision == revision


def test_downloads_equal_what_passkit_report_writes(app, demo_data, tmp_path):
    start, end = app.presets["Quarter 4"]
    exports.write_report_folder(Tables(demo_data, start, end), tmp_path)
    staff = app.section("staff_usage")
    name, payload = staff.download("csv")
    assert name == f"staff_usage_{start}_{end}.csv"
    assert payload == (tmp_path / "staff_usage.csv").read_bytes()
    _, workbook = staff.download("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    mine = [[c.value for c in row] for row in sheet.iter_rows()]
    reference = openpyxl.load_workbook(tmp_path / exports.workbook_name(start, end))[registry.get("staff_usage").title]
    assert mine[1:] == [[c.value for c in row] for row in reference.iter_rows()][1:], "below the title row"
    name, png = app.section("daily_passes").download("png")
    assert name.endswith(".png") and png.startswith(b"\x89PNG")


def test_the_download_menu_only_answers_known_formats(app):
    menu = app.section("room_usage").menu  # a report: CSV and XLSX, no picture
    assert menu.formats == ["csv", "xlsx"]
    for bad in (None, "csv", [], {"kind": "download"}, {"kind": "download", "format": "png"},
                {"kind": "download", "format": "../../etc/passwd"}, {"kind": "run", "format": "csv"},
                {"kind": "download", "format": ["csv"]}):
        assert menu.reply(bad) is None
    content, buffers = menu.reply({"kind": "download", "format": "csv"})
    assert content["kind"] == "file" and content["mime"] == "text/csv" and buffers[0].startswith(b"room,")


def test_a_failing_download_says_so_without_details(app):
    def broken(fmt):
        raise KeyError("Luke Cook")

    menu = dashboard.DownloadMenu(("csv",), broken)
    content, buffers = menu.reply({"kind": "download", "format": "csv"})
    assert content == {"kind": "error", "text": "This file could not be made."} and buffers == []


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
    app.start.set_state({"value": {"year": 1900, "month": 0, "date": 1}})
    assert app.start.value == app.days[0]  # clamped into the data
    assert 'data-state="done"' in app.status.value


def test_a_district_gets_a_school_selector(tmp_path):
    from passkit import demo, load

    demo.generate(tmp_path / "district", schools=2, students_per_school=60)
    data = load(tmp_path / "district", cache_dir=tmp_path / "cache")
    app = App(data)
    assert app.school.layout.display is None and len(app.school.options) == 3
    school = app.school.options[1]
    app.school.value = school
    start, end = app.start.value, app.end.value
    expected = reports.staff_usage(data, start, end, schools=[school])
    assert_table_sent(app.section("staff_usage").view, dashboard.shown_table(expected))
    assert school in app.status.value
    name, _ = app.section("staff_usage").download("csv")
    assert name.endswith(".csv") and "_" + school.lower().split()[0] in name


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
    assert isinstance(app.section("daily_passes").view.spec, dict)


def test_shown_tables_use_readable_headers():
    table = pd.DataFrame({"room": ["A"], "passes_to": [3]})
    assert list(dashboard.shown_table(table).columns) == ["Room", "Passes to this room"]


def test_a_district_scatter_draws_outliers_and_an_even_sample():
    table = pd.DataFrame({"student_id": [f"S{i}" for i in range(10_000)], "passes": list(range(10_000)),
                          "outlier": [i >= 9_900 for i in range(10_000)]})
    drawn = charts.plotted_students(table, limit=1_000)
    assert len(drawn) == 1_000 and drawn["outlier"].sum() == 100
    others = drawn.loc[~drawn["outlier"], "passes"]
    assert others.min() == 0 and others.max() == 9_899  # the whole spread, not just the top
    assert list(drawn.index) == sorted(drawn.index)  # the report's order kept
    assert len(charts.plotted_students(table.head(50), limit=1_000)) == 50


def test_presets_are_computed_ahead_unless_the_machine_is_busy(app, monkeypatch):
    cache = dashboard.ReportCache(app.data)
    chosen = [Selection(*app.presets["Quarter 1"]), Selection(*app.presets["Whole year"])]
    monkeypatch.setattr(dashboard.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    cache.warm(chosen).join()
    assert list(cache.kept) == chosen
    monkeypatch.setattr(dashboard.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert dashboard.ReportCache(app.data).warm(chosen) is None  # many pages opening: each computes what it shows
