"""The example folders in the README work as documented."""

import json
from pathlib import Path

import pandas as pd

from passkit.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def report(tmp_path, folder, *extra):
    out = tmp_path / "out"
    code = main(["report", "--data", str(EXAMPLES / folder), "--start", "2026-01-05", "--end", "2026-01-09",
                 "--out", str(out), "--cache", str(tmp_path / "cache"), *extra])
    assert code == 0
    return out


def test_messy_school_accounts_for_every_row(tmp_path):
    out = report(tmp_path, "messy-school")
    summary = json.loads((out / "load_summary.json").read_text())
    assert (summary["rows_read"], summary["passes_kept"], summary["duplicates_dropped"], summary["rows_rejected"]) \
        == (15, 8, 1, 6)
    rejected = pd.read_csv(out / "rejected.csv", dtype=str)
    assert sorted(rejected["file"] + ":" + rejected["line"]) == sorted([
        "passes.csv:7", "passes.csv:8", "passes.csv:9", "passes.csv:11", "passes.csv:12",
        "passes-2026-01-09.csv:2", "passes-2026-01-09.csv:5"])
    by_grade = pd.read_csv(out / "passes_by_grade.csv", dtype={"grade": str})
    assert by_grade.values.tolist() == [["K", 3], ["9", 2], ["10", 1], ["11", 2]]
    staff = pd.read_csv(out / "staff_usage.csv")
    assert staff.values.tolist() == [["Ms. Rivera", 2, 1, 1], ["Mr. Park", 1, 1, 0], ["Mrs. Never", 0, 0, 0]]


def test_other_vendor_with_a_column_map(tmp_path):
    out = report(tmp_path, "other-vendor", "--columns", str(EXAMPLES / "other-vendor-map.yaml"))
    assert pd.read_csv(out / "staff_usage.csv").values.tolist() == [["Mr. Ito", 2, 1, 1]]
    assert pd.read_csv(out / "passes_by_grade.csv").values.tolist() == [[9, 2], [10, 1]]
