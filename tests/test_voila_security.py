"""The dashboard server's security defaults, against a real `passkit dashboard` process.

No token: refused. The page carries no source code. A kernel message asking to run code is dropped,
and malformed widget updates are refused without crashing the kernel or the app. Errors in the
notebook show no traceback.
"""

import asyncio
import http.client
import json
import re

import pytest

from passkit import serve

from . import kernel_ws

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
    return kernel_ws.get(port, path, cookies)


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


def Kernel(port, kernel_id):
    return kernel_ws.Kernel(port, TOKEN, kernel_id)


def session(port):
    return kernel_ws.session(port, TOKEN)


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
    # at most two dozen kernels (60-300 MB each) on the 2-core, 24 GB machine; an unclaimed one lives a minute
    limits, login = config["DashboardKernelManager"], config["DashboardIdentityProvider"]
    assert 21 <= limits["max_kernels"] <= 24 and 0 < limits["unconnected_kernel_timeout"] <= 120
    assert 1 <= login["login_failures_allowed"] <= 10 and login["login_lockout_seconds"] >= 10
