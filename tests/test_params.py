"""Audit parameter files and options: checked, resolved against the file's folder, stable folder names."""

import datetime as dt
from pathlib import Path

import pytest

from passkit import cli, folders, params
from passkit.errors import PasskitError

SHIPPED = Path(__file__).resolve().parents[1] / "parameters"
QUARTERS = [("2025-26 Q1", dt.date(2025, 8, 18), dt.date(2025, 10, 17)),
            ("2025-26 Q2", dt.date(2025, 10, 20), dt.date(2025, 12, 19)),
            ("2025-26 Q3", dt.date(2026, 1, 5), dt.date(2026, 3, 27)),
            ("2025-26 Q4", dt.date(2026, 3, 30), dt.date(2026, 5, 29))]


def write(tmp_path, text, name="audit.yaml"):
    path = tmp_path / "params" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_shipped_year_lists_the_four_quarters_of_the_demo_year():
    year = params.build(SHIPPED / "2025-26.yaml")
    assert [(q.name, q.start, q.end) for q in year.quarters] == QUARTERS
    assert (year.period.start, year.period.end, year.period.name) == (dt.date(2025, 8, 18), dt.date(2026, 5, 29), "2025-26")
    assert year.data == (SHIPPED.parent / "demo-data").resolve()
    assert year.timezone == "America/Chicago" and year.label == "Demo High"
    assert [year.folder_name(q) for q in year.periods(all_quarters=True)] == [
        "demo-high-2025-26-q1", "demo-high-2025-26-q2", "demo-high-2025-26-q3", "demo-high-2025-26-q4"]


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_shipped_quarter_files_match_the_year(number):
    quarter = params.build(SHIPPED / f"2025-26-q{number}.yaml")
    name, start, end = QUARTERS[number - 1]
    assert (quarter.period.name, quarter.period.start, quarter.period.end) == (name, start, end)
    assert quarter.folder_name() == f"demo-high-2025-26-q{number}"


def test_relative_paths_resolve_against_the_file_not_the_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path, "data: ../exports\ncolumns: map.yaml\nstart: 2026-01-05\nend: '2026-01-09'\n")
    monkeypatch.chdir(tmp_path.parent)
    built = params.build(path)
    assert built.data == (tmp_path / "exports").resolve()
    assert built.columns == (tmp_path / "params" / "map.yaml").resolve()
    assert built.period == params.Period("2026-01-05 to 2026-01-09", dt.date(2026, 1, 5), dt.date(2026, 1, 9))
    assert built.label == "exports"  # no school name: the data folder's
    assert built.folder_name() == "exports-2026-01-05-to-2026-01-09"


def test_options_override_the_file_and_a_new_range_drops_the_period_name(tmp_path):
    path = write(tmp_path, "school: Demo High\ndata: d\nperiod: 2025-26 Q3\nstart: 2026-01-05\nend: 2026-03-27\n")
    built = params.build(path, end="2026-01-30", timezone="America/Denver", schools=["Lincoln High"])
    assert built.period == params.Period("2026-01-05 to 2026-01-30", dt.date(2026, 1, 5), dt.date(2026, 1, 30))
    assert built.timezone == "America/Denver" and built.schools == ("Lincoln High",)
    assert built.folder_name() == "demo-high-2026-01-05-to-2026-01-30"
    assert params.build(path).folder_name() == "demo-high-2025-26-q3"


def test_without_a_file_options_are_enough_and_one_school_names_the_audit(tmp_path):
    built = params.build(None, data=tmp_path / "district", start="2026-01-05", end="2026-01-09",
                         schools=["Lincoln High"])
    assert built.label == "Lincoln High" and built.folder_name() == "lincoln-high-2026-01-05-to-2026-01-09"
    assert params.for_school(built, "Roosevelt High").folder_name() == "roosevelt-high-2026-01-05-to-2026-01-09"


def test_a_file_with_only_quarters_spans_them(tmp_path):
    path = write(tmp_path, "data: d\nquarters:\n  - {period: Q1, start: 2025-08-18, end: 2025-10-17}\n"
                           "  - {start: 2025-10-20, end: 2025-12-19}\n")
    built = params.build(path)
    assert (built.period.start, built.period.end) == (dt.date(2025, 8, 18), dt.date(2025, 12, 19))
    assert [q.slug for q in built.periods(all_quarters=True)] == ["q1", "2025-10-20-to-2025-12-19"]


@pytest.mark.parametrize("text, message", [
    ("data: d\nstart: 2026-01-05\nend: 2026-01-09\nstrat: 1\n", "unknown key 'strat'"),
    ("data: d\nstart: 2026-13-05\nend: 2026-01-09\n", "start date '2026-13-05'"),
    ("data: d\nstart: 2026-02-05\nend: 2026-01-09\n", "starts (2026-02-05) after it ends"),
    ("start: 2026-01-05\nend: 2026-01-09\n", "no data folder"),
    ("data: d\n", "no date range"),
    ("data: d\nquarters:\n  - {start: 2026-01-05, end: 2026-03-27}\n  - {start: 2026-03-20, end: 2026-05-29}\n",
     "quarter 2 starts (2026-03-20) before the previous one ends"),
    ("data: d\nquarters:\n  - {start: 2026-01-05}\n", "quarter 1 needs exactly 'start', 'end'"),
    ("data: d\nquarters:\n  - {period: Q, start: 2026-01-05, end: 2026-01-09}\n"
     "  - {period: q, start: 2026-01-12, end: 2026-01-16}\n", "two quarters have the same name"),
    ("- data\n", "a parameters file is a list of 'key: value' lines"),
])
def test_bad_files_are_named_in_one_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PasskitError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        params.build(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_yaml_syntax_errors_name_the_line(tmp_path):
    path = write(tmp_path, "data: d\nstart: [2026-01-05\nend: 2026-01-09\n")
    with pytest.raises(PasskitError, match=r"line \d+: not valid YAML"):
        params.build(path)


def test_all_quarters_needs_a_quarters_list(tmp_path):
    built = params.build(write(tmp_path, "data: d\nstart: 2026-01-05\nend: 2026-01-09\n"))
    with pytest.raises(PasskitError, match="--all-quarters needs"):
        built.periods(all_quarters=True)


def test_slugs():
    assert folders.slug("Demo High") == "demo-high"
    assert folders.slug("2025-26 Q3") == "2025-26-q3"
    assert folders.slug("St. Mary's  (K-8)") == "st-mary-s-k-8"
    assert folders.slug("???") == "audit"


def test_the_cli_reports_a_bad_parameters_file_in_one_line(tmp_path, capsys):
    path = write(tmp_path, "data: d\nstart: 2026-01-05\nend: 2026-01-09\nstrat: 1\n")
    assert cli.main(["audit", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("passkit: ") and "unknown key 'strat'" in err[0]
    assert cli.main(["audit", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the parameters file" in capsys.readouterr().err
    assert cli.main(["audit", "--data", str(tmp_path / "nowhere"), "--start", "2026-01-05", "--end", "2026-01-09",
                     "--out", str(tmp_path / "out")]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
