"""Many schools: school filters, a folder per school, rooms per school, totals that add up to the district.

Also what the district-scale shortcuts must not change: the ingest's plain-time path against clock
changes, exact minutes, and the benchmark's hand-written SQL giving passkit's own tables.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import passkit
from benchmarks import handwritten
from passkit import reports
from passkit.cli import main

from .conftest import HEADER, pass_row, write_csv

Q3 = ("2026-01-05", "2026-03-27")
SCHOOLS = ["Jefferson High", "Lincoln High", "Roosevelt High"]
PER_SCHOOL = ("passes_by_student", "room_usage", "staff_usage")


def test_the_district_has_three_schools_and_reports_name_them(demo_district):
    assert demo_district.schools == SCHOOLS
    tables = reports.all_reports(demo_district, *Q3)
    for name in (*PER_SCHOOL, "frequent_flyers"):
        assert "school" in tables[name], name
        assert set(tables[name]["school"]) <= set(SCHOOLS)
    assert set(tables["passes_by_student"]["school"]) == set(SCHOOLS)


def test_school_totals_add_up_to_the_district_roll_up(demo_district):
    district = reports.all_reports(demo_district, *Q3)
    parts = {school: reports.all_reports(demo_district, *Q3, schools=[school]) for school in SCHOOLS}
    for name in ("daily_passes", "passes_by_grade"):
        keys = ["date", "grade"] if name == "daily_passes" else ["grade"]
        summed = pd.concat(p[name] for p in parts.values()).groupby(keys)["passes"].sum()
        rolled = district[name].set_index(keys)["passes"]
        assert summed.reindex(rolled.index, fill_value=0).tolist() == rolled.tolist(), name
        assert summed.sum() == rolled.sum()
    for name in PER_SCHOOL:  # the per-school rows are exactly the district's rows of that school
        for school, tables in parts.items():
            mine = district[name][district[name]["school"] == school].reset_index(drop=True)
            if name == "passes_by_student":  # outliers are judged within the chosen schools
                mine, theirs = mine.drop(columns="outlier"), tables[name].drop(columns="outlier")
            else:
                theirs = tables[name]
            pd.testing.assert_frame_equal(mine, theirs)


def test_several_schools_are_the_union_of_each(demo_district):
    two = reports.all_reports(demo_district, *Q3, schools=SCHOOLS[:2])
    assert set(two["room_usage"]["school"]) == set(SCHOOLS[:2])
    each = [reports.passes_by_grade(demo_district, *Q3, schools=[s])["passes"].sum() for s in SCHOOLS[:2]]
    assert two["passes_by_grade"]["passes"].sum() == sum(each)


def test_the_same_room_in_two_schools_is_two_rooms(demo_district):
    rooms = reports.room_usage(demo_district, *Q3)
    restroom = rooms[rooms["room"] == "Restroom A"]
    assert sorted(restroom["school"]) == SCHOOLS
    for school in SCHOOLS:
        alone = reports.room_usage(demo_district, *Q3, schools=[school])
        assert alone.loc[alone["room"] == "Restroom A", "passes_to"].item() == \
            restroom.loc[restroom["school"] == school, "passes_to"].item()
    # unused rooms listed in rooms.csv appear once per school, with zeros
    boiler = rooms[rooms["room"] == "Boiler Room"]
    assert sorted(boiler["school"]) == SCHOOLS and (boiler[["passes_from", "passes_to"]] == 0).all().all()


def test_the_same_student_id_in_two_schools_is_two_students(tmp_path):
    data = with_schools(tmp_path, [pass_row(1, student="S1", grade="9") + ["North"],
                                   pass_row(1, student="S1", grade="10") + ["South"],
                                   pass_row(2, student="S1", grade="9") + ["North"]])
    assert data.summary["duplicates_dropped"] == 0  # pass 1 exists once in each school
    students = reports.passes_by_student(data, "2026-01-05", "2026-01-05")
    assert students[["school", "student_id", "grade", "passes"]].values.tolist() == [
        ["North", "S1", "9", 2], ["South", "S1", "10", 1]]


def test_side_files_without_a_school_apply_to_every_school(tmp_path):
    passes = [pass_row(1, origin="Room 1") + ["North"], pass_row(2, origin="Room 2") + ["South"]]
    data = with_schools(tmp_path, passes,
                        rooms=(["room", "folder"], [["Room 1", "Science"], ["Gym", "Common"]]),
                        staff=(["school", "issuer"], [["", "Ms. A"], ["South", "Mr. B"]]))
    rooms = reports.room_usage(data, "2026-01-05", "2026-01-05")
    listed = rooms[rooms["folder"] != ""].sort_values(["school", "room"])
    assert listed[["school", "room", "folder"]].values.tolist() == [
        ["North", "Gym", "Common"], ["North", "Room 1", "Science"], ["South", "Gym", "Common"],
        ["South", "Room 1", "Science"]]
    assert "" not in set(rooms["school"])  # no phantom unnamed school
    staff = reports.staff_usage(data, "2026-01-05", "2026-01-05")
    assert sorted(map(tuple, staff[["school", "issuer"]].values)) == [
        ("North", "Ms. A"), ("South", "Mr. B"), ("South", "Ms. A")]


def test_a_school_row_wins_over_the_same_room_for_every_school(tmp_path):
    data = with_schools(tmp_path, [pass_row(1, origin="Room 1") + ["North"]],
                        rooms=(["school", "room", "folder"],
                               [["", "Room 1", "Everywhere"], ["North", "Room 1", "Lab"]]))
    rooms = reports.room_usage(data, "2026-01-05", "2026-01-05")
    assert rooms.loc[rooms["room"] == "Room 1", "folder"].tolist() == ["Lab"]


def with_schools(tmp_path, rows, **side_files):
    """Load a folder whose passes.csv has a school column (the last field of each row)."""
    write_csv(tmp_path / "d" / "passes.csv", rows, [*HEADER, "school"])
    for name, (header, side_rows) in side_files.items():
        write_csv(tmp_path / "d" / f"{name}.csv", side_rows, header)
    return passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")


# ---- the command line -----------------------------------------------------------------------------

def report(tmp_path, data_folder, *args):
    return main(["report", "--data", str(data_folder), "--cache", str(tmp_path / "cache"), "--start", Q3[0],
                 "--end", Q3[1], *map(str, args)])


def test_each_school_writes_a_folder_per_school_and_the_district(demo_district_folder, demo_district, tmp_path):
    assert report(tmp_path, demo_district_folder, "--out", tmp_path / "out", "--each-school") == 0
    district = pd.read_csv(tmp_path / "out" / "passes_by_grade.csv")
    assert district["passes"].sum() == reports.passes_by_grade(demo_district, *Q3)["passes"].sum()
    folders = sorted(p.name for p in (tmp_path / "out" / "schools").iterdir())
    assert folders == ["jefferson-high", "lincoln-high", "roosevelt-high"]
    total = 0
    for school, name in zip(SCHOOLS, folders):
        out = tmp_path / "out" / "schools" / name
        for report_name, table in reports.all_reports(demo_district, *Q3, schools=[school]).items():
            written = pd.read_csv(out / f"{report_name}.csv")
            assert len(written) == len(table) and list(written.columns) == list(table.columns), report_name
        total += pd.read_csv(out / "passes_by_grade.csv")["passes"].sum()
        rejected = pd.read_csv(out / "rejected.csv")
        assert len(rejected) > 0 and set(rejected["school"]) == {school}  # no other school's students
        assert (out / f"reports-{Q3[0]}-to-{Q3[1]}.xlsx").exists()
    assert total == district["passes"].sum()


def test_school_option_filters_and_unknown_schools_are_one_line(demo_district_folder, tmp_path, capsys):
    assert report(tmp_path, demo_district_folder, "--out", tmp_path / "one", "--school", "Lincoln High",
                  "--school", "Jefferson High") == 0
    rooms = pd.read_csv(tmp_path / "one" / "room_usage.csv")
    assert set(rooms["school"]) == {"Lincoln High", "Jefferson High"}
    assert set(pd.read_csv(tmp_path / "one" / "rejected.csv")["school"]) == {"Lincoln High", "Jefferson High"}
    capsys.readouterr()
    assert report(tmp_path, demo_district_folder, "--out", tmp_path / "two", "--school", "Nowhere High") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "school 'Nowhere High' is not in the data" in err[0]


def test_each_school_needs_a_school_column(demo_folder, tmp_path, capsys):
    assert report(tmp_path, demo_folder, "--out", tmp_path / "out", "--each-school") == 2
    assert "--each-school needs exports with a 'school' column" in capsys.readouterr().err


# ---- what the large-data shortcuts must not change ----------------------------------------------------

@pytest.mark.parametrize("start, end", [
    ("2026-03-08T01:30:00", "2026-03-08T03:30:00"),  # clocks jump forward at 02:00: one real hour
    ("2026-11-01T00:30:00", "2026-11-01T03:30:00"),  # 01:00-02:00 happens twice: four real hours
    ("2026-03-07T23:00:00", "2026-03-09T01:00:00"),  # across the whole change weekend
    ("2026-03-06T10:00:00", "2026-03-06T10:07:30"),  # an ordinary day near the change
    ("2026-01-05T09:00:00", "2026-01-05T08:50:00"),  # ended before it started
])
def test_plain_local_times_give_real_minutes_across_clock_changes(folder, start, end):
    data = folder([pass_row(1, start=start, end=end)])
    zone = ZoneInfo("America/Chicago")
    real = (dt.datetime.fromisoformat(end).replace(tzinfo=zone).astimezone(dt.timezone.utc)
            - dt.datetime.fromisoformat(start).replace(tzinfo=zone).astimezone(dt.timezone.utc))
    row = data.passes.collect("pandas").to_native().iloc[0]
    expected = real.total_seconds() / 60
    assert row["ended_before_start"] == (expected < 0)
    assert (pd.isna(row["minutes"]) if expected < 0 else row["minutes"] == expected)
    # The wall-clock time is kept as written, except a time the clock skipped (shifted like before).
    assert str(row["start_time"]) == start.replace("T", " ")


def test_a_time_the_clock_skipped_is_read_as_before(folder):
    data = folder([pass_row(1, start="2026-03-08T02:30:00", end="")])
    assert str(data.passes.collect("pandas").to_native()["start_time"][0]) == "2026-03-08 03:30:00"


def test_minutes_out_is_exact_on_every_engine(demo_district):
    """Tenths of a minute rounded half up from whole milliseconds: the same on DuckDB and pandas."""
    frame = demo_district.passes.collect("pandas").to_native()
    for start, end in (Q3, ("2025-08-01", "2026-06-30")):
        on_duckdb = reports.frequent_flyers(demo_district, start, end, top=200)
        on_pandas = reports.frequent_flyers(frame, start, end, top=200)
        pd.testing.assert_frame_equal(on_duckdb, on_pandas, check_exact=True)


def test_a_tie_in_minutes_rounds_half_up(folder):
    # 9 seconds = 0.15 minutes exactly
    data = folder([pass_row(1, start="2026-01-05T09:00:00", end="2026-01-05T09:00:09")])
    assert reports.frequent_flyers(data, "2026-01-05", "2026-01-05")["minutes_out"].tolist() == [0.2]


@pytest.mark.parametrize("dataset", ["demo_data", "demo_district"])
def test_the_benchmarks_hand_written_sql_gives_passkits_tables(dataset, request):
    data = request.getfixturevalue(dataset)
    con = handwritten.connect(data.cache)
    for start, end, schools in (Q3 + (None,), ("2025-08-01", "2026-06-30", None), ("2026-07-01", "2026-07-31", None),
                                Q3 + (["Lincoln High", "Roosevelt High"],)):
        if schools and dataset == "demo_data":
            continue
        ours = reports.all_reports(data, start, end, schools=schools)
        theirs = handwritten.run(con, start, end, schools)
        for name in theirs:  # the analytics page's six reports
            pd.testing.assert_frame_equal(ours[name], theirs[name], check_dtype=False, check_exact=True,
                                          obj=f"{name} {start}..{end}")
