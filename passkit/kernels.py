"""The dashboard server's kernels: how many run, how long an unclaimed one lives, what reaches them.

`passkit dashboard` wires these into Voila through `serve.DashboardServer`:

- `DashboardKernelManager` caps the kernels (each holds a copy of the reports, ~300 MB) and stops
  a kernel whose page never opened its websocket (a reload, a script, a closed laptop), long before
  the idle culler's 10 minutes;
- `PageHandler` answers "busy" (HTTP 503) instead of starting a kernel beyond the cap;
- `KernelWebsocket` speaks only the v1 kernel websocket protocol and checks each frame before
  Jupyter Server parses it: Voila's handler reads every outgoing binary frame as v1, so a legacy
  client's first binary message sent it into a loop over billions of offsets that froze the server.
"""

import json
import time

from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import ioloop, web
from traitlets import Float, Integer
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

V1 = "v1.kernel.websocket.jupyter.org"
MESSAGE_PARTS = 4  # header, parent header, metadata, content
MAX_BUFFERS = 16  # binary buffers in one message from the page; the dashboard's widgets send none


class DashboardKernelManager(AsyncMappingKernelManager):
    """Voila's kernel manager (Voila adds the preheated pool on top) with a cap and a claim deadline."""

    max_kernels = Integer(
        24, config=True,
        help="Most kernels at once, the preheated one included; each open page holds one (~60 MB on the "
             "presets, ~300 MB once it computes its own range). Beyond it a page gets 'The dashboard is busy, "
             "try again in a minute' (HTTP 503). The default suits a 2-core, 24 GB machine and 20 admins.")
    unconnected_kernel_timeout = Float(
        60, config=True,
        help="Seconds a page's kernel waits, idle, for the page to connect its websocket before it is "
             "stopped (a page that was reloaded, closed while loading, or fetched by a script).")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.connected_once: set[str] = set()
        self.claimed_at: dict[str, float] = {}  # when a kernel was first seen outside the pool
        self.admitting = 0  # pages admitted whose kernel is not started yet
        self._watch = None

    # -- the cap --

    def pool_size(self) -> int:
        """Kernels Voila keeps preheated; the cap keeps room for them."""
        pools = getattr(self, "kernel_pools_config", None) or {}
        return max(int(pools.get("default", {}).get("pool_size", 0)), 0)

    def page_kernels(self) -> int:
        """Kernels running or starting outside the pool (a pool kernel still starting counts too: never too few)."""
        return len((set(self._kernels) | set(self._pending_kernels)) - self.pooled())

    def full(self) -> bool:
        """No room for another page: pages admitted, with the pool refilled behind them, reach the cap."""
        return self.page_kernels() + self.admitting >= self.max_kernels - self.pool_size()

    # -- pages that never connect --

    async def start_kernel(self, *args, **kwargs):
        kernel_id = await super().start_kernel(*args, **kwargs)
        if self._watch is None and self.unconnected_kernel_timeout > 0:
            every = min(10.0, max(1.0, self.unconnected_kernel_timeout / 4)) * 1000
            self._watch = ioloop.PeriodicCallback(self.stop_unclaimed, every)
            self._watch.start()
        return kernel_id

    def notify_connect(self, kernel_id):
        self.connected_once.add(kernel_id)
        super().notify_connect(kernel_id)

    def pooled(self) -> set[str]:
        """Kernels waiting in Voila's preheated pool (no page has them yet)."""
        found = set()
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    found.add(task.result()["kernel_id"])
        return found

    async def stop_unclaimed(self):
        """Stop each kernel a page took but never connected to, once idle for the timeout."""
        now, pooled = time.time(), self.pooled()
        for kernel_id in list(self._kernels):
            kernel = self._kernels[kernel_id]
            if kernel_id in pooled:
                self.claimed_at.pop(kernel_id, None)
                continue
            if kernel_id in self.connected_once or getattr(kernel, "execution_state", None) in ("busy", "starting"):
                continue  # connected, or still starting or rendering its page
            claimed = self.claimed_at.setdefault(kernel_id, now)
            last = getattr(kernel, "last_activity", None)
            since = max(claimed, last.timestamp() if last else 0)
            if now - since >= self.unconnected_kernel_timeout:
                self.log.warning("Stopping kernel %s: its page did not connect within %.0f s",
                                 kernel_id, self.unconnected_kernel_timeout)
                await ensure_async(self.shutdown_kernel(kernel_id))

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self.connected_once.discard(kernel_id)
        self.claimed_at.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)


class PageHandler(TornadoVoilaHandler):
    """The dashboard page; beyond the kernel cap, a plain 'busy' page instead of a new kernel."""

    @web.authenticated
    async def get(self, path=None):
        manager = self.kernel_manager
        if path or not isinstance(manager, DashboardKernelManager):  # Voila redirects paths to files
            return await super().get(path)
        if manager.full():
            self.log.warning("Dashboard busy: %d pages have a kernel, and %d kernels at most (%d preheated)",
                             manager.page_kernels() + manager.admitting, manager.max_kernels, manager.pool_size())
            self.set_status(503)
            self.set_header("Retry-After", "60")
            self.set_header("Cache-Control", "no-store")
            return self.finish(self.render_template("busy.html"))
        # Counted from here until the page has its kernel (Voila's first chunk comes after it starts, and
        # after a pool kernel it took is out of the pool), so pages arriving together cannot all pass.
        manager.admitting += 1
        admitted = True
        try:
            async for html in self.get_generator(path=path):
                if admitted:
                    manager.admitting -= 1
                    admitted = False
                self.write(html)
                self.flush()
        finally:
            if admitted:
                manager.admitting -= 1


class KernelWebsocket(VoilaKernelWebsocketHandler):
    """Voila's kernel websocket, v1 protocol only, every frame from the page checked first."""

    async def pre_get(self):
        offered = [p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if V1 not in offered:
            raise web.HTTPError(400, f"kernel websockets must use the {V1} protocol")
        await super().pre_get()

    def select_subprotocol(self, subprotocols):
        return V1 if V1 in subprotocols else None

    def on_message(self, message):
        if not well_formed_v1(message):
            self.log.warning("Closing a kernel websocket that sent a malformed frame")
            self.close(1007, "malformed kernel message")
            return
        super().on_message(message)


def well_formed_v1(frame) -> bool:
    """A v1 frame: a little-endian 8-byte count N, N offsets into the frame (channel, header, parent
    header, metadata, content, buffers), increasing; a channel name and a JSON header with a msg_type.

    Jupyter Server reads N and loops over it before checking anything, so N is bounded first."""
    if not isinstance(frame, bytes) or len(frame) < 8:
        return False
    count = int.from_bytes(frame[:8], "little")
    if not MESSAGE_PARTS + 2 <= count <= MESSAGE_PARTS + 2 + MAX_BUFFERS or len(frame) < 8 * (count + 1):
        return False
    offsets = [int.from_bytes(frame[8 * i:8 * (i + 1)], "little") for i in range(1, count + 1)]
    if offsets[0] != 8 * (count + 1) or offsets != sorted(offsets) or offsets[-1] > len(frame):
        return False
    try:
        frame[offsets[0]:offsets[1]].decode("ascii")
        header = json.loads(frame[offsets[1]:offsets[2]])
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return False
    return isinstance(header, dict) and isinstance(header.get("msg_type"), str)
