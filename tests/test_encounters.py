"""Encounters: the meeting rule on hand-built passes, the pairs table, encounters per week, keep-apart
meetings, and the same tables from the SQL anchor, every front-end and every engine."""

import datetime as dt
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

import passkit
from benchmarks import encounters_sql, handwritten
from passkit import dashboard, encounters, registry
from passkit.cli import main
from passkit.errors import PasskitError
from passkit.summary import headline
from passkit.tables import Tables

from .conftest import pass_row, write_csv

DAY = "2026-01-05"
Q3 = ("2026-01-05", "2026-03-27")
KEEP_APART = ["group", "student_id"]


def at(hhmm, day=DAY):
    return f"{day}T{hhmm}:00" if len(hhmm) == 5 else f"{day}T{hhmm}"


def visit(pass_id, student, start, end, destination="Restroom A", day=DAY, **fields):
    """A pass from `start` to `end` (HH:MM or HH:MM:SS, '' for never ended) on `day`."""
    return pass_row(pass_id, student, at(start, day), at(end, day) if end else "", destination=destination, **fields)


def pairs(data, start=DAY, end=DAY, **options):
    """The encounters table as (student_a, student_b, encounters) rows."""
    table = reports_of(data, start, end, **options)["encounters"]
    return [tuple(row) for row in table[["student_a", "student_b", "encounters"]].itertuples(index=False)]


def reports_of(data, start=DAY, end=DAY, **options):
    return {name: Tables(data, start, end, options={"min_encounters": 1, **options}).get(name)
            for name in ("encounters", "encounters_by_week")}


# ---- the meeting rule, by hand ---------------------------------------------------------------------

def test_touching_passes_meet_only_when_any_overlap_counts(folder):
    data = folder([visit(1, "S1", "09:00", "09:05"), visit(2, "S2", "09:05", "09:10")])
    assert pairs(data) == []
    assert pairs(data, meet_minutes=0) == [("S1", "S2", 1)]
    table = Tables(data, DAY, DAY, options={"meet_minutes": 0, "min_encounters": 1}).get("encounters")
    assert table["minutes_together"].tolist() == [0.0]


@pytest.mark.parametrize("second_start, meets", [("09:04:00", True), ("09:04:01", False), ("09:00:00", True)])
def test_passes_meet_when_they_overlap_by_a_minute(folder, second_start, meets):
    data = folder([visit(1, "S1", "09:00", "09:05"), visit(2, "S2", second_start, "09:10")])
    assert pairs(data) == ([("S1", "S2", 1)] if meets else [])


def test_a_pass_shorter_than_the_overlap_needed_never_meets(folder):
    data = folder([visit(1, "S1", "09:00", "09:30"), visit(2, "S2", "09:10:00", "09:10:50")])
    assert pairs(data) == []
    assert pairs(data, meet_minutes=0.5) == [("S1", "S2", 1)]


def test_three_students_at_once_are_three_pairs(folder):
    data = folder([visit(1, "S3", "09:00", "09:10"), visit(2, "S1", "09:02", "09:08"),
                   visit(3, "S2", "09:03", "09:12")])
    assert sorted(pairs(data)) == [("S1", "S2", 1), ("S1", "S3", 1), ("S2", "S3", 1)]
    table = Tables(data, DAY, DAY, options={"min_encounters": 1}).get("encounters")
    together = dict(zip(zip(table["student_a"], table["student_b"]), table["minutes_together"]))
    assert together == {("S1", "S3"): 6.0, ("S2", "S3"): 7.0, ("S1", "S2"): 5.0}


def test_the_same_student_twice_is_no_pair_but_counts_each_pass(folder):
    data = folder([visit(1, "S1", "09:00", "09:10"), visit(2, "S1", "09:01", "09:09"),
                   visit(3, "S2", "09:02", "09:08")])
    assert pairs(data) == [("S1", "S2", 2)]  # two distinct meeting pass pairs


def test_only_the_same_destination_and_school_meet(tmp_path):
    from .test_district import with_schools

    rows = [visit(1, "S1", "09:00", "09:10") + ["North"], visit(2, "S2", "09:01", "09:09") + ["South"],
            visit(3, "S3", "09:01", "09:09", destination="Restroom B") + ["North"],
            visit(4, "S1", "09:02", "09:08") + ["South"], visit(5, "S4", "09:03", "09:07") + ["North"]]
    data = with_schools(tmp_path, rows)
    table = Tables(data, DAY, DAY, options={"min_encounters": 1}).get("encounters")
    assert table[["school", "student_a", "student_b", "minutes_together"]].values.tolist() == [
        ["South", "S1", "S2", 6.0], ["North", "S1", "S4", 4.0]]


