"""Malformed widget (comm) messages from a client, on a real `passkit dashboard` process.

ipywidgets answers an update that fails with the kernel's `error` message, which carried a full
traceback with install paths, and writes even read-only traits (the Download menu's `formats`).
In a served kernel the answer is one line, and passkit's widgets keep read-only traits read-only.
"""

import asyncio
import json

import pytest

from passkit import serve
from passkit.dashboard import App

from . import kernel_ws
from .kernel_ws import Kernel

TOKEN = "comms-test-token-0123456789"


def test_a_page_cannot_write_a_widget_s_state(demo_data):
    section = App(demo_data).section("room_usage")
    before = (section.formats, section.title, section.rows)
    section.set_state({"formats": ["exe"], "title": 5})
    section.set_state({"title": "Renamed", "rows": [["injected"]], "no_such_trait": 1})
    assert (section.formats, section.title, section.rows) == before, "page-sent state is dropped"


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    port = serve.free_port()
    with open(tmp_path_factory.mktemp("comms-log") / "server.log", "w") as log:
        process = serve.spawn(demo_folder, cache_dir=tmp_path_factory.mktemp("comms-cache"), port=port,
                              token=TOKEN, log=log)
        try:
            serve.wait_until_serving(process, port)
            yield port
        finally:
            serve.stop(process)


@pytest.mark.slow
def test_malformed_widget_messages_get_no_traceback_and_change_nothing(server):
    kernel_id, app = kernel_ws.session(server, TOKEN)

    async def attack():
        async with Kernel(server, TOKEN, kernel_id) as kernel:
            models = await kernel.models(app)
            menu = next(model_id for model_id, state in models.items() if "formats" in state)
            preset = next(model_id for model_id, state in models.items()
                          if "passkit-preset" in state.get("_dom_classes", []))
            before = await kernel.state(menu)
            answers = []
            for content in (
                {"comm_id": menu, "data": {"method": "update", "state": {"formats": ["exe", "csv"]}}},
                {"comm_id": menu, "data": {"method": "update", "state": {"title": 5}}},
                {"comm_id": menu, "data": {"method": "update", "state": {"layout": "IPY_MODEL_nope"}}},
                {"comm_id": menu, "data": "not a dict"},
                {"comm_id": menu},
                {"comm_id": preset, "data": {"method": "update", "state": {"index": 999}}},
                {"comm_id": preset, "data": {"method": "update", "state": {"index": "x"}}},
            ):
                msg_id = await kernel.send("comm_msg", content)
                answers += await kernel.replies(msg_id, 4)
            msg_id = await kernel.send("comm_open", {"comm_id": "c0ffee", "target_name": "jupyter.widget",
                                                     "data": {"state": {"_model_name": "NoSuchModel"}}})
            answers += await kernel.replies(msg_id, 4)
            return answers, before, await kernel.state(menu), await kernel.alive()

    answers, before, after, alive = asyncio.run(attack())
    assert alive and after["formats"] == before["formats"] and "exe" not in after["formats"]
    assert after["title"] == before["title"]
    errors = [m for m in answers if m["msg_type"] == "error"]
    assert errors  # the malformed ones are answered: this test can fail
    text = json.dumps([m["content"] for m in answers])
    for leak in ("Traceback", "site-packages", ".py", "File ", "/work", "\\n  "):
        assert leak not in text, leak
