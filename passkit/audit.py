"""`passkit audit`: compute every report once, run the report notebooks with papermill, write the folder a
principal reads.

An audit folder (outputs/demo-high-2025-26-q3/):

    index.html                 the overview: headline figures and a card per report
    <report>.html              one page per notebook, without code, working offline
    <report>.csv, <report>.png every table and chart
    report.pdf                 the printable report: cover, findings, a page per report (passkit.pdf)
    rejected.csv, reports-<start>-to-<end>.xlsx (one sheet per report), load_summary.json
    notebooks/<report>.ipynb   the executed notebooks
    assets/vega.js             the chart library, shared by the pages
    manifest.json              parameters, input fingerprints, row counts, versions, each notebook's status
    schools/<school>/          with --each-school: the same folder for each school

With --all-quarters, one such folder per quarter inside a year folder whose index.html compares them.

Each range's tables are computed once, in this process, and written as CSV and XLSX; the notebooks
then show those same tables (handed over through a private temporary folder), so no file can
disagree with another. Notebooks run in a few long-lived kernels (`passkit.engine`), not one
kernel each: a kernel's start costs more than the notebook it runs.

Everything is written into a hidden staging folder beside the destination and moved into place at
the end, so an interrupted audit never leaves a folder that looks finished.
"""

import datetime as dt
import hashlib
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import folders, registry, resources
from .errors import PasskitError, without_students
from .params import for_school

GENERIC_NOTEBOOK = "report"  # runs any registered report that has no notebook of its own
VERSIONED = ("pandas", "duckdb", "narwhals", "pyarrow", "altair", "vl-convert-python", "papermill", "nbconvert",
             "ipykernel", "xlsxwriter")


@dataclass
class Run:
    """One notebook execution."""

    name: str
    source: Path
    parameters: dict
    status: str = "pending"  # then "ok" or "failed"
    error: str = ""
    seconds: float = 0.0
    attempts: int = 0


@dataclass
class Audit:
    """One output folder: a range of one school, or of several with the schools below it."""

    params: object  # params.Settings
    period: object  # params.Period
    folder: Path
    staging: Path
    results: Path | None = None  # where this range's computed tables wait for the notebooks
    runs: list = field(default_factory=list)
    schools: list = field(default_factory=list)
    passes: int = 0
    printing: object = None  # the future of its report.pdf (pdf.Printer.submit)
    pdf_error: str = ""  # why report.pdf was not made, when it was not
    rows: dict = field(default_factory=dict)  # table name -> rows
    headline: list = field(default_factory=list)  # (figure, value) rows, for the year overview

    def all_runs(self) -> list:
        return [*self.runs, *(run for school in self.schools for run in school.all_runs())]

    def family(self) -> list:
        """This audit and its schools' audits, schools first (the district's index lists them)."""
        return [*self.schools, self]

    def place(self, staging: Path):
        """Write this audit (and its schools) into `staging` from now on."""
        self.staging = staging
        for school in self.schools:
            school.place(staging / "schools" / school.folder.name)

    def executed(self, run: Run) -> Path:
        return self.staging / "notebooks" / f"{run.name}.ipynb"

    @property
    def failed(self) -> list:
        return [run for run in self.all_runs() if run.status != "ok"]

    @property
    def pdf_failures(self) -> list:
        """(audit, why) for this audit's and its schools' report.pdf that could not be made."""
        return [(member, member.pdf_error) for member in self.family() if member.pdf_error]


