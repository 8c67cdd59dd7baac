"""Vendor layouts detected by their header, and the rules for columns an export lacks (issue 11)."""

import datetime as dt
import json
import os

import pandas as pd
import pytest

import passkit
from passkit import columns, ingest, registry, reports
from passkit.cli import main

from .conftest import pass_row, write_csv

SMARTPASS = ["Student Name", "Grade", "ID", "Origin", "Destination", "Pass start time", "Duration", "Email"]
HALL_PASS_SYSTEM = ["studentId", "studentName", "roomFrom", "destination", "customDestination", "checkOutTime",
                    "checkInTime", "duration", "status"]


def smartpass_row(name="Ana Rivera", grade="9", sid="S1", origin="Room 101", destination="Restroom A",
                  start="3/04 9:05 AM", duration="5:30 min", email="ana@students.example.org"):
    return [name, grade, sid, origin, destination, start, duration, email]


def write_smartpass(folder, rows, order=SMARTPASS, name="SmartPass-PassSearch.csv"):
    index = [SMARTPASS.index(h) for h in order]
    return write_csv(folder / name, [[row[i] for i in index] for row in rows], list(order))


def passes(data, *names):
    """The kept passes' values as text ('-' for none), sorted."""
    frame = data.passes.select(*names).collect("pandas").to_native().sort_values(list(names))
    return [["-" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]


def load(folder, cache, **options):
    return passkit.load(folder, cache_dir=cache, **options)


# ---- SmartPass -----------------------------------------------------------------------------------

def test_smartpass_export_in_any_column_order(tmp_path):
    order = ["Pass start time", "Email", "Destination", "Student Name", "Duration", "ID", "Origin", "Grade"]
    write_smartpass(tmp_path / "d", [
        smartpass_row(),
        smartpass_row(start="3/04 12:07 PM", duration="5"),
        smartpass_row(start="3/05 12:15 AM", duration="4.25"),
        smartpass_row(start="3/05 1:00 PM", duration="4.5 min"),
        smartpass_row(start="3/05 2:00 PM", duration="-"),  # no duration: untimed
        smartpass_row(name="Bo Lee", grade="-", sid="-", email="bo@students.example.org", start="3/06 10:00 AM"),
    ], order)
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01")
    entry = data.summary["files"][0]
    assert entry["layout"] == "smartpass" and entry["layout_title"] == "SmartPass pass search"
    assert entry["columns"] == {"Pass start time": "start_time", "Email": "student_email", "Destination": "destination",
                                "Student Name": "student_name", "Duration": "duration", "ID": "student_id",
                                "Origin": "origin", "Grade": "grade"}
    assert passes(data, "start_time", "end_time", "minutes") == [
        ["2026-03-04 09:05:00", "2026-03-04 09:10:30", "5.5"],
        ["2026-03-04 12:07:00", "2026-03-04 12:12:00", "5.0"],
        ["2026-03-05 00:15:00", "2026-03-05 00:19:15", "4.25"],
        ["2026-03-05 13:00:00", "2026-03-05 13:04:30", "4.5"],
        ["2026-03-05 14:00:00", "-", "-"],
        ["2026-03-06 10:00:00", "2026-03-06 10:05:30", "5.5"]]
    # no student number ('-'): the email identifies the student; '-' grade is no grade
    assert ["bo@students.example.org", "Unknown"] in passes(data, "student_id", "grade")
    assert data.summary["columns_missing"] == ["created_by", "issuer", "kiosk_mode", "pass_id", "pass_type"]
    assert data.columns_missing == frozenset(data.summary["columns_missing"])
    assert data.summary["year_less_times"]["rows"] == 6


def test_smartpass_with_hidden_columns(tmp_path):
    write_smartpass(tmp_path / "d", [smartpass_row()], ["Email", "Origin", "Destination", "Pass start time"])
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01")
    assert data.summary["files"][0]["layout"] == "smartpass"
    assert passes(data, "student_id", "start_time", "end_time") == [
        ["ana@students.example.org", "2026-03-04 09:05:00", "-"]]


def test_reports_from_an_export_without_creator_or_pass_type(tmp_path, capsys):
    write_smartpass(tmp_path / "d", [smartpass_row(), smartpass_row(name="Bo Lee", sid="S2", start="3/04 1:00 PM")])
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01")
    tables = reports.all_reports(data, "2026-03-01", "2026-03-31")
    assert tables["passes_by_grade"].values.tolist() == [["9", 2]]
    assert "staff_usage" not in tables  # not a table of zeros: the report is not made
    assert staff_usage_of(data.passes).empty  # and its code does not crash on null creators, issuers, pass types
    assert registry.unavailable(data)["staff_usage"] == "the export has no creator or issuer column"
    code = main(["report", "--data", str(tmp_path / "d"), "--start", "2026-03-01", "--end", "2026-03-31",
                 "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")])
    assert code == 0 and "2 passes from 2026-03-01" in capsys.readouterr().out
    summary = json.loads((tmp_path / "o" / "load_summary.json").read_text())
    assert summary["columns_missing"] == ["created_by", "issuer", "kiosk_mode", "pass_id", "pass_type"]
    assert summary["unavailable"] == registry.unavailable(data)  # and no side file: bells, keep_apart
    assert not (tmp_path / "o" / "staff_usage.csv").exists()


