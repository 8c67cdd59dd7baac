"""The dashboard server's kernels under a storm of page loads, on a real `passkit dashboard` process.

Each page load starts (or takes) a kernel of ~300 MB. Loads beyond `--max-kernels` get a plain busy
page (HTTP 503), and a kernel whose page never connects its websocket (a reload, a script) stops after
`--unconnected-timeout` seconds, while a connected page keeps its kernel. Started without a token,
the server makes a random one and prints it once.
"""

import asyncio
import re
import threading
import time

import pytest

from passkit import serve

from . import kernel_ws
from .kernel_ws import Kernel

pytestmark = pytest.mark.slow

CAP, TIMEOUT = 3, 8


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    port = serve.free_port()
    log_path = tmp_path_factory.mktemp("kernels-log") / "server.log"
    with open(log_path, "w") as log:
        process = serve.spawn(demo_folder, cache_dir=tmp_path_factory.mktemp("kernels-cache"), port=port,
                              token=None, log=log, env={serve.ENV_TOKEN: ""},
                              extra_args=["--max-kernels", str(CAP), "--unconnected-timeout", str(TIMEOUT)])
        try:
            serve.wait_until_serving(process, port)
            token = re.search(r"\?token=([\w.~-]+)", log_path.read_text()).group(1)
            yield {"process": process, "port": port, "token": token, "log": log_path}
        finally:
            serve.stop(process)


def kernels(server) -> int:
    return len(serve.kernel_processes(server["process"].pid))


def wait_for_kernels(server, count, seconds):
    deadline = time.monotonic() + seconds
    while kernels(server) != count and time.monotonic() < deadline:
        time.sleep(0.5)
    return kernels(server)


def test_a_random_token_is_made_and_printed_once(server):
    log = server["log"].read_text()
    assert len(server["token"]) >= 16 and log.count(server["token"]) == 1
    assert kernel_ws.get(server["port"], f"/?token={server['token']}x")[0] == 302  # only the exact token


def test_a_connected_page_keeps_its_kernel(server):
    wait_for_kernels(server, 1, 60)  # the preheated kernel
    kernel_id, _ = kernel_ws.session(server["port"], server["token"])

    async def stay_connected():
        async with Kernel(server["port"], server["token"], kernel_id) as kernel:
            assert await kernel.alive()
            await asyncio.sleep(TIMEOUT + 6)
            return await kernel.alive()

    assert asyncio.run(stay_connected())
    status, _, _ = kernel_ws.get(server["port"], f"/api/kernels/{kernel_id}?token={server['token']}")
    assert status == 200
    close_page(server, kernel_id)


def close_page(server, kernel_id):
    """What a closing tab does: Voila's page asks the server to shut its kernel down."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
    connection.request("POST", f"/voila/api/shutdown/{kernel_id}?token={server['token']}")
    assert connection.getresponse().status == 204


def test_a_storm_of_page_loads_is_capped_and_its_kernels_stop(server):
    assert wait_for_kernels(server, 1, 60) == 1  # the preheated kernel alone
    answers, peak = [], 0

    def load():
        status, headers, body = kernel_ws.get(server["port"], f"/?token={server['token']}")
        answers.append((status, headers.get("Retry-After"), "The dashboard is busy, try again in a minute" in body))

    loads = [threading.Thread(target=load) for _ in range(10)]
    for thread in loads:
        thread.start()
        time.sleep(0.1)
    while any(thread.is_alive() for thread in loads):
        peak = max(peak, kernels(server))
        time.sleep(0.1)
    assert peak <= CAP
    assert {status for status, _, _ in answers} == {200, 503}
    assert all(retry == "60" and busy for status, retry, busy in answers if status == 503)
    # none of those pages connected: their kernels stop, the preheated one stays
    assert wait_for_kernels(server, 1, TIMEOUT + 60) == 1
    assert kernel_ws.get(server["port"], f"/?token={server['token']}")[0] == 200  # room again
