"""The Parquet cache under faults and odd settings (issue 10 items 13, 14, 15, 17, 18): one line and exit 2,
or a clean recovery, never a traceback."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import passkit
from passkit import ingest
from passkit.cli import main
from passkit.data import _fingerprint, find_files

from .conftest import pass_row, write_csv

REPORT = ["report", "--start", "2026-01-05", "--end", "2026-01-05"]


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_quote_in_the_cache_and_data_paths(tmp_path):
    """Item 13: a home folder like /home/o'brien made DuckDB fail to parse the SQL."""
    write_csv(tmp_path / "d'a" / "passes.csv", [pass_row(1), pass_row(1), pass_row(2, student="")])
    cache = tmp_path / "o'brien" / "cache"
    data = passkit.load(tmp_path / "d'a", cache_dir=cache)
    assert data.summary["passes_kept"] == 1 and len(data.rejected()) == 2
    again = passkit.load(tmp_path / "d'a", cache_dir=cache, refresh=True)
    assert passkit.reports.passes_by_grade(again, "2026-01-05", "2026-01-05")["passes"].tolist() == [1]


@pytest.mark.parametrize("zone", ["posixrules", "localtime", "right/UTC"])
def test_zones_duckdb_does_not_know_are_refused_naming_the_option(tmp_path, capsys, zone):
    """Item 15: these pass Python's zoneinfo and then failed inside DuckDB."""
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1)])
    code, _, err = run_cli(capsys, *REPORT, "--data", tmp_path / "d", "--timezone", zone, "--out", tmp_path / "o",
                           "--cache", tmp_path / "c")
    assert code == 2 and err.strip().splitlines() == [
        f"passkit: unknown time zone '{zone}' (--timezone takes an IANA name such as America/Chicago)"]


def test_stale_build_folders_are_removed_and_live_ones_kept(tmp_path):
    """Item 17: after kill -9 a `.building-*` folder (up to 25 MB) stayed in the cache for good."""
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(1)])
    cache = tmp_path / "c"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = cache / f".building-{int(dead.stdout)}-k9x2"  # its process has exited: killed mid-parse
    live = cache / f".building-{os.getpid()}-a1b2"  # a parse still running in this process
    for folder in (stale, live):
        (folder / "spill").mkdir(parents=True)
        (folder / "passes.parquet").write_bytes(b"\0" * 1024)
    passkit.load(tmp_path / "d", cache_dir=cache)
    assert not stale.exists() and live.exists()


def test_an_export_appended_to_while_parsed_is_parsed_again(tmp_path, monkeypatch):
    """Item 18: the cache was kept under the fingerprint from before the parse, with more rows than it describes."""
    export = write_csv(tmp_path / "d" / "passes.csv", [pass_row(1), pass_row(2)])
    real_build, calls = ingest.build, []

    def build_while_the_export_grows(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the vendor's sync appends a row while passkit reads the file
            with open(export, "a") as handle:
                handle.write(",".join(pass_row(3)) + "\n")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(ingest, "build", build_while_the_export_grows)
    data = passkit.load(tmp_path / "d", cache_dir=tmp_path / "c")
    assert data.summary["rows_read"] == 3 and len(calls) == 2
    key = _fingerprint(find_files(tmp_path / "d"), "America/Chicago", None, False)
    assert data.cache.name == key[:20]  # cached under what the file is now
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".building-")]


def test_an_export_that_keeps_changing_is_one_line(tmp_path, capsys, monkeypatch):
    export = write_csv(tmp_path / "d" / "passes.csv", [pass_row(1)])
    real_build = ingest.build

    def build_while_the_export_grows(*args, **kwargs):
        with open(export, "a") as handle:
            handle.write(",".join(pass_row(len(export.read_text().splitlines()) + 1)) + "\n")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(ingest, "build", build_while_the_export_grows)
    code, _, err = run_cli(capsys, *REPORT, "--data", tmp_path / "d", "--out", tmp_path / "o", "--cache",
                           tmp_path / "c")
    assert code == 2 and err.strip().splitlines() == [
        f"passkit: {tmp_path / 'd' / 'passes.csv'}: changed while it was read (is the export still being "
        "written?); run again once it is complete"]


# ---- a cache folder that cannot be written (item 14) -----------------------------------------------------

def world_readable_folder() -> Path:
    """A data folder another user can read (pytest's tmp_path is private to this user)."""
    folder = Path(tempfile.mkdtemp(prefix="passkit-shared-"))
    folder.chmod(0o755)
    write_csv(folder / "d" / "passes.csv", [pass_row(1)])
    for path in (folder / "d", folder / "d" / "passes.csv"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def passkit_command(*args):
    return [sys.executable, "-c", "import sys; from passkit.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def test_a_read_only_cache_folder_is_one_line(tmp_path, capsys):
    if os.geteuid() != 0:  # an ordinary user cannot write a read-only folder
        write_csv(tmp_path / "d" / "passes.csv", [pass_row(1)])
        cache = tmp_path / "c"
        cache.mkdir(mode=0o555)
        code, _, err = run_cli(capsys, *REPORT, "--data", tmp_path / "d", "--out", tmp_path / "o", "--cache", cache)
        cache.chmod(0o755)
    else:  # root writes anywhere: run passkit as the unprivileged 'nobody'
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to drop root's privileges")
        shared = world_readable_folder()
        try:
            cache = shared / "c"
            cache.mkdir(mode=0o555)
            cache.chmod(0o555)
            result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                     *passkit_command(*REPORT, "--data", str(shared / "d"), "--out",
                                                      str(shared / "o"), "--cache", str(cache))],
                                    capture_output=True, text=True, env={**os.environ, "HOME": str(shared)})
            code, err = result.returncode, result.stderr
        finally:
            cache.chmod(0o755)
            shutil.rmtree(shared)
    assert code == 2 and err.strip().splitlines() == [
        f"passkit: {cache}: cannot write the cache (Permission denied); choose another folder with --cache or "
        "$PASSKIT_CACHE"]


def test_a_full_cache_disk_is_one_line(tmp_path):
    """A file-size limit makes every write past 8 KB fail as a full disk does."""
    write_csv(tmp_path / "d" / "passes.csv", [pass_row(i) for i in range(2000)])
    limited = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)); from passkit.cli import main; "
               "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", limited, *REPORT, "--data", str(tmp_path / "d"), "--out",
                             str(tmp_path / "o"), "--cache", str(tmp_path / "c")], capture_output=True, text=True,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"passkit: {tmp_path / 'c'}: cannot write the cache (File too large); choose another folder "
                     "with --cache or $PASSKIT_CACHE"]
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".building-")]
    assert stat.S_ISDIR((tmp_path / "c").stat().st_mode)
