"""report.pdf: an audit folder as one printable report for the principal, made from HTML by WeasyPrint.

    cover                 the school, the range, the headline figures; the findings when there are any
    one page per report   its title, what it is for, its chart (the PNG the audit drew) and its top rows
    every footer          the school and range, and "page N of M"

Paper is Letter or A4 (`--paper`, or `paper:` in a parameters file). Speed: an audit runs hundreds of
these for a district, so the pages are plain (system fonts, fixed-layout tables, the PNGs already
drawn) and the rendering runs in worker processes while the parent writes the HTML pages
(`Printer`). WeasyPrint needs Pango from the system (Debian: libpango-1.0-0, libpangoft2-1.0-0;
`make setup` installs them); without it the audit still writes everything else and says why the PDF
is missing.

Findings: when an audit folder holds `findings.json` (a list of {"title", "detail"} or of plain
sentences, written by the findings step), they are printed on the cover. Findings about individual
students must already leave out exempt students (`Tables.without_exempt`).
"""

import concurrent.futures
import json
import multiprocessing
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import registry

FILE = "report.pdf"
PAPERS = {"letter": "letter", "a4": "A4"}  # --paper -> CSS page size
TOP_ROWS = 10
FINDINGS = "findings.json"
TEMPLATE = "printable.html.j2"


def html(audit, paper: str = "letter") -> str:
    """The printable report of a finished audit folder (its charts moved in, its tables in audit.results)."""
    from .htmlreport import _environment, _span
    from .notebook import cell_text, shown_table, table_html
    from .summary import IN_RANGE, QUALITY, part

    folder = audit.staging
    summary = pd.read_pickle(audit.results / "audit_summary.pickle")
    tiles = [{"label": figure, "value": cell_text(value)} for figure, value in
             part(summary, IN_RANGE).itertuples(index=False)]
    quality = [{"label": figure, "value": cell_text(value)} for figure, value in
               part(summary, QUALITY).itertuples(index=False)]
    unavailable = _unavailable(audit)
    pages = []
    for run in audit.runs:
        if run.name == "audit_summary":
            continue
        entry = registry.get(run.name)
        page = {"title": entry.title, "description": entry.description, "failed": run.status != "ok",
                "unavailable": unavailable.get(run.name, ""), "image": "", "table": "", "note": ""}
        pickle = audit.results / f"{run.name}.pickle"
        if not page["unavailable"] and pickle.is_file():
            table = pd.read_pickle(pickle)
            shown = shown_table(run.name, table, entry.labels)
            page["table"] = table_html(shown.head(TOP_ROWS))
            if len(shown) > TOP_ROWS:
                page["note"] = f"The first {TOP_ROWS} of {len(shown):,} rows; all of them are in {run.name}.csv."
        if (folder / f"{run.name}.png").is_file():
            page["image"] = f"{run.name}.png"  # relative to the folder, WeasyPrint's base URL
        pages.append(page)
    return _environment().get_template(TEMPLATE).render(
        school=audit.params.label, period=_named(audit.period), span=_span(audit.period), paper=PAPERS[paper],
        tiles=tiles, quality=quality, findings=findings(folder), pages=pages)


def _named(period) -> str:
    """The period's own name ("2025-26 Q3"), or "" when it is only its dates."""
    return "" if period.name == f"{period.start} to {period.end}" else period.name


def findings(folder: Path) -> list[dict]:
    """The audit's findings (findings.json), as {title, detail}; none when the file is absent."""
    path = Path(folder) / FINDINGS
    if not path.is_file():
        return []
    items = json.loads(path.read_text(encoding="utf-8"))
    items = items.get("findings", []) if isinstance(items, dict) else items
    return [{"title": str(item.get("title", "")), "detail": str(item.get("detail", item.get("text", "")))}
            if isinstance(item, dict) else {"title": str(item), "detail": ""} for item in items]


def render(document: str, target: Path) -> str:
    """Write `document` as a PDF at `target` (atomically). Returns "" or why it could not."""
    try:
        weasyprint = _weasyprint()
    except OSError as exc:  # the Python package is there, the system's Pango is not
        return (f"WeasyPrint cannot load Pango ({str(exc).splitlines()[0]}); install Debian's libpango-1.0-0 and "
                "libpangoft2-1.0-0 (make setup does)")
    except ImportError:
        return "WeasyPrint is not installed (pip install weasyprint)"
    from .exports import atomic

    try:
        with atomic(target) as partial:
            weasyprint.HTML(string=document, base_url=str(target.parent), url_fetcher=_fetcher()).write_pdf(partial)
    except Exception as exc:  # noqa: BLE001 - one page must not stop the audit; the error is reported
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return ""


@lru_cache(maxsize=1)
def _weasyprint():
    import weasyprint

    return weasyprint


@lru_cache(maxsize=1)
def _fetcher():
    """Local files only: a report.pdf never fetches anything from another host."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("file",))


def _unavailable(audit) -> dict:
    path = audit.results / "results.json"
    return json.loads(path.read_text(encoding="utf-8")).get("unavailable", {}) if path.is_file() else {}


class Printer:
    """Renders PDFs in `workers` processes (WeasyPrint is pure Python: threads would share one core).

    Started when an audit starts, so the workers' imports overlap the notebooks; `submit` returns a
    future of render()'s result.
    """

    def __init__(self, workers: int = 1):
        # spawn: the parent holds DuckDB's and the kernels' threads, which a fork would copy mid-flight
        self.pool = concurrent.futures.ProcessPoolExecutor(max(1, workers), initializer=_quiet,
                                                           mp_context=multiprocessing.get_context("spawn"))
        self.warm = [self.pool.submit(_warm) for _ in range(max(1, workers))]

    def submit(self, audit, paper: str) -> concurrent.futures.Future:
        return self.pool.submit(render, html(audit, paper), audit.staging / FILE)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _quiet():
    """Workers leave Ctrl-C to the audit, which stops them (a page in progress takes a second)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm():
    """Import WeasyPrint ahead of the first page (it takes seconds), and render nothing."""
    if hasattr(os, "nice"):
        os.nice(5)  # the notebooks and the parent's pages come first; the PDFs fill the idle core
    try:
        _weasyprint()
    except (ImportError, OSError):
        pass  # render() says why