def staff_usage_of(frame):
    """Staff Usage computed on a bare frame (which says nothing about missing columns)."""
    return reports.staff_usage(frame, "2026-03-01", "2026-03-31")


@pytest.mark.parametrize("year_starts, dates", [
    ("2025-08-01", ["2025-08-20", "2026-03-04", "2026-07-31"]),
    ("2024-08-01", ["2024-08-20", "2025-03-04", "2025-07-31"]),
    ("2025-08-21", ["2026-03-04", "2026-07-31", "2026-08-20"]),  # a school year starting on the 21st
])
def test_times_without_a_year_fall_in_the_school_year(tmp_path, year_starts, dates):
    write_smartpass(tmp_path / "d", [smartpass_row(start=s) for s in ("8/20 9:00 AM", "3/04 9:00 AM", "7/31 9:00 AM")])
    data = load(tmp_path / "d", tmp_path / "c", year_starts=year_starts)
    assert sorted(str(d)[:10] for d in data.passes.select("date").collect("pandas").to_native()["date"]) == dates


def test_february_29_exists_only_in_leap_years(tmp_path):
    write_smartpass(tmp_path / "d", [smartpass_row(start="2/29 9:00 AM"), smartpass_row(start="3/01 9:00 AM")])
    leap = load(tmp_path / "d", tmp_path / "c", year_starts="2023-08-01")
    assert leap.summary["passes_kept"] == 2
    plain = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01")
    assert plain.rejected()[["line", "reason"]].values.tolist() == [[2, "start_time is not a date and time"]]


