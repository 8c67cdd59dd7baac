"""`passkit check DIR`: what passkit reads in a folder, and which reports the columns allow."""

import passkit
from passkit import check, registry
from passkit.cli import main

from .conftest import HEADER, pass_row, write_csv
from .test_layouts import smartpass_row, write_smartpass


def run_check(capsys, folder, *args):
    code = main(["check", str(folder), *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_smartpass_folder(tmp_path, capsys):
    write_smartpass(tmp_path / "d", [smartpass_row(), smartpass_row(name="Bo Lee", sid="S2", start="3/05 9:00 AM"),
                                     smartpass_row(name="Cy Ng", sid="S3", destination="-")])
    write_csv(tmp_path / "d" / "rooms.csv", [["Room 101", "Classrooms"]], ["room", "folder"])
    write_csv(tmp_path / "d" / "bells.csv", [["Period 1", "07:45", "08:35"]], ["period", "start", "end"])
    code, out, err = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c", "--year-starts", "2025-08-01")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:4] == [
        "Files",
        "  SmartPass-PassSearch.csv: SmartPass pass search; 3 rows, 2 passes kept, 2026-03-04 to 2026-03-05",
        "    columns: Student Name -> student_name, Grade -> grade, ID -> student_id, Origin -> origin, "
        "Destination -> destination, Pass start time -> start_time, Duration -> duration, Email -> student_email",
        "    3 times without a year, read in the school year from 2025-08-01 (chosen by --year-starts or the "
        "requested range)"]
    assert lines[6] == "Passes: 3 rows read: 2 kept, 0 duplicates dropped, 1 rejected"
    assert lines[4:6] == ["  rooms.csv: read as rooms", "  bells.csv: read as bells"]
    assert "  columns no export has: created_by, issuer, kiosk_mode, pass_id, pass_type" in lines
    unavailable = ("staff_changes", "staff_usage", "keep_apart_meetings")
    assert "  available: " + ", ".join(name for name in registry.names() if name not in unavailable) in lines
    assert "  unavailable: staff_changes (the export has no creator or issuer column)" in lines
    assert "  unavailable: staff_usage (the export has no creator or issuer column)" in lines
    assert lines[-2:] == ["Rejected rows (the first 1 of 1; `passkit report` writes all to rejected.csv)",
                          "  SmartPass-PassSearch.csv line 4: missing destination"]
    for private in ("Ana", "Rivera", "Cy Ng", "S3", "students.example.org"):  # names and ids stay out
        assert private not in out


def test_how_each_file_was_read_is_shown(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    text = "Pass report\n" + ";".join(HEADER) + "\n" + ";".join(pass_row(1)) + "\n\n"
    (tmp_path / "d" / "passes.csv").write_bytes(text.encode("utf-16"))
    code, out, _ = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c")
    assert code == 0
    assert "    header on line 2\n    semicolon-delimited\n    encoded as UTF-16\n    1 row blank, skipped\n" in out


def test_a_folder_where_every_row_is_rejected_cannot_be_reported_on(tmp_path, capsys):
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1, student=""), pass_row(2, start="soon")])
    code, out, _ = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c")
    assert code == 2 and out.splitlines()[-1].startswith("No pass could be read")


def test_a_folder_without_exports_is_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    code, out, err = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "no passes export found" in err


def test_report_availability(tmp_path):
    no_bells = {"passes_by_period": "the data folder has no bells.csv",
                "keep_apart_meetings": "the data folder has no keep_apart.csv"}
    write_csv(tmp_path / "own" / "passes.csv", [pass_row(1)])
    assert registry.unavailable(passkit.load(tmp_path / "own", cache_dir=tmp_path / "c")) == no_bells
    header = [h for h in HEADER if h != "issuer"]
    write_csv(tmp_path / "no-issuer" / "passes.csv", [[v for h, v in zip(HEADER, pass_row(1)) if h != "issuer"]],
              header)
    data = passkit.load(tmp_path / "no-issuer", cache_dir=tmp_path / "c")
    assert data.columns_missing == {"issuer"}
    assert registry.unavailable(data) == {"staff_usage": "the export has no issuer column",
                                               "staff_changes": "the export has no issuer column", **no_bells}


def test_possible_duplicates_are_listed(tmp_path, capsys):
    write_smartpass(tmp_path / "d", [smartpass_row(), smartpass_row(), smartpass_row(sid="S2")])
    code, out, _ = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c", "--year-starts", "2025-08-01")
    assert code == 0
    assert "  1 row identical in every column to an earlier row (possibly one pass exported twice): kept; " \
           "--drop-identical drops them" in out
    assert "Possible duplicates (the first 1 of 1), kept\n  SmartPass-PassSearch.csv line 3: identical to " \
           "SmartPass-PassSearch.csv line 2\n" in out
    code, out, _ = run_check(capsys, tmp_path / "d", "--cache", tmp_path / "c", "--year-starts", "2025-08-01",
                             "--drop-identical")
    assert code == 0 and "Possible duplicates" not in out
    assert "  SmartPass-PassSearch.csv line 3: identical to SmartPass-PassSearch.csv line 2 (--drop-identical)" in out
