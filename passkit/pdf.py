"""report.pdf: an audit folder as one printable report for the principal, made from HTML by WeasyPrint.

    cover                 the school, the range, the headline figures; the findings when there are any
    one page per report   its title, what it is for, its chart (the PNG the audit drew) and its top rows
    every footer          the school and range, and "page N of M"

Paper is Letter or A4 (`--paper`, or `paper:` in a parameters file). Speed: an audit runs hundreds of
these for a district, so the pages are plain (system fonts, fixed-layout tables, the PNGs already
drawn) and the rendering runs in worker processes while the parent writes the HTML pages
(`Printer`, `passkit.print_worker`). WeasyPrint needs Pango from the system (Debian: libpango-1.0-0, libpangoft2-1.0-0;
`make setup` installs them); without it the audit still writes everything else and says why the PDF
is missing.

Findings: the audit folder's `findings.json` (passkit.findings) is printed on the cover.
"""

import concurrent.futures
import json
import queue
import subprocess
import sys
from pathlib import Path

import pandas as pd

from . import registry

FILE = "report.pdf"
PAPERS = {"letter": "letter", "a4": "A4"}  # --paper -> CSS page size
TOP_ROWS = 10  # under a chart
TABLE_ROWS = 24  # on a page without one (a comparison's figures), still one page
WIDE = 8  # columns beyond which a table prints smaller, its headers wrapped
TEMPLATE = "printable.html.j2"


def html(audit, paper: str = "letter") -> str:
    """The printable report of a finished audit folder (its charts moved in, its tables in audit.results)."""
    from .findings import STEADY, read as read_findings
    from .htmlreport import _environment, _span
    from . import summary as summary_module
    from .notebook import shown_table, table_html
    from .summary import IN_RANGE, QUALITY, cards

    folder = audit.staging
    summary = pd.read_pickle(audit.results / f"{summary_module.NAME}.pickle")
    tiles, quality = cards(summary, IN_RANGE), cards(summary, QUALITY)
    unavailable = _unavailable(audit)
    pages = []
    for run in audit.runs:
        if run.name == summary_module.NAME:
            continue
        entry = registry.get(run.name)
        page = {"title": entry.title, "description": entry.description, "failed": run.status != "ok",
                "unavailable": unavailable.get(run.name, ""), "image": "", "table": "", "note": "", "words": ""}
        if (folder / f"{run.name}.png").is_file():
            page["image"] = f"{run.name}.png"  # relative to the folder, WeasyPrint's base URL
        pickle = audit.results / f"{run.name}.pickle"
        if not page["unavailable"] and pickle.is_file():
            table = pd.read_pickle(pickle)
            shown, rows = shown_table(run.name, table), TOP_ROWS if page["image"] else TABLE_ROWS
            page["table"], page["wide"] = table_html(shown.head(rows)), len(shown.columns) > WIDE
            page["words"] = entry.sentence(table) if entry.words else ""  # what it shows, e.g. the prior period
            if len(shown) > rows:
                page["note"] = f"The first {rows} of {len(shown):,} rows; all of them are in {run.name}.csv."
        pages.append(page)
    return _environment().get_template(TEMPLATE).render(
        school=audit.params.label, period=_named(audit.period), span=_span(audit.period), paper=PAPERS[paper],
        tiles=tiles, quality=quality, findings=read_findings(folder), steady=STEADY, pages=pages)


def _named(period) -> str:
    """The period's own name ("2025-26 Q3"), or "" when it is only its dates."""
    return "" if period.name == f"{period.start} to {period.end}" else period.name


def render(document: str, target: Path) -> str:
    """Write `document` as a PDF at `target` in this process. Returns "" or why it could not."""
    from .print_worker import render as print_here

    return print_here(document, target)


def _unavailable(audit) -> dict:
    path = audit.results / "results.json"
    return json.loads(path.read_text(encoding="utf-8")).get("unavailable", {}) if path.is_file() else {}


class Printer:
    """Renders PDFs in `workers` processes of their own (WeasyPrint is pure Python: a thread would wait for
    this one), started at once so that their import of WeasyPrint overlaps the notebooks.

    Each is `python -I print_worker.py`: WeasyPrint without passkit. `submit` returns a future of the
    report's error ("" when it was written).
    """

    def __init__(self, workers: int = 1):
        script = Path(__file__).with_name("print_worker.py")
        self.idle = queue.Queue()
        self.processes = [subprocess.Popen([sys.executable, "-I", str(script)], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                           encoding="utf-8") for _ in range(max(1, workers))]
        for process in self.processes:
            self.idle.put(process)
        self.threads = concurrent.futures.ThreadPoolExecutor(len(self.processes), thread_name_prefix="pdf")

    def submit(self, audit, paper: str) -> concurrent.futures.Future:
        job = json.dumps({"document": html(audit, paper), "target": str(audit.staging / FILE)}) + "\n"
        return self.threads.submit(self._print, job)

    def _print(self, job: str) -> str:
        process = self.idle.get()
        try:
            process.stdin.write(job)
            process.stdin.flush()
            answer = process.stdout.readline()
        except OSError:
            answer = ""
        finally:
            self.idle.put(process)
        if not answer:
            return f"the PDF worker stopped (exit status {process.poll()})"
        return json.loads(answer)["error"]

    def close(self):
        self.threads.shutdown(wait=True, cancel_futures=True)
        for process in self.processes:
            try:
                process.stdin.close()  # the worker ends when its input does
            except OSError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