def test_a_meeting_across_midnight_belongs_to_the_later_pass_s_day(folder):
    data = folder([pass_row(2, "S1", "2026-01-05T23:55:00", "2026-01-06T00:20:00"),
                   visit(3, "S2", "00:05", "00:15", day="2026-01-06")])
    table = Tables(data, "2026-01-05", "2026-01-06", options={"min_encounters": 1}).get("encounters")
    assert table[["student_a", "student_b", "encounters", "minutes_together"]].values.tolist() == [
        ["S1", "S2", 1, 10.0]]
    assert table["first_date"].tolist() == [pd.Timestamp("2026-01-06")]
    # both passes must be in the range: the first day alone holds only one of them
    assert pairs(data, "2026-01-05", "2026-01-05") == []


def test_passes_that_never_ended_or_ended_before_they_started_are_not_used(folder):
    data = folder([visit(1, "S1", "09:00", ""), visit(2, "S2", "09:01", "09:09"),
                   visit(3, "S3", "09:02", "08:59")])
    assert pairs(data, meet_minutes=0) == []


def test_pairs_need_the_minimum_number_of_encounters(folder):
    rows = [visit(1, "S1", "09:00", "09:10"), visit(2, "S2", "09:01", "09:09"),
            visit(3, "S1", "10:00", "10:10"), visit(4, "S2", "10:01", "10:09"),
            visit(5, "S3", "11:00", "11:10"), visit(6, "S4", "11:01", "11:09")]
    data = folder(rows)
    assert pairs(data) == [("S1", "S2", 2), ("S3", "S4", 1)]
    assert encounters.encounters(data, DAY, DAY)[["student_a", "encounters"]].values.tolist() == [["S1", 2]]
    assert encounters.encounters(data, DAY, DAY, min_encounters=3).empty


def test_order_names_and_destinations(folder):
    """Most encounters, then most minutes, then ids as text; a before b as text; places most used first."""
    rows = [  # S9 and S10: three meetings, two at Restroom B
        visit(1, "S9", "09:00", "09:10", "Restroom B", name="Nine"), visit(2, "S10", "09:01", "09:05", "Restroom B"),
        visit(3, "S9", "10:00", "10:10", "Restroom A", name="Nine"), visit(4, "S10", "10:01", "10:05", "Restroom A"),
        visit(5, "S9", "11:00", "11:10", "Restroom B", name="Nine"), visit(6, "S10", "11:01", "11:05", "Restroom B"),
        # S1 and S2, S3 and S4: two meetings each, S3 and S4 longer; S5 and S6 as long as S1 and S2
        visit(7, "S1", "12:00", "12:10", "Nurse"), visit(8, "S2", "12:00", "12:02", "Nurse"),
        visit(9, "S1", "13:00", "13:10", "Locker"), visit(10, "S2", "13:00", "13:02", "Locker"),
        visit(11, "S4", "12:00", "12:10", "Library"), visit(12, "S3", "12:00", "12:05", "Library"),
        visit(13, "S4", "13:00", "13:10", "Library"), visit(14, "S3", "13:00", "13:05", "Library"),
        visit(15, "S6", "12:00", "12:10", "Gym"), visit(16, "S5", "12:00", "12:02", "Gym"),
        visit(17, "S6", "13:00", "13:10", "Main Office"), visit(18, "S5", "13:00", "13:02", "Main Office"),
    ]
    table = encounters.encounters(folder(rows), DAY, DAY)
    assert list(table.columns) == [c.name for c in registry.get("encounters").columns]
    assert table[["student_a", "student_b", "encounters", "minutes_together", "destinations"]].values.tolist() == [
        ["S10", "S9", 3, 12.0, "Restroom B; Restroom A"],
        ["S3", "S4", 2, 10.0, "Library"],
        ["S1", "S2", 2, 4.0, "Locker; Nurse"],
        ["S5", "S6", 2, 4.0, "Gym; Main Office"],
    ]
    assert table.loc[0, "student_b_name"] == "Nine" and table.loc[0, "student_a_name"] == "Student S10"


