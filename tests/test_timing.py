"""Time out of class: pass length, long passes, time of day and bell periods, each against hand-computed tables."""

import json

import openpyxl
import pandas as pd
import pytest

import passkit
from passkit import charts, dashboard, notebook, registry, reports, summary
from passkit.cli import main
from passkit.errors import PasskitError
from passkit.tables import Tables
from passkit.timing import long_passes, pass_length, passes_by_period, time_of_day

from .conftest import HEADER, pass_row, write_csv

NEW = ("pass_length", "long_passes", "time_of_day", "passes_by_period")
ROOMS = (["room", "folder", "max_minutes"], [["Nurse", "Health", "40"], ["Room 101", "Science", ""]])
MONDAY = "2026-01-05"


def at(day, hhmm, seconds="00"):
    return f"{day}T{hhmm}:{seconds}"


# Six passes on Monday 2026-01-05 (students S1, S2: grade 9; S3: grade 10). Timed lengths 5, 20, 30, 45.
SMALL = [
    pass_row(1, "S1", at(MONDAY, "09:00"), at(MONDAY, "09:05")),  # 5
    pass_row(2, "S2", at(MONDAY, "09:10"), at(MONDAY, "09:30")),  # 20: over the default 15
    pass_row(3, "S3", at(MONDAY, "10:00"), at(MONDAY, "10:30"), grade="10", origin="Room 102", destination="Nurse"),
    pass_row(4, "S3", at(MONDAY, "11:00"), at(MONDAY, "11:45"), grade="10", origin="Room 102", destination="Nurse"),
    pass_row(5, "S1", at(MONDAY, "12:00"), ""),  # never ended
    pass_row(6, "S2", at(MONDAY, "13:00"), at(MONDAY, "12:50"), origin="Room 102"),  # ended before it started
]


@pytest.fixture
def small(folder):
    return folder(SMALL, rooms=ROOMS)


def rows(table, by):
    return table[table["by"] == by].drop(columns="by").set_index("key").to_dict("index")


# ---- pass length ------------------------------------------------------------------------------------

def test_pass_length_by_hand(small):
    table = pass_length(small, MONDAY, MONDAY)
    assert list(table.columns) == ["by", "key", "passes", "timed_passes", "minutes_total", "minutes_mean",
                                   "minutes_median", "minutes_p90", "long_passes"]
    assert table["by"].tolist() == ["all", "grade", "grade", "destination", "destination", "origin", "origin", "issuer"]
    # all: 6 passes, timed 5, 20, 30, 45; median (20 + 30) / 2; p90 at 0.9 x 3 = 2.7: 30 + 0.7 x 15 = 40.5
    assert rows(table, "all") == {"all": dict(passes=6, timed_passes=4, minutes_total=100.0, minutes_mean=25.0,
                                              minutes_median=25.0, minutes_p90=40.5, long_passes=2)}
    nine = dict(passes=4, timed_passes=2, minutes_total=25.0, minutes_mean=12.5, minutes_median=12.5,
                minutes_p90=18.5, long_passes=1)  # 5 and 20: p90 = 5 + 0.9 x 15
    ten = dict(passes=2, timed_passes=2, minutes_total=75.0, minutes_mean=37.5, minutes_median=37.5,
               minutes_p90=43.5, long_passes=1)  # 30 and 45, the nurse's limit 40
    assert rows(table, "grade") == {"9": nine, "10": ten}
    assert list(rows(table, "destination")) == ["Restroom A", "Nurse"], "most passes first"
    assert rows(table, "destination") == {"Restroom A": nine, "Nurse": ten}
    assert rows(table, "origin") == {  # a tie on passes: by name
        "Room 101": dict(nine, passes=3), "Room 102": dict(ten, passes=3)}
    assert rows(table, "issuer")["(no issuer)"]["passes"] == 6


def test_pass_length_is_written_to_a_tenth(small, tmp_path):
    table = pass_length(small, MONDAY, MONDAY, grades=["9"])
    assert table.loc[0, "minutes_p90"] == pytest.approx(18.5)
    folder = tmp_path / "out"
    assert main(["report", "--data", str(tmp_path / "data"), "--start", MONDAY, "--end", MONDAY, "--out", str(folder),
                 "--cache", str(tmp_path / "cache"), "--grade", "10"]) == 0
    written = pd.read_csv(folder / "pass_length.csv", dtype=str, keep_default_na=False)
    assert written.iloc[0].tolist() == ["all", "all", "2", "2", "75.0", "37.5", "37.5", "43.5", "1"]


