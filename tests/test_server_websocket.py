"""The kernel websocket against hostile clients, on a real `passkit dashboard` process.

A legacy-protocol websocket (no `v1.kernel.websocket.jupyter.org` subprotocol) once froze the whole
server with one binary message: Voila read the legacy reply as a v1 frame and looped over billions
of offsets. Now such websockets are refused, v1 frames are checked before Jupyter Server parses
them, and the server keeps answering.
"""

import asyncio
import json
import time

import pytest
from jupyter_server.services.kernels.connection.base import serialize_binary_message
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError, websocket_connect

from passkit import serve

from . import kernel_ws
from .kernel_ws import Kernel

pytestmark = pytest.mark.slow

TOKEN = "websocket-test-token-0123456789"


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    port = serve.free_port()
    with open(tmp_path_factory.mktemp("websocket-log") / "server.log", "w") as log:
        process = serve.spawn(demo_folder, cache_dir=tmp_path_factory.mktemp("websocket-cache"), port=port,
                              token=TOKEN, log=log)
        try:
            serve.wait_until_serving(process, port)
            yield process, port
        finally:
            serve.stop(process, timeout=10)


@pytest.fixture(scope="module")
def page_kernel(server):
    """One page's kernel (id, app widget id), shared by the tests: each page holds ~300 MB."""
    return kernel_ws.session(server[1], TOKEN)


def login_seconds(port) -> float:
    """How long the login page takes to answer (fails if it does not answer within 2 s)."""
    started = time.monotonic()
    status, _, _ = kernel_ws.get(port, "/login", timeout=2)
    assert status == 200
    return time.monotonic() - started


def download_menu(port, kernel_id, app) -> str:
    """The model id of the page's first Download menu, found over a v1 websocket."""
    async def find():
        async with Kernel(port, TOKEN, kernel_id) as kernel:
            models = await kernel.models(app)
        return next(model_id for model_id, state in models.items() if "formats" in state)
    return asyncio.run(find())


def download_request(comm_id):
    return {"comm_id": comm_id, "data": {"method": "custom", "content": {"kind": "download", "format": "csv"}}}


def test_a_legacy_websocket_is_refused_and_the_server_keeps_answering(server, page_kernel):
    process, port = server
    kernel_id, app = page_kernel
    menu = download_menu(port, kernel_id, app)
    before = serve.rss_mb(process.pid)
    # A download request in the legacy binary format, as a client without the v1 subprotocol sends it
    legacy = serialize_binary_message({
        "header": {"msg_id": "1", "msg_type": "comm_msg", "session": "s", "username": "u", "version": "5.3",
                   "date": "2026-01-05T09:00:00Z"},
        "parent_header": {}, "metadata": {}, "content": download_request(menu), "channel": "shell",
        "buffers": [b"legacy"]})

    async def attempt():
        url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}"
        try:
            ws = await websocket_connect(url)  # no subprotocol: the legacy protocol
        except HTTPClientError as refused:
            return refused.code
        try:
            await ws.write_message(legacy, binary=True)
            await asyncio.sleep(2)
        except WebSocketClosedError:
            pass
        ws.close()
        return 101

    answer = asyncio.run(attempt())
    assert login_seconds(port) < 2  # the server was not frozen...
    time.sleep(2)
    assert login_seconds(port) < 2
    assert serve.rss_mb(process.pid) < before + 100  # ...nor filling its memory
    assert answer == 400  # the handshake itself is refused


def frame(count: int, *, offsets=None, body=b"") -> bytes:
    offsets = offsets if offsets is not None else [8 * (count + 1)] * count
    return count.to_bytes(8, "little") + b"".join(o.to_bytes(8, "little") for o in offsets) + body


@pytest.mark.parametrize("bad", [
    (2 ** 62).to_bytes(8, "little") + b"\0" * 64,  # an offset count of 4.6e18: the loop that froze Voila
    frame(7, offsets=[64, 70, 60, 61, 62, 63, 64], body=b"x" * 8),  # offsets going backwards
    frame(6, offsets=[56, 61, 99, 99, 99, 99], body=b"shell"),  # offsets past the end
    frame(6, offsets=[56, 61, 66, 68, 70, 72], body=b"shell{nope{}{}{}"),  # a header that is not JSON
    b"\x01",
], ids=["huge-count", "backwards", "past-the-end", "header-not-json", "too-short"])
def test_a_malformed_v1_frame_closes_only_its_own_websocket(server, page_kernel, bad):
    process, port = server
    kernel_id, _ = page_kernel
    before = serve.rss_mb(process.pid)

    async def attempt():
        async with Kernel(port, TOKEN, kernel_id) as kernel:
            await kernel.ws.write_message(bad, binary=True)
            try:
                while await kernel.read(5) is not None:
                    pass
            except ConnectionError:
                return "closed"
            return "open"

    assert asyncio.run(attempt()) == "closed"
    assert login_seconds(port) < 2
    assert serve.rss_mb(process.pid) < before + 100

    async def still_works():
        async with Kernel(port, TOKEN, kernel_id) as kernel:
            return await kernel.alive()

    assert asyncio.run(still_works())


def test_a_v1_download_still_works(server, page_kernel):
    _, port = server
    kernel_id, app = page_kernel
    menu = download_menu(port, kernel_id, app)

    async def download():
        async with Kernel(port, TOKEN, kernel_id) as kernel:
            msg_id = await kernel.send("comm_msg", download_request(menu))
            for message in await kernel.replies(msg_id, 30):
                if message["msg_type"] == "comm_msg":
                    return message["content"]["data"], message["buffers"]
        return None, []

    data, buffers = asyncio.run(download())
    assert data["content"]["kind"] == "file" and data["content"]["filename"].endswith(".csv")
    assert len(buffers) == 1 and buffers[0].count(b"\n") > 1
    json.dumps(data)  # the reply is plain JSON
