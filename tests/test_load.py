"""Loading exports: time zones, duplicates, every reject reason, rosters, column maps, errors."""

import json
from pathlib import Path

import openpyxl
import pytest

import passkit
from passkit import folders, ingest, registry, reports
from passkit.cli import main
from passkit.errors import PasskitError

from .conftest import HEADER, pass_row, write_csv


def one(data, column):
    return data.passes.select(column).collect("pandas").to_native()[column].tolist()


def test_offsets_convert_to_school_time_and_naive_times_are_local(folder):
    data = folder([
        pass_row(1, start="2026-01-05T08:00:00", end=""),
        pass_row(2, start="2026-01-06T05:30:00Z", end=""),  # 23:30 on the 5th in Chicago
        pass_row(3, start="2026-01-05T10:00:00-05:00", end=""),  # 09:00 in Chicago
    ])
    times = dict(zip(one(data, "pass_id"), map(str, one(data, "start_time"))))
    assert times == {"1": "2026-01-05 08:00:00", "2": "2026-01-05 23:30:00", "3": "2026-01-05 09:00:00"}
    assert {str(d)[:10] for d in one(data, "date")} == {"2026-01-05"}


def test_daylight_saving_changes(folder):
    data = folder([
        # 2026-03-08: clocks jump from 02:00 to 03:00 in Chicago; 07:30Z is 01:30 CST.
        pass_row(1, start="2026-03-08T07:30:00Z", end="2026-03-08T08:30:00Z"),
        # 2026-11-01: 01:30 happens twice; both instants stay on that date, 60 minutes apart.
        pass_row(2, start="2026-11-01T01:30:00-05:00", end="2026-11-01T01:30:00-06:00"),
    ])
    minutes = dict(zip(one(data, "pass_id"), one(data, "minutes")))
    assert minutes == {"1": 60.0, "2": 60.0}
    starts = dict(zip(one(data, "pass_id"), map(str, one(data, "start_time"))))
    assert starts["1"] == "2026-03-08 01:30:00"


def test_midnight_belongs_to_the_new_day_and_range_ends_are_included(folder):
    data = folder([
        pass_row(1, start="2026-01-04T23:59:59", end=""),
        pass_row(2, start="2026-01-05T00:00:00", end=""),
        pass_row(3, start="2026-01-07T23:59:59", end=""),
        pass_row(4, start="2026-01-08T00:00:00", end=""),
    ])
    daily = reports.daily_passes(data, "2026-01-05", "2026-01-07")
    assert daily.to_dict("records") == [
        {"date": daily["date"].iloc[0], "grade": "9", "passes": 1},
        {"date": daily["date"].iloc[1], "grade": "9", "passes": 1},
    ]
    assert [str(d)[:10] for d in daily["date"]] == ["2026-01-05", "2026-01-07"]
    assert reports.passes_by_grade(data, "2026-01-04", "2026-01-04")["passes"].tolist() == [1]


def test_duplicates_across_parts_count_once(tmp_path):
    write_csv(tmp_path / "d" / "passes-1.csv", [pass_row(1), pass_row(2)])
    write_csv(tmp_path / "d" / "passes-2.csv", [pass_row(2), pass_row(3)])
    data = passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")
    assert data.summary["passes_kept"] == 3 and data.summary["duplicates_dropped"] == 1
    rejected = data.rejected()
    assert rejected[["file", "line"]].values.tolist() == [["passes-2.csv", 2]]
    assert rejected["reason"][0] == "duplicate pass_id (first seen in passes-1.csv line 3)"