def run(params, *, out=None, all_quarters=False, each_school=False, jobs=None, notebooks=None,
        kernel_argv=None, refresh=False, progress=True, pdf=True) -> list[Audit]:
    """Run the audits `params` describes and return them (each with its runs' status); see `passkit audit --help`.

    `out` is the audit folder for one range, or the year folder holding one per quarter with
    `all_quarters`. `kernel_argv` replaces the kernel command (tests use it to make kernels fail).
    `pdf` writes report.pdf in every audit folder.
    """
    import os

    import passkit
    from tqdm.auto import tqdm

    from . import engine, pdf as printable

    data = passkit.load(params.data, params.timezone, columns=params.columns, cache_dir=params.cache,
                        refresh=refresh, progress=progress, year_starts=params.school_year_start,
                        drop_identical=params.drop_identical)
    data.check_schools(params.schools, each_school, params.data)
    year = _year_folder(params, out) if all_quarters else None
    audits = plan(params, data, out=out if not all_quarters else year, all_quarters=all_quarters,
                  each_school=each_school, notebooks=Path(notebooks) if notebooks else None)
    workdir = Path(tempfile.mkdtemp(prefix="passkit-audit-"))  # kernel specs, sockets, results: private (0700)
    stagings = []
    # PDFs render in other processes while this one writes the pages; started now, their imports overlap
    # the notebooks. One fewer than the kernels: this process is busy too.
    printer = printable.Printer(max(1, (jobs or os.cpu_count() or 1) - 1)) if pdf else None
    try:
        for audit in audits:
            stagings.append(folders.staging(audit.folder))
            audit.place(stagings[-1])
        family = [member for audit in audits for member in audit.family()]
        notebooks = sum(len(member.runs) for member in family)
        with tqdm(total=2 * len(family) + notebooks, desc="audit", unit="step", disable=not progress,
                  file=sys.stderr, dynamic_ncols=True) as bar, \
                engine.Pool(workdir, jobs=jobs, kernel_argv=kernel_argv, bar=bar) as pool:
            earlier = {}  # each school's (and the district's) last quarter: the next one's prior period
            for number, member in enumerate(family):  # tables first, notebooks as soon as their tables exist
                bar.set_postfix_str(f"tables: {member.params.label}, {member.period.name}")
                prepare(member, data, workdir / "results" / str(number), earlier)
                for run in member.runs:
                    pool.submit(run, member.executed(run))
                bar.update()
            inputs = input_fingerprints(params)
            for member in family:  # pages, while the kernels run the next folders' notebooks
                pool.wait(member.runs)
                for run in member.runs:  # a notebook's exception may quote a value: it goes to logs and pages
                    run.error = without_students(run.error, data)
                collect_charts(member)
                if printer is not None:  # report.pdf prints in another process while the pages are written
                    member.printing = printer.submit(member, params.paper)
                bar.set_postfix_str(f"pages: {member.params.label}, {member.period.name}")
                finish(member, data, inputs)
                bar.update()
        for audit in audits:
            publish(audit)
        if year is not None:
            write_year(year, params, audits)
    finally:
        if printer is not None:
            printer.close()
        shutil.rmtree(workdir, ignore_errors=True)
        for staging in stagings:
            shutil.rmtree(staging, ignore_errors=True)  # still there only when something went wrong
    return audits


def _year_folder(params, out) -> Path:
    """Where --all-quarters writes its quarters and the year overview."""
    year = Path(out) if out is not None else Path("outputs") / params.folder_name()
    year = folders.check_output(year, params.data)
    year.mkdir(parents=True, exist_ok=True)
    folders.mark(year)
    return year


def plan(params, data, *, out, all_quarters, each_school, notebooks: Path | None = None) -> list[Audit]:
    """The audits to run, with their final folders; nothing is written yet."""
    periods = params.periods(all_quarters)
    audits = []
    for period in periods:
        if all_quarters:
            folder = Path(out) / params.folder_name(period)
        else:
            folder = Path(out) if out is not None else Path("outputs") / params.folder_name(period)
        folder = folders.check_output(folder, params.data)
        audit = _audit(params, period, folder, notebooks)
        if each_school:
            names = folders.unique_slugs(params.schools or [school for school in data.schools if school])
            audit.schools = [_audit(for_school(params, school), period, folder / "schools" / name, notebooks)
                             for school, name in names.items()]
        audits.append(audit)
    return audits


def _audit(params, period, folder, notebooks) -> Audit:
    audit = Audit(params, period, folder, folder)
    values = notebook_parameters(params, period)
    audit.runs = [Run(entry.name, *_notebook(entry.name, notebooks, values)) for entry in registry.all_reports("page")]
    return audit


def _notebook(name: str, folder: Path | None, values: dict) -> tuple[Path, dict]:
    """The report's own notebook, or the generic one told which report to show."""
    own = (folder or resources.path("notebooks")) / f"{name}.ipynb"
    if own.is_file():
        return own, values
    generic = (folder or resources.path("notebooks")) / f"{GENERIC_NOTEBOOK}.ipynb"
    if not generic.is_file():
        raise PasskitError(f"notebook {name}.ipynb not found", file=folder or resources.path("notebooks"))
    return generic, {**values, "report": name}


def notebook_parameters(params, period, results: Path | None = None) -> dict:
    """What papermill puts in each notebook's parameters cell (results_dir is added per range)."""
    return {
        "data_dir": str(params.data.resolve()), "start": str(period.start), "end": str(period.end),
        "timezone": params.timezone, "schools": list(params.schools), "school_label": params.label,
        "cache_dir": str(params.cache.resolve()) if params.cache else "",
        "columns": str(params.columns.resolve()) if params.columns else "",
        "options": dict(params.options), "results_dir": str(results or ""),
    }


# ---- the tables, once per range ---------------------------------------------------------------------

