"""No student's name or id in what passkit prints: a failing audit, a report of bad rows, a packet."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from passkit import resources
from passkit.errors import without_students

from .conftest import pass_row, write_csv

PASSKIT = str(Path(sys.executable).parent / "passkit")
Q3 = ["--start", "2026-01-05", "--end", "2026-03-27"]


def everything_printed(*args) -> tuple[int, str]:
    """Run the real command; stdout and stderr (progress bars included) as one text."""
    done = subprocess.run([PASSKIT, *map(str, args)], capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr


def students_of(folder: Path) -> set[str]:
    """Every student id and name in a data folder's exports."""
    found = set()
    for name, columns in (("passes.csv", ("student_id", "student_name")), ("roster.csv", ("student_id", "student_name"))):
        if (folder / name).is_file():
            table = pd.read_csv(folder / name, dtype=str, usecols=lambda c: c in columns)
            found |= {value for column in table for value in table[column].dropna()}
    return found


def leaked(text: str, students: set[str]) -> list[str]:
    return sorted(value for value in students if value in text)


@pytest.fixture
def quoting_notebooks(tmp_path):
    """The shipped notebooks, with Room Usage raising an error that quotes the busiest student's name and id."""
    folder = tmp_path / "notebooks"
    shutil.copytree(resources.path("notebooks"), folder)
    nb = nbformat.read(folder / "room_usage.ipynb", as_version=4)
    nb.cells[3].source = ('first = audit.table("passes_by_student").iloc[0]\n'
                          'raise ValueError(f"cannot seat {first.student_name} (id {first.student_id})")')
    nbformat.write(nb, folder / "room_usage.ipynb")
    return folder


@pytest.mark.slow
def test_a_failing_audit_prints_no_student(demo_folder, quoting_notebooks, tmp_path):
    students = students_of(demo_folder)
    assert len(students) > 200
    code, printed = everything_printed("audit", "--data", demo_folder, *Q3, "--out", tmp_path / "q3", "--cache",
                                       tmp_path / "c", "--notebooks", quoting_notebooks, "--no-pdf")
    assert code == 1 and "room_usage failed" in printed
    assert "ValueError: cannot seat [student] (id [student])" in printed, "the message, without the student"
    assert leaked(printed, students) == []
    executed = (tmp_path / "q3" / "notebooks" / "room_usage.ipynb").read_text()
    assert leaked(executed, students), "the admin's own notebook keeps the whole error"
    assert not (tmp_path / "q3" / "report.pdf").exists(), "--no-pdf"


def test_a_report_of_bad_rows_prints_no_student(tmp_path):
    rows = [pass_row(1, "S7001", name="Avery Quill"), pass_row(1, "S7002", name="Blake Rowe"),  # a duplicate
            pass_row(2, "S7003", name="Casey Stone", start="yesterday"), pass_row(3, "S7004", name="Dana Teague",
                                                                                  pass_type="later"),
            ["4", "S7005", "Emery Vance"]]  # too few fields
    write_csv(tmp_path / "d" / "passes.csv", rows)
    write_csv(tmp_path / "d" / "exempt.csv", [["S7001", "asthma"]], ["student_id", "reason"])
    students = {f"S700{n}" for n in range(1, 6)} | {"Avery Quill", "Blake Rowe", "Casey Stone", "Dana Teague",
                                                    "Emery Vance", "asthma"}
    code, printed = everything_printed("report", "--data", tmp_path / "d", "--start", "2026-01-05", "--end",
                                       "2026-01-05", "--out", tmp_path / "o", "--cache", tmp_path / "c")
    assert code == 0 and "rejected 3 rows" in printed and "dropped 1 duplicates" in printed
    assert leaked(printed, students) == []
    code, printed = everything_printed("packet", "--data", tmp_path / "d", "--start", "2026-01-05", "--end",
                                       "2026-01-05", "--room", "Room 101", "--out", tmp_path / "p", "--cache",
                                       tmp_path / "c")
    assert code == 0 and leaked(printed, students) == []
    write_csv(tmp_path / "d" / "exempt.csv", [["S7001", "asthma", "x"]], ["student", "reason"])
    code, printed = everything_printed("report", "--data", tmp_path / "d", "--start", "2026-01-05", "--end",
                                       "2026-01-05", "--out", tmp_path / "o", "--cache", tmp_path / "c")
    assert code == 2 and "exempt.csv, column 'student_id': required column is missing" in printed
    assert leaked(printed, students) == [] and len(printed.strip().splitlines()) == 1


def test_without_students_replaces_whole_ids_and_names(folder):
    data = folder([pass_row(1, "S123", name="Ann Lee"), pass_row(2, "42", name="Bo")])
    assert without_students("KeyError: 'S123' (Ann Lee) at line 42; S1234 and Ann Leeds stay", data) == (
        "KeyError: '[student]' ([student]) at line 42; S1234 and Ann Leeds stay")
    assert without_students("", data) == "" and without_students("S123", None) == "S123"