def test_the_report_range_chooses_the_school_year(tmp_path, capsys):
    write_smartpass(tmp_path / "d", [smartpass_row(start="9/15 9:00 AM"), smartpass_row(start="3/04 9:00 AM")])
    args = ["report", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")]
    assert main([*args, "--start", "2024-09-01", "--end", "2025-06-30"]) == 0
    assert "2 passes from 2024-09-01" in capsys.readouterr().out
    assert main([*args, "--start", "2025-09-01", "--end", "2026-06-30"]) == 0
    assert "2 passes from 2025-09-01" in capsys.readouterr().out
    assert main([*args, "--start", "2025-09-01", "--end", "2026-06-30", "--year-starts", "2024-08-01"]) == 0
    assert "0 passes from 2025-09-01" in capsys.readouterr().out


def test_without_a_range_the_year_comes_from_the_export_modification_time(tmp_path):
    path = write_smartpass(tmp_path / "d", [smartpass_row(start="8/20 9:00 AM"), smartpass_row(start="3/04 9:00 AM")])
    stamp = dt.datetime(2026, 6, 15, 12, 0).timestamp()
    os.utime(path, (stamp, stamp))  # saved in June 2026: the 2025-26 school year
    data = load(tmp_path / "d", tmp_path / "c")
    assert (data.summary["first_date"], data.summary["last_date"]) == ("2025-08-20", "2026-03-04")
    assert data.summary["year_less_times"]["chosen_by"].startswith("each export's modification time")
    stamp = dt.datetime(2026, 1, 10, 12, 0).timestamp()
    os.utime(path, (stamp, stamp))  # saved in January 2026: a pass on 3/04 cannot be in 2025-26
    data = load(tmp_path / "d", tmp_path / "c")
    assert (data.summary["first_date"], data.summary["last_date"]) == ("2024-08-20", "2025-03-04")


def test_fallback_year_start():
    assert ingest.fallback_year_start([(8, 20), (5, 29)], dt.date(2026, 6, 1)) == dt.date(2025, 8, 1)
    assert ingest.fallback_year_start([(8, 20), (5, 29)], dt.date(2026, 5, 28)) == dt.date(2024, 8, 1)
    assert ingest.fallback_year_start([(8, 20)], dt.date(2026, 8, 20)) == dt.date(2026, 8, 1)
    assert ingest.fallback_year_start([(8, 21)], dt.date(2026, 8, 20)) == dt.date(2025, 8, 1)


def test_the_emailed_export_carries_a_year(tmp_path):
    write_smartpass(tmp_path / "d", [smartpass_row(start="3/04/2026 9:05 AM"), smartpass_row(start="3/4/2026 13:05")])
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2019-08-01")
    assert passes(data, "start_time") == [["2026-03-04 09:05:00"], ["2026-03-04 13:05:00"]]
    assert "year_less_times" not in data.summary


def test_the_year_is_part_of_the_cache_key_only_for_exports_without_one(tmp_path, monkeypatch):
    write_csv(tmp_path / "own" / "passes.csv", [pass_row(1)])
    write_smartpass(tmp_path / "sp", [smartpass_row()])
    own = load(tmp_path / "own", tmp_path / "c", year_starts="2025-08-01")
    sp_2025 = load(tmp_path / "sp", tmp_path / "c", year_starts="2025-08-01")
    sp_2024 = load(tmp_path / "sp", tmp_path / "c", year_starts="2024-08-01")
    assert sp_2025.cache != sp_2024.cache
    monkeypatch.setattr(ingest, "build", lambda *a, **k: pytest.fail("parsed again"))
    assert load(tmp_path / "own", tmp_path / "c", year_starts="2024-08-01").cache == own.cache
    assert load(tmp_path / "sp", tmp_path / "c", year_starts="2025-08-01").cache == sp_2025.cache


# ---- the other layouts ---------------------------------------------------------------------------

def test_the_open_hall_pass_system_export(tmp_path):
    write_csv(tmp_path / "d" / "passHistory_export.csv", [
        ["123456", "Ana Rivera", "Room 12", "restroom", "", "2026-01-05 09:00:00", "2026-01-05 09:06:00", "6", "IN"],
        ["123457", "Bo Lee", "Room 12", "other", "Guidance", "2026-01-05 10:00:00", "", "", "OUT"],
        ["123458", "Cy Ng", "Room 14", "Other", "", "01/06/26 10:00", "", "7", "IN"],
    ], HALL_PASS_SYSTEM)
    data = load(tmp_path / "d", tmp_path / "c")
    assert data.summary["files"][0]["layout"] == "hall-pass-system"
    assert passes(data, "student_id", "destination", "start_time", "end_time") == [
        ["123456", "restroom", "2026-01-05 09:00:00", "2026-01-05 09:06:00"],
        ["123457", "Guidance", "2026-01-05 10:00:00", "-"],  # still out: never ended
        ["123458", "Other", "2026-01-06 10:00:00", "2026-01-06 10:07:00"]]


def test_passkit_format_is_detected_and_named(tmp_path):
    write_csv(tmp_path / "d" / "export.csv", [pass_row(1)])
    data = load(tmp_path / "d", tmp_path / "c")
    assert data.summary["files"][0]["layout"] == "passkit" and data.summary["columns_missing"] == []


def test_generic_headers_are_matched_by_synonyms_and_reported(tmp_path):
    header = ["Student Number", "Student", "Grade Level", "From", "To", "Time Out", "Time In", "Created By", "Type",
              "Teacher"]
    write_csv(tmp_path / "d" / "hallpasses.csv", [
        ["7001", "Jo Lee", "9", "Room 12", "Nurse", "01/05/2026 9:00 AM", "01/05/2026 9:20 AM", "Staff", "Immediate",
         "Mr. Ito"]], header)
    data = load(tmp_path / "d", tmp_path / "c")
    entry = data.summary["files"][0]
    assert entry["layout"] == "generic"
    assert entry["columns"] == {"Student Number": "student_id", "Student": "student_name", "Grade Level": "grade",
                                "From": "origin", "To": "destination", "Time Out": "start_time",
                                "Time In": "end_time", "Created By": "created_by", "Type": "pass_type",
                                "Teacher": "issuer"}
    assert passes(data, "created_by", "pass_type", "minutes") == [["teacher", "now", "20.0"]]
    assert data.summary["columns_missing"] == ["kiosk_mode", "pass_id"]


def test_layout_comes_from_the_header_never_the_file_name(tmp_path):
    write_csv(tmp_path / "d" / "SmartPass-PassSearch.csv", [pass_row(1)])  # passkit's format
    write_smartpass(tmp_path / "d", [smartpass_row()], name="passes.csv")  # SmartPass's
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01")
    assert {e["file"]: e["layout"] for e in data.summary["files"]} == {"passes.csv": "smartpass",
                                                                       "SmartPass-PassSearch.csv": "passkit"}


def test_every_csv_and_xlsx_but_side_files_and_outputs_is_read_as_passes(tmp_path):
    write_csv(tmp_path / "d" / "march.csv", [pass_row(1)])
    write_csv(tmp_path / "d" / "April export.CSV", [pass_row(2)])
    for side in ("rooms", "Roster", "staff", "bells", "exempt", "keep_apart", "rejected", "passes_by_grade"):
        write_csv(tmp_path / "d" / f"{side}.csv", [["x"]], ["whatever"])
    (tmp_path / "d" / "reports-2026-01-05-to-2026-03-27.xlsx").write_bytes(b"a workbook passkit wrote")
    (tmp_path / "d" / "notes.txt").write_text("not an export")
    from passkit.data import find_files

    files = find_files(tmp_path / "d")
    assert [p.name for p in files["passes"]] == ["April export.CSV", "march.csv"]
    assert sorted(name for name, _ in files["ignored"]) == ["passes_by_grade.csv", "rejected.csv",
                                                            "reports-2026-01-05-to-2026-03-27.xlsx"]
    assert files["roster"].name == "Roster.csv" and files["exempt"].name == "exempt.csv"
    assert files["bells"].name == "bells.csv" and files["keep_apart"].name == "keep_apart.csv"


def test_a_column_map_still_overrides_detection(tmp_path):
    write_smartpass(tmp_path / "d", [smartpass_row()])
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  ID: student_id\n  Origin: destination\n  Destination: origin\n"
                       "  Pass start time: start_time\ntimes: ['%m/%d %I:%M %p']\n")
    data = passkit.load(tmp_path / "d", columns=mapping, cache_dir=tmp_path / "c", year_starts="2025-08-01")
    assert data.summary["files"][0]["layout"] == "column-map"
    assert passes(data, "origin", "destination") == [["Restroom A", "Room 101"]]
    # headers already named as passkit columns ('Student Name', 'Grade', 'Duration') are read as those
    assert data.summary["columns_missing"] == ["created_by", "issuer", "kiosk_mode", "pass_id", "pass_type"]


