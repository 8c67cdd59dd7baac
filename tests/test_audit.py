"""`passkit audit` end to end: real papermill runs on a small demo school, then what a principal gets."""

import hashlib
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest

from passkit import audit, cli, demo, engine, folders, htmlreport, params, registry, resources
from passkit.exports import workbook_name

pytestmark = pytest.mark.slow

Q3 = ["--start", "2026-01-05", "--end", "2026-03-27"]
WORKBOOK = workbook_name("2026-01-05", "2026-03-27")  # reports-2026-01-05-to-2026-03-27.xlsx
TABLES = [*registry.names("csv"), "rejected"]
PAGES = registry.names("page")
# The only outside addresses a page or the chart library may contain: XML namespaces, Vega-Lite's schema
# identifier inside a chart spec, and links in vega-embed's error text and unused editor menu. None is fetched.
HARMLESS = re.compile(r"https?://(www\.w3\.org/(2000/svg|1999/xlink|2000/xmlns/)|vega\.github\.io/schema/vega(-lite)?/"
                      r"v[\d.]+\.json|github\.com/vega/vega-lite/issues/\d+|vega\.github\.io/editor/)")
URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*""", re.I)


def run_cli(*args):
    return cli.main(["audit", *map(str, args)])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("audit-cache")


@pytest.fixture(scope="module")
def done(demo_folder, cache, tmp_path_factory):
    """One whole audit of the demo school's third quarter, and `passkit report` for the same range."""
    out = tmp_path_factory.mktemp("audit") / "q3"
    assert run_cli("--data", demo_folder, *Q3, "--out", out, "--cache", cache) == 0
    report = tmp_path_factory.mktemp("report")
    assert cli.main(["report", "--data", str(demo_folder), *Q3, "--out", str(report), "--cache", str(cache)]) == 0
    return out, report


