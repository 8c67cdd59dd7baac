"""Messy files (issue 11): line numbers, encodings, delimiters, spreadsheets, odd headers and odd rows."""

import csv
import datetime as dt

import openpyxl
import pytest

import passkit
from passkit import readers
from passkit.cli import main

from .conftest import HEADER, pass_row, write_csv


def load(tmp_path, **options):
    return passkit.load(tmp_path / "d", cache_dir=tmp_path / "c", **options)


def lines(text_rows):
    """CSV text (str) from rows of cells, with '\\n' line ends and no blank lines of its own."""
    out = []
    for row in text_rows:
        out.append(row if isinstance(row, str) else ",".join(row))
    return "\n".join(out) + "\n"


def kept_lines(data):
    return sorted(data.passes.select("source_line").collect("pandas").to_native()["source_line"].tolist())


def rejected(data):
    return data.rejected()[["file", "line", "reason"]].values.tolist()


def test_line_numbers_are_physical_after_blank_lines_and_quoted_newlines(tmp_path):
    (tmp_path / "d").mkdir()
    named = pass_row(3, student="S3", name='"Ortiz,\nLiam"')
    text = lines([HEADER, pass_row(1), "", pass_row(2), "", ",".join(named), pass_row(4, student=""), "",
                  ",".join(pass_row(5)[:5])])
    (tmp_path / "d" / "passes.csv").write_text(text)
    # physical lines: 1 header, 2 pass 1, 3 blank, 4 pass 2, 5 blank, 6-7 pass 3, 8 pass 4, 9 blank, 10 malformed
    data = load(tmp_path)
    assert kept_lines(data) == [2, 4, 6]
    assert rejected(data) == [["passes.csv", 8, "missing student_id"],
                              ["passes.csv", 10, "the row has the wrong number of fields"]]
    assert data.summary["blank_rows_skipped"] == 3
    names = data.passes.select("student_name").collect("pandas").to_native()["student_name"].tolist()
    assert "Ortiz, Liam" in names  # the line break inside the value is a control character: a space


