"""Running many notebooks with papermill in a few long-lived kernels.

A kernel's start (a Python process importing pandas, DuckDB and Altair) costs 2-3 s here, more than
a report notebook takes to run once the tables are computed. So each of `jobs` worker threads owns
one kernel and runs notebook after notebook in it, through a papermill engine (papermill's own
extension point) that hands nbclient the worker's kernel manager instead of a new one. Before each
notebook the kernel's namespace and execution count are reset, so every executed notebook reads as
if it ran alone.

Kernels run this very Python through `passkit.kernel`, over Unix sockets in a private folder,
their stderr in a log file (its last line explains a kernel that died).
"""

import json
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

ENGINE = "passkit-kernel-reuse"
KERNEL = "passkit"
START_TIMEOUT = 120  # seconds; kernels start slowly when both cores are busy
CELL_TIMEOUT = 1800
RESET = "get_ipython().reset(new_session=True, aggressive=False)"


class ReusingClient(PapermillNotebookClient):
    """papermill's client, starting from a clean namespace in a kernel it does not own."""

    def papermill_execute_cells(self):
        reply = self.wait_for_reply(self.kc.execute(RESET, silent=True, store_history=False))
        if reply is None or reply["content"].get("status") != "ok":
            raise RuntimeError("the kernel could not be reset between notebooks")
        return super().papermill_execute_cells()


class ReusingEngine(NBClientEngine):
    """A papermill engine executing in the kernel of the worker it is given: its kernel manager (nbclient
    starts the kernel if needed) and its kernel client, kept between notebooks (a new client costs
    0.2 s: jupyter_client waits that long for stray output once it is ready)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, worker=None, input_path=None):
        client = ReusingClient(nb_man, km=worker.km, timeout=execution_timeout, startup_timeout=start_timeout,
                               kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                               stderr_file=stderr_file)
        client.kc = worker.kc
        try:
            return client.execute()
        finally:
            worker.kc = client.kc


papermill_engines.register(ENGINE, ReusingEngine)


class Worker:
    """One kernel, started on first use and restarted after it dies, running one notebook at a time."""

    def __init__(self, workdir: Path, kernel_argv=None):
        self.specs = Path(tempfile.mkdtemp(dir=workdir))
        self.kernel_argv = kernel_argv
        self.km = self.kc = None

    def run(self, source: Path, target: Path, parameters: dict) -> tuple[str, str, float, int]:
        """Execute `source` into `target`. Returns (status, error, seconds, attempts); a kernel that fails
        before running anything is replaced and tried once more. A failure leaves `target` with the
        error at its top."""
        import papermill

        target.parent.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        for attempt in (1, 2):
            if self.km is None:
                self.km = _kernel_manager(self.specs, self.kernel_argv)
            try:
                papermill.execute_notebook(
                    str(source), str(target), parameters=parameters, engine_name=ENGINE, worker=self,
                    progress_bar=False, log_output=False, start_timeout=START_TIMEOUT,
                    execution_timeout=CELL_TIMEOUT, kernel_name=KERNEL, request_save_on_cell_execute=False)
                return "ok", "", time.perf_counter() - began, attempt
            except papermill.PapermillExecutionError as exc:  # a cell raised: papermill marked the notebook
                return "failed", f"{exc.ename}: {exc.evalue}", time.perf_counter() - began, attempt
            except Exception as exc:  # the kernel never started, or died
                error = f"{type(exc).__name__}: {exc}{_last_line(self.specs / 'kernel.log')}"
                self.stop()
                if attempt == 1 and not _started(target):
                    continue
                _mark_failed(source, target, error)
                return "failed", error, time.perf_counter() - began, attempt

    def stop(self):
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # already gone
                pass
        self.km = self.kc = None


class Pool:
    """`jobs` workers (default: one per core), each with its kernel, running notebooks as they are submitted.

    Used as a context manager: leaving it waits for the work submitted (or, after an error, cancels
    what has not started) and stops the kernels. `wait(runs)` blocks until those runs are done, so
    an audit builds one folder's pages while the kernels run the next folder's notebooks.
    """

    def __init__(self, workdir: Path, *, jobs=None, kernel_argv=None, bar=None):
        import os

        self.work, self.bar, self.failures = queue.Queue(), bar, []
        self.finished = threading.Condition()
        self.done: set[int] = set()
        self.threads = [threading.Thread(target=self._drain, args=(Worker(workdir, kernel_argv),),
                                         name=f"notebook-{n}") for n in range(max(1, jobs or os.cpu_count() or 1))]
        for thread in self.threads:
            thread.start()

    def submit(self, run, target: Path):
        self.work.put((run, target))

    def wait(self, runs):
        with self.finished:
            self.finished.wait_for(lambda: self.failures or all(id(run) in self.done for run in runs))
        if self.failures:
            raise self.failures[0]

    def _drain(self, worker: Worker):
        try:
            while (item := self.work.get()) is not None:
                run, target = item
                run.status, run.error, run.seconds, run.attempts = worker.run(run.source, target, run.parameters)
                with self.finished:
                    self.done.add(id(run))
                    if self.bar is not None:
                        self.bar.set_postfix_str(f"notebook {run.name}: {run.status}")
                        self.bar.update()
                    self.finished.notify_all()
        except BaseException as exc:  # e.g. KeyboardInterrupt in a worker: everyone stops, the caller re-raises
            with self.finished:
                self.failures.append(exc)
                self.finished.notify_all()
        finally:
            worker.stop()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is not None:  # cancel what has not started
            while not self.work.empty():
                self.work.get_nowait()
        for _ in self.threads:
            self.work.put(None)
        for thread in self.threads:
            thread.join()
        if kind is None and self.failures:
            raise self.failures[0]


def run_notebook(source: Path, target: Path, parameters: dict, workdir: Path, kernel_argv=None):
    """Execute one notebook in a kernel of its own (see `Worker.run`)."""
    worker = Worker(workdir, kernel_argv)
    try:
        return worker.run(source, target, parameters)
    finally:
        worker.stop()


def _kernel_manager(specs: Path, kernel_argv=None):
    """A kernel manager for `passkit.kernel` running this Python (not whatever 'python3' kernelspec a user
    installed), over Unix sockets in a private folder, its stderr in specs/kernel.log."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    from .kernel import argv

    (specs / KERNEL).mkdir(exist_ok=True)
    (specs / KERNEL / "kernel.json").write_text(json.dumps(
        {"argv": kernel_argv or argv(sys.executable), "display_name": KERNEL, "language": "python"}))

    class KernelManager(AsyncKernelManager):
        async def start_kernel(self, **kwargs):
            with open(specs / "kernel.log", "ab") as log:  # the child keeps its own copy of the handle
                return await super().start_kernel(stderr=log, **kwargs)

    return KernelManager(kernel_name=KERNEL, transport="ipc", ip=str(specs / "kernel"),
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))


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