def test_the_folder_holds_every_part(done):
    out, _ = done
    for name in PAGES:
        assert (out / f"{name}.html").is_file() and (out / "notebooks" / f"{name}.ipynb").is_file()
    for name in TABLES:
        assert (out / f"{name}.csv").is_file()
    for entry in registry.all_reports("page"):
        if entry.chart is not None:
            assert (out / f"{entry.name}.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"assets", "notebooks"}
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no temporary folder left behind"


def test_csvs_equal_passkit_report_for_the_same_range(done):
    out, report = done
    for name in TABLES:
        assert (out / f"{name}.csv").read_bytes() == (report / f"{name}.csv").read_bytes(), name
    assert (out / WORKBOOK).read_bytes() != b"" and (report / WORKBOOK).is_file()


def test_the_workbook_has_one_sheet_per_report_with_typed_cells(done, demo_folder):
    out, _ = done
    book = openpyxl.load_workbook(out / WORKBOOK)
    assert book.sheetnames == [entry.title for entry in registry.all_reports("xlsx")]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3", "a title row, then the header row, frozen"
        assert sheet["A1"].value.startswith(f"{demo_folder.name} · 2026-01-05 to 2026-03-27 · ")
        header = [cell.value for cell in sheet[2]]
        assert all(isinstance(title, str) and "_" not in title for title in header), header
        assert sheet.auto_filter.ref.startswith("A2:")
    passes = book["Total Passes by Student"]
    header = [cell.value for cell in passes[2]]
    counts = [row[header.index("Passes")] for row in passes.iter_rows(min_row=3, values_only=True)]
    assert counts and all(isinstance(value, int) for value in counts)
    grades = [row[header.index("Grade")] for row in passes.iter_rows(min_row=3, values_only=True)]
    assert set(grades) <= {9, 10, 11, 12}, "grades that are numbers are numbers"
    assert sum(counts) == sum(row[1] for row in book["Total Passes by Grade"].iter_rows(min_row=3, values_only=True))
    flyers = book["Frequent Flyers"]
    minutes = [row[-1] for row in flyers.iter_rows(min_row=3, values_only=True)]
    assert all(isinstance(value, (int, float)) for value in minutes)
    assert flyers.cell(row=3, column=flyers.max_column).number_format == "0.0"
    days = book["Daily Passes"]
    assert days["A3"].is_date and days.column_dimensions["A"].width >= 10
    summary = {row[1]: row[2] for row in book["Audit summary"].iter_rows(min_row=3, values_only=True)}
    assert isinstance(summary["Passes"], int) and summary["Passes"] == sum(counts)
    assert book["Room Usage"].page_setup.orientation == "landscape"
    assert book["Room Usage"].print_title_rows == "$2:$2"
    rooms = book["Room Usage"]
    assert rooms.page_setup.paperSize == 1, "Letter"
    assert rooms.sheet_properties.pageSetUpPr.fitToPage and rooms.page_setup.fitToHeight == 0, "one page wide"
    assert rooms.oddFooter.left.text.startswith(f"{demo_folder.name} · 2026-01-05 to 2026-03-27")
    assert rooms.oddFooter.right.text == "Page &P of &N"


def test_the_manifest_records_parameters_inputs_rows_versions_and_runs(done, demo_folder):
    out, _ = done
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["parameters"] | {"data": ""} == {
        "school": demo_folder.name, "schools": [], "data": "", "timezone": "America/Chicago",
        "period": "2026-01-05 to 2026-03-27", "start": "2026-01-05", "end": "2026-03-27", "columns": "",
        "parameters_file": "", "options": {}}
    inputs = {item["file"]: item for item in manifest["inputs"]}
    assert sorted(inputs) == ["bells.csv", "keep_apart.csv", "passes.csv", "rooms.csv", "roster.csv", "staff.csv"]
    for name, item in inputs.items():
        content = (demo_folder / name).read_bytes()
        assert item == {"file": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    assert manifest["rows"]["tables"]["passes_by_student"] == len((out / "passes_by_student.csv").read_text().splitlines()) - 1
    assert manifest["versions"]["papermill"] and manifest["versions"]["python"] == sys.version.split()[0]
    assert [(run["name"], run["status"], run["attempts"]) for run in manifest["notebooks"]] == [
        (name, "ok", 1) for name in PAGES]
    assert all(run["seconds"] > 0 for run in manifest["notebooks"])


def test_pages_have_no_code_and_reference_no_outside_host(done):
    out, _ = done
    for page in [*out.glob("*.html")]:
        text = page.read_text()
        outside = [url for url in URL.findall(text) if not HARMLESS.match(url)]
        assert not outside, (page.name, outside[:5])
        assert not re.search(r"<(link|iframe|img)[^>]+(src|href)=\"(https?:)?//", text)
        assert "@import" not in text and "url(http" not in text
        assert "from passkit import notebook" not in text and "data_dir =" not in text, "no code, no parameters"
        assert len(text) < 600_000, "the chart library is shared from assets/, not inlined"
    bundle = (out / htmlreport.ASSET).read_text()
    assert "vegaEmbed" in bundle
    assert not [url for url in re.findall(r"https?://[^\s\"'`)]+", bundle) if not HARMLESS.match(url)]
    report = (out / "room_usage.html").read_text()
    assert '<script src="assets/vega.js"></script>' in report and report.count("vegaEmbed(") == 1
    assert "Busiest destinations" in report and "Room Usage" in report and "What to look for" in report
    assert "Listed staff with no passes in this range" in (out / "staff_usage.html").read_text()


def test_the_index_links_every_report_and_file(done):
    out, _ = done
    index = (out / "index.html").read_text()
    for target in re.findall(r'(?:href|src)="([^"]+)"', index):
        assert (out / target).is_file(), target
    for name in PAGES:
        assert f'href="{name}.html"' in index
    assert f'href="{WORKBOOK}"' in index and "did not finish" not in index


def test_rerunning_replaces_the_folder_with_byte_identical_tables(done, demo_folder, cache):
    out, _ = done
    names = [f"{name}.csv" for name in TABLES] + [WORKBOOK]
    before = {name: (out / name).read_bytes() for name in names}
    created = json.loads((out / "manifest.json").read_text())["created"]
    (out / "index.html").write_text("an earlier run")
    assert run_cli("--data", demo_folder, *Q3, "--out", out, "--cache", cache, "--jobs", "3") == 0
    assert {name: (out / name).read_bytes() for name in names} == before
    assert "Hall-pass audit" in (out / "index.html").read_text()
    assert json.loads((out / "manifest.json").read_text())["created"] >= created
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.fixture
def broken_notebooks(tmp_path):
    """The shipped notebooks, with Room Usage failing in its last code cell."""
    folder = tmp_path / "notebooks"
    shutil.copytree(resources.path("notebooks"), folder)
    nb = nbformat.read(folder / "room_usage.ipynb", as_version=4)
    nb.cells[3].source = 'raise ValueError("deliberately broken for a test")'
    nbformat.write(nb, folder / "room_usage.ipynb")
    return folder


def test_a_failing_notebook_is_kept_with_its_error_and_the_rest_finish(demo_folder, cache, broken_notebooks,
                                                                      tmp_path, capsys):
    out = tmp_path / "out" / "q3"
    assert run_cli("--data", demo_folder, *Q3, "--out", out, "--cache", cache, "--notebooks", broken_notebooks) == 1
    err = capsys.readouterr().err
    assert "room_usage failed" in err and "ValueError: deliberately broken for a test" in err
    assert f"1 of {len(PAGES)} notebooks failed" in err
    executed = nbformat.read(out / "notebooks" / "room_usage.ipynb", as_version=4)
    assert "An Exception was encountered" in executed.cells[0].source, "papermill puts the error on top"
    assert any(o.get("ename") == "ValueError" for cell in executed.cells for o in cell.get("outputs", []))
    page = (out / "room_usage.html").read_text()
    assert "This report did not finish" in page and "deliberately broken for a test" in page
    index = (out / "index.html").read_text()
    assert "Some reports did not finish" in index and "deliberately broken" in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    status = {run["name"]: run["status"] for run in manifest["notebooks"]}
    assert status.pop("room_usage") == "failed" and set(status.values()) == {"ok"}
    assert (out / "staff_usage.png").is_file() and not (out / "room_usage.png").exists()
    assert (out / "room_usage.csv").is_file(), "the tables are computed before any notebook runs"


def test_an_interrupted_audit_leaves_no_folder(demo_folder, cache, tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(htmlreport, "write_site", interrupt)  # pytest's monkeypatch, undone after the test
    assert run_cli("--data", demo_folder, *Q3, "--out", tmp_path / "out" / "q3", "--cache", cache, "--jobs", "4") == 130
    assert list((tmp_path / "out").iterdir()) == []


def test_a_folder_of_other_files_is_never_replaced(demo_folder, cache, tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    (tmp_path / "manifest.json").write_text("{}")  # looks like an old audit, but passkit did not mark it
    assert run_cli("--data", demo_folder, *Q3, "--out", tmp_path, "--cache", cache) == 2
    assert "holds files passkit did not write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "mine.txt"]


def test_a_kernel_that_fails_to_start_is_retried_once(tmp_path, demo_folder):
    marker = tmp_path / "failed-once"
    flaky = ["/bin/sh", "-c", f'[ -e "{marker}" ] || {{ touch "{marker}"; exit 3; }}; exec "$0" "$@"',
             sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    parameters = {"data_dir": str(demo_folder), "cache_dir": str(tmp_path / "cache")}
    source = resources.notebook("passes_by_grade")
    status, error, _, attempts = engine.run_notebook(source, tmp_path / "a" / "x.ipynb", parameters, tmp_path,
                                                     kernel_argv=flaky)
    assert (status, error, attempts) == ("ok", "", 2) and marker.exists()

    dead = ["/bin/sh", "-c", "echo 'ModuleNotFoundError: no passkit here' >&2; exit 3", "{connection_file}"]
    status, error, _, attempts = engine.run_notebook(source, tmp_path / "b" / "x.ipynb", parameters, tmp_path,
                                                     kernel_argv=dead)
    assert (status, attempts) == ("failed", 2) and "Kernel died" in error
    assert error.endswith("(kernel: ModuleNotFoundError: no passkit here)")
    kept = nbformat.read(tmp_path / "b" / "x.ipynb", as_version=4)
    assert "did not finish" in kept.cells[0].source and "passkit-error" in kept.cells[0].metadata["tags"]


def test_each_school_writes_a_folder_per_school_under_the_district(tmp_path, cache):
    district = tmp_path / "district"
    demo.generate(district, schools=2, students_per_school=40)
    year = tmp_path / "year.yaml"
    year.write_text(f"school: Demo District\ndata: {district}\nquarters:\n"
                    "  - {period: 2025-26 Q3, start: 2026-01-05, end: 2026-03-27}\n")
    assert run_cli(year, "--all-quarters", "--each-school", "--out", tmp_path / "out", "--cache", cache) == 0
    top = tmp_path / "out" / "demo-district-2025-26-q3"
    schools = sorted(p.name for p in (top / "schools").iterdir())
    assert schools == sorted(folders.slug(demo.school_name(i)) for i in range(2))
    district_passes = json.loads((top / "manifest.json").read_text())["rows"]["passes_in_range"]
    per_school = [json.loads((top / "schools" / s / "manifest.json").read_text()) for s in schools]
    assert sum(m["rows"]["passes_in_range"] for m in per_school) == district_passes > 0
    assert {m["parameters"]["school"] for m in per_school} == {demo.school_name(i) for i in range(2)}
    index = (top / "index.html").read_text()
    for school in schools:
        assert f'href="schools/{school}/index.html"' in index
        assert (top / "schools" / school / "room_usage.html").is_file()
    first = demo.school_name(0)
    report = tmp_path / "report"
    assert cli.main(["report", "--data", str(district), *Q3, "--school", first, "--out", str(report),
                     "--cache", str(cache)]) == 0
    for name in TABLES:
        mine = top / "schools" / folders.slug(first) / f"{name}.csv"
        assert mine.read_bytes() == (report / f"{name}.csv").read_bytes(), name
    rejected = pd.read_csv(top / "schools" / folders.slug(first) / "rejected.csv", dtype=str)
    assert len(rejected) and set(rejected["school"]) == {first}, "a school's folder names only its own students"


def test_plan_names_quarter_folders_from_the_parameters(tmp_path, demo_data):
    year = params.build(Path(__file__).resolve().parents[1] / "parameters" / "2025-26.yaml", data=tmp_path / "data")
    planned = audit.plan(year, demo_data, out=tmp_path / "out", all_quarters=True, each_school=False)
    assert [a.folder for a in planned] == [(tmp_path / "out" / f"demo-high-2025-26-q{n}").resolve() for n in range(1, 5)]
    assert [a.runs[0].parameters["start"] for a in planned] == ["2025-08-18", "2025-10-20", "2026-01-05", "2026-03-30"]
    single = audit.plan(year, demo_data, out=None, all_quarters=False, each_school=False)
    assert single[0].folder == (Path("outputs") / "demo-high-2025-26").resolve()


@pytest.mark.browser
def test_pages_open_offline_in_chromium_with_charts_and_tooltips(done):
    from playwright.sync_api import sync_playwright

    out, _ = done
    outside, errors = [], []
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                      else (outside.append(route.request.url), route.abort()))
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((out / "index.html").as_uri())
        assert page.locator(".tile").count() >= 10 and page.locator(".card").count() == len(PAGES)
        assert page.evaluate("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
        page.click("text=Total Passes by Student >> nth=0")
        outlier = page.locator('.passkit-chart svg path[fill="#d62728"]').first  # outliers are red
        outlier.hover(force=True)
        tooltip = page.wait_for_selector("#vg-tooltip-element.visible", timeout=5000)
        assert "Student" in tooltip.inner_text() and "Passes" in tooltip.inner_text()
        for name in [entry.name for entry in registry.all_reports("page") if entry.chart]:
            page.goto((out / f"{name}.html").as_uri())
            page.wait_for_selector(".passkit-chart svg .mark-group")
        browser.close()
    assert outside == [] and errors == []


def test_all_quarters_compare_each_quarter_with_the_one_before(tmp_path, cache, demo_folder):
    year = tmp_path / "year.yaml"
    year.write_text(f"school: Demo High\ndata: {demo_folder}\nquarters:\n"
                    "  - {period: Q2, start: 2025-10-20, end: 2025-12-19}\n"
                    "  - {period: Q3, start: 2026-01-05, end: 2026-03-27}\n")
    assert run_cli(year, "--all-quarters", "--no-pdf", "--out", tmp_path / "out", "--cache", cache) == 0
    q2, q3 = (pd.read_csv(tmp_path / "out" / f"demo-high-{q}" / "comparison.csv").set_index("metric")
              for q in ("q2", "q3"))
    assert q3.loc["Passes", "prior"] == q2.loc["Passes", "current"], "Q3 is compared with Q2, not with 83 days"
    summary = pd.read_csv(tmp_path / "out" / "demo-high-q3" / "audit_summary.csv").set_index("figure")
    change = summary.loc["Passes", "change"]
    assert change.endswith(f"on the prior period ({int(q2.loc['Passes', 'current']):,})")
    overview = (tmp_path / "out" / "index.html").read_text()
    assert html.escape(change) in overview, "the year overview shows each quarter's change"


def test_pages_show_no_code_and_every_image_has_its_text(done):
    """What nbconvert's BeautifulSoup pass would have patched (alt text, code cells), passkit's pages never need."""
    out, _ = done
    for page in out.glob("*.html"):
        text = page.read_text()
        assert not re.findall(r"<img(?![^>]*\balt=)[^>]*>", text), page.name
        assert "jp-InputArea" not in text and "jp-InputPrompt" not in text, page.name
        assert "<!DOCTYPE html>" in text and text.rstrip().endswith("</html>"), page.name