def test_blank_rows_of_spaces_or_commas_are_skipped_and_counted(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.csv").write_text(lines([HEADER, pass_row(1), ",,,,,,,,,,,", "   ", pass_row(2)]))
    data = load(tmp_path)
    assert kept_lines(data) == [2, 5] and data.summary["blank_rows_skipped"] == 2
    assert data.summary["rows_read"] == 2 and data.rejected().empty


def test_a_windows_1252_byte_in_a_utf8_file_repairs_only_its_row(tmp_path):
    (tmp_path / "d").mkdir()
    good = lines([HEADER] + [pass_row(i, name="Zoë Adams") for i in range(1, 40)]).encode("utf-8")
    bad = lines([pass_row(40, student="S2", name="Zoë Brown")]).encode("cp1252")
    (tmp_path / "d" / "passes.csv").write_bytes(good + bad)
    data = load(tmp_path)
    names = set(data.passes.select("student_name").collect("pandas").to_native()["student_name"])
    assert names == {"Zoë Adams", "Zoë Brown"}  # not 'ZoÃ« Adams': the UTF-8 rows stay UTF-8
    entry = data.summary["files"][0]
    assert entry["rows_repaired_from_windows_1252"] == 1 and entry["rows_repaired_lines"] == [41]
    assert data.summary["rows_repaired_from_windows_1252"] == 1


def test_a_whole_windows_1252_file_as_excel_saves_it(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.csv").write_bytes(lines([HEADER, pass_row(1, name="Zoë Adams")]).encode("cp1252"))
    data = load(tmp_path)
    assert data.passes.select("student_name").collect("pandas").to_native()["student_name"].tolist() == ["Zoë Adams"]


@pytest.mark.parametrize("encoding, delimiter, name", [
    ("utf-16", "\t", "UTF-16 tab-delimited (Excel's Unicode text)"),
    ("utf-16-le", ",", "UTF-16 without a byte-order mark"),
    ("utf-8", ";", "semicolons (European Excel)"),
    ("utf-8", "\t", "tabs"),
    ("utf-8-sig", ";", "semicolons with a byte-order mark"),
])
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delimiter, name):
    (tmp_path / "d").mkdir()
    rows = [HEADER, pass_row(1, name="Zoë, Adams"), pass_row(2, student="")]
    with open(tmp_path / "d" / "passes.csv", "w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    data = load(tmp_path)
    assert data.summary["passes_kept"] == 1, name
    assert data.passes.select("student_name").collect("pandas").to_native()["student_name"].tolist() == ["Zoë, Adams"]
    assert rejected(data) == [["passes.csv", 3, "missing student_id"]]


def test_an_unknown_delimiter_names_the_likely_cause(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.csv").write_text(lines([":".join(HEADER), ":".join(pass_row(1))]))
    code = main(["check", str(tmp_path / "d"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no header row with a student, a room and a start time in the first 20 rows" in err
    assert "commas, semicolons or tabs" in err


def test_a_title_above_the_header_is_skipped_and_lines_stay_physical(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.csv").write_text(lines(["Hall pass report,,,", '"Lincoln High,', 'all rooms"', "",
                                                      HEADER, pass_row(1), pass_row(2, origin="")]))
    data = load(tmp_path)
    assert data.summary["files"][0]["header_line"] == 5
    assert kept_lines(data) == [6] and rejected(data) == [["passes.csv", 7, "missing origin"]]


def test_no_header_in_the_first_20_rows_is_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "passes.csv").write_text(lines([f"note {i}" for i in range(20)] + [HEADER, pass_row(1)]))
    code = main(["check", str(tmp_path / "d"), "--cache", str(tmp_path / "c")])
    assert code == 2 and "in the first 20 rows" in capsys.readouterr().err


def test_duplicate_header_names_are_one_line_naming_both(tmp_path, capsys):
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1) + ["S9"]], HEADER + ["Student ID"])
    code = main(["check", str(tmp_path / "d"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        f"passkit: {tmp_path / 'd' / 'passes.csv'}: columns 'student_id' (column 2) and 'Student ID' (column 13) "
        "both give student_id: remove or rename one"]


def test_a_row_over_1_mb_is_rejected_alone(tmp_path):
    rows = [pass_row(1), pass_row(2, name="x" * (readers.MAX_ROW_BYTES + 1)), pass_row(3)]
    write_csv(tmp_path / "d" / "passes.csv", rows)
    data = load(tmp_path)
    assert rejected(data) == [["passes.csv", 3, "the row is longer than 1 MB"]]
    assert kept_lines(data) == [2, 4]


def test_a_start_far_from_the_rest_is_implausible(tmp_path):
    days = [dt.date(2026, 1, 5) + dt.timedelta(d) for d in range(40)]
    rows = [pass_row(i, start=f"{d}T09:00:00", end="") for i, d in enumerate(days)]
    rows.append(pass_row(99, start="2062-01-05T09:00:00", end=""))  # a typed year among a term of passes
    rows.append(pass_row(98, start="2025-01-05T09:00:00", end=""))  # a year before: within 400 days of the bulk
    write_csv(tmp_path / "d" / "passes.csv", rows)
    data = load(tmp_path)
    assert rejected(data) == [["passes.csv", 42, "start_time is implausible"]]
    assert data.summary["first_date"] == "2025-01-05" and data.summary["last_date"] == "2026-02-13"


def test_a_date_without_a_time_is_rejected_not_midnight(tmp_path):
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1, start="2026-01-05", end=""), pass_row(2)])
    assert rejected(load(tmp_path)) == [["passes.csv", 2, "start_time has no time of day"]]


def test_control_characters_are_replaced_and_counted(tmp_path, capsys):
    """Issue 10 item 7: a vertical tab in a name made `passkit report` fail with a traceback naming the student."""
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1, name="Ana\x0bRivera"), pass_row(2, student="S2",
                                                                                          name="Bo\x1b[31mLee\x00")])
    code = main(["report", "--data", str(tmp_path / "d"), "--start", "2026-01-05", "--end", "2026-01-05",
                 "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err and "Rivera" not in captured.err + captured.out
    data = load(tmp_path)
    names = sorted(data.passes.select("student_name").collect("pandas").to_native()["student_name"])
    assert names == ["Ana Rivera", "Bo [31mLee"]
    assert data.summary["control_character_rows"] == 2
    assert (tmp_path / "o" / "reports-2026-01-05-to-2026-01-05.xlsx").exists()


def test_a_column_named_line_is_just_another_column(tmp_path):
    """Issue 10 item 16: a CSV column named `_line` clashed with passkit's own line numbers."""
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1) + ["77"], pass_row(2, student="") + ["78"]],
              HEADER + ["_line"])
    data = load(tmp_path)
    assert kept_lines(data) == [2] and rejected(data) == [["passes.csv", 3, "missing student_id"]]