def prepare(audit: Audit, data, results: Path, earlier: dict | None = None):
    """Compute the range's tables, write CSV, XLSX and rejected rows, and leave them for its notebooks.

    `earlier` holds, by schools, the last range prepared (slimmed to what a comparison reads): when it is this
    range's prior period (the quarter before, in --all-quarters), its tables are not computed again."""
    from .exports import write_report_folder
    from .notebook import save_results
    from . import summary
    from .summary import cards
    from .tables import Tables

    from .compare import PRIOR_TABLES

    earlier = {} if earlier is None else earlier
    schools, prior = list(audit.params.schools) or None, audit.params.prior(audit.period)
    found = earlier.get(tuple(schools or ()))
    tables = Tables(data, audit.period.start, audit.period.end, None, schools, audit.params.options,
                    prior=found if found is not None and (found.start, found.end) == prior else prior)
    write_report_folder(tables, audit.staging, caption=audit.params.caption(audit.period), paper=audit.params.paper)
    save_results(tables, results)
    audit.results, audit.passes = results, tables.passes_in_range
    audit.rows = {name: len(table) for name, table in tables.computed().items()}
    audit.headline = cards(tables.get(summary.NAME), summary.IN_RANGE)
    earlier[tuple(schools or ())] = tables.keeping(PRIOR_TABLES)
    for run in audit.runs:
        run.parameters = {**run.parameters, "results_dir": str(results)}


# ---- finishing an audit folder ----------------------------------------------------------------------

def collect_charts(audit: Audit):
    """Move the charts the notebooks drew (once each) into the audit folder."""
    for run in audit.runs:
        chart = audit.results / f"{run.name}.png"
        if chart.is_file() and run.status == "ok":
            shutil.move(chart, audit.staging / chart.name)


def finish(audit: Audit, data, inputs: list):
    """The HTML pages, index.html and manifest.json of one audit folder (its report.pdf printing meanwhile).

    `inputs` are the exports' fingerprints (`input_fingerprints`), hashed once per run: a district's
    exports are a gigabyte, and an audit writes 164 folders."""
    from . import htmlreport
    from .exports import write_json

    manifest = _manifest(audit, data, inputs)
    htmlreport.write_site(audit, manifest, before_index=lambda: _printed(audit, manifest))
    write_json(audit.staging / "manifest.json", manifest)


def _printed(audit: Audit, manifest: dict):
    """Wait for the audit's report.pdf and record how it went (the index links it, or says why not)."""
    if audit.printing is None:
        return
    try:
        audit.pdf_error = audit.printing.result()
    except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the system: the rest is still written
        audit.pdf_error = f"the PDF worker stopped ({type(exc).__name__})"
    manifest["pdf"] = {"file": "report.pdf", "paper": audit.params.paper, "status": "failed" if audit.pdf_error
                       else "complete", "error": audit.pdf_error}
    if audit.pdf_error:
        manifest["status"] = "failed"


def input_fingerprints(params) -> list[dict]:
    """Name, size and sha256 of every file the audit read."""
    from . import data as data_module

    files = data_module.find_files(params.data)
    inputs = [*files["passes"], *(files[r] for r in (*data_module.SIDE_ROLES, "exempt") if r in files)]
    if params.columns:
        inputs.append(Path(params.columns))
    return [fingerprint(path) for path in inputs]


def _manifest(audit: Audit, data, inputs: list) -> dict:
    from . import __version__

    params = audit.params
    return {
        "passkit": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "failed" if audit.failed else "complete",
        "parameters": {"school": params.label, "schools": list(params.schools), "data": str(params.data.resolve()),
                       "timezone": params.timezone, "period": audit.period.name, "start": str(audit.period.start),
                       "end": str(audit.period.end), "columns": str(params.columns or ""),
                       "parameters_file": str(params.source or ""), "options": dict(params.options)},
        "inputs": inputs,
        "rows": {"load": {key: data.summary[key] for key in ("rows_read", "passes_kept", "duplicates_dropped",
                                                             "rows_rejected", "grades_filled_from_roster")},
                 "passes_in_range": audit.passes, "tables": audit.rows},
        "versions": versions(),
        "notebooks": [{"name": r.name, "status": r.status, "seconds": round(r.seconds, 2), "attempts": r.attempts,
                       "error": r.error} for r in audit.runs],
        "schools": [{"school": s.params.label, "folder": f"schools/{s.folder.name}", "status":
                     "failed" if s.failed else "complete"} for s in audit.schools],
    }


def fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def versions() -> dict:
    from importlib import metadata

    from . import __version__

    found = {"python": sys.version.split()[0], "passkit": __version__}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def publish(audit: Audit):
    """Move the finished staging folder into place, replacing an earlier run of the same audit."""
    folders.swap_in(audit.staging, audit.folder)
    audit.place(audit.folder)


def write_year(year: Path, params, audits: list[Audit]):
    """The year folder's index.html: a link to every quarter and their headline figures side by side."""
    from . import htmlreport

    htmlreport.write_year_index(year, params, audits)
