"""`passkit trace`: who met a student on passes (degree 1), and who met those (degree 2)."""

import pandas as pd
import pytest

from passkit import encounters
from passkit.cli import main
from passkit.errors import PasskitError

from .conftest import pass_row
from .test_district import with_schools

DAY = "2026-01-05"
# (time, first student, second student): the second's pass starts a minute after the first's, both last
# five minutes: every meeting is four minutes together.
MEETINGS = [("08:00", "S1", "S2"), ("08:20", "S1", "S2"), ("08:40", "S1", "S3"),
            ("09:00", "S2", "S4"), ("09:20", "S2", "S4"), ("09:40", "S2", "S4"),
            ("10:00", "S3", "S4"), ("10:20", "S3", "S5"),
            ("10:40", "S6", "S2"), ("11:00", "S6", "S3")]  # S6 met S2 and S3 once each: via S2, first by id


def rows():
    found = []
    for time, first, second in MEETINGS:
        hour, minute = map(int, time.split(":"))
        for student, offset in ((first, 0), (second, 1)):
            begin, end = hour * 60 + minute + offset, hour * 60 + minute + offset + 5
            found.append(pass_row(len(found) + 1, student, f"{DAY}T{begin // 60:02d}:{begin % 60:02d}:00",
                                  f"{DAY}T{end // 60:02d}:{end % 60:02d}:00", grade="10"))
    return found


@pytest.fixture
def school(folder):
    return folder(rows())


def listed(table):
    return table[["degree", "student_id", "via", "meetings", "minutes_together"]].values.tolist()


def test_degree_one_is_who_met_the_student(school):
    table = encounters.contacts(school, "S1", DAY, DAY)
    assert list(table.columns) == [column.name for column in encounters.CONTACT_COLUMNS]
    assert listed(table) == [[1, "S2", "", 2, 8.0], [1, "S3", "", 1, 4.0]]
    assert table[["student_name", "grade"]].values.tolist() == [["Student S2", "10"], ["Student S3", "10"]]
    assert table["first_met"].tolist() == [pd.Timestamp(DAY)] * 2


def test_degree_two_adds_who_met_a_contact_via_the_one_they_met_most(school):
    table = encounters.contacts(school, "S1", DAY, DAY, degree=2)
    assert listed(table) == [[1, "S2", "", 2, 8.0], [1, "S3", "", 1, 4.0],
                             [2, "S4", "S2", 3, 12.0], [2, "S5", "S3", 1, 4.0], [2, "S6", "S2", 1, 4.0]]


def test_degree_two_never_lists_the_student_or_a_direct_contact(school):
    table = encounters.contacts(school, "S4", DAY, DAY, degree=2)
    assert listed(table) == [[1, "S2", "", 3, 12.0], [1, "S3", "", 1, 4.0],
                             [2, "S1", "S2", 2, 8.0], [2, "S5", "S3", 1, 4.0], [2, "S6", "S2", 1, 4.0]]


def test_a_student_with_no_meetings_has_an_empty_list(school):
    assert encounters.contacts(school, "S1", "2026-01-06", "2026-01-07", degree=2).empty


def test_the_command_writes_contacts_csv_and_names_nobody_on_screen(school, tmp_path, capsys):
    out = tmp_path / "trace"
    code = main(["trace", "--data", str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--student", "S1",
                 "--start", DAY, "--end", DAY, "--degree", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "2 students met the student" in printed and "3 more met one of them" in printed
    assert "Student S" not in printed
    text = (out / "contacts.csv").read_text().splitlines()
    assert text[0] == "degree,student_id,student_name,grade,via,meetings,minutes_together,first_met,last_met"
    assert text[1] == "1,S2,Student S2,10,,2,8.0,2026-01-05,2026-01-05"
    assert text[3] == "2,S4,Student S4,10,S2,3,12.0,2026-01-05,2026-01-05"


def test_an_unknown_student_is_one_line_without_names(school, tmp_path, capsys):
    code = main(["trace", "--data", str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--student", "S404",
                 "--start", DAY, "--end", DAY, "--out", str(tmp_path / "trace")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["passkit: student id 'S404' is not in the data"]
    assert not (tmp_path / "trace").exists()


def test_the_output_folder_is_checked(school, tmp_path, capsys):
    code = main(["trace", "--data", str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--student", "S1",
                 "--start", DAY, "--end", DAY, "--out", str(tmp_path / "data" / "trace")])
    assert code == 2 and "is the data folder or inside it" in capsys.readouterr().err


def test_an_id_in_two_schools_needs_school(tmp_path, capsys):
    marked = [row + [school] for school in ("North", "South") for row in rows()]
    data = with_schools(tmp_path, marked)
    with pytest.raises(PasskitError, match=r"student id 'S1' is in several schools \(North, South\); choose one "
                                           "with --school"):
        encounters.contacts(data, "S1", DAY, DAY)
    assert listed(encounters.contacts(data, "S1", DAY, DAY, school="South")) == [[1, "S2", "", 2, 8.0],
                                                                                 [1, "S3", "", 1, 4.0]]
    with pytest.raises(PasskitError, match="student id 'S1' is not in the data at East"):
        encounters.contacts(data, "S1", DAY, DAY, school="East")
    code = main(["trace", "--data", str(tmp_path / "d"), "--cache", str(tmp_path / "c"), "--student", "S1",
                 "--school", "North", "--start", DAY, "--end", DAY, "--out", str(tmp_path / "t")])
    assert code == 0 and (tmp_path / "t" / "contacts.csv").is_file()


def test_meet_minutes_applies_to_tracing(school):
    assert encounters.contacts(school, "S1", DAY, DAY, meet_minutes=4.5).empty


def test_degree_is_one_or_two(school):
    with pytest.raises(PasskitError, match="--degree must be 1 or 2"):
        encounters.contacts(school, "S1", DAY, DAY, degree=3)


def test_a_formula_in_a_name_is_written_as_text(folder, tmp_path):
    passes = [pass_row(1, "S1", f"{DAY}T09:00:00", f"{DAY}T09:10:00"),
              pass_row(2, "S2", f"{DAY}T09:01:00", f"{DAY}T09:09:00", name="=HYPERLINK(\"x\")")]
    folder(passes)
    assert main(["trace", "--data", str(tmp_path / "data"), "--cache", str(tmp_path / "cache"), "--student", "S1",
                 "--start", DAY, "--end", DAY, "--out", str(tmp_path / "t")]) == 0
    assert "'=HYPERLINK" in (tmp_path / "t" / "contacts.csv").read_text()
