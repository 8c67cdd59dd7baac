"""`passkit audit`: run every report notebook with papermill for a date range and write the folder a principal reads.

An audit folder (outputs/demo-high-2025-26-q3/):

    index.html                 the overview: headline figures and a link to every report
    <report>.html              one page per notebook, without code, working offline
    <report>.csv, <report>.png every table and chart (written by the notebooks themselves)
    audit_summary.csv, rejected.csv, reports.xlsx (one sheet per report)
    notebooks/<report>.ipynb   the executed notebooks
    assets/vega.js             the chart library, shared by the pages
    manifest.json              parameters, input fingerprints, row counts, versions, each notebook's status
    schools/<school>/          with --each-school: the same folder for each school

Everything is written into a hidden temporary folder beside the destination and moved into place at
the end, so an interrupted audit never leaves a folder that looks finished.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import params as audit_params
from .errors import PasskitError
from .reports import REPORTS

NOTEBOOKS = ("audit_summary", *REPORTS)
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
START_TIMEOUT = 120  # seconds; kernels start slowly when both cores are busy
CELL_TIMEOUT = 1800
KERNEL = "passkit"
VERSIONED = ("pandas", "duckdb", "narwhals", "pyarrow", "altair", "vl-convert-python", "papermill", "nbconvert",
             "ipykernel", "openpyxl")


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

    params: audit_params.AuditParams
    period: audit_params.Period
    folder: Path
    staging: Path
    runs: list = field(default_factory=list)
    schools: list = field(default_factory=list)

    def all_runs(self) -> list:
        return [*self.runs, *(run for school in self.schools for run in school.all_runs())]

    def place(self, staging: Path):
        """Write this audit (and its schools) into `staging` from now on."""
        self.staging = staging
        for school in self.schools:
            school.place(staging / "schools" / school.folder.name)

    def executed(self, run: Run) -> Path:
        return self.staging / "notebooks" / f"{run.name}.ipynb"

    def targets(self) -> list:
        """(run, executed notebook path) of this audit and its schools."""
        return [*((run, self.executed(run)) for run in self.runs),
                *(pair for school in self.schools for pair in school.targets())]

    @property
    def failed(self) -> list:
        return [run for run in self.all_runs() if run.status != "ok"]


def run(params, *, out=None, all_quarters=False, each_school=False, jobs=None, notebooks=None,
        kernel_argv=None, refresh=False, progress=True) -> list[Audit]:
    """Run the audits `params` describes and return them (each with its runs' status); see `passkit audit --help`.

    `out` is the audit folder for one range, or the folder holding one per range with `all_quarters`
    (default ./outputs). `kernel_argv` replaces the kernel command (tests use it to make kernels fail).
    """
    import passkit
    from passkit.data import school_year_start

    data = passkit.load(params.data, params.timezone, columns=params.columns, cache_dir=params.cache,
                        refresh=refresh, progress=progress, year_starts=school_year_start(params.period.start))
    data.check_schools(params.schools, each_school, params.data)
    audits = plan(params, data, out=out, all_quarters=all_quarters, each_school=each_school,
                  notebooks=Path(notebooks) if notebooks else NOTEBOOK_DIR)
    workdir = Path(tempfile.mkdtemp(prefix="passkit-audit-"))  # kernel specs and sockets
    stagings = []
    try:
        for audit in audits:
            audit.folder.parent.mkdir(parents=True, exist_ok=True)
            stagings.append(Path(tempfile.mkdtemp(prefix=f".{audit.folder.name}.", suffix=".partial",
                                                  dir=audit.folder.parent)))
            stagings[-1].chmod(0o777 & ~_umask())  # mkdtemp's 0700 would outlive the move
            audit.place(stagings[-1])
        from tqdm.auto import tqdm

        runs = [pair for audit in audits for pair in audit.targets()]
        finishing = [a for audit in audits for a in (*audit.schools, audit)]
        with tqdm(total=len(runs) + len(finishing), desc="audit", unit="step", disable=None if progress else True,
                  file=sys.stderr) as bar:
            execute(runs, jobs=jobs, kernel_argv=kernel_argv, workdir=workdir, bar=bar)
            for audit in finishing:
                bar.set_postfix_str(f"pages: {audit.folder.name}")
                finish(audit, data)
                bar.update()
        for audit in audits:
            publish(audit)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for staging in stagings:
            shutil.rmtree(staging, ignore_errors=True)  # still there only when something went wrong
    return audits


def plan(params, data, *, out, all_quarters, each_school, notebooks: Path) -> list[Audit]:
    """The audits to run, with their final folders; nothing is written yet."""
    missing = [name for name in NOTEBOOKS if not (notebooks / f"{name}.ipynb").is_file()]
    if missing:
        raise PasskitError(f"notebook {missing[0]}.ipynb not found", file=notebooks)
    periods = params.periods(all_quarters)
    audits = []
    for period in periods:
        if out is None:
            folder = Path("outputs") / params.folder_name(period)
        else:
            folder = Path(out) / params.folder_name(period) if all_quarters else Path(out)
        _check_replaceable(folder)
        audit = _audit(params, period, folder.resolve(), data, notebooks)
        if each_school:
            schools = params.schools or [school for school in data.schools if school]
            if len({audit_params.slug(school) for school in schools}) < len(schools):
                raise PasskitError("two schools' names give the same folder name; audit them one at a time")
            audit.schools = [_audit(audit_params.for_school(params, school), period,
                                    audit.folder / "schools" / audit_params.slug(school), data, notebooks)
                             for school in schools]
        audits.append(audit)
    return audits


def _audit(params, period, folder, data, notebooks) -> Audit:
    audit = Audit(params, period, folder, folder)
    values = notebook_parameters(params, period, Path(data.cache).parent)
    audit.runs = [Run(name, notebooks / f"{name}.ipynb", values) for name in NOTEBOOKS]
    return audit


def notebook_parameters(params, period, cache_root: Path) -> dict:
    """What papermill puts in each notebook's parameters cell."""
    return {
        "data_dir": str(params.data.resolve()), "start": str(period.start), "end": str(period.end),
        "timezone": params.timezone, "schools": list(params.schools), "school_label": params.label,
        # relative to the kernel's folder (notebooks/), so the executed notebooks still work once moved
        "output_dir": "..", "cache_dir": str(cache_root),
        "columns": str(params.columns.resolve()) if params.columns else "",
    }


# ---- running notebooks ----------------------------------------------------------------------------

def execute(runs: list, *, jobs=None, kernel_argv=None, workdir: Path, bar=None):
    """Run every (run, executed notebook path) pair, `jobs` at a time (default: one per core) in threads.

    Threads, not processes: each notebook runs in its own kernel process anyway, and the threads only
    relay messages; on 2 cores they were faster than a process pool (see the README's figures).
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook") as pool:
        futures = {pool.submit(run_notebook, run.source, target, run.parameters, workdir, kernel_argv): run
                   for run, target in runs}
        try:
            for future in as_completed(futures):
                run = futures[future]
                run.status, run.error, run.seconds, run.attempts = future.result()
                if bar is not None:
                    bar.set_postfix_str(f"{run.name}: {run.status}")
                    bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def run_notebook(source: Path, target: Path, parameters: dict, workdir: Path, kernel_argv=None):
    """Execute one notebook into `target`; retry once if its kernel fails to start.

    Returns (status, error, seconds, attempts). A failure leaves `target` with the error at its top.
    """
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for attempt in (1, 2):
        specs = Path(tempfile.mkdtemp(dir=workdir))
        try:
            papermill.execute_notebook(
                str(source), str(target), parameters=parameters, progress_bar=False, log_output=False,
                start_timeout=START_TIMEOUT, execution_timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                kernel_manager_class=_kernel_manager_class(specs, kernel_argv),
                resources={"metadata": {"path": str(target.parent)}})
            return "ok", "", time.perf_counter() - began, attempt
        except papermill.PapermillExecutionError as exc:  # a cell raised: papermill marked the notebook
            return "failed", f"{exc.ename}: {exc.evalue}", time.perf_counter() - began, attempt
        except Exception as exc:  # the kernel never started, or died
            error = f"{type(exc).__name__}: {exc}{_last_line(specs / 'kernel.log')}"
            if attempt == 1 and not _started(target):
                continue
            _mark_failed(source, target, error)
            return "failed", error, time.perf_counter() - began, attempt


def _kernel_manager_class(specs: Path, kernel_argv=None):
    """Kernels running this very Python (not whatever 'python3' kernelspec a user installed), talking over
    Unix sockets in a private folder rather than unencrypted TCP, their stderr in specs/kernel.log rather
    than over the progress bar. A class, so nbclient owns (and stops) the kernel."""
    from ipykernel.kernelspec import make_ipkernel_cmd
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    (specs / KERNEL).mkdir()
    argv = kernel_argv or make_ipkernel_cmd(executable=sys.executable)
    (specs / KERNEL / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))

    class KernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.update(kernel_name=KERNEL, transport="ipc", ip=str(specs / "kernel"),
                          kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
            super().__init__(**kwargs)

        async def start_kernel(self, **kwargs):
            with open(specs / "kernel.log", "ab") as log:  # the child keeps its own copy of the handle
                return await super().start_kernel(stderr=log, **kwargs)

    return KernelManager


def _last_line(log: Path) -> str:
    """The kernel's last words (e.g. an ImportError), to explain why it died."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return f" (kernel: {lines[-1].strip()})" if lines else ""


def _started(target: Path) -> bool:
    """Whether papermill got as far as running a cell (so the kernel did start)."""
    try:
        nb = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(cell.get("metadata", {}).get("papermill", {}).get("start_time") for cell in nb["cells"])


def _mark_failed(source: Path, target: Path, error: str):
    """Keep what ran (or the input notebook) with the error as its first cell, as papermill does for cell errors."""
    import nbformat

    path = target if target.is_file() else source
    nb = nbformat.read(path, as_version=4)
    banner = nbformat.v4.new_markdown_cell(
        f'<span style="color:red; font-size:2em;">This notebook did not finish:</span>\n\n    {error}')
    banner.metadata["tags"] = ["passkit-error"]
    nb.cells.insert(0, banner)
    nb.metadata.setdefault("papermill", {})["exception"] = True
    nbformat.write(nb, target)


# ---- finishing an audit folder ----------------------------------------------------------------------

def finish(audit: Audit, data):
    """The workbook, the HTML pages, index.html and manifest.json of one audit folder."""
    from . import htmlreport, notebook
    from .exports import write_xlsx

    view = notebook.RangeReport(data, audit.period.start, audit.period.end, list(audit.params.schools),
                                audit.params.label)
    tables = view.tables()
    figures = notebook.headline(tables, audit.period.start, audit.period.end)
    quality = notebook.data_quality(data.summary, audit.period.start, audit.period.end)
    write_xlsx({"Audit summary": notebook.summary_table(figures, quality), **tables}, audit.staging / "reports.xlsx")
    manifest = _manifest(audit, data, tables)
    htmlreport.write_site(audit, manifest, figures, quality)
    (audit.staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")


def _manifest(audit: Audit, data, tables) -> dict:
    from . import __version__, data as data_module

    params = audit.params
    files = data_module.find_files(params.data)
    inputs = [*files["passes"], *(files[r] for r in ("roster", "users", "rooms", "staff") if r in files)]
    if params.columns:
        inputs.append(Path(params.columns))
    return {
        "passkit": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "failed" if audit.failed else "complete",
        "parameters": {"school": params.label, "schools": list(params.schools), "data": str(params.data.resolve()),
                       "timezone": params.timezone, "period": audit.period.name, "start": str(audit.period.start),
                       "end": str(audit.period.end), "columns": str(params.columns or ""),
                       "parameters_file": str(params.source or "")},
        "inputs": [fingerprint(path) for path in inputs],
        "rows": {"load": {key: data.summary[key] for key in ("rows_read", "passes_kept", "duplicates_dropped",
                                                             "rows_rejected", "grades_filled_from_roster")},
                 "passes_in_range": int(tables["passes_by_grade"]["passes"].sum()),
                 "tables": {name: len(table) for name, table in tables.items()}},
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
    folder = audit.folder
    if folder.exists():
        old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
        folder.rename(old)
        audit.staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        audit.staging.rename(folder)
    audit.place(folder)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_replaceable(folder: Path):
    """Only an earlier audit (or an empty folder) is ever replaced: never a folder of other files."""
    if folder.is_file() or (folder.is_dir() and any(folder.iterdir()) and not (folder / "manifest.json").is_file()):
        raise PasskitError("exists and is not an earlier audit folder; choose another --out", file=folder)