def test_layouts_ship_as_package_data():
    names = {layout.name for layout in columns.layouts()}
    assert names == {"smartpass", "hall-pass-system", "passkit", "generic"}
    assert columns.layouts()[-1].name == "generic"  # synonyms are the last resort


# ---- columns an export lacks -----------------------------------------------------------------------

def test_derived_pass_ids_are_stable_and_identical_rows_are_listed(tmp_path):
    rows = [smartpass_row(), smartpass_row(), smartpass_row(start="3/04 10:00 AM")]
    write_smartpass(tmp_path / "a", rows)
    write_smartpass(tmp_path / "b", rows, name="renamed.csv")
    first = load(tmp_path / "a", tmp_path / "c", year_starts="2025-08-01")
    again = load(tmp_path / "b", tmp_path / "c", year_starts="2025-08-01")
    ids = [row[0] for row in passes(first, "pass_id")]
    assert ids == [row[0] for row in passes(again, "pass_id")]  # from the content, not the file or line
    assert len(set(ids)) == 3 and sum(i.endswith("-2") for i in ids) == 1
    assert first.summary["possible_duplicates"] == 1 and first.summary["passes_kept"] == 3
    assert first.possible_duplicates().values.tolist() == [["SmartPass-PassSearch.csv", 3, "SmartPass-PassSearch.csv",
                                                            2]]


