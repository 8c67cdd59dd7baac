"""The report notebooks: thin, parameterised, stripped, and they run as committed on demo data."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from passkit import audit, notebook, params, registry, resources, summary
from passkit.exports import write_csv
from passkit.tables import Tables, as_date

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
Q3 = ("2026-01-05", "2026-03-27")
PAGES = [*registry.names("page"), audit.GENERIC_NOTEBOOK]


def read(name):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", PAGES)
def test_notebook_is_thin_parameterised_and_stripped(name):
    nb = read(name)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "one parameters cell, the first code cell"
    defaults = {}
    for statement in ast.parse(tagged[0].source).body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1, "plain assignments only"
        defaults[statement.targets[0].id] = ast.literal_eval(statement.value)
    demo = params.build(ROOT / "parameters" / "2025-26-q3.yaml")
    expected = audit.notebook_parameters(demo, demo.period)
    if name == audit.GENERIC_NOTEBOOK:
        expected["report"] = "daily_passes"
    assert set(defaults) == set(expected), "the parameters the audit passes, no more, no fewer"
    assert (defaults["data_dir"], defaults["start"], defaults["end"]) == ("../demo-data", *Q3)
    assert defaults["school_label"] == demo.label and defaults["timezone"] == demo.timezone
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "outputs are stripped in git"
    imports = [line for cell in code for line in cell.source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from passkit import notebook"], "kernels import only what they need"
    assert len(code) == 3, "parameters, open the range, show the report: nothing a test cannot reach"
    if name != audit.GENERIC_NOTEBOOK:
        entry = registry.get(name)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source == f"# {entry.title}\n\n{entry.description}"
        assert code[-1].source == f'audit.show("{name}")'


def test_the_shipped_notebooks_are_the_repositorys():
    assert resources.path("notebooks") == NOTEBOOKS or (resources.path("notebooks") / "report.ipynb").is_file()


@pytest.mark.slow
def test_every_notebook_runs_as_committed_under_nbval(demo_folder, tmp_path):
    """`pytest --nbval-lax` over a copy of notebooks/ with ../demo-data pointing at a small demo school.

    Two pytest processes share the notebooks, so both cores start kernels at once.
    """
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    for name in PAGES:
        shutil.copy(NOTEBOOKS / f"{name}.ipynb", work / "notebooks")
    (work / "demo-data").symlink_to(demo_folder, target_is_directory=True)
    env = {**os.environ, "PASSKIT_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
               "--nbval-kernel-startup-timeout", "300", "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg")]
    halves = [PAGES[0::2], PAGES[1::2]]
    runs = [subprocess.Popen([*command, *(f"notebooks/{name}.ipynb" for name in half)], cwd=work, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for half in halves]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output
        assert re.search(r"\b\d+ passed\b", output) and not re.search(r"\b\d+ failed\b", output), output
    assert sorted(p.name for p in (work / "notebooks").iterdir()) == sorted(f"{name}.ipynb" for name in PAGES), \
        "a notebook opened alone writes nothing"


# ---- the helpers the notebooks call ------------------------------------------------------------------

@pytest.fixture(scope="module")
def q3(demo_data):
    return notebook.RangeReport(Tables(demo_data, *Q3), *[as_date(d) for d in Q3], label="Demo High")


def test_tables_are_the_reports(q3, demo_data):
    for name in registry.names():
        compute = registry.analyst_function(registry.get(name))  # what passkit.reports.<name> is
        pd.testing.assert_frame_equal(q3.table(name), compute(demo_data, *Q3))
    assert q3.caption() == "Demo High · Mon 2026-01-05 to Fri 2026-03-27"


def test_daily_passes_show_one_row_per_day_with_a_column_per_grade(q3):
    daily = q3.table("daily_passes")
    shown = notebook.shown_table("daily_passes", daily)
    grades = [c for c in shown.columns if c.startswith("Grade ")]
    assert list(shown.columns) == ["Date", *grades, "Total"] and grades == ["Grade 9", "Grade 10", "Grade 11", "Grade 12"]
    assert len(shown) == daily["date"].nunique() and shown["Date"].is_monotonic_increasing
    assert shown["Total"].sum() == daily["passes"].sum()
    assert (shown[grades].sum(axis=1) == shown["Total"]).all()
    assert list(notebook.shown_table("room_usage", q3.table("room_usage")).columns) == [
        "Room", "Room folder", "Passes from this room", "Passes to this room"]


def test_table_html_formats_numbers_and_folds_long_tables():
    table = pd.DataFrame({"student_name": ["<Ann>", "Bo"], "passes": [1234, 5], "minutes_out": [12.25, 0.0],
                          "outlier": [True, False], "date": pd.to_datetime(["2026-01-05", "2026-01-06"])})
    text = notebook.table_html(table, title="Top")
    assert "<caption>Top</caption>" in text and "&lt;Ann&gt;" in text and "<Ann>" not in text
    assert '<td class="num">1,234</td>' in text and '<td class="num">12.2</td>' in text
    assert "<td>yes</td>" in text and "<td>Mon 2026-01-05</td>" in text and "<details" not in text
    folded = notebook.table_html(pd.DataFrame({"passes": range(30)}), rows=25)
    head, more = folded.split("<details", 1)
    assert head.count("<tr>") == 26 and more.count("<tr>") == 31 and "Show all 30 rows" in more
    capped = notebook.table_html(pd.DataFrame({"passes": range(5000)}), rows=25, most=100)
    assert capped.count("<tr>") == 26 + 101 and "the first 100 of 5,000 rows (the CSV and the workbook" in capped


def test_headline_figures_agree_with_the_tables(demo_data):
    tables = Tables(demo_data, *Q3)
    figures = dict(summary.headline(tables).itertuples(index=False))
    per_day = tables.get("daily_passes").groupby("date")["passes"].sum()
    assert figures["Passes"] == tables.get("passes_by_grade")["passes"].sum() == per_day.sum()
    assert figures["Days with passes"] == len(per_day)
    assert figures["Busiest day"].endswith(f"({per_day.max():,} passes)")
    assert figures["Students with a pass"] == len(tables.get("passes_by_student"))
    assert figures["Students marked as outliers"] == tables.get("passes_by_student")["outlier"].sum()
    assert figures["Busiest destination"].startswith(tables.get("room_usage").iloc[0]["room"] + " (")


def test_an_empty_range_has_figures_and_no_errors(demo_data):
    empty = Tables(demo_data, "2026-07-04", "2026-07-05")
    figures = dict(summary.headline(empty).itertuples(index=False))
    assert figures["Passes"] == 0 and figures["Days with passes"] == 0 and "Busiest day" not in figures
    assert len(empty.get("room_usage")) and not any(notebook.has_passes(t) for name, t in empty.all().items()
                                                    if name not in ("audit_summary", "comparison"))
    quality = dict(summary.data_quality(demo_data.summary, empty.start, empty.end).itertuples(index=False))
    assert quality["Export covers the whole range"] == "no"
    assert quality["Rows read"] == demo_data.summary["rows_read"]


def test_an_audit_hands_its_tables_to_the_notebooks(demo_data, tmp_path):
    """With results_dir, a notebook shows the audit's tables and computes nothing."""
    computed = Tables(demo_data, *Q3)
    computed.all()
    notebook.save_results(computed, tmp_path / "results")
    opened = notebook.open_range("/nowhere", *Q3, results_dir=tmp_path / "results")
    assert opened.tables is None, "nothing loaded"
    for name, table in computed.computed().items():
        pd.testing.assert_frame_equal(opened.table(name), table)
    bundle = opened._chart("passes_by_grade", opened.view("passes_by_grade")["chart"]).bundle
    assert set(bundle) == {"text/html", "image/png", "text/plain"} and "vega.js" not in bundle["text/html"]
    assert (tmp_path / "results" / "passes_by_grade.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_notebook_opened_alone_computes_and_writes_nothing(demo_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opened = notebook.open_range(demo_folder, *Q3, label="Demo High", cache_dir=tmp_path / "cache")
    first = opened._chart("passes_by_grade", opened.view("passes_by_grade")["chart"]).bundle
    second = opened._chart("daily_passes", opened.view("daily_passes")["chart"]).bundle
    assert "vegaEmbed" in first["text/html"] and len(first["text/html"]) > 100_000, "the first chart carries Vega"
    assert len(second["text/html"]) < 100_000 and "image/png" not in first
    write_csv(opened.table("passes_by_grade"), tmp_path / "expected.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "expected.csv"]
