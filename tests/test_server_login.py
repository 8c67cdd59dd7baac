"""The dashboard's login, on a real `passkit dashboard` process started as an admin would keep it running:
the token fixed in $PASSKIT_DASHBOARD_TOKEN, the school from a parameters file.

A missing or wrong token lands on passkit's own login page; the token must match exactly; failed
logins are throttled per address; /logout and hostile asset paths answer without a server error.
"""

import http.client
import re
import time
import urllib.parse

import pytest

from passkit import serve
from passkit.errors import PasskitError
from passkit.login import LoginThrottle


TOKEN = "login-test-token-0123456789"
SCHOOL = "North Ridge High"
TITLE = f"Hall-pass analytics - {SCHOOL}"


@pytest.fixture(scope="module")
def server(demo_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("login")
    parameters = folder / "parameters.yaml"
    parameters.write_text(f"school: {SCHOOL}\ndata: {demo_folder}\n")
    port = serve.free_port()
    with open(folder / "server.log", "w") as log:
        process = serve.spawn(demo_folder, cache_dir=folder / "cache", port=port, token=None, log=log,
                              extra_args=[str(parameters)], env={serve.ENV_TOKEN: TOKEN})
        try:
            serve.wait_until_serving(process, port)
            yield {"port": port, "log": folder / "server.log"}
        finally:
            serve.stop(process)


def request(port, method, path, body=None, cookies=""):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Cookie": cookies} if cookies else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(body)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.headers, response.read().decode("utf-8", "replace")


def log_in(port, password):
    """Post the login form as a browser does (with its _xsrf cookie and field): status, headers."""
    _, headers, page = request(port, "GET", "/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    cookie = next(c.split(";")[0] for c in headers.get_all("Set-Cookie") if c.startswith("_xsrf="))
    status, headers, body = request(port, "POST", "/login?next=%2F", {"_xsrf": xsrf, "password": password}, cookie)
    return status, headers, body


def assert_passkit_login_page(body):
    assert f"<title>Log in - {TITLE}</title>" in body and "Token or password" in body
    assert "Jupyter" not in body
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", body)  # nothing loaded from elsewhere


def test_the_fixed_token_is_never_printed(server):
    log = server["log"].read_text()
    assert "Dashboard: http://127.0.0.1:" in log and f"${serve.ENV_TOKEN}" in log
    assert TOKEN not in log


@pytest.mark.parametrize("path", ["/", "/?token=wrong-token-0123456789"])
def test_a_missing_or_wrong_token_lands_on_the_passkit_login_page(server, path):
    status, headers, _ = request(server["port"], "GET", path)
    assert status == 302 and urllib.parse.urlparse(headers["Location"]).path == "/login"
    login = urllib.parse.urlparse(headers["Location"])
    status, _, body = request(server["port"], "GET", f"{login.path}?{login.query}")
    assert status == 200
    assert_passkit_login_page(body)


def test_the_page_is_titled_with_the_school(server):
    status, _, body = request(server["port"], "GET", f"/?token={TOKEN}")
    assert status == 200 and f"<title>{TITLE}</title>" in body


def test_the_token_must_match_exactly(server):
    assert request(server["port"], "GET", f"/?token={TOKEN}%20")[0] == 302
    assert request(server["port"], "GET", f"/?token=%20{TOKEN}")[0] == 302
    status, _, body = log_in(server["port"], TOKEN + " ")
    assert status == 401 and "not right" in body
    status, headers, _ = log_in(server["port"], TOKEN)
    assert status == 302 and headers["Location"] == "/"
    login = next(c.split(";")[0] for c in headers.get_all("Set-Cookie") if c.startswith("username-"))
    assert request(server["port"], "GET", "/passkit/static/vega.js", cookies=login)[0] == 200


def test_logout_answers_with_the_passkit_page(server):
    status, headers, body = request(server["port"], "GET", "/logout")
    assert status == 200 and "You are logged out" in body and TITLE in body


@pytest.mark.parametrize("path", [
    "/voila/templates/passkit/static/..%2f..%2fconf.json",
    "/voila/templates/passkit/static/..%2f..%2f..%2f..%2fvoila.json",
    "/voila/templates/..%2f..%2fetc/static/passwd",
    "/voila/templates/nosuch/static/x.js",
    "/voila/templates/x/y",
    "/voila/static/..%2f..%2fapp.py",
    "/voila/labextensions/..%2f..%2fapp.py",
    f"/passkit/static/..%2fserve.py?token={TOKEN}",
])
def test_hostile_asset_paths_are_refused_without_a_server_error(server, path):
    status, _, body = request(server["port"], "GET", path)
    assert status in (403, 404), status
    assert "Traceback" not in body


def test_failed_logins_are_throttled(server):
    """Last in this module: it locks the test's own address out."""
    assert log_in(server["port"], TOKEN)[0] == 302  # a success clears earlier failures
    started = time.monotonic()
    answers = [log_in(server["port"], f"guess-{n:02d}-0123456789")[:2] for n in range(50)]
    assert time.monotonic() - started < 60
    assert [status for status, _ in answers] == [401] * 5 + [429] * 45
    assert all(int(headers["Retry-After"]) > 0 for _, headers in answers[5:])
    status, _, body = log_in(server["port"], TOKEN)  # while locked out, even the right token is refused
    assert status == 429 and "Too many failed logins" in body
    assert request(server["port"], "GET", f"/?token={TOKEN}")[0] == 302


def test_the_throttle_locks_out_for_longer_each_time():
    throttle = LoginThrottle(allowed=3, lockout=10)
    for now in (0, 1):
        throttle.failed("10.0.0.7", now)
    assert throttle.locked_for("10.0.0.7", 1.5) == 0
    throttle.failed("10.0.0.7", 2)  # the third in a row
    assert throttle.locked_for("10.0.0.7", 5) == 7 and throttle.locked_for("10.0.0.8", 5) == 0
    throttle.failed("10.0.0.7", 13)  # the first try after the lockout fails too: twice as long
    assert throttle.locked_for("10.0.0.7", 13) == 20
    for now in range(40, 400, 40):
        throttle.failed("10.0.0.7", now)
    assert throttle.locked_for("10.0.0.7", 360) == 3600  # at most an hour
    throttle.succeeded("10.0.0.7")
    assert throttle.locked_for("10.0.0.7", 361) == 0


def test_the_token_comes_from_the_option_the_environment_or_chance(monkeypatch):
    monkeypatch.setenv(serve.ENV_TOKEN, f" {TOKEN}\n")  # as a file read into a variable leaves it
    assert serve.login_token(None) == (TOKEN, f"${serve.ENV_TOKEN}")
    assert serve.login_token("given-token-0123456789") == ("given-token-0123456789", "--token")
    monkeypatch.delenv(serve.ENV_TOKEN)
    first, second = serve.login_token(None), serve.login_token(None)
    assert first[1] == "random" and first[0] != second[0] and len(first[0]) >= 16
    for bad in ("short", "has space in it 0123", "amp&ersand-0123456789"):
        with pytest.raises(PasskitError, match="at least 16 letters"):
            serve.login_token(bad)