def test_a_pass_across_the_spring_forward_change_counts_its_true_length(folder):
    # America/Chicago: 2026-03-08 02:00 does not exist; 01:50 to 03:10 on the wall is 20 real minutes.
    # 2025-11-02: 01:50 CDT to 01:10 CST is 20 real minutes too, though its end reads earlier on the wall.
    data = folder([pass_row(1, start="2026-03-08T01:50:00", end="2026-03-08T03:10:00"),
                   pass_row(2, start="2025-11-02T01:50:00-05:00", end="2025-11-02T01:10:00-06:00")])
    spring = pass_length(data, "2026-03-08", "2026-03-08")
    assert rows(spring, "all")["all"]["minutes_total"] == 20.0 and rows(spring, "all")["all"]["long_passes"] == 1
    autumn = pass_length(data, "2025-11-02", "2025-11-02")
    assert rows(autumn, "all")["all"]["minutes_total"] == 20.0 and rows(autumn, "all")["all"]["timed_passes"] == 1
    assert time_of_day(data, "2026-03-08", "2026-03-08").values.tolist() == [["Sunday", "01:45", 1]]


def test_a_pass_across_midnight_belongs_to_the_day_it_started(folder):
    data = folder([pass_row(1, start=at(MONDAY, "23:50"), end="2026-01-06T00:10:00")])
    assert rows(pass_length(data, MONDAY, MONDAY), "all")["all"]["minutes_total"] == 20.0
    assert pass_length(data, "2026-01-06", "2026-01-06")["passes"].tolist() == [0]
    assert time_of_day(data, MONDAY, MONDAY).values.tolist() == [["Monday", "23:45", 1]]
    assert long_passes(data, MONDAY, MONDAY)[["pass_id", "minutes", "reason"]].values.tolist() == [
        ["1", 20.0, "over 15 min"]]


def test_an_empty_range(small):
    empty = {name: registry.analyst_function(registry.get(name))(small, "2026-02-01", "2026-02-07")
             for name in NEW if name != "passes_by_period"}
    lengths = empty["pass_length"]
    assert lengths[["by", "key", "passes", "timed_passes", "minutes_total", "long_passes"]].values.tolist() == [
        ["all", "all", 0, 0, 0.0, 0]]
    assert lengths[["minutes_mean", "minutes_median", "minutes_p90"]].isna().all(axis=None)
    assert len(empty["long_passes"]) == 0 and len(empty["time_of_day"]) == 0
    figures = dict(summary.headline(Tables(small, "2026-02-01", "2026-02-07")).itertuples(index=False))
    assert figures["Long passes"] == 0 and "Average pass length (minutes)" not in figures


# ---- long passes -----------------------------------------------------------------------------------

def test_a_page_shows_start_and_end_times_and_a_blank_end(small):
    shown = notebook.table_html(notebook.shown_table("long_passes", long_passes(small, MONDAY, MONDAY)))
    assert "<td>Mon 2026-01-05 11:00</td><td>Mon 2026-01-05 11:45</td>" in shown
    assert "<td>Mon 2026-01-05 12:00</td><td></td>" in shown, "a pass that never ended"


def test_long_passes_by_hand(small):
    table = long_passes(small, MONDAY, MONDAY)
    assert list(table.columns) == ["pass_id", "student_id", "student_name", "grade", "origin", "destination",
                                   "start_time", "end_time", "minutes", "limit_minutes", "reason"]
    shown = table[["pass_id", "minutes", "limit_minutes", "reason"]].astype(object).where(table.notna(), None)
    assert shown.values.tolist() == [["4", 45.0, 40.0, "over 40 min"],  # the nurse's own limit
                                     ["2", 20.0, 15.0, "over 15 min"],  # the default
                                     ["5", None, 15.0, "never ended"]]  # not 6: it ended, before it started
    assert table["start_time"].tolist()[0] == pd.Timestamp("2026-01-05 11:00") and pd.isna(table["end_time"].iloc[2])


def test_the_long_pass_limit_is_an_option(small, tmp_path):
    assert long_passes(small, MONDAY, MONDAY, long_minutes=25.0)["pass_id"].tolist() == ["4", "5"]
    assert rows(pass_length(small, MONDAY, MONDAY, long_minutes=4.5), "all")["all"]["long_passes"] == 3
    assert long_passes(small, MONDAY, MONDAY, long_minutes=7.5)["reason"].tolist()[1] == "over 7.5 min"
    out = tmp_path / "out"
    assert main(["report", "--data", str(tmp_path / "data"), "--start", MONDAY, "--end", MONDAY, "--out", str(out),
                 "--cache", str(tmp_path / "cache"), "--long-minutes", "25"]) == 0
    assert pd.read_csv(out / "long_passes.csv", dtype=str)["pass_id"].tolist() == ["4", "5"]


