"""passkit as a real package: importing it changes nothing global, and a wheel installed without the
repository runs an audit and serves the dashboard from any folder."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from passkit import resources, serve

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_passkit_leaves_sys_modules_alone():
    marked = run_python("import sys, passkit, passkit.charts, passkit.dashboard, passkit.audit\n"
                        "print(sys.modules.get('rfc3987_syntax', 'absent') is None)")
    assert marked == "False", "an analyst's own jsonschema checks keep working after `import passkit`"


def test_passkits_own_processes_skip_the_slow_import():
    marked = run_python("import sys\nfrom passkit.kernel import skip_slow_optional_imports\n"
                        "skip_slow_optional_imports()\nimport altair\nprint(sys.modules['rfc3987_syntax'] is None)")
    assert marked == "True"


def test_the_dashboards_kernels_are_passkits(tmp_path, monkeypatch):
    monkeypatch.setattr(serve.KernelSpecs, "folder", serve.kernel_folder(tmp_path))  # as `serve` sets it
    spec = serve.KernelSpecs().get_kernel_spec("python3")
    assert spec.argv[:3] == [sys.executable, "-m", "passkit.kernel"]


def test_shipped_files_are_found_through_the_package():
    for name in resources.SHIPPED:
        assert resources.path(name).is_dir(), name
    assert resources.notebook("dashboard").is_file() and (resources.path("config") / "voila.json").is_file()
    with pytest.raises(ValueError):
        resources.path("tests")


@pytest.mark.slow
def test_a_wheel_installed_without_the_repository_runs_an_audit_and_the_dashboard(tmp_path):
    """Build the wheel, install it (not editable) into a fresh virtual environment, and use it from a
    folder outside the checkout, as a new user would."""
    from uv import find_uv_bin

    uv = [find_uv_bin()]
    subprocess.run([*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)], check=True,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("passkit-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
                   check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PASSKIT_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ""}
    passkit = str(venv / "bin" / "passkit")

    def run(*args):
        return subprocess.run([passkit, *map(str, args)], cwd=work, env=env, capture_output=True, text=True)

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import passkit, passkit.resources as r; "
                            "print(passkit.__file__); print(r.path('notebooks'))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(venv) in line for line in where), f"installed, not the checkout: {where}"
    assert run("demo-data", "school", "--students", "80").returncode == 0
    audited = run("audit", "--data", "school", "--start", "2026-01-05", "--end", "2026-01-30", "--out", "audit")
    assert audited.returncode == 0, audited.stderr[-2000:]
    assert (work / "audit" / "index.html").is_file() and (work / "audit" / "room_usage.html").is_file()

    port, token = serve.free_port(), "wheel-test-token-0123456789"
    server = subprocess.Popen([passkit, "dashboard", "--data", "school", "--port", str(port), "--token", token],
                              cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        serve.wait_until_serving(server, port)
        deadline = time.monotonic() + 120
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={token}", timeout=120) as response:
                body = response.read().decode()
            if response.status == 200 or time.monotonic() > deadline:
                break
        assert response.status == 200 and "passkit" in body
    finally:
        serve.stop(server)
