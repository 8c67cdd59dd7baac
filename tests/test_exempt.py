"""exempt.csv: students with a plan count in every total but are never singled out."""

import json

import pandas as pd
import pytest

import passkit
from passkit import charts, cli, registry, reports
from passkit.errors import PasskitError
from passkit.registry import Column
from passkit.summary import EXEMPT, headline
from passkit.tables import Tables

from .conftest import HEADER, pass_row, write_csv

DAY = "2026-01-05"
REASON = "bladder condition (504 plan)"


def rows_for(counts: dict, grade="9"):
    """`counts[student]` passes for each student, all on one day."""
    rows, number = [], 0
    for student, passes in counts.items():
        for minute in range(passes):
            number += 1
            rows.append(pass_row(number, student, f"{DAY}T09:{minute % 60:02d}:00", f"{DAY}T09:{minute % 60:02d}:30",
                                 grade=grade))
    return rows


# Grade 9: A..D have 1-4 passes, F has 10 and E (exempt) 30. Linear quartiles:
#   without E: [1, 2, 3, 4, 10]      Q1 2,    Q3 4,   fence 4 + 1.5 * 2 = 7      -> F (10) is an outlier
#   with E:    [1, 2, 3, 4, 10, 30]  Q1 2.25, Q3 8.5, fence 8.5 + 1.5 * 6.25 = 17.875 -> only E (30) would be
COUNTS = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 30, "F": 10}


@pytest.fixture
def school(folder, tmp_path):
    def make(exempt_rows=(("E", REASON),), header=("student_id", "reason"), counts=COUNTS):
        (tmp_path / "data" / "exempt.csv").unlink(missing_ok=True)
        files = {"exempt": (list(header), [list(row) for row in exempt_rows])} if exempt_rows is not None else {}
        return folder(rows_for(counts), **files)
    return make


def test_exempt_students_are_left_out_of_the_quartiles_and_never_outliers(school):
    table = reports.passes_by_student(school(), DAY, DAY).set_index("student_id")
    assert table.loc["E", "passes"] == 30 and not table.loc["E", "outlier"], "listed, never red"
    assert table["outlier"].to_dict() == {"E": False, "F": True, "D": False, "C": False, "B": False, "A": False}
    drawn = next(iter(charts.spec("passes_by_student", table.reset_index())["datasets"].values()))
    assert [row["outlier"] for row in drawn if row["student_id"] == "E"] == [False], "a dot, never red"
    without = reports.passes_by_student(school(exempt_rows=None), DAY, DAY).set_index("student_id")
    assert without["outlier"].to_dict() == {"E": True, "F": False, "D": False, "C": False, "B": False, "A": False}


def test_exempt_students_count_in_every_total(school):
    with_file, without = Tables(school(), DAY, DAY), Tables(school(exempt_rows=None), DAY, DAY)
    for name in ("daily_passes", "passes_by_grade", "room_usage", "staff_usage"):
        assert with_file.get(name).equals(without.get(name)), name
    assert with_file.passes_in_range == sum(COUNTS.values())
    assert with_file.get("passes_by_student")["passes"].sum() == sum(COUNTS.values())


def test_exempt_students_are_never_frequent_flyers(school):
    flyers = reports.frequent_flyers(school(), DAY, DAY, top=2)
    assert flyers["student_id"].tolist() == ["F", "D"], "the next student takes the exempt one's place"
    assert reports.frequent_flyers(school(exempt_rows=None), DAY, DAY, top=2)["student_id"].tolist() == ["E", "F"]


def test_the_audit_summary_counts_exempt_students(school):
    data = school(exempt_rows=[("E", REASON), ("A", ""), ("NOBODY", "typo"), ("", "no id")])
    figures = dict(headline(Tables(data, DAY, DAY)).itertuples(index=False))
    assert figures[EXEMPT] == 2 and figures["Students marked as outliers"] == 1
    # the row with neither an id nor a school is a blank row (its reason is never read)
    assert data.summary["exempt"] == {"rows": 3, "students": 2, "not_found": 1, "without_student_id": 0}
    summary = reports.all_reports(data, DAY, DAY)["audit_summary"]
    quality = dict(zip(summary["figure"], summary["value"]))
    assert quality["Students listed in exempt.csv"] == 3
    assert quality["Listed exempt students with no pass in the export"] == 1
    assert EXEMPT not in set(headline(Tables(school(exempt_rows=None), DAY, DAY))["Figure"]), "no file, no figure"


