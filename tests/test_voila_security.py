"""The dashboard server's security defaults, against a real `passkit dashboard` process.

No token: refused. The page carries no source code. A kernel message asking to run code is dropped,
and malformed widget updates are refused without crashing the kernel or the app. Errors in the
notebook show no traceback.
"""

import asyncio
import datetime as dt
import http.client
import json
import re
import uuid

import pytest

from passkit import serve

pytestmark = pytest.mark.slow

TOKEN = "security-test-token-0123456789"


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    port = serve.free_port()
    log_path = tmp_path_factory.mktemp("security-log") / "server.log"
    with open(log_path, "w") as log:
        process = serve.spawn(demo_folder, cache_dir=tmp_path_factory.mktemp("security-cache"), port=port,
                              token=TOKEN, log=log)
        try:
            serve.wait_until_serving(process, port)
            yield port
        finally:
            serve.stop(process)


def get(port, path, cookies=""):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Cookie": cookies} if cookies else {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")


def page(port):
    status, headers, body = get(port, f"/?token={TOKEN}")
    assert status == 200
    return headers, body


def test_without_the_token_the_page_is_refused(server):
    for path in ("/", "/?token=wrong-token-0123456789", "/passkit/static/vega.js", "/api/kernels"):
        status, headers, body = get(server, path)
        assert status in (302, 403, 404, 405), path
        assert "passkit-app" not in body and "vegaEmbed" not in body
        if status == 302:
            assert "/login" in headers["Location"]


def test_sources_are_stripped_and_outside_loads_blocked(server):
    headers, body = page(server)
    assert "from_parameters" not in body and "data_dir = None" not in body
    assert "cdn.jsdelivr.net" not in body and "https://" not in re.sub(r'xmlns="https?://[^"]+"', "", body)
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_the_chart_library_is_served_to_a_logged_in_page(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=60)
    connection.request("GET", f"/passkit/static/vega.js?token={TOKEN}")
    response = connection.getresponse()
    assert response.status == 200 and b"window.vegaEmbed" in response.read()


class Kernel:
    """The page's kernel websocket, speaking the Jupyter message protocol as the browser does."""

    def __init__(self, port, kernel_id):
        self.url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}"
        self.session = uuid.uuid4().hex

    async def __aenter__(self):
        from tornado.websocket import websocket_connect

        self.ws = await websocket_connect(self.url)
        return self

    async def __aexit__(self, *exc):
        self.ws.close()

    async def send(self, msg_type, content, channel="shell"):
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "test",
                  "version": "5.3", "date": dt.datetime.now(dt.timezone.utc).isoformat()}
        await self.ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                                "content": content, "channel": channel, "buffers": []}))
        return msg_id

    async def replies(self, msg_id, seconds, until=None):
        """The messages answering `msg_id` within `seconds` (or up to the first of type `until`)."""
        found, loop = [], asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), left)
            except asyncio.TimeoutError:
                break
            if raw is None:
                raise ConnectionError("the kernel websocket closed")
            if isinstance(raw, bytes):
                continue  # binary frames carry buffers; none of ours do
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") == msg_id:
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
        await self.send("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": state}})

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


def session(port):
    """The kernel id of a fresh page and the id of its app widget."""
    _, body = page(port)
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', body).group(1)
    app = re.search(r'widget-view\+json.{0,80}?model_id[\\"]+: [\\"]+([0-9a-f]+)', body).group(1)
    return kernel_id, app


def test_execute_request_from_the_client_is_dropped(server, tmp_path):
    kernel_id, _ = session(server)
    marker = tmp_path / "executed"

    async def attempt():
        async with Kernel(server, kernel_id) as kernel:
            assert await kernel.alive()  # the channel works: this test can fail
            msg_id = await kernel.send("execute_request", {
                "code": f"open({str(marker)!r}, 'w').write('ran')", "silent": False, "store_history": False,
                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
            return await kernel.replies(msg_id, 5)

    assert asyncio.run(attempt()) == []
    assert not marker.exists()


def test_malformed_widget_values_are_refused_without_crashing(server):
    kernel_id, app = session(server)

    async def attempt():
        async with Kernel(server, kernel_id) as kernel:
            models = await kernel.models(app)
            by_class = {}
            for model_id, state in models.items():
                for name in state.get("_dom_classes", []):
                    by_class[name] = (model_id, state)
            start_id, start = by_class["passkit-start"]
            preset_id, preset = by_class["passkit-preset"]
            status_id = by_class["passkit-status"][0]
            before = (await kernel.state(status_id))["value"]
            await kernel.update(start_id, {"value": "not a date"})
            await kernel.update(start_id, {"value": {"year": "x"}})
            await kernel.update(start_id, {"value": {"year": 1850, "month": 0, "date": 1}})
            await kernel.update(preset_id, {"index": 999})
            await kernel.update(preset_id, {"index": "Quarter 1; import os"})
            await kernel.send("comm_msg", {"comm_id": "no-such-widget", "data": {"method": "update", "state": {}}})
            assert await kernel.alive()
            after_start = (await kernel.state(start_id))["value"]
            after_status = (await kernel.state(status_id))["value"]
            after_preset = (await kernel.state(preset_id))["index"]
            return start, before, after_start, after_status, preset, after_preset

    start, before, after_start, after_status, preset, after_preset = asyncio.run(attempt())
    assert after_preset in range(len(preset["_options_labels"]))  # 999 refused; a real option still chosen
    # out-of-range dates are clamped to the data's first day; garbage leaves the date as it was
    assert after_start == start["value"] or (after_start["year"], after_start["month"]) == (2025, 7)
    assert 'data-state="done"' in after_status or 'data-state="problem"' in after_status
    assert "Traceback" not in after_status


def test_a_failing_notebook_shows_no_traceback(demo_folder, tmp_path):
    port = serve.free_port()
    process = serve.spawn(demo_folder, cache_dir=tmp_path / "cache", port=port, token=TOKEN,
                          env={"PASSKIT_DASHBOARD_QUARTERS": "not-a-date"})
    try:
        serve.wait_until_serving(process, port)
        status, _, body = get(port, f"/?token={TOKEN}")
    finally:
        serve.stop(process)
    assert status == 200
    assert "There was an error when executing cell" in body
    assert "Traceback" not in body and "PasskitError" not in body and "not-a-date" not in body


def test_the_configuration_bounds_kernels_and_hides_internals():
    """config/voila.json, as `passkit dashboard` reads it: what keeps a shared school server safe."""
    config = json.loads((serve.CONFIG_DIR / "voila.json").read_text())
    voila, culling = config["VoilaConfiguration"], config["MappingKernelManager"]
    assert config["Voila"]["ip"] == "127.0.0.1"
    assert voila["strip_sources"] and not voila["show_tracebacks"] and voila["file_allowlist"] == []
    assert voila["preheat_kernel"] and voila["default_pool_size"] == 1
    # a page that went away without closing frees its kernel within minutes; open pages keep theirs
    assert 0 < culling["cull_idle_timeout"] <= 900 and 0 < culling["cull_interval"] <= 120
    assert culling["cull_connected"] is False
