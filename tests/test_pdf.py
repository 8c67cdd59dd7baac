"""report.pdf: every audit prints a cover, its findings, a page per report, footers with the range and page numbers."""

import json

import pandas as pd
import pytest
from pypdf import PdfReader

from passkit import audit, cli, findings, params, pdf, registry

pytestmark = pytest.mark.slow

Q3 = ["--start", "2026-01-05", "--end", "2026-03-27"]
LETTER, A4 = (612, 792), (595, 842)  # points


def pages_of(path) -> tuple[list[str], list[tuple[int, int]]]:
    reader = PdfReader(path)
    return ([page.extract_text() for page in reader.pages],
            [(round(float(page.mediabox.width)), round(float(page.mediabox.height))) for page in reader.pages])


@pytest.fixture(scope="module")
def audited(demo_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("pdf") / "q3"
    assert cli.main(["audit", "--data", str(demo_folder), *Q3, "--out", str(out),
                     "--cache", str(tmp_path_factory.mktemp("pdf-cache"))]) == 0
    return out


def test_the_cover_has_the_school_the_range_and_the_headline_figures(audited, demo_folder):
    texts, _ = pages_of(audited / pdf.FILE)
    cover = texts[0] + texts[1]  # after many findings, the figures start the second page
    assert f"Hall-pass audit: {demo_folder.name}" in cover and "Mon 2026-01-05 to Fri 2026-03-27" in cover
    summary = pd.read_csv(audited / "audit_summary.csv")
    passes = int(summary.loc[summary["figure"] == "Passes", "value"].iloc[0])
    assert f"Passes {passes:,}" in cover and "Students marked as outliers" in cover
    titles = [item["title"] for item in json.loads((audited / findings.FILE).read_text())]
    assert "Findings" in cover and titles and all(title in " ".join(cover.split()) for title in titles)
    change = summary.loc[summary["figure"] == "Passes", "change"].iloc[0]
    assert change.startswith(("up ", "down ")) and change in " ".join(cover.split()), "the change beside the figure"


def test_one_page_per_report_with_its_title_and_rows(audited):
    texts, sizes = pages_of(audited / pdf.FILE)
    reports = [entry for entry in registry.all_reports("page") if entry.name != "audit_summary"]
    cover = next(number for number, text in enumerate(texts) if text.lstrip().startswith(reports[0].title))
    assert cover in (1, 2), "the findings and figures take a page, or two after many findings"
    assert "In this range" in " ".join(texts[:cover])
    assert len(texts) == cover + len(reports) + 1, "then a page per report, and the data quality"
    assert texts[-1].lstrip().startswith("Data quality of the whole export") and "Rows read" in texts[-1]
    for text, entry in zip(texts[cover:], reports):
        assert text.lstrip().startswith(entry.title) and entry.description in text, entry.name
    flyers = pd.read_csv(audited / "frequent_flyers.csv", dtype=str)
    page = texts[cover + [entry.name for entry in reports].index("frequent_flyers")]
    assert flyers["student_name"].iloc[0] in page and flyers["student_name"].iloc[pdf.TOP_ROWS - 1] in page
    assert flyers["student_name"].iloc[pdf.TOP_ROWS] not in page, "its top rows only"
    assert f"The first {pdf.TOP_ROWS} of {len(flyers)} rows" in page
    assert set(sizes) == {LETTER}, "Letter by default"


def test_every_footer_has_the_range_and_its_page_number(audited, demo_folder):
    texts, _ = pages_of(audited / pdf.FILE)
    for number, text in enumerate(texts, start=1):
        assert f"{demo_folder.name} · Mon 2026-01-05 to Fri 2026-03-27" in text, number
        assert f"Page {number} of {len(texts)}" in text, number


def test_the_index_and_manifest_point_to_it(audited):
    index = (audited / "index.html").read_text()
    assert 'href="report.pdf"' in index and "could not be made" not in index
    manifest = json.loads((audited / "manifest.json").read_text())
    assert manifest["pdf"] == {"file": "report.pdf", "paper": "letter", "status": "complete", "error": ""}


def test_findings_print_on_the_cover_and_a4_is_a4(demo_data, demo_folder, tmp_path):
    settings = params.build(data=demo_folder, start="2026-01-05", end="2026-01-09", paper="A4")
    [member] = audit.plan(settings, demo_data, out=tmp_path / "out", all_quarters=False, each_school=False)
    member.place(tmp_path / "staging")
    (tmp_path / "staging").mkdir()
    audit.prepare(member, demo_data, tmp_path / "results")
    (tmp_path / "staging" / findings.FILE).write_text(json.dumps(
        [{"title": "Fridays are busiest.", "detail": "A fifth more passes than Mondays."}, "Restroom A is crowded."]))
    for run in member.runs:
        run.status = "ok"
    assert pdf.render(pdf.html(member, settings.paper), tmp_path / "staging" / pdf.FILE) == ""
    texts, sizes = pages_of(tmp_path / "staging" / pdf.FILE)
    assert "Findings" in texts[0] and "Fridays are busiest. A fifth more passes than Mondays." in texts[0]
    assert "Restroom A is crowded." in texts[0]
    (tmp_path / "staging" / findings.FILE).write_text("[]")
    assert pdf.render(pdf.html(member, settings.paper), tmp_path / "staging" / pdf.FILE) == ""
    assert findings.STEADY in " ".join(pages_of(tmp_path / "staging" / pdf.FILE)[0][0].split()), "none: steady"
    assert set(sizes) == {A4}
    assert "Page 1 of" in texts[0] and texts[-1].count("Page") == 1


def test_a_page_that_cannot_be_written_is_reported_not_raised(tmp_path):
    error = pdf.render("<p>hello</p>", tmp_path / "missing-folder" / pdf.FILE)
    assert error.startswith("FileNotFoundError") and "missing-folder" in error and "\n" not in error
    assert not (tmp_path / "missing-folder").exists()


def test_the_worker_process_answers_each_job(tmp_path):
    with pdf.Printer(1) as printer:
        jobs = [printer.threads.submit(printer._print, json.dumps({"document": f"<p>report {n}</p>",
                                                                   "target": str(tmp_path / f"{n}.pdf")}) + "\n")
                for n in range(3)]
        bad = printer.threads.submit(printer._print, json.dumps({"document": "<p>x</p>",
                                                                 "target": str(tmp_path / "no" / "x.pdf")}) + "\n")
        assert [job.result() for job in jobs] == ["", "", ""] and bad.result().startswith("FileNotFoundError")
    assert [f"report {n}" in pages_of(tmp_path / f"{n}.pdf")[0][0] for n in range(3)] == [True] * 3
    assert all(process.poll() == 0 for process in printer.processes), "closing its input ends the worker"


def test_paper_is_letter_or_a4():
    assert params.build(data=".", start="2026-01-05", end="2026-01-05", paper="a4").paper == "a4"
    with pytest.raises(Exception, match="paper 'legal' is not letter or a4"):
        params.build(data=".", start="2026-01-05", end="2026-01-05", paper="legal")
