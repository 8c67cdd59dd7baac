"""Serve notebooks/dashboard.ipynb with Voila, locked down: `passkit dashboard` calls `serve`.

The settings live in config/voila.json (read explicitly, never a user's ~/.jupyter): login by
token (or password), sources stripped, tracebacks hidden, no files served beside the notebook,
preheated kernels, idle kernels culled. Voila's kernel websocket only forwards comm and
kernel-info messages, so the page cannot run code. On top of Voila this adds one route,
/passkit/static/, serving the Vega bundle the charts draw with (nothing comes from a CDN), and
logs requests with the token scrubbed.

`DashboardServer` also replaces some of Voila's and Jupyter Server's parts against hostile clients
(README, "Security"): the kernel websocket, the page and the kernel manager (passkit.kernels), the
login (passkit.login), and the template assets route. Its own pages (login, logout, busy, errors)
are templates of the passkit Voila template (config/jupyter/voila/templates/passkit).
"""

import functools
import logging
import os
import re
import secrets
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_server.auth.identity import IdentityProvider
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.log import log_request
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Type, Unicode
from voila.app import Voila
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from . import resources
from .dashboard import ENV_CACHE, ENV_QUARTERS, ENV_SCHOOL, dashboard_title, format_quarters
from .errors import PasskitError
from .kernels import DashboardKernelManager, KernelWebsocket, PageHandler
from .login import DashboardIdentityProvider

NOTEBOOK = resources.notebook("dashboard")
CONFIG_DIR = resources.path("config")
STATIC = Path(__file__).parent / "static"
ASSETS = {"vega.js": "application/javascript"}
ENV_TOKEN = "PASSKIT_DASHBOARD_TOKEN"  # a fixed login token, so links survive restarts
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]{16,}")  # safe in a URL as it is
TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s'\"]+")


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


class TemplateAssets(TemplateStaticFileHandler):
    """Voila's template assets (`<template>/static/<file>`); any other path is a 404 where Voila's
    handler raised (an HTTP 500) on `..%2f` and on paths without a static folder."""

    async def get(self, path, include_body=True):
        template, _, asset = path.partition("/static/")
        names = asset.replace("\\", "/").split("/")
        if not re.fullmatch(r"[\w-]+", template) or any(name in ("", ".", "..") for name in names):
            raise web.HTTPError(404)
        return await super().get(path, include_body)


def scrub_tokens(record: logging.LogRecord) -> bool:
    """A logging filter: `token=...` in a log line becomes `token=[secret]`. Jupyter Server scrubs its request
    log, but tornado's own lines (a static file refused, an uncaught exception) print the raw URL."""
    message = record.getMessage()
    if "token=" in message:
        record.msg, record.args = TOKEN_IN_URL.sub(r"\1[secret]", message), None
    return True


# Voila's handlers and the ones passkit puts in their place (passkit.kernels says why)
REPLACED = {VoilaKernelWebsocketHandler: KernelWebsocket, TornadoVoilaHandler: PageHandler,
            TemplateStaticFileHandler: TemplateAssets}


class DashboardServer(Voila):
    """Voila plus the asset route, scrubbed request logs, and the guards of passkit.kernels and passkit.login."""

    bundle = None  # Path of the Vega bundle, set by `serve`
    title = Unicode("Hall-pass analytics", config=True, help="The title of the page and of the login page.")
    identity_provider_class = Type(default_value=DashboardIdentityProvider, klass=IdentityProvider, config=True,
                                   help="Token or password login, exact and throttled (passkit.login).")

    def init_settings(self):
        self.voila_configuration.multi_kernel_manager_class = DashboardKernelManager
        settings = super().init_settings()
        settings["log_function"] = functools.partial(log_request, record_prometheus_metrics=False)
        for name in ("tornado.access", "tornado.application", "tornado.general"):
            logging.getLogger(name).addFilter(scrub_tokens)
        # Jupyter Server's pages (login, logout, errors) are looked up in the passkit template first
        own = [path for path in self.template_paths if Path(path).name == self.voila_configuration.template]
        settings["jinja2_env"].loader.searchpath[:0] = own
        for env in (settings["jinja2_env"], settings["voila_jinja2_env"]):  # Voila's renders busy.html
            env.globals["dashboard_title"] = self.title
        return settings

    def init_handlers(self):
        route = url_path_join(self.server_url, r"/passkit/static/(.*)")
        handlers = [(route, AssetHandler, {"files": {"vega.js": self.bundle}})]
        for pattern, handler, *options in super().init_handlers():
            handlers.append((pattern, REPLACED.get(handler, handler), *options))
        return handlers


