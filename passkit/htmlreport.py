"""An audit folder's web pages: each executed notebook as HTML without code, and index.html linking them.

Nothing on a page comes from another host: the CSS is inline, fonts are the system's, and the chart
library is one local file (assets/vega.js, ~0.9 MB) shared by every page instead of inlined seven times.
"""

import datetime as dt
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "passkit_report"
ASSET = "assets/vega.js"
PAGES = {  # title and what the report is for, in the order of the analytics page
    "audit_summary": ("Audit summary", "The headline figures for the range and how clean the export was."),
    "daily_passes": ("Daily Passes", "Passes per grade on each school day: look for steady use, slides and spikes."),
    "passes_by_grade": ("Total Passes by Grade", "Each grade's passes, to compare with your school's usual pattern."),
    "passes_by_student": ("Total Passes by Student", "Every student as a dot; outliers in red, named on hover."),
    "room_usage": ("Room Usage", "The busiest destinations and the rooms students leave most."),
    "staff_usage": ("Staff Usage", "Now and scheduled passes created by each teacher and kiosk."),
    "frequent_flyers": ("Frequent Flyers", "The twenty students with the most passes, with minutes out of class."),
}


def write_site(audit, manifest: dict, figures, quality):
    """Write assets/vega.js, one page per executed notebook, and index.html into the audit's folder."""
    from . import charts

    folder = audit.staging
    bundle = charts.vega_bundle()
    (folder / "assets").mkdir(exist_ok=True)
    (folder / ASSET).write_text(bundle, encoding="utf-8")
    context = _context(audit, manifest)
    for run in audit.runs:
        write_page(audit.executed(run), folder / f"{run.name}.html", bundle=bundle, **context,
                   title=PAGES[run.name][0], current=run.name, error=run.error)
    write_index(folder, context, figures, quality, [_school_row(school) for school in audit.schools])


def write_page(executed: Path, target: Path, *, bundle: str, title: str, current: str, error: str = "", **context):
    """One executed notebook as a page: markdown and outputs only, no code, parameters or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    nb.cells = [_without_bundle(cell, bundle) for cell in nb.cells if _shown(cell)]
    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name=TEMPLATE,
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    nav = [dict(link, current=link["name"] == current) for link in context["nav"]]
    files = [{"href": f"{current}.csv", "title": "table (CSV)"}] if current != "audit_summary" else []
    files += [{"href": f"notebooks/{current}.ipynb", "title": "notebook"}]
    page = {**context, "title": title, "nav": nav, "error": error, "files": files}
    body, _ = exporter.from_notebook_node(nb, resources={"passkit": page})
    target.write_text(body, encoding="utf-8")
    return target


def write_index(folder: Path, context: dict, figures, quality, schools: list):
    """index.html: the headline figures, a card per report, data quality, schools and every file."""
    import jinja2

    from .notebook import _cell

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / TEMPLATE), autoescape=True)
    counts = dict(zip(quality["Figure"], quality["Value"]))
    note = (f"{counts['Rows read']:,} rows read, {counts['Rows rejected']:,} rejected, "
            f"{counts['Duplicate rows dropped']:,} duplicates dropped")
    pages = [{**link, "image": link["name"] + ".png" if (folder / f"{link['name']}.png").is_file() else "",
              "blurb": PAGES[link["name"]][1], "note": note if link["name"] == "audit_summary" else ""}
             for link in context["nav"]]
    tiles = [{"label": row.Figure, "value": _cell(row.Value)} for row in figures.itertuples()]
    rows = [{"label": row.Figure, "value": _cell(row.Value)} for row in quality.itertuples()]
    html = env.get_template("overview.html.j2").render(
        **context, pages=pages, tiles=tiles, quality=rows, schools=schools, files=_files(folder),
        failures=[page for page in pages if page["failed"]])
    (folder / "index.html").write_text(html, encoding="utf-8")


def _context(audit, manifest: dict) -> dict:
    """What every page of one audit shares."""
    from .notebook import DATE_FORMAT

    period = audit.period
    created = dt.datetime.fromisoformat(manifest["created"]).astimezone()
    inputs = ", ".join(item["file"] for item in manifest["inputs"])
    return {
        "school": audit.params.label, "period": period.name,
        "span": f"{period.start:{DATE_FORMAT}} to {period.end:{DATE_FORMAT}}",
        "css": (TEMPLATES / TEMPLATE / "audit.css").read_text(encoding="utf-8"),
        "nav": [{"name": run.name, "href": f"{run.name}.html", "title": PAGES[run.name][0],
                 "failed": run.status != "ok", "error": run.error} for run in audit.runs],
        "footer": f"Made by passkit {manifest['passkit']} on {created:%Y-%m-%d %H:%M} from {inputs}",
    }


def _school_row(school) -> dict:
    import json

    manifest = json.loads((school.staging / "manifest.json").read_text())
    return {"school": school.params.label, "href": f"schools/{school.folder.name}/index.html",
            "passes": f"{manifest['rows']['passes_in_range']:,}",
            "students": f"{manifest['rows']['tables']['passes_by_student']:,}", "failed": bool(school.failed)}


def _files(folder: Path) -> list:
    names = [("reports.xlsx", "All tables as one workbook (reports.xlsx)")]
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


def _without_bundle(cell, bundle: str):
    """Drop the chart library a kernel inlines into its first chart: the page loads assets/vega.js instead."""
    inline = f"<script>{bundle}</script>\n"
    for output in cell.get("outputs", []):
        text = output.get("data", {}).get("text/html")
        if isinstance(text, str) and inline in text:
            output["data"]["text/html"] = text.replace(inline, "")
    return cell