@pytest.mark.parametrize("row, reason", [
    (pass_row("", ), "missing pass_id"),
    (pass_row(1, student=""), "missing student_id"),
    (pass_row(1, origin=""), "missing origin"),
    (pass_row(1, destination=" "), "missing destination"),
    (pass_row(1, start=""), "missing start_time"),
    (pass_row(1, start="01/05/2026 9:00"), "start_time is not a date and time"),
    (pass_row(1, start="2026-01-05"), "start_time has no time of day"),
    (pass_row(1, end="later"), "end_time is not a date and time"),
    (pass_row(1, created_by="robot"), "created_by is not student, teacher or kiosk"),
    (pass_row(1, pass_type="later"), "pass_type is not now or scheduled"),
    (pass_row(1, created_by="kiosk", kiosk_mode="maybe"), "kiosk_mode is not true or false"),
    (pass_row(1)[:5], ingest.MALFORMED),
])
def test_every_reject_reason_is_named_with_file_and_line(folder, row, reason):
    data = folder([pass_row(100), row])
    rejected = data.rejected()
    assert rejected[["file", "line", "reason"]].values.tolist() == [["passes.csv", 3, reason]]
    assert data.summary["rejected_by_reason"] == {reason: 1}
    assert data.summary["passes_kept"] == 1


def test_every_reject_reason_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for reason in [*ingest.READ_REJECTS, *(rule[2] for rule in ingest.REJECT_RULES), "duplicate pass_id"]:
        assert f"`{reason}" in readme, reason


def test_the_counts_add_up_and_values_are_trimmed_and_case_insensitive(folder):
    data = folder([
        pass_row(1, created_by=" Teacher ", pass_type="NOW", issuer=" Ms. Rivera "),
        pass_row(2, created_by="KIOSK", kiosk_mode="Yes", issuer="Mr. Lee"),
        pass_row(2), pass_row(3, student=""), pass_row(4, pass_type="?"),
    ])
    s = data.summary
    assert (s["rows_read"], s["passes_kept"], s["duplicates_dropped"], s["rows_rejected"]) == (5, 2, 1, 2)
    assert s["passes_kept"] + s["duplicates_dropped"] + s["rows_rejected"] == s["rows_read"]
    staff = reports.staff_usage(data, "2026-01-01", "2026-12-31")
    assert staff.to_dict("records") == [
        {"issuer": "Mr. Lee", "total_passes": 1, "now_passes": 1, "scheduled_passes": 0},
        {"issuer": "Ms. Rivera", "total_passes": 1, "now_passes": 1, "scheduled_passes": 0},
    ]


def test_end_before_start_is_kept_flagged_and_counts_no_minutes(folder):
    data = folder([pass_row(1, start="2026-01-05T09:00:00", end="2026-01-05T08:00:00"),
                   pass_row(2, start="2026-01-05T10:00:00", end="2026-01-05T10:10:30")])
    assert data.summary["passes_ended_before_start"] == 1
    flyers = reports.frequent_flyers(data, "2026-01-05", "2026-01-05")
    assert flyers[["passes", "minutes_out"]].values.tolist() == [[2, 10.5]]


def test_kiosk_rules_for_staff_usage(folder):
    data = folder([
        pass_row(1, created_by="teacher", issuer="Ms. Rivera", pass_type="scheduled"),
        pass_row(2, created_by="kiosk", issuer="Ms. Rivera", kiosk_mode="true"),
        pass_row(3, created_by="kiosk", issuer="Kiosk - Library", kiosk_mode="false"),
        pass_row(4, created_by="kiosk", issuer="Kiosk - Gym", kiosk_mode=""),
        pass_row(5, created_by="student", issuer="Ms. Rivera"),
        pass_row(6, created_by="teacher", issuer="Mr. Lee", kiosk_mode="0"),
    ], staff=(["issuer", "name"], [["Mr. Never", "Nev Er"], ["Ms. Rivera", "Ana Rivera"],
                                   ["Kiosk - Library", "Library kiosk"]]))
    staff = reports.staff_usage(data, "2026-01-05", "2026-01-05")
    # the Library kiosk has its own login: listed in staff.csv, yet not a teacher who never uses passes
    assert staff.values.tolist() == [["Ms. Rivera", 2, 1, 1], ["Mr. Lee", 1, 1, 0], ["Mr. Never", 0, 0, 0]]


