"""Hostile names and hostile targets: no value from the data becomes code, no output lands where it must not.

Each test here failed before its fix (issue: "Hostile data and hostile clients").
"""

import csv
import errno
import io
import json
import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from passkit import cli, dashboard_data, exports, folders, registry
from passkit.tables import Tables

from .conftest import HEADER, pass_row, write_csv

FORMULAS = ['=HYPERLINK("http://example.invalid","Click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTabbed",
            "\rCarriage"]
SCRIPT = "<!--<script>alert(1)</script>"
DAY = ["--start", "2026-01-05", "--end", "2026-01-05"]


@pytest.fixture
def hostile(tmp_path):
    """A data folder whose student, room and staff names are formulas, markup and control characters."""
    rows = [pass_row(n, student=f"S{n}", name=name, origin=FORMULAS[n % len(FORMULAS)], destination=SCRIPT,
                     created_by="teacher", issuer="@Mr. Evil") for n, name in enumerate([*FORMULAS, SCRIPT])]
    rows.append(pass_row(99, student="S99", name="Zoë\x0bVertical", destination="=1+1"))
    data = tmp_path / "data"
    write_csv(data / "passes.csv", rows, HEADER)
    write_csv(data / "staff.csv", [["=Staff()", "+Listed"]], ["issuer", "name"])
    return data


def report(hostile, tmp_path, *extra):
    out = tmp_path / "out"
    code = cli.main(["report", "--data", str(hostile), *DAY, "--out", str(out), "--cache", str(tmp_path / "c"),
                     *map(str, extra)])
    return code, out


def test_no_csv_cell_starts_like_a_formula(hostile, tmp_path):
    code, out = report(hostile, tmp_path)
    assert code == 0
    seen = set()
    for path in out.glob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")):
            for cell in row:
                assert not cell.startswith(exports.FORMULA_START), (path.name, cell)
                seen.add(cell)
    assert "'" + FORMULAS[0] in seen and "'@Mr. Evil" in seen and "'=Staff()" in seen
    assert "-1" not in seen and "'-1" not in seen, "numbers are not text"


def test_no_workbook_cell_is_a_formula(hostile, tmp_path):
    code, out = report(hostile, tmp_path)
    assert code == 0
    with zipfile.ZipFile(out / exports.workbook_name(*DAY[1::2])) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in book.read(name).decode(), name
    sheet = openpyxl.load_workbook(out / exports.workbook_name(*DAY[1::2]))["Total Passes by Student"]
    names = {row[1].value: row[1].data_type for row in sheet.iter_rows(min_row=3)}
    assert names[FORMULAS[0]] == "s" and names[SCRIPT] == "s", "the text itself, stored as text"