def test_encounters_per_week_counts_the_listed_pairs_meetings(folder):
    rows = [visit(1, "S1", "09:00", "09:10", day="2026-01-05"), visit(2, "S2", "09:01", "09:09", day="2026-01-05"),
            visit(3, "S1", "09:00", "09:10", day="2026-01-09"), visit(4, "S2", "09:01", "09:09", day="2026-01-09"),
            visit(5, "S1", "09:00", "09:10", day="2026-01-20"), visit(6, "S2", "09:01", "09:09", day="2026-01-20"),
            visit(7, "S3", "09:00", "09:10", day="2026-01-20"),  # meets both once: not a listed pair
            visit(8, "S4", "09:00", "09:10", day="2026-01-13")]  # a week with passes and no meeting
    weekly = encounters.encounters_by_week(folder(rows), "2026-01-01", "2026-01-31")
    assert weekly.values.tolist() == [[pd.Timestamp("2026-01-05"), 2, 1], [pd.Timestamp("2026-01-12"), 0, 0],
                                      [pd.Timestamp("2026-01-19"), 1, 1]]


def test_options_are_checked(folder, tmp_path, capsys):
    data = folder([visit(1, "S1", "09:00", "09:10")])
    with pytest.raises(PasskitError, match="--meet-minutes must be at least 0, not -1"):
        encounters.encounters(data, DAY, DAY, meet_minutes=-1)
    with pytest.raises(PasskitError, match="--min-encounters must be at least 1, not 0"):
        encounters.encounters(data, DAY, DAY, min_encounters=0)
    code = main(["report", "--data", str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--start", DAY,
                 "--end", DAY, "--out", str(tmp_path / "out"), "--meet-minutes", "-2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["passkit: --meet-minutes must be at least 0, not -2.0"]
    assert not (tmp_path / "out").exists(), "refused before anything is written"


# ---- real time across clock changes ---------------------------------------------------------------

def test_overlaps_are_measured_in_real_time_when_the_clocks_fall_back(folder):
    """01:00-02:00 happens twice on 2025-11-02. S1 is out 00:30-01:10 daylight time; S2 01:05-01:20 standard
    time, an hour later in real time. On the wall clock the passes overlap; in real time they never met."""
    data = folder([pass_row(1, "S1", "2025-11-02T00:30:00", "2025-11-02T01:10:00-05:00"),
                   pass_row(2, "S2", "2025-11-02T01:05:00-06:00", "2025-11-02T01:20:00-06:00")])
    assert pairs(data, "2025-11-02", "2025-11-02", meet_minutes=0) == []


def test_a_pass_across_the_spring_change_keeps_its_real_length(folder):
    """S1 is out from 01:50 to 03:10 on 2026-03-08: 20 real minutes (02:00 became 03:00). S2, out from 03:05
    to 03:20, met S1 for 5 minutes and S3 (03:15 to 03:30) for 5."""
    data = folder([pass_row(1, "S1", "2026-03-08T01:50:00", "2026-03-08T03:10:00"),
                   pass_row(2, "S2", "2026-03-08T03:05:00", "2026-03-08T03:20:00"),
                   pass_row(3, "S3", "2026-03-08T03:15:00", "2026-03-08T03:30:00")])
    table = Tables(data, "2026-03-08", "2026-03-08", options={"min_encounters": 1}).get("encounters")
    assert table[["student_a", "student_b", "minutes_together"]].values.tolist() == [["S1", "S2", 5.0],
                                                                                    ["S2", "S3", 5.0]]


@pytest.mark.parametrize("wall", ["2025-11-02 01:30:00", "2025-11-02 00:59:59", "2025-11-02 02:00:00",
                                  "2026-03-08 02:30:00", "2026-03-08 01:59:59", "2026-03-08 03:00:00",
                                  "2026-01-05 09:00:00"])
def test_wall_times_are_read_as_the_load_reads_them(wall):
    """A repeated time is its second occurrence, a skipped one takes the offset before the change: as DuckDB
    (ICU) reads the exports' plain times when it builds the cache."""
    con = duckdb.connect()
    duck = con.execute(f"SELECT epoch_us(timezone('America/Chicago', TIMESTAMP '{wall}'))").fetchone()[0]
    local = np.array([int((dt.datetime.fromisoformat(wall) - encounters.EPOCH).total_seconds() * 1e6)])
    day = local // encounters.DAY_US
    assert encounters._real(local, day.astype(np.int32), "America/Chicago").tolist() == [duck]


# ---- keep-apart lists ------------------------------------------------------------------------------

def test_keep_apart_meetings_list_every_meeting_within_a_group(folder):
    rows = [visit("P1", "S1", "09:00", "09:10"), visit("P2", "S2", "09:01", "09:06"),
            visit("P3", "S3", "09:02", "09:09"), visit("P4", "S2", "10:00", "10:10", "Nurse"),
            visit("P5", "S1", "10:05:30", "10:20", "Nurse"), visit("P6", "S4", "09:00", "09:10")]
    groups = [["order-1", "S1"], ["order-1", "S2"], ["order-2", "S2"], ["order-2", "S1"], ["order-3", "S3"],
              ["order-3", "S9"], ["order-1", "S1"]]  # a repeated row counts once
    data = folder(rows, keep_apart=(KEEP_APART, groups))
    table = encounters.keep_apart_meetings(data, DAY, DAY)
    assert list(table.columns) == [c.name for c in registry.get("keep_apart_meetings").columns]
    assert table.values.tolist() == [
        ["order-1", "P1", "P2", "S1", "S2", "Restroom A", pd.Timestamp(f"{DAY} 09:01"), 5.0],
        ["order-1", "P5", "P4", "S1", "S2", "Nurse", pd.Timestamp(f"{DAY} 10:05:30"), 4.5],
        ["order-2", "P1", "P2", "S1", "S2", "Restroom A", pd.Timestamp(f"{DAY} 09:01"), 5.0],
        ["order-2", "P5", "P4", "S1", "S2", "Nurse", pd.Timestamp(f"{DAY} 10:05:30"), 4.5]]
    tables = Tables(data, DAY, DAY)
    assert headline(tables).set_index("Figure").loc["Keep-apart meetings", "Value"] == 4


def test_without_keep_apart_csv_the_report_says_why_and_the_headline_omits_it(folder):
    tables = Tables(folder([visit(1, "S1", "09:00", "09:10")]), DAY, DAY)
    assert tables.unavailable["keep_apart_meetings"] == "the data folder has no keep_apart.csv"
    assert "Keep-apart meetings" not in headline(tables)["Figure"].tolist()
    with pytest.raises(PasskitError, match="Keep-apart meetings cannot be made: the data folder has no keep_apart.csv"):
        tables.get("keep_apart_meetings")


def test_a_keep_apart_row_applies_in_its_own_school(tmp_path):
    from .test_district import with_schools

    rows = [visit(1, "S1", "09:00", "09:10") + ["North"], visit(2, "S2", "09:01", "09:09") + ["North"],
            visit(3, "S1", "09:00", "09:10") + ["South"], visit(4, "S2", "09:01", "09:09") + ["South"]]
    side = (["school", *KEEP_APART], [["North", "g", "S1"], ["North", "g", "S2"], ["", "all", "S1"],
                                      ["", "all", "S2"]])
    table = encounters.keep_apart_meetings(with_schools(tmp_path, rows, keep_apart=side), DAY, DAY)
    assert table[["school", "group", "pass_id_a"]].values.tolist() == [["North", "all", "1"], ["North", "g", "1"],
                                                                      ["South", "all", "3"]]


@pytest.mark.parametrize("rows, message", [
    ([["order-1", "S1"], ["order-1", ""]], "keep_apart.csv, line 3, column 'student_id': is blank"),
    ([["", "S1"]], "keep_apart.csv, line 2, column 'group': is blank"),
])
def test_a_blank_keep_apart_cell_is_one_line_naming_it(tmp_path, capsys, rows, message):
    write_csv(tmp_path / "d" / "passes.csv", [visit(1, "S1", "09:00", "09:10")])
    write_csv(tmp_path / "d" / "keep_apart.csv", rows, KEEP_APART)
    code = main(["report", "--data", str(tmp_path / "d"), "--cache", str(tmp_path / "c"), "--start", DAY, "--end",
                 DAY, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and "S1" not in err[0]


def test_a_keep_apart_file_without_its_columns_is_one_line(tmp_path, capsys):
    write_csv(tmp_path / "d" / "passes.csv", [visit(1, "S1", "09:00", "09:10")])
    write_csv(tmp_path / "d" / "keep_apart.csv", [["S1"]], ["student_id"])
    with pytest.raises(PasskitError, match="keep_apart.csv, column 'group': required column is missing"):
        passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")


def test_changing_keep_apart_csv_refreshes_the_cache(folder, tmp_path):
    rows = [visit(1, "S1", "09:00", "09:10"), visit(2, "S2", "09:01", "09:09")]
    first = folder(rows, keep_apart=(KEEP_APART, [["g", "S1"], ["g", "S2"]]))
    assert len(encounters.keep_apart_meetings(first, DAY, DAY)) == 1
    write_csv(tmp_path / "data" / "keep_apart.csv", [["g", "S1"], ["g", "S3"], ["h", "S2"]], KEEP_APART)
    again = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    assert again.cache != first.cache and encounters.keep_apart_meetings(again, DAY, DAY).empty


# ---- the demo school, the SQL anchor, other engines and shortcuts ----------------------------------

def test_the_demo_school_has_friends_who_meet_and_a_keep_apart_order_they_break(demo_data):
    listed = demo_data.keep_apart
    assert set(listed["group"]) == {"order-1", "order-2"}
    meetings = encounters.keep_apart_meetings(demo_data, *Q3)
    assert (meetings["group"] == "order-1").sum() >= 5
    friends = tuple(sorted(listed.loc[listed["group"] == "order-1", "student_id"]))
    table = encounters.encounters(demo_data, *Q3)
    rank = table.index[(table["student_a"] == friends[0]) & (table["student_b"] == friends[1])]
    assert len(rank) == 1 and rank[0] < 3, "the friends are among the pairs who meet most"


@pytest.mark.parametrize("dataset", ["demo_data", "demo_district"])
def test_the_sql_anchor_gives_passkits_table(dataset, request):
    data = request.getfixturevalue(dataset)
    con = handwritten.connect(data.cache)
    for start, end, rule in ((*Q3, {}), ("2025-08-01", "2026-06-30", {"meet_minutes": 0, "min_encounters": 1}),
                             ("2026-07-01", "2026-07-31", {}), ("2026-01-05", "2026-01-09", {"meet_minutes": 2.5})):
        ours = encounters.encounters(data, start, end, **rule)
        theirs = encounters_sql.run(con, start, end, data.timezone, **rule)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, check_exact=True, obj=f"{start}..{end}")
    schools = ["Lincoln High", "Roosevelt High"]
    if dataset == "demo_district":
        pd.testing.assert_frame_equal(encounters.encounters(data, *Q3, schools=schools),
                                      encounters_sql.run(con, *Q3, data.timezone, schools=schools),
                                      check_dtype=False, check_exact=True)


def test_a_bare_frame_gives_the_same_tables(demo_district):
    """A frame without the students table (a pandas frame, Spark's plain Parquet) finds students by id."""
    frame = demo_district.passes.collect("pandas").to_native()
    for name in ("encounters", "encounters_by_week"):
        compute = registry.analyst_function(registry.get(name))
        pd.testing.assert_frame_equal(compute(frame, *Q3), compute(demo_district, *Q3), check_exact=True)


def test_the_slower_paths_for_huge_keys_give_the_same_table(demo_data, monkeypatch):
    fast = encounters.encounters(demo_data, *Q3)
    monkeypatch.setattr(encounters, "SORT_KEY_LIMIT", 1)
    monkeypatch.setattr(encounters, "COUNTING_KEYS", 1)
    pd.testing.assert_frame_equal(encounters.encounters(demo_data, *Q3), fast, check_exact=True)


# ---- the front-ends ---------------------------------------------------------------------------------

def test_passkit_report_writes_the_new_reports(demo_folder, tmp_path):
    out = tmp_path / "out"
    assert main(["report", "--data", str(demo_folder), "--cache", str(tmp_path / "c"), "--start", Q3[0], "--end",
                 Q3[1], "--out", str(out), "--min-encounters", "4"]) == 0
    pairs_file = pd.read_csv(out / "encounters.csv", dtype=str)
    assert list(pairs_file.columns) == [c.name for c in registry.get("encounters").columns]
    assert pairs_file["encounters"].astype(int).min() == 4
    meetings = pd.read_csv(out / "keep_apart_meetings.csv", dtype=str)
    assert meetings["start"].str.fullmatch(r"2026-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert pd.read_csv(out / "encounters_by_week.csv")["week"].iloc[0] == "2026-01-05"
    assert json.loads((out / "load_summary.json").read_text())["unavailable"] == {}


def test_the_dashboard_draws_the_top_pairs_and_lists_keep_apart_meetings(demo_data):
    app = dashboard.App(demo_data)
    pairs_section = app.section("encounters")
    rows = next(iter(pairs_section.spec["datasets"].values()))
    table = app.source.tables(app.selection()).get("encounters")
    assert len(rows) == 20 and rows[0]["student_a"] == table["student_a"].iloc[0]
    assert " & " in rows[0]["pair"]  # names, as the admin's other student charts show them
    assert "encounters_by_week" not in [view.name for view in app.sections]
    kept = app.section("keep_apart_meetings")
    assert kept.state == "shown" and kept.formats == ["csv", "xlsx"]
    kept.fill_table(None)
    assert kept.rows, "the page asks for the table's rows"
    name, payload = pairs_section.download("csv")
    labels = [column.label for column in registry.get("encounters").columns[:3]]
    assert name.startswith("encounters_") and payload.decode().startswith(",".join(labels))