def test_a_district_names_schools_and_limits_rooms_per_school(tmp_path):
    def row(school, pass_id, start, end):
        return [school, *pass_row(pass_id, start=at(MONDAY, start), end=at(MONDAY, end), destination="Nurse")]
    write_csv(tmp_path / "data" / "passes.csv", [row("North", 1, "09:00", "09:30"), row("South", 1, "09:00", "09:30"),
                                                 row("South", 2, "10:00", "10:20")], ["school", *HEADER])
    write_csv(tmp_path / "data" / "rooms.csv", [["North", "Nurse", "40"]], ["school", "room", "max_minutes"])
    data = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    table = long_passes(data, MONDAY, MONDAY)
    assert table.columns[0] == "school" and table[["school", "pass_id", "reason"]].values.tolist() == [
        ["South", "1", "over 15 min"], ["South", "2", "over 15 min"]], "only North lists a longer limit"
    lengths = pass_length(data, MONDAY, MONDAY)
    assert lengths.columns[0] == "school"
    assert lengths[lengths["by"] == "destination"][["school", "key", "passes"]].values.tolist() == [
        ["South", "Nurse", 2], ["North", "Nurse", 1]]
    assert lengths[lengths["by"].isin(["all", "grade"])]["school"].tolist() == ["", ""], "grades roll up"
    assert "school" not in time_of_day(data, MONDAY, MONDAY)


# ---- time of day -----------------------------------------------------------------------------------

def test_time_of_day_slots_by_hand(folder):
    data = folder([pass_row(1, start=at(MONDAY, "09:00")), pass_row(2, start=at(MONDAY, "09:14", "59")),
                   pass_row(3, start=at(MONDAY, "09:15")), pass_row(4, start=at("2026-01-06", "13:07"), end=""),
                   pass_row(5, start=at("2026-01-12", "09:05")), pass_row(6, start=at("2026-01-09", "07:59"))])
    table = time_of_day(data, MONDAY, "2026-01-12")
    assert table.values.tolist() == [["Monday", "09:00", 3], ["Monday", "09:15", 1], ["Tuesday", "13:00", 1],
                                     ["Friday", "07:45", 1]]
    assert table.dtypes["passes"] == "int64"


# ---- passes by period --------------------------------------------------------------------------------

BELLS = (["period", "start", "end", "days"],
         [["Period 1", "08:00", "09:00", "Mon,Tue,Thu,Fri"], ["Period 2", "09:00", "10:00", "Mon-Tue,Thu-Fri"],
          ["Period 1", "09:00", "09:45", "Wed"], ["Period 2", "09:50", "10:35", "Wed"]])


def test_passes_by_period_by_hand(folder):
    wednesday, monday2 = "2026-01-07", "2026-01-12"
    data = folder([
        pass_row(1, start=at(MONDAY, "08:00"), end=at(MONDAY, "08:05")),  # Period 1: its start is in it
        pass_row(2, start=at(MONDAY, "08:59", "59"), end=""),  # Period 1, untimed
        pass_row(3, start=at(MONDAY, "09:00"), end=at(MONDAY, "09:04")),  # on the boundary: Period 2
        pass_row(4, start=at(MONDAY, "10:00"), end=at(MONDAY, "10:06")),  # Period 2's end is not in it
        pass_row(5, start=at(MONDAY, "07:59"), end=at(MONDAY, "08:01")),  # before school
        pass_row(6, start=at("2026-01-06", "08:30"), end=at("2026-01-06", "08:33")),  # Tuesday, Period 1
        pass_row(7, start=at(wednesday, "08:30"), end=at(wednesday, "08:32")),  # late start: before school
        pass_row(8, start=at(wednesday, "09:00"), end=at(wednesday, "09:09")),  # late start: Period 1
        pass_row(9, start=at(wednesday, "09:47"), end=at(wednesday, "09:48")),  # passing time
        pass_row(10, start=at(monday2, "08:10"), end=at(monday2, "08:20")),  # a second Monday, Period 1
    ], bells=BELLS)
    table = passes_by_period(data, MONDAY, monday2)
    assert list(table.columns) == ["period", "weekday", "passes", "school_days", "passes_per_day", "minutes_mean"]
    expected = [["before school", "Monday", 1, 2, 0.5, 2.0], ["before school", "Wednesday", 1, 1, 1.0, 2.0],
                ["Period 1", "Monday", 3, 2, 1.5, 7.5],  # (5 + 10) / 2 timed
                ["Period 1", "Tuesday", 1, 1, 1.0, 3.0], ["Period 1", "Wednesday", 1, 1, 1.0, 9.0],
                ["Period 2", "Monday", 1, 2, 0.5, 4.0], ["between periods", "Wednesday", 1, 1, 1.0, 1.0],
                ["after school", "Monday", 1, 2, 0.5, 6.0]]
    assert table.values.tolist() == expected
    assert table["passes"].sum() == 10, "every pass in one period"
    only_untimed = passes_by_period(data, MONDAY, MONDAY, grades=["9"])
    assert only_untimed.set_index(["period", "weekday"]).loc[("Period 1", "Monday"), "minutes_mean"] == 5.0