def test_a_row_with_a_school_exempts_that_school_s_student_only(tmp_path):
    rows = [["North", *row] for row in rows_for(COUNTS)] + [["South", *row] for row in rows_for({"E": 30, "A": 1})]
    write_csv(tmp_path / "d" / "passes.csv", rows, ["school", *HEADER])
    write_csv(tmp_path / "d" / "exempt.csv", [["E", "North", REASON]], ["student_id", "school", "reason"])
    data = passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")
    table = reports.passes_by_student(data, DAY, DAY)
    exempt = Tables(data, DAY, DAY).is_exempt(table)
    assert sorted(zip(table["school"][exempt], table["student_id"][exempt])) == [("North", "E")]
    flyers = reports.frequent_flyers(data, DAY, DAY, top=3)
    assert ("South", "E") in set(zip(flyers["school"], flyers["student_id"]))
    assert ("North", "E") not in set(zip(flyers["school"], flyers["student_id"]))
    write_csv(tmp_path / "d" / "exempt.csv", [["E", "", REASON]], ["student_id", "school", "reason"])
    everywhere = passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")
    assert everywhere.exempt.ids == {("North", "E"), ("South", "E")}, "a row without a school: every school"


def test_the_reason_never_reaches_an_output(school, tmp_path, capsys):
    school()
    out = tmp_path / "out"
    assert cli.main(["report", "--data", str(tmp_path / "data"), "--start", DAY, "--end", DAY, "--out", str(out),
                     "--cache", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr()
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len(files) > 5
    for path in files:
        assert REASON.encode() not in path.read_bytes() and b"bladder" not in path.read_bytes(), path.name
    assert "bladder" not in printed.out + printed.err
    assert json.loads((out / "load_summary.json").read_text())["exempt"]["students"] == 1


def test_a_report_singling_out_an_exempt_student_is_refused(school):
    def everyone(tables):  # forgets tables.without_exempt
        return tables.get("passes_by_student")[["student_id", "passes"]]

    entry = registry.register(registry.Report(
        "toy_everyone", "Everyone", "A careless list.", (Column("student_id", "ID"), Column("passes", "Passes", "int")),
        everyone, singles_out=True))
    try:
        with pytest.raises(AssertionError, match="lists an exempt student"):
            Tables(school(), DAY, DAY).get("toy_everyone")
        assert len(Tables(school(exempt_rows=None), DAY, DAY).get("toy_everyone")) == len(COUNTS)
    finally:
        registry.unregister(entry.name)


def test_without_exempt_filters_narwhals_and_pandas_frames(school):
    tables = Tables(school(), DAY, DAY)
    kept = tables.without_exempt(tables.passes).collect("pandas").to_native()
    assert len(kept) == sum(COUNTS.values()) - 30 and "E" not in set(kept["student_id"])
    table = tables.get("passes_by_student")
    assert "E" not in set(tables.without_exempt(table)["student_id"]) and len(tables.without_exempt(table)) == 5


def test_an_exempt_file_without_student_id_is_one_line(school, tmp_path, capsys):
    with pytest.raises(PasskitError, match="column 'student_id': required column is missing"):
        school(exempt_rows=[("E",)], header=("student",))
    code = cli.main(["report", "--data", str(tmp_path / "data"), "--start", DAY, "--end", DAY, "--out",
                     str(tmp_path / "o"), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == (f"passkit: {tmp_path / 'data' / 'exempt.csv'}, column 'student_id': "
                                         "required column is missing")


def test_editing_exempt_csv_needs_no_new_parse(school, tmp_path):
    first = school()
    write_csv(tmp_path / "data" / "exempt.csv", [["F"]], ["student_id"])
    again = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    assert again.cache == first.cache
    table = reports.passes_by_student(again, DAY, DAY).set_index("student_id")
    assert not table.loc["F", "outlier"] and isinstance(table, pd.DataFrame)