def new_token() -> str:
    return secrets.token_urlsafe(24)


def dashboard_url(port: int, token: str = "") -> str:
    return f"http://127.0.0.1:{port}/?token={token}" if token else f"http://127.0.0.1:{port}/"


def login_token(given: str | None) -> tuple[str, str]:
    """The token and where it came from: --token, $PASSKIT_DASHBOARD_TOKEN, or a new random one."""
    if given:
        token, source = given, "--token"
    elif os.environ.get(ENV_TOKEN, "").strip():
        token, source = os.environ[ENV_TOKEN].strip(), f"${ENV_TOKEN}"
    else:
        return new_token(), "random"
    if not TOKEN_CHARACTERS.fullmatch(token):
        raise PasskitError(f"the token from {source} must be at least 16 letters, digits or . _ ~ - "
                           "(leave it out to get a random one)")
    return token, source


def voila_argv(port: int, max_kernels: int | None = None, unconnected_timeout: float | None = None) -> list[str]:
    argv = [str(NOTEBOOK), f"--port={port}", f"--Voila.config_file_paths={CONFIG_DIR}"]
    if max_kernels is not None:  # on the command line: it takes precedence over config/voila.json
        argv.append(f"--DashboardKernelManager.max_kernels={max_kernels}")
    if unconnected_timeout is not None:
        argv.append(f"--DashboardKernelManager.unconnected_kernel_timeout={unconnected_timeout}")
    return argv


def use_repo_templates():
    """Voila finds the `passkit` page template (config/jupyter/voila/templates) through JUPYTER_PATH."""
    paths = [str(CONFIG_DIR / "jupyter"), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def serve(data, *, port: int = 8866, token: str | None = None, quarters=None, hashed_password: str = "",
          school: str = "", max_kernels: int | None = None, unconnected_timeout: float | None = None,
          announce=print) -> None:
    """Serve the dashboard for a loaded `PassData` until interrupted. The page needs the token (or password)."""
    if not NOTEBOOK.exists():
        raise PasskitError("the dashboard notebook is missing", file=NOTEBOOK)
    token, source = login_token(token)
    os.environ[ENV_CACHE] = str(data.cache)  # kernels inherit it and open the cache read-only
    os.environ[ENV_SCHOOL] = school
    if quarters:
        os.environ[ENV_QUARTERS] = format_quarters(quarters)
    DashboardServer.bundle = vega_bundle_file(Path(data.cache).parent)
    KernelSpecs.folder = kernel_folder(Path(data.cache).parent)
    use_repo_templates()
    title = dashboard_title(school)
    config = {"DashboardServer": {"title": title}, "VoilaConfiguration": {
        "resources": {"passkit": {"title": title}}, "kernel_spec_manager_class": KernelSpecs}}
    if hashed_password:
        config["DashboardIdentityProvider"] = {"hashed_password": hashed_password}
    if source == f"${ENV_TOKEN}":  # never printed: it lives on, in bookmarks
        announce(f"Dashboard: {dashboard_url(port)} (log in with the token in ${ENV_TOKEN})\n"
                 "(open it in a browser on this machine; Ctrl-C stops it)")
    else:
        announce(f"Dashboard: {dashboard_url(port, token)}\n(open it in a browser on this machine; Ctrl-C stops it"
                 + (f"; set ${ENV_TOKEN} to keep one token across restarts)" if source == "random" else ")"))
    from traitlets.config import Config

    DashboardServer.launch_instance(voila_argv(port, max_kernels, unconnected_timeout), token=token,
                                    config=Config(config))


# ---- running a server in the background (tests, benchmarks) ----------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(data_dir, *, port: int, token: str | None, cache_dir=None, log=None, extra_args=(), env=None):
    """Start `passkit dashboard` as a child process; `wait_until_serving` tells when it answers.
    Without `token`, the server takes $PASSKIT_DASHBOARD_TOKEN or makes one."""
    import subprocess
    import sys

    cache = ["--cache", str(cache_dir)] if cache_dir else []
    login = ["--token", token] if token else []
    command = [sys.executable, "-m", "passkit.cli", "dashboard", "--data", str(data_dir), *cache,
               "--port", str(port), *login, *extra_args]
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


def kernel_processes(server_pid: int) -> list[int]:
    """The kernels a spawned server runs: its children running passkit's kernel (or a plain ipykernel)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
            if int(fields[1]) == server_pid and (b"passkit.kernel" in command or b"ipykernel" in command):
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (0 once it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
