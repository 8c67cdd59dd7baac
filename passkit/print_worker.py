"""Render report.pdf with WeasyPrint, in this process or as the worker process `passkit.pdf.Printer` starts.

As a worker it runs as a script (`python -I print_worker.py`): it imports WeasyPrint and nothing of
passkit or of the audit's main module (a second passkit import would cost most of a second, and a
multiprocessing "spawn" child would import the caller's script again). It reads one job per line on
stdin, {"document": html, "target": path}, and answers each with one line, {"error": ""} or why not.
"""

import json
import os
import sys
from functools import lru_cache
from pathlib import Path

PANGO = ("install Debian's libpango-1.0-0 and libpangoft2-1.0-0 (make pango does)")


def render(document: str, target) -> str:
    """Write `document` (HTML whose relative links point into target's folder) as a PDF at `target`,
    atomically. Returns "" or one line saying why it could not."""
    try:
        weasyprint = _weasyprint()
    except OSError as exc:  # the Python package is there, the system's Pango is not
        return f"WeasyPrint cannot load Pango ({str(exc).splitlines()[0]}); {PANGO}"
    except ImportError:
        return "WeasyPrint is not installed (pip install weasyprint)"
    target = Path(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        weasyprint.HTML(string=document, base_url=str(target.parent), url_fetcher=_local_files()).write_pdf(partial)
        os.replace(partial, target)
    except Exception as exc:  # noqa: BLE001 - one report must not stop an audit; the caller reports it
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        partial.unlink(missing_ok=True)
    return ""


@lru_cache(maxsize=1)
def _weasyprint():
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its layout warnings are not the user's business
    import weasyprint

    return weasyprint


@lru_cache(maxsize=1)
def _local_files():
    """Local files only: a report.pdf never fetches anything from another host."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("file",))


def serve(jobs=sys.stdin, answers=sys.stdout):
    """The worker's loop: a job per line in, an answer per line out, until `jobs` ends."""
    try:
        _weasyprint()  # now, while the audit's notebooks run, not at the first report
    except (ImportError, OSError):
        pass  # each answer says why
    for line in jobs:
        job = json.loads(line)
        answers.write(json.dumps({"error": render(job["document"], job["target"])}) + "\n")
        answers.flush()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the audit's to handle: it closes our stdin
    if hasattr(os, "nice"):
        os.nice(5)  # the notebooks and the audit's pages come first; reports fill an idle core
    serve()
