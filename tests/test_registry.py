"""The report registry: one declaration makes a report appear in every front-end."""

import json

import narwhals as nw
import openpyxl
import pandas as pd
import pytest

from passkit import cli, dashboard, registry
from passkit.errors import PasskitError
from passkit.registry import Column, Option
from passkit.tables import Tables, collect

Q3 = ["--start", "2026-01-05", "--end", "2026-03-27"]


def by_weekday(tables) -> pd.DataFrame:
    """A toy report: passes per weekday, Monday first."""
    counts = collect(tables.passes.group_by("date").agg(passes=nw.len()))
    weekday = pd.to_datetime(counts["date"]).dt.day_name()
    table = counts.groupby(weekday)["passes"].sum()
    order = [day for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
             if day in table.index]
    scale = tables.options["toy_scale"]
    return pd.DataFrame({"weekday": pd.Series(order, dtype="str"),
                         "passes": pd.Series([int(table[day]) * scale for day in order], dtype="int64")})


def weekday_chart(table):
    import altair as alt

    return alt.Chart(alt.Data(values=table.to_dict("records")), title="Toy").mark_bar().encode(x="weekday:N",
                                                                                              y="passes:Q")


@pytest.fixture
def toy():
    entry = registry.register(registry.Report(
        "toy_weekdays", "Toy Passes by Weekday", "Passes on each day of the week (a test's report).",
        (Column("weekday", "Day of the week", "text"), Column("passes", "Passes", "int")), by_weekday,
        guidance="- A toy.", chart=weekday_chart, options=(Option("toy_scale", 1, "multiplies the toy's counts"),)))
    yield entry
    registry.unregister(entry.name)


def test_a_registered_report_is_in_passkit_report_s_folder(toy, demo_folder, tmp_path):
    out = tmp_path / "report"
    assert cli.main(["report", "--data", str(demo_folder), *Q3, "--out", str(out), "--cache", str(tmp_path / "c"),
                     "--toy-scale", "3"]) == 0
    table = pd.read_csv(out / "toy_weekdays.csv")
    assert list(table.columns) == ["weekday", "passes"] and table["weekday"].iloc[0] == "Monday"
    passes = json.loads((out / "load_summary.json").read_text())["passes_in_range"]
    assert table["passes"].sum() == 3 * passes, "its option came from the command line"
    sheet = openpyxl.load_workbook(out / "reports-2026-01-05-to-2026-03-27.xlsx")["Toy Passes by Weekday"]
    assert [cell.value for cell in sheet[2]] == ["Day of the week", "Passes"]


@pytest.mark.slow
def test_a_registered_report_gets_an_audit_page_card_and_sheet(toy, demo_folder, tmp_path):
    out = tmp_path / "audit"
    assert cli.main(["audit", "--data", str(demo_folder), *Q3, "--out", str(out), "--cache", str(tmp_path / "c")]) == 0
    index = (out / "index.html").read_text()
    assert 'href="toy_weekdays.html"' in index and "Passes on each day of the week (a test&#39;s report)." in index
    page = (out / "toy_weekdays.html").read_text()
    assert "Toy Passes by Weekday" in page and "Day of the week" in page and "A toy." in page
    assert (out / "toy_weekdays.png").read_bytes()[:4] == b"\x89PNG"
    assert "Toy Passes by Weekday" in openpyxl.load_workbook(out / "reports-2026-01-05-to-2026-03-27.xlsx").sheetnames
    ran = {run["name"]: run["status"] for run in json.loads((out / "manifest.json").read_text())["notebooks"]}
    assert ran["toy_weekdays"] == "ok", "the generic notebook ran the report that has none of its own"


def test_a_registered_report_is_a_dashboard_section(toy, demo_data):
    app = dashboard.App(demo_data)
    section = app.section("toy_weekdays")
    assert section.title == "Toy Passes by Weekday" and section.formats == ["csv", "xlsx", "png"]
    rows = next(iter(section.spec["datasets"].values()))
    start, end = app.start.value, app.end.value
    assert sum(row["passes"] for row in rows) == Tables(demo_data, start, end).passes_in_range
    name, payload = section.download("csv")
    assert name.startswith("toy_weekdays_") and payload.startswith(b"Day of the week,Passes\n")


def test_a_report_that_returns_other_columns_is_caught(demo_data):
    entry = registry.register(registry.Report("toy_wrong", "Wrong", "Declares one column, returns another.",
                                              (Column("passes", "Passes", "int"),),
                                              lambda tables: pd.DataFrame({"count": [1]})))
    try:
        with pytest.raises(AssertionError, match="declared"):
            Tables(demo_data, "2026-01-05", "2026-01-09").get("toy_wrong")
    finally:
        registry.unregister(entry.name)


def test_reports_needing_missing_columns_say_why(demo_data):
    class WithoutStaff:  # what a SmartPass export gives: no creator, issuer or pass type
        passes, students, rooms, staff = demo_data.passes, demo_data.students, demo_data.rooms, demo_data.staff
        bells = demo_data.bells
        keep_apart = demo_data.keep_apart
        columns_missing = frozenset({"created_by", "issuer", "pass_type", "pass_id"})

    tables = Tables(WithoutStaff(), "2026-01-05", "2026-03-27")
    assert tables.unavailable == {"staff_usage": "the export has no creator or issuer column",
                                  "staff_changes": "the export has no creator or issuer column"}
    assert "staff_usage" not in tables.all() and "room_usage" in tables.all()
    with pytest.raises(PasskitError, match="Staff Usage cannot be made"):
        tables.get("staff_usage")


def test_unknown_names_and_options_are_one_line_errors(demo_data):
    with pytest.raises(PasskitError, match="no report named 'nope'"):
        registry.get("nope")
    with pytest.raises(PasskitError, match="unknown report option 'nope'"):
        Tables(demo_data, "2026-01-05", "2026-01-09", options={"nope": 1})


def test_every_registered_report_declares_what_the_front_ends_need():
    for entry in registry.all_reports():
        assert entry.title and entry.description and entry.columns, entry.name
        assert entry.description.endswith(".") and "\n" not in entry.description, entry.name
        assert len(entry.title) <= 31, "a workbook sheet's title"
        if "page" in entry.outputs:
            assert entry.guidance, f"{entry.name}: an audit page says what to look for"


def test_every_chart_is_valid_vega_lite(demo_data):
    tables = Tables(demo_data, "2026-01-05", "2026-03-27")
    for entry in registry.all_reports():
        if entry.chart is not None and entry.name not in tables.unavailable:
            entry.draw(tables.get(entry.name)).to_dict(validate=True)  # raises on a schema error


def test_a_report_may_limit_its_workbook_sheet(tmp_path):
    import dataclasses

    from passkit import exports

    entry = dataclasses.replace(registry.get("passes_by_grade"), sheet_rows=2)
    table = pd.DataFrame({"grade": ["9", "10", "11"], "passes": [5, 4, 3]})
    capped = exports.sheet(entry, table, "Demo High")
    assert len(capped.table) == 2 and capped.heading == (
        "Demo High · Total Passes by Grade · the first 2 of 3 rows; all of them are in passes_by_grade.csv")
    exports.write_xlsx([capped], tmp_path / "book.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "book.xlsx").active.values)
    assert rows[0][0] == capped.heading and [row[1] for row in rows[2:]] == [5, 4]
    assert exports.sheet(entry, table.head(2)).heading == "", "within its limit, a sheet as any other"
    assert registry.get("encounters").sheet_rows == 100_000
