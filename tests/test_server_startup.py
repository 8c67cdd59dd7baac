"""`passkit dashboard` refuses to start, in one line and with status 2, when there is nothing to show.

A folder whose every row is rejected used to start a server whose page showed Voila's generic
"There was an error when executing cell [2]".
"""

import subprocess
import sys

from passkit import serve

from .conftest import pass_row, write_csv


def dashboard(*args):
    process = subprocess.Popen([sys.executable, "-m", "passkit.cli", "dashboard", *map(str, args)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        serve.stop(process)  # it is serving: stop it and its kernels as Ctrl-C does
        raise AssertionError("passkit dashboard started serving instead of refusing") from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_a_folder_whose_every_row_is_rejected_is_refused_in_one_line(tmp_path):
    rows = [pass_row(1, start="not a time", name="Ada Quinn"), pass_row(2, start="2026-01-05T09:00:00",
                                                                      end="", student="", name="Bo Reyes"),
            pass_row(3, start="tomorrow", name="Cy Moss")]
    write_csv(tmp_path / "data" / "passes.csv", rows)
    done = dashboard("--data", tmp_path / "data", "--cache", tmp_path / "cache", "--port", 8999)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"passkit: no passes could be read from {tmp_path / 'data'}; see the 3 rejected rows")
    assert "rejected.csv" in lines[0]
    assert not any(name in done.stderr + done.stdout for name in ("Ada Quinn", "Bo Reyes", "Cy Moss", "S1"))


def test_a_folder_with_no_rows_is_refused_in_one_line(tmp_path):
    write_csv(tmp_path / "data" / "passes.csv", [])
    done = dashboard("--data", tmp_path / "data", "--cache", tmp_path / "cache", "--port", 8999)
    assert done.returncode == 2
    expected = f"passkit: no passes could be read from {tmp_path / 'data'}: its pass files hold no rows"
    assert done.stderr.strip() == expected


def test_kernel_settings_are_checked_before_anything_is_loaded(tmp_path):
    done = dashboard("--data", tmp_path / "missing", "--max-kernels", 1)
    assert done.returncode == 2 and done.stderr.strip() == \
        "passkit: --max-kernels must be at least 2 (the preheated kernel and one page)"
    done = dashboard("--data", tmp_path / "missing", "--unconnected-timeout", 0)
    assert done.returncode == 2 and "--unconnected-timeout must be more than 0" in done.stderr