def test_passes_by_period_without_minutes_is_blank(folder):
    data = folder([pass_row(1, start=at(MONDAY, "08:10"), end="")], bells=BELLS)
    table = passes_by_period(data, MONDAY, MONDAY)
    assert table[["period", "passes"]].values.tolist() == [["Period 1", 1]] and pd.isna(table["minutes_mean"][0])


def test_without_bells_passes_by_period_is_not_made_and_says_why(small, tmp_path, capsys):
    tables = Tables(small, MONDAY, MONDAY)
    assert tables.unavailable["passes_by_period"] == "the data folder has no bells.csv"
    assert "passes_by_period" not in tables.all() and "time_of_day" in tables.all()
    with pytest.raises(PasskitError, match="^Passes by Period cannot be made: the data folder has no bells.csv$"):
        passes_by_period(small, MONDAY, MONDAY)
    with pytest.raises(PasskitError, match="no bells.csv"):  # nor for a bare frame: it has no bells
        passes_by_period(small.passes.collect("pandas").to_native(), MONDAY, MONDAY)


# ---- the analyst's API ----------------------------------------------------------------------------

def test_the_reports_are_the_analysts_functions(small):
    for name in NEW:
        assert getattr(reports, name) is not None and getattr(reports, name).report is registry.get(name)
    pd.testing.assert_frame_equal(reports.pass_length(small, MONDAY, MONDAY), pass_length(small, MONDAY, MONDAY))
    with pytest.raises(AttributeError):
        reports.no_such_report  # noqa: B018


def test_a_filtered_frame_keeps_rooms_through_using(small):
    frame = small.passes.collect("pandas").to_native()
    assert frame["date"].dtype.kind == "M", "date arrives as datetime64 in pandas"
    kept = frame[frame["pass_id"] != "1"]
    bare = long_passes(kept, MONDAY, MONDAY)
    assert bare["pass_id"].tolist() == ["4", "3", "2", "5"], "a bare frame knows no rooms.csv: the nurse's 30 is long"
    assert set(bare["limit_minutes"]) == {15.0}
    using = long_passes(small.using(kept), MONDAY, MONDAY)
    pd.testing.assert_frame_equal(using, long_passes(small, MONDAY, MONDAY))
    rooms = reports.room_usage(small.using(kept), MONDAY, MONDAY).set_index("room")
    assert rooms.loc["Nurse", "folder"] == "Health" and rooms.loc["Room 101", "passes_from"] == 2
    assert reports.room_usage(kept, MONDAY, MONDAY).set_index("room").loc["Nurse", "folder"] == ""
    students = reports.passes_by_student(small.using(kept), MONDAY, MONDAY)
    assert students["passes"].sum() == 5


def test_the_generic_chart_draws_any_table_in_passkits_style(small):
    table = pd.DataFrame({"weekday": ["Tuesday", "Monday"], "grade": ["10", "9"], "passes": [3, 4]})
    bars = charts.as_spec(charts.chart(table, x="weekday", y="passes", color="grade"))
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["sort"] == ["Monday", "Tuesday"]
    assert bars["encoding"]["color"]["sort"] == ["9", "10"] and bars["encoding"]["y"]["title"] == "Passes"
    heat = charts.as_spec(charts.plot(table, x="weekday", y="grade", color="passes"))
    assert heat["mark"]["type"] == "rect"
    daily = charts.as_spec(charts.chart(reports.daily_passes(small, MONDAY, MONDAY), x="date", y="passes"))
    assert daily["mark"]["type"] == "line"
    assert charts.chart("time_of_day", time_of_day(small, MONDAY, MONDAY)) is not None, "the report's own chart"
    with pytest.raises(PasskitError, match="the table has no column 'minutes'"):
        charts.plot(table, x="weekday", y="minutes")


# ---- every front-end -------------------------------------------------------------------------------