def test_roster_fills_blank_grades_and_names(folder):
    data = folder([pass_row(1, student="S1", grade="", name=""), pass_row(2, student="S2", grade="Grade 10")],
                  roster=(["Student ID", "Grade", "Student Name"], [["S1", "KG", "Kim K"], ["S2", "11", "X"]]))
    by_student = reports.passes_by_student(data, "2026-01-05", "2026-01-05")
    assert by_student[["student_id", "student_name", "grade"]].values.tolist() == [
        ["S1", "Kim K", "K"], ["S2", "Student S2", "10"]]  # the pass's own grade wins over the roster
    assert data.summary["grades_filled_from_roster"] == 1


def test_oneroster_users_give_grades(folder):
    data = folder([pass_row(1, student="abc", grade=""), pass_row(2, student="t1", grade="")],
                  users=(["sourcedId", "status", "role", "givenName", "familyName", "grades"],
                         [["abc", "active", "student", "Ada", "Lovelace", "09,10"],
                          ["t1", "active", "teacher", "Tea", "Cher", "09"]]))
    by_grade = reports.passes_by_grade(data, "2026-01-05", "2026-01-05")
    assert by_grade.values.tolist() == [["9", 1], ["Unknown", 1]]


def test_no_grade_data_at_all_is_one_unknown_grade(folder):
    data = folder([pass_row(1, grade=""), pass_row(2, student="S2", grade="")])
    assert reports.passes_by_grade(data, "2026-01-05", "2026-01-05").values.tolist() == [["Unknown", 2]]


def test_column_map_renames_vendor_headers_and_values(tmp_path):
    vendor = ["Pass #", "Student Number", "Student", "Grade Level", "From", "To", "Made By", "Staff",
              "Kiosk?", "Type", "Out", "In"]
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1, created_by="Staff", pass_type="Immediate")], vendor)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("""
columns:
  "Pass #": pass_id
  Student Number: student_id
  Student: student_name
  Grade Level: grade
  From: origin
  To: destination
  Made By: created_by
  Staff: issuer
  Kiosk?: kiosk_mode
  Type: pass_type
  Out: start_time
  In: end_time
values:
  created_by: {staff: teacher}
  pass_type: {Immediate: now}
""")
    data = passkit.load(tmp_path / "d", columns=mapping, cache_dir=tmp_path / "c")
    assert data.summary["passes_kept"] == 1
    assert one(data, "created_by") == ["teacher"] and one(data, "pass_type") == ["now"]


def test_xlsx_exports_are_read_like_csv(tmp_path):
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([h.title().replace("_", " ") for h in HEADER])
    row = pass_row(1)
    row[10:12] = [dt.datetime(2026, 1, 5, 9, 0), dt.datetime(2026, 1, 5, 9, 12)]
    row[3] = 9  # a number cell
    sheet.append(row)
    (tmp_path / "d").mkdir()
    book.save(tmp_path / "d" / "passes.xlsx")
    data = passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")
    assert one(data, "minutes") == [12.0] and one(data, "grade") == ["9"]


def test_unchanged_exports_are_not_parsed_again(folder, tmp_path, monkeypatch):
    first = folder([pass_row(1)])
    monkeypatch.setattr(ingest, "build", lambda *a, **k: pytest.fail("re-parsed unchanged exports"))
    again = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    assert again.cache == first.cache and again.summary == first.summary


def test_changed_exports_are_parsed_again(folder, tmp_path):
    first = folder([pass_row(1)])
    second = folder([pass_row(1), pass_row(2)])
    assert second.cache != first.cache and second.summary["passes_kept"] == 2


def test_a_pandas_frame_works_as_input(folder):
    data = folder([pass_row(1), pass_row(2, student="S2", grade="10")])
    frame = data.passes.collect("pandas").to_native()
    assert reports.passes_by_grade(frame, "2026-01-05", "2026-01-05").equals(
        reports.passes_by_grade(data, "2026-01-05", "2026-01-05"))


# ---- errors a user sees -------------------------------------------------------------------------