def test_drop_identical_drops_them_as_duplicates(tmp_path):
    write_smartpass(tmp_path / "d", [smartpass_row(), smartpass_row(), smartpass_row(sid="S2")])
    data = load(tmp_path / "d", tmp_path / "c", year_starts="2025-08-01", drop_identical=True)
    s = data.summary
    assert (s["rows_read"], s["passes_kept"], s["duplicates_dropped"], s["rows_rejected"]) == (3, 2, 1, 0)
    assert data.rejected()[["line", "reason"]].values.tolist() == [
        [3, "identical to SmartPass-PassSearch.csv line 2 (--drop-identical)"]]


def test_end_time_from_a_duration_and_untimed_passes(tmp_path):
    header = ["student_id", "origin", "start_time", "duration"]
    write_csv(tmp_path / "d" / "passes.csv", [["S1", "Room 1", "2026-01-05T09:00:00", "12"],
                                              ["S1", "Room 1", "2026-01-05T10:00:00", "soon"]], header)
    data = load(tmp_path / "d", tmp_path / "c")
    assert passes(data, "end_time", "minutes") == [["2026-01-05 09:12:00", "12.0"]]
    assert data.rejected()["reason"].tolist() == ["duration is not a number of minutes"]
    assert "end_time" not in data.columns_missing
    write_csv(tmp_path / "e" / "passes.csv", [["S1", "Nurse", "2026-01-05T09:00:00"]],
              ["student_id", "destination", "start_time"])
    untimed = load(tmp_path / "e", tmp_path / "c")
    assert passes(untimed, "destination", "end_time") == [["Nurse", "-"]]
    assert untimed.summary["columns_missing"] == ["created_by", "end_time", "grade", "issuer", "kiosk_mode",
                                                  "origin", "pass_id", "pass_type", "student_name"]
    tables = reports.all_reports(untimed, "2026-01-05", "2026-01-05")  # no origin, no creator: still no crash
    assert tables["room_usage"][["room", "passes_from", "passes_to"]].values.tolist() == [["Nurse", 0, 1]]


@pytest.mark.parametrize("header, column", [
    (["student_id", "origin", "destination"], "start_time"),
    (["origin", "start_time"], "student_id"),
    (["student_id", "start_time"], "origin"),
])
def test_the_three_required_columns(tmp_path, capsys, header, column):
    write_csv(tmp_path / "d" / "passes.csv", [["x"] * len(header)], header)
    code = main(["check", str(tmp_path / "d"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"column '{column}': required column is missing" in err