def test_headline_figures_by_hand(small):
    figures = dict(summary.headline(Tables(small, MONDAY, MONDAY)).itertuples(index=False))
    assert figures["Average pass length (minutes)"] == 25.0 and figures["Median pass length (minutes)"] == 25.0
    # 100 minutes / (3 students with a pass x 1 day with a pass)
    assert figures["Minutes out of class per student per school day"] == 33.3
    assert figures["Long passes"] == 2


def test_the_new_reports_are_in_passkit_reports_folder(demo_folder, tmp_path):
    out = tmp_path / "report"
    assert main(["report", "--data", str(demo_folder), "--start", "2026-01-05", "--end", "2026-03-27", "--out",
                 str(out), "--cache", str(tmp_path / "cache")]) == 0
    for name in NEW:
        header = (out / f"{name}.csv").read_text().splitlines()[0]
        assert header == ",".join(column.name for column in registry.get(name).columns), name
    assert json.loads((out / "load_summary.json").read_text())["unavailable"] == {}
    book = openpyxl.load_workbook(out / "reports-2026-01-05-to-2026-03-27.xlsx")
    assert {"Pass Length", "Long Passes", "Passes by Time of Day", "Passes by Period"} <= set(book.sheetnames)
    periods = pd.read_csv(out / "passes_by_period.csv")
    assert periods["period"].iloc[0] == "Period 1" and periods["passes"].sum() == pd.read_csv(
        out / "time_of_day.csv")["passes"].sum()


def test_the_new_reports_have_audit_pages_and_dashboard_sections(demo_data):
    assert set(NEW) <= set(registry.names("page")) and set(NEW) <= set(registry.names("dashboard"))
    app = dashboard.App(demo_data)
    for name in NEW:
        section = app.section(name)
        assert section.state == "shown", name
        file_name, payload = section.download("csv")
        assert file_name.startswith(name) and payload.startswith(registry.get(name).columns[0].label.encode())
    assert app.section("long_passes").rows, "a table of passes"
    heat = app.section("passes_by_period").spec
    assert heat["mark"]["type"] == "rect" and heat["encoding"]["y"]["sort"][0] == "Period 1"


def test_the_demo_school_shows_something_true(demo_data):
    tables = Tables(demo_data, "2026-01-05", "2026-03-27")
    destination = rows(tables.get("pass_length"), "destination")
    restroom = destination["Restroom A"]["minutes_median"]
    assert destination["Nurse"]["minutes_median"] > 2 * restroom < destination["Counselor"]["minutes_median"]
    reasons = tables.get("long_passes")["reason"]
    assert (reasons == "never ended").sum() > 10 and (reasons == "over 40 min").sum() > 0
    periods = tables.get("passes_by_period")
    assert set(periods["period"]) == {"Period 1", "Period 2", "Period 3", "Period 4", "Lunch", "Period 5",
                                      "Period 6", "Period 7"}, "the demo's passes start inside its bells"
    assert periods.groupby("period")["passes_per_day"].mean().idxmax() == "Lunch", "lunch is busiest"


@pytest.mark.slow
def test_the_audit_has_a_page_a_chart_and_figures_for_them(demo_folder, tmp_path):
    out = tmp_path / "audit"
    assert main(["audit", "--data", str(demo_folder), "--start", "2026-01-05", "--end", "2026-03-27", "--out",
                 str(out), "--cache", str(tmp_path / "cache")]) == 0
    index = (out / "index.html").read_text()
    ran = {run["name"]: run["status"] for run in json.loads((out / "manifest.json").read_text())["notebooks"]}
    for name in NEW:
        entry = registry.get(name)
        assert f'href="{name}.html"' in index and ran[name] == "ok", name
        page = (out / f"{name}.html").read_text()
        assert entry.title in page and entry.columns[-1].label in page and "What to look for" in page
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG" and (out / f"{name}.csv").is_file()
    for figure in ("Average pass length (minutes)", "Median pass length (minutes)",
                   "Minutes out of class per student per school day", "Long passes"):
        assert figure in index


def test_a_bare_frame_without_end_times_gets_the_reports_it_can(small):
    frame = small.passes.collect("pandas").to_native().drop(columns=["end_time"])
    tables = Tables(frame, MONDAY, MONDAY)
    assert tables.unavailable.items() >= {"pass_length": "the export has no end time column",
                                          "long_passes": "the export has no end time column",
                                          "passes_by_period": "the data folder has no bells.csv"}.items()
    assert time_of_day(frame, MONDAY, MONDAY)["passes"].sum() == 6
    assert "Long passes" not in dict(summary.headline(tables).itertuples(index=False))
