"""An audit folder's web pages: each executed notebook as HTML without code, and index.html linking them.

Nothing on a page comes from another host: the CSS is inline, fonts are the system's, and the chart
library is one local file (assets/vega.js, ~0.9 MB) shared by every page. Titles, blurbs and the
order of the pages come from the report registry.
"""

import datetime as dt
from functools import lru_cache
from pathlib import Path

from . import registry

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "passkit_report"
ASSET = "assets/vega.js"


def write_site(audit, manifest: dict, before_index=None):
    """Write assets/vega.js, one page per executed notebook, and index.html into the audit's folder.

    `before_index` is called between the pages and the index (the audit waits there for report.pdf)."""
    from . import charts
    from .exports import write_text

    folder = audit.staging
    (folder / "assets").mkdir(exist_ok=True)
    write_text(folder / ASSET, charts.vega_bundle())
    context = _context(audit, manifest)
    for run in audit.runs:
        write_page(audit.executed(run), folder / f"{run.name}.html", **context, title=registry.get(run.name).title,
                   current=run.name, error=run.error)
    if before_index is not None:
        before_index()
    write_index(audit, context)


@lru_cache(maxsize=1)
def _exporter():
    """One nbconvert exporter for every page: building its template environment is the slow part."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        """nbconvert's HTML exporter without its last step, which parses every page back with BeautifulSoup to give
        images without alt text a placeholder and cells a tabindex: 0.3 s for a district's page of students (about
        ten minutes of a district audit's 3,000 pages), for nothing here. The pages have no code cells, and every
        chart passkit draws carries its own text alternative (tests/test_audit.py checks both)."""

        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", Highlight2HTML(parent=self))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter(extra_template_basedirs=[str(TEMPLATES)], template_name=TEMPLATE, exclude_input=True,
                        exclude_input_prompt=True, exclude_output_prompt=True)


def write_page(executed: Path, target: Path, *, title: str, current: str, error: str = "", **context):
    """One executed notebook as a page: markdown and outputs only, no code, parameters or prompts."""
    import nbformat

    from .exports import write_text

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [cell for cell in nb.cells if _shown(cell)]
    nav = [dict(link, current=link["name"] == current) for link in context["nav"]]
    files = [{"href": f"{current}.csv", "title": "table (CSV)"}] if (target.parent / f"{current}.csv").is_file() else []
    files += [{"href": f"notebooks/{current}.ipynb", "title": "notebook"}]
    page = {**context, "title": title, "nav": nav, "error": error, "files": files}
    body, _ = _exporter().from_notebook_node(nb, resources={"passkit": page})
    write_text(target, body)
    return target


def write_index(audit, context: dict):
    """index.html: the headline figures, a card per report, data quality, schools and every file."""
    from .exports import write_text
    from .findings import STEADY, read as read_findings
    from .summary import IN_RANGE, NAME, QUALITY, cards, part

    folder = audit.staging
    summary = _summary_table(audit)
    quality = part(summary, QUALITY)
    counts = dict(zip(quality["Figure"], quality["Value"]))
    note = (f"{counts.get('Rows read', 0):,} rows read, {counts.get('Rows rejected', 0):,} rejected, "
            f"{counts.get('Duplicate rows dropped', 0):,} duplicates dropped")
    pages = [{**link, "image": link["name"] + ".png" if (folder / f"{link['name']}.png").is_file() else "",
              "blurb": registry.get(link["name"]).description, "note": note if link["name"] == NAME
              else "", "unavailable": audit_unavailable(audit).get(link["name"], "")}
             for link in context["nav"]]
    tiles, rows = cards(summary, IN_RANGE), cards(summary, QUALITY)
    html = _environment().get_template("overview.html.j2").render(
        **context, pages=pages, tiles=tiles, findings=read_findings(folder), steady=STEADY, quality=rows, schools=[_school_row(s) for s in audit.schools],
        files=_files(folder), failures=[page for page in pages if page["failed"]],
        pdf="report.pdf" if (folder / "report.pdf").is_file() else "", pdf_error=getattr(audit, "pdf_error", ""),
        workbook=_workbook(folder))
    write_text(folder / "index.html", html)


def write_year_index(year: Path, params, audits: list):
    """The year folder's index.html: every quarter's headline figures side by side, each linking its audit."""
    from .exports import write_text

    figures = list(dict.fromkeys(card["label"] for audit in audits for card in audit.headline))
    quarters = [{"name": audit.period.name, "span": _span(audit.period), "href": f"{audit.folder.name}/index.html",
                 "failed": bool(audit.failed), "cards": {card["label"]: card for card in audit.headline}}
                for audit in audits]
    rows = [{"figure": figure, "cards": [q["cards"].get(figure, {}) for q in quarters]} for figure in figures]
    html = _environment().get_template("year.html.j2").render(
        school=params.label, period=params.period.name if params.period else "", quarters=quarters, rows=rows,
        css=_css(), footer=f"Made by passkit on {dt.datetime.now():%Y-%m-%d %H:%M}")
    write_text(year / "index.html", html)


def audit_unavailable(audit) -> dict:
    import json

    results = audit.results / "results.json" if audit.results else None
    if results and results.is_file():
        return json.loads(results.read_text(encoding="utf-8")).get("unavailable", {})
    return {}


def _summary_table(audit):
    import pandas as pd

    from .summary import NAME

    return pd.read_pickle(audit.results / f"{NAME}.pickle")


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / TEMPLATE), autoescape=True)


@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / TEMPLATE / "audit.css").read_text(encoding="utf-8")


def _span(period) -> str:
    from .summary import DATE_FORMAT

    return f"{period.start:{DATE_FORMAT}} to {period.end:{DATE_FORMAT}}"


def _context(audit, manifest: dict) -> dict:
    """What every page of one audit shares."""
    created = dt.datetime.fromisoformat(manifest["created"]).astimezone()
    inputs = ", ".join(item["file"] for item in manifest["inputs"])
    named = audit.period.name != f"{audit.period.start} to {audit.period.end}"
    return {
        "school": audit.params.label, "period": audit.period.name if named else "Audit", "span": _span(audit.period),
        "css": _css(),
        "nav": [{"name": run.name, "href": f"{run.name}.html", "title": registry.get(run.name).title,
                 "failed": run.status != "ok", "error": run.error} for run in audit.runs],
        "footer": f"Made by passkit {manifest['passkit']} on {created:%Y-%m-%d %H:%M} from {inputs}",
    }


def _school_row(school) -> dict:
    return {"school": school.params.label, "href": f"schools/{school.folder.name}/index.html",
            "passes": f"{school.passes:,}", "students": f"{school.rows.get('passes_by_student', 0):,}",
            "failed": bool(school.failed)}


def _workbook(folder: Path) -> str:
    return next((p.name for p in sorted(folder.glob("reports-*.xlsx"))), "")


def _files(folder: Path) -> list:
    names = [("report.pdf", "The printable report (report.pdf)")] if (folder / "report.pdf").is_file() else []
    names += [(_workbook(folder), f"All tables as one workbook ({_workbook(folder)})")]
    names += [(p.name, p.name) for p in sorted(folder.glob("*.csv"))]
    names += [(p.name, p.name) for p in sorted(folder.glob("*.png"))]
    names += [(f"notebooks/{p.name}", f"notebooks/{p.name}") for p in sorted((folder / "notebooks").glob("*.ipynb"))]
    names += [("manifest.json", "manifest.json (parameters, input fingerprints, versions)")]
    return [{"href": href, "title": title} for href, title in names]


def _shown(cell) -> bool:
    """Markdown cells and code cells with output, minus the parameters (they are in manifest.json)."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    if tags & {"parameters", "injected-parameters"}:
        return False
    return cell.cell_type == "markdown" or bool(cell.get("outputs"))