def test_a_dashboard_download_is_no_formula_either(hostile, tmp_path):
    from passkit import load

    data = load(hostile, cache_dir=tmp_path / "c")
    table, rooms = Tables(data, "2026-01-05", "2026-01-05").get("room_usage"), registry.get("room_usage")
    workbook = dashboard_data.render_file(rooms, table, "xlsx", heading="Room Usage")
    with zipfile.ZipFile(io.BytesIO(workbook)) as book:
        assert not any("<f>" in book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/"))
    rooms = [row[0] for row in csv.reader(io.StringIO(
        dashboard_data.render_file(rooms, table, "csv", heading="Room Usage").decode()))]
    assert "'" + FORMULAS[0] in rooms and not any(room.startswith(exports.FORMULA_START) for room in rooms)


def test_control_characters_never_break_a_writer(hostile, tmp_path, capsys):
    code, out = report(hostile, tmp_path)
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    book = openpyxl.load_workbook(out / exports.workbook_name(*DAY[1::2]))  # a workbook Excel can open: well-formed XML
    summary = json.loads((out / "load_summary.json").read_text())
    assert len(book.sheetnames) == len([n for n in registry.names("xlsx") if n not in summary["unavailable"]])
    assert (out / "rejected.csv").is_file() and (out / "load_summary.json").is_file()


def test_markup_in_a_name_cannot_end_a_script_block():
    from passkit import charts

    text = charts.script_json({"name": SCRIPT, "and": "</script><script>x()</script>&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert pd.io.json.ujson_loads(text) == {"name": SCRIPT, "and": "</script><script>x()</script>&"}


@pytest.mark.slow
@pytest.mark.browser
def test_hostile_names_leave_every_audit_page_whole(hostile, tmp_path):
    out = tmp_path / "audit"
    assert cli.main(["audit", "--data", str(hostile), *DAY, "--out", str(out), "--cache", str(tmp_path / "c")]) == 0
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>") and 'class="page-footer"' in text, page.name
        assert SCRIPT not in text, f"{page.name}: the name is escaped wherever it appears"
        scripts = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
        assert not any("<!--" in block or "<script" in block for block in scripts), page.name
    assert "&lt;!--&lt;script&gt;" in (out / "room_usage.html").read_text()
    from playwright.sync_api import sync_playwright

    errors, args = [], ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"a script ran: {dialog.message}"))
        for name in ("room_usage", "passes_by_student", "frequent_flyers"):
            page.goto((out / f"{name}.html").as_uri())
            page.wait_for_selector(".passkit-chart svg .mark-group", timeout=10_000)
            assert page.locator("footer.page-footer").count() == 1
        browser.close()
    assert errors == []


def test_a_table_longer_than_a_sheet_continues_on_the_next(tmp_path):
    table = pd.DataFrame({"student_id": [f"S{n:02d}" for n in range(25)], "passes": range(25)})
    exports.write_xlsx([exports.Sheet("Passes by Student", table)], tmp_path / "t.xlsx", caption="Demo",
                       sheet_rows=12)
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert book.sheetnames == ["Passes by Student", "Passes by Student (2)", "Passes by Student (3)"]
    rows = [r for sheet in book.worksheets for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert [r[0] for r in rows] == list(table["student_id"]), "every row once, in order"
    assert book.worksheets[0]["A1"].value == "Demo · Passes by Student · rows 1-10 of 25 (continued on the next sheet)"
    assert book.worksheets[2]["A1"].value == "Demo · Passes by Student · rows 21-25 of 25"


@pytest.mark.parametrize("target", ["/", "/etc", "/usr/local/out", "data", "data/out", "file"])
def test_report_refuses_an_out_folder_it_must_not_write(hostile, tmp_path, capsys, target):
    (tmp_path / "file").write_text("mine")
    out = {"data": hostile, "data/out": hostile / "out", "file": tmp_path / "file"}.get(target, target)
    code = cli.main(["report", "--data", str(hostile), *DAY, "--out", str(out), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in hostile.iterdir()) == ["passes.csv", "staff.csv"], "nothing among the exports"
    assert (tmp_path / "file").read_text() == "mine"


def test_report_refuses_a_folder_of_someone_elses_files_but_replaces_its_own(hostile, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "rejected.csv").write_text("my own notes")
    code = cli.main(["report", "--data", str(hostile), *DAY, "--out", str(mine), "--cache", str(tmp_path / "c")])
    assert code == 2 and "holds files passkit did not write" in capsys.readouterr().err
    assert (mine / "rejected.csv").read_text() == "my own notes"
    code, out = report(hostile, tmp_path)
    assert code == 0 and (out / folders.MARKER).is_file()
    assert report(hostile, tmp_path)[0] == 0, "its own earlier output is replaced"


def test_schools_whose_names_give_one_folder_get_two(tmp_path, capsys):
    data = tmp_path / "d"
    write_csv(data / "passes.csv", [pass_row(1, student="A") + ["North High"], pass_row(2, student="B") + ["North/High"]],
              [*HEADER, "school"])
    out = tmp_path / "out"
    assert cli.main(["report", "--data", str(data), *DAY, "--out", str(out), "--cache", str(tmp_path / "c"),
                     "--each-school"]) == 0
    assert sorted(p.name for p in (out / "schools").iterdir()) == ["north-high", "north-high-2"]
    assert "North/High -> schools/north-high-2" in capsys.readouterr().out
    by_folder = {p.name: pd.read_csv(p / "passes_by_student.csv")["school"].tolist()
                 for p in (out / "schools").iterdir()}
    assert by_folder == {"north-high": ["North High"], "north-high-2": ["North/High"]}


def test_a_full_disk_leaves_no_truncated_file_and_one_line(hostile, tmp_path, capsys, monkeypatch):
    import xlsxwriter

    def full(self):
        open(self.filename, "wb").write(b"PK\x03\x04 half a workbook")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", full)  # pytest's, undone after the test
    code, out = report(hostile, tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and f"{exports.workbook_name(*DAY[1::2])}: cannot write the file (No space left on device)" in err
    assert len(err.strip().splitlines()) == 1
    assert not (out / exports.workbook_name(*DAY[1::2])).exists() and not [p for p in out.iterdir() if p.name.endswith(".partial")]
