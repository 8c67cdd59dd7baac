import csv
from pathlib import Path

import pytest

import passkit

HEADER = ["pass_id", "student_id", "student_name", "grade", "origin", "destination", "created_by", "issuer",
          "kiosk_mode", "pass_type", "start_time", "end_time"]


def pass_row(pass_id, student="S1", start="2026-01-05T09:00:00", end="2026-01-05T09:05:00", *, name=None,
             grade="9", origin="Room 101", destination="Restroom A", created_by="student", issuer="",
             kiosk_mode="", pass_type="now"):
    return [str(pass_id), student, name if name is not None else f"Student {student}", grade, origin, destination,
            created_by, issuer, kiosk_mode, pass_type, start, end]


def write_csv(path: Path, rows, header=HEADER):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def folder(tmp_path):
    """A data folder factory: folder(rows, **side_files) -> loaded PassData."""
    def make(rows=(), timezone="America/Chicago", **files):
        data = tmp_path / "data"
        write_csv(data / "passes.csv", rows)
        for name, (header, side_rows) in files.items():
            write_csv(data / f"{name}.csv", side_rows, header)
        return passkit.load(data, timezone, cache_dir=tmp_path / "cache")
    return make


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """A small demo school (150 students, a whole school year), generated once per test session."""
    from passkit import demo

    out = tmp_path_factory.mktemp("demo-school")
    demo.generate(out, students_per_school=150)
    return out


@pytest.fixture(scope="session")
def demo_data(demo_folder, tmp_path_factory):
    return passkit.load(demo_folder, "America/Chicago", cache_dir=tmp_path_factory.mktemp("demo-cache"))


@pytest.fixture(scope="session")
def demo_district_folder(tmp_path_factory):
    """A small demo district (3 schools of 150 students, a whole year), generated once per test session."""
    from passkit import demo

    out = tmp_path_factory.mktemp("demo-district")
    demo.generate(out, schools=3, students_per_school=150)
    return out


@pytest.fixture(scope="session")
def demo_district(demo_district_folder, tmp_path_factory):
    return passkit.load(demo_district_folder, "America/Chicago", cache_dir=tmp_path_factory.mktemp("district-cache"))
