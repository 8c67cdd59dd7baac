"""A page's kernel websocket, as the browser speaks it: the v1 kernel protocol over a real connection.

Shared by the server tests (tests/test_voila_security.py, tests/test_server_*.py). Frames are built
and read with Jupyter Server's own v1 functions.
"""

import asyncio
import datetime as dt
import http.client
import json
import re
import uuid

from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1

V1 = "v1.kernel.websocket.jupyter.org"


def get(port, path, cookies="", timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path, headers={"Cookie": cookies} if cookies else {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")


def session(port, token):
    """The kernel id of a fresh page and the id of its app widget."""
    status, _, body = get(port, f"/?token={token}")
    assert status == 200, status
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', body).group(1)
    app = re.search(r'widget-view\+json.{0,80}?model_id[\\"]+: [\\"]+([0-9a-f]+)', body).group(1)
    return kernel_id, app


def pack(value) -> bytes:
    return json.dumps(value).encode()


class Kernel:
    """`async with Kernel(port, token, kernel_id) as kernel:` sends and reads Jupyter messages."""

    def __init__(self, port, token, kernel_id):
        self.url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={token}"
        self.session = uuid.uuid4().hex

    async def __aenter__(self):
        from tornado.websocket import websocket_connect

        self.ws = await websocket_connect(self.url, subprotocols=[V1])
        return self

    async def __aexit__(self, *exc):
        self.ws.close()

    def message(self, msg_type, content):
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": self.session, "username": "test",
                  "version": "5.3", "date": dt.datetime.now(dt.timezone.utc).isoformat()}
        return {"header": header, "parent_header": {}, "metadata": {}, "content": content}

    async def send(self, msg_type, content, channel="shell", buffers=()):
        message = self.message(msg_type, content)
        parts = [pack(message[part]) for part in ("header", "parent_header", "metadata", "content")]
        await self.ws.write_message(serialize_msg_to_ws_v1([*parts, *buffers], channel), binary=True)
        return message["header"]["msg_id"]

    async def read(self, seconds):
        """The next message (channel, header, content, buffers), or None after `seconds`."""
        try:
            raw = await asyncio.wait_for(self.ws.read_message(), seconds)
        except asyncio.TimeoutError:
            return None
        if raw is None:
            raise ConnectionError("the kernel websocket closed")
        channel, parts = deserialize_msg_from_ws_v1(raw)
        header, parent, _metadata, content = (json.loads(part) for part in parts[:4])
        return {"channel": channel, "header": header, "parent_header": parent, "msg_type": header["msg_type"],
                "content": content, "buffers": parts[4:]}

    async def replies(self, msg_id, seconds, until=None):
        """The messages answering `msg_id` within `seconds` (or up to the first of type `until`)."""
        found, loop = [], asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            message = await self.read(left)
            if message is None:
                break
            if message["parent_header"].get("msg_id") == msg_id:
                found.append(message)
                if message["msg_type"] == until:
                    break
        return found

    async def alive(self):
        msg_id = await self.send("kernel_info_request", {})
        replies = await self.replies(msg_id, 10, until="kernel_info_reply")
        return any(m["msg_type"] == "kernel_info_reply" for m in replies)

    async def state(self, model_id):
        msg_id = await self.send("comm_msg", {"comm_id": model_id, "data": {"method": "request_state"}})
        updates = [m for m in await self.replies(msg_id, 10, until="comm_msg") if m["msg_type"] == "comm_msg"]
        return updates[-1]["content"]["data"]["state"]

    async def update(self, model_id, state):
        return await self.send("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": state}})

    async def models(self, root):
        """Every widget under `root`, by model id: its state."""
        found, todo = {}, [root]
        while todo:
            model_id = todo.pop()
            if model_id in found:
                continue
            found[model_id] = await self.state(model_id)
            todo += [c.removeprefix("IPY_MODEL_") for c in found[model_id].get("children", [])]
        return found