def test_grades_as_class_names_and_number_cells(tmp_path):
    rows = [pass_row(i, student=f"S{i}", grade=g) for i, g in enumerate(["Freshman", "Sophomore", "Junior",
                                                                         "Senior", "10.0"])]
    write_csv(tmp_path / "d" / "passes.csv", rows)
    data = load(tmp_path)
    grades = data.passes.select("grade").collect("pandas").to_native()["grade"].tolist()
    assert sorted(grades) == ["10", "10", "11", "12", "9"] and data.summary["grade_values_not_recognised"] == 0


# ---- spreadsheets ------------------------------------------------------------------------------------

def sheet_rows(sheet, rows):
    for row in rows:
        sheet.append(row)


def test_every_sheet_with_a_header_is_read_and_the_others_are_named(tmp_path):
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Fall"
    sheet_rows(first, [HEADER, pass_row(1), [None] * 3, pass_row(2, student="")])
    sheet_rows(book.create_sheet("Notes"), [["Exported by the office"], ["nothing here"]])
    sheet_rows(book.create_sheet("Spring"), [["Spring passes"], [], HEADER, pass_row(3), pass_row(4)])
    (tmp_path / "d").mkdir()
    book.save(tmp_path / "d" / "passes.xlsx")
    data = load(tmp_path)
    files = data.summary["files"]
    assert [f["file"] for f in files] == ["passes.xlsx", "passes.xlsx [Spring]"]
    assert files[0]["sheets_ignored"] == ["Notes"] and files[0]["blank_rows"] == 1
    assert files[1]["header_line"] == 3
    assert data.summary["passes_kept"] == 3 and data.summary["blank_rows_skipped"] == 1
    assert rejected(data) == [["passes.xlsx", 4, "missing student_id"]]  # a blank row is not 'missing pass_id'
    lines_by_file = data.passes.select("source_file", "source_line").collect("pandas").to_native()
    assert sorted(map(tuple, lines_by_file.values.tolist())) == [(0, 2), (1, 4), (1, 5)]


def test_excel_serial_numbers_and_date_cells(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    row = pass_row(1)
    row[10:12] = [46027.375, 46027.38194444]  # 2026-01-05 09:00 and 09:10 as Excel stores them
    sheet.append(row)
    row = pass_row(2)
    row[10:12] = [dt.datetime(2026, 1, 5), None]  # a date cell: no time of day
    sheet.append(row)
    sheet.cell(row=3, column=11).number_format = "yyyy-mm-dd"
    row = pass_row(3)
    row[10:12] = [dt.datetime(2026, 1, 5, 0, 0), None]  # midnight written as a date-time: kept
    sheet.append(row)
    sheet.cell(row=4, column=11).number_format = "yyyy-mm-dd hh:mm"
    (tmp_path / "d").mkdir()
    book.save(tmp_path / "d" / "passes.xlsx")
    data = load(tmp_path)
    frame = data.passes.select("pass_id", "start_time", "minutes").collect("pandas").to_native()
    assert dict(zip(frame["pass_id"], frame["start_time"].astype(str))) == {
        "1": "2026-01-05 09:00:00", "3": "2026-01-05 00:00:00"}
    assert frame.set_index("pass_id")["minutes"]["1"] == 10.0
    assert rejected(data) == [["passes.xlsx", 3, "start_time has no time of day"]]


def test_spreadsheet_rows_keep_their_numbers_across_gaps_and_offset_columns(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for column, name in enumerate(HEADER, start=2):  # the table starts at B2
        sheet.cell(row=2, column=column, value=name)
    for row, values in ((4, pass_row(1)), (7, pass_row(2, origin=""))):  # rows 3, 5 and 6 were never written
        for column, value in enumerate(values, start=2):
            sheet.cell(row=row, column=column, value=value)
    (tmp_path / "d").mkdir()
    book.save(tmp_path / "d" / "passes.xlsx")
    data = load(tmp_path)
    assert data.summary["files"][0]["header_line"] == 2
    assert kept_lines(data) == [4] and rejected(data) == [["passes.xlsx", 7, "missing origin"]]


def test_a_malformed_row_that_is_not_utf8_is_rejected_quietly(tmp_path, capfd):
    (tmp_path / "d").mkdir()
    text = lines([HEADER, pass_row(1, name="Zoë Adams"), pass_row(2, student="S2", name="Zoë Brown")[:3]])
    (tmp_path / "d" / "passes.csv").write_bytes(text.encode("cp1252"))
    data = load(tmp_path)
    assert rejected(data) == [["passes.csv", 3, "the row has the wrong number of fields"]]
    entry = data.summary["files"][0]
    assert entry["encoding"] == "windows-1252" and entry["rows_repaired_lines"] == [2, 3]
    captured = capfd.readouterr()
    assert captured.err == "" and "Zo" not in captured.out