def run_cli(capsys, *args):
    code = main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_required_column_is_one_line_naming_file_and_column(tmp_path, capsys):
    write_csv(tmp_path / "d" / "passes.csv", [["1", "S1"]], ["pass_id", "student_id"])
    code, _, err = run_cli(capsys, "report", "--data", tmp_path / "d", "--start", "2026-01-05", "--end",
                           "2026-01-05", "--out", tmp_path / "o", "--cache", tmp_path / "c")
    assert code == 2
    assert err.strip().splitlines() == [f"passkit: {tmp_path / 'd' / 'passes.csv'}, column 'origin': "
                                        "required column is missing (a passes export needs origin or destination; "
                                        "the header has pass_id, student_id)"]


@pytest.mark.parametrize("args, message", [
    (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--start", "2026-13-01"], "the start date '2026-13-01' is not a date"),
    (["--end", "2026-01-01"], "the range starts (2026-01-05) after it ends (2026-01-01)"),
])
def test_bad_arguments_are_one_line(folder, tmp_path, capsys, args, message):
    folder([pass_row(1)])
    base = {"--data": tmp_path / "data", "--start": "2026-01-05", "--end": "2026-01-07", "--out": tmp_path / "o",
            "--cache": tmp_path / "cache"}
    base.update(dict(zip(args[::2], args[1::2])))
    code, _, err = run_cli(capsys, "report", *[x for pair in base.items() for x in pair])
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_unreadable_file_is_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.xlsx").write_bytes(b"this is not a spreadsheet")
    code, _, err = run_cli(capsys, "report", "--data", tmp_path / "d", "--start", "2026-01-05", "--end",
                           "2026-01-05", "--cache", tmp_path / "c", "--out", tmp_path / "o")
    assert code == 2 and "passes.xlsx: cannot be read as XLSX" in err and len(err.strip().splitlines()) == 1


def test_report_command_writes_every_output(folder, tmp_path, capsys):
    folder([pass_row(1), pass_row(2, student="")])
    code, out, _ = run_cli(capsys, "report", "--data", tmp_path / "data", "--start", "2026-01-05", "--end",
                           "2026-01-05", "--out", tmp_path / "o", "--cache", tmp_path / "cache")
    assert code == 0 and "rejected 1 rows" in out
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    summary = json.loads((tmp_path / "o" / "load_summary.json").read_text())
    assert summary["unavailable"] == {"passes_by_period": "the data folder has no bells.csv",
                                      "keep_apart_meetings": "the data folder has no keep_apart.csv"}
    assert names == sorted([f"{r}.csv" for r in registry.names("csv") if r not in summary["unavailable"]] + [
        f"{r}.json" for r in registry.names("json")] + [
        "rejected.csv", "load_summary.json", "reports-2026-01-05-to-2026-01-05.xlsx", folders.MARKER])
    assert "Not made: Passes by Period, because the data folder has no bells.csv." in out
    assert summary["passes_in_range"] == 1 and summary["rows_rejected"] == 1


def test_start_after_end_raises_in_the_api(folder):
    with pytest.raises(PasskitError):
        reports.room_usage(folder([pass_row(1)]), "2026-02-01", "2026-01-01")


def test_a_cache_published_first_by_another_process_is_kept(folder, tmp_path):
    from passkit.data import find_files

    first = folder([pass_row(1)])
    inode = (first.cache / "passes.parquet").stat().st_ino
    # a second process that parsed the same exports at the same time finishes later
    ingest.build(find_files(tmp_path / "data"), "America/Chicago", None, first.cache)
    assert (first.cache / "passes.parquet").stat().st_ino == inode
    assert reports.passes_by_grade(first, "2026-01-05", "2026-01-05")["passes"].tolist() == [1]
    assert not [p for p in first.cache.parent.iterdir() if p.name.startswith(".building-")]
    refreshed = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache", refresh=True)
    assert (refreshed.cache / "passes.parquet").stat().st_ino != inode
