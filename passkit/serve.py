"""Serve notebooks/dashboard.ipynb with Voila, locked down: `passkit dashboard` calls `serve`.

The settings live in config/voila.json (read explicitly, never a user's ~/.jupyter): login by
token (or password), sources stripped, tracebacks hidden, no files served beside the notebook,
preheated kernels, idle kernels culled. Voila's kernel websocket only forwards comm and
kernel-info messages, so the page cannot run code. On top of Voila this adds one route,
/passkit/static/, serving the Vega bundle the charts draw with (nothing comes from a CDN), and
logs requests with the token scrubbed.
"""

import functools
import os
import secrets
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.log import log_request
from jupyter_server.utils import url_path_join
from tornado import web
from voila.app import Voila

from . import resources
from .dashboard import ENV_CACHE, ENV_QUARTERS, format_quarters
from .errors import PasskitError

NOTEBOOK = resources.notebook("dashboard")
CONFIG_DIR = resources.path("config")
STATIC = Path(__file__).parent / "static"
ASSETS = {"vega.js": "application/javascript"}


def vega_bundle_file(cache_root: Path) -> Path:
    """Vega, Vega-Lite and vega-embed from vl-convert, written once per vl-convert version (takes a few seconds)."""
    import vl_convert

    from . import charts

    path = Path(cache_root) / "assets" / f"vega-{vl_convert.__version__}.js"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(charts.vega_bundle(), encoding="utf-8")
        partial.replace(path)
    return path


class AssetHandler(JupyterHandler):
    """The chart library, to logged-in pages only; cached by the browser for a day."""

    def initialize(self, files: dict):
        self.files = files

    @web.authenticated
    def get(self, name):
        if name not in self.files:
            raise web.HTTPError(404)
        self.xsrf_token  # sets the _xsrf cookie that Voila's shut-down-on-close beacon must carry
        self.set_header("Content-Type", ASSETS[name])
        self.set_header("Cache-Control", "private, max-age=86400")
        self.finish(self.files[name].read_bytes())


class KernelSpecs(KernelSpecManager):
    """The dashboard's kernels run `passkit.kernel` on this very Python (the notebook asks for "python3"):
    the kernel skips jsonschema's IRI grammar, 1.4 s of every page's start."""

    folder = None  # kernels/ holding python3/kernel.json, written by `serve`

    def _kernel_dirs_default(self):
        return [str(self.folder), *super()._kernel_dirs_default()] if self.folder else super()._kernel_dirs_default()


def kernel_folder(cache_root: Path) -> Path:
    """kernels/python3/kernel.json for KernelSpecs (written each start: the Python may have moved)."""
    import json
    import sys

    from .kernel import argv

    folder = Path(cache_root) / "kernels"
    (folder / "python3").mkdir(parents=True, exist_ok=True)
    (folder / "python3" / "kernel.json").write_text(json.dumps(
        {"argv": argv(sys.executable), "display_name": "Python 3 (passkit)", "language": "python"}))
    return folder


class DashboardServer(Voila):
    """Voila plus the asset route and scrubbed request logs."""

    bundle = None  # Path of the Vega bundle, set by `serve`

    def init_settings(self):
        settings = super().init_settings()
        settings["log_function"] = functools.partial(log_request, record_prometheus_metrics=False)
        return settings

    def init_handlers(self):
        route = url_path_join(self.server_url, r"/passkit/static/(.*)")
        return [(route, AssetHandler, {"files": {"vega.js": self.bundle}}), *super().init_handlers()]


def new_token() -> str:
    return secrets.token_urlsafe(24)


def dashboard_url(port: int, token: str) -> str:
    return f"http://127.0.0.1:{port}/?token={token}"


def voila_argv(port: int) -> list[str]:
    return [str(NOTEBOOK), f"--port={port}", f"--Voila.config_file_paths={CONFIG_DIR}"]


def use_repo_templates():
    """Voila finds the `passkit` page template (config/jupyter/voila/templates) through JUPYTER_PATH."""
    paths = [str(CONFIG_DIR / "jupyter"), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def serve(data, *, port: int = 8866, token: str | None = None, quarters=None, hashed_password: str = "",
          announce=print) -> None:
    """Serve the dashboard for a loaded `PassData` until interrupted. The page needs the token (or password)."""
    if not NOTEBOOK.exists():
        raise PasskitError("the dashboard notebook is missing", file=NOTEBOOK)
    token = token or new_token()
    if len(token) < 16:
        raise PasskitError("--token must be at least 16 characters (leave it out to get a random one)")
    os.environ[ENV_CACHE] = str(data.cache)  # kernels inherit it and open the cache read-only
    if quarters:
        os.environ[ENV_QUARTERS] = format_quarters(quarters)
    DashboardServer.bundle = vega_bundle_file(Path(data.cache).parent)
    KernelSpecs.folder = kernel_folder(Path(data.cache).parent)
    use_repo_templates()
    config = {"VoilaConfiguration": {"kernel_spec_manager_class": KernelSpecs}}
    if hashed_password:
        config["PasswordIdentityProvider"] = {"hashed_password": hashed_password}
    announce(f"Dashboard: {dashboard_url(port, token)}\n(open it in a browser on this machine; Ctrl-C stops it)")
    from traitlets.config import Config

    DashboardServer.launch_instance(voila_argv(port), token=token, config=Config(config))


# ---- running a server in the background (tests, benchmarks) ----------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(data_dir, *, port: int, token: str, cache_dir=None, log=None, extra_args=(), env=None):
    """Start `passkit dashboard` as a child process; `wait_until_serving` tells when it answers."""
    import subprocess
    import sys

    cache = ["--cache", str(cache_dir)] if cache_dir else []
    command = [sys.executable, "-m", "passkit.cli", "dashboard", "--data", str(data_dir), *cache,
               "--port", str(port), "--token", token, *extra_args]
    return subprocess.Popen(command, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def wait_until_serving(process, port: int, timeout: float = 120.0):
    """Wait for the login page to answer (the pool kernel may still be warming up)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard server exited with status {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise TimeoutError(f"the dashboard did not answer on port {port} within {timeout:.0f} s")


def stop(process, timeout: float = 20.0):
    """Stop a spawned server the way Ctrl-C does, so it shuts its kernels down."""
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
