"""The Spark engine: the same report functions on PySpark frames give DuckDB's tables (local[2])."""

import pandas as pd
import pytest

from passkit import registry, reports
from passkit.cli import main

pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
pytestmark = [pytest.mark.spark,  # passkit.spark.quiet(), which pytest's per-test warning capture undoes
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

Q3 = ("2026-01-05", "2026-03-27")


@pytest.fixture(scope="module")
def spark():
    from passkit import spark as passkit_spark

    session = passkit_spark.session("local[2]")
    yield session
    session.stop()


def same_tables(ours: dict, theirs: dict):
    assert list(ours) == list(theirs)
    for name in ours:
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_exact=True, obj=name)


def test_spark_gives_duckdbs_tables_for_a_school(spark, demo_data):
    from passkit import spark as passkit_spark

    data = passkit_spark.load(demo_data.cache, spark)
    for start, end, grades in (Q3 + (None,), ("2025-08-01", "2026-06-30", ["9", "Grade 10"])):
        same_tables(reports.all_reports(data, start, end, grades), reports.all_reports(demo_data, start, end, grades))
    # each report on its own too, and an empty range
    for name in registry.names():
        compute = registry.analyst_function(registry.get(name))
        pd.testing.assert_frame_equal(compute(data, *Q3), compute(demo_data, *Q3))
    empty = reports.all_reports(data, "2026-07-01", "2026-07-31")
    assert all(len(empty[name]) == 0 for name in ("daily_passes", "passes_by_grade", "passes_by_student"))


def test_spark_gives_duckdbs_tables_for_a_district(spark, demo_district):
    from passkit import spark as passkit_spark

    data = passkit_spark.load(demo_district.cache, spark)
    assert data.schools == demo_district.schools
    for schools in (None, ["Lincoln High", "Roosevelt High"]):
        same_tables(reports.all_reports(data, *Q3, schools=schools), reports.all_reports(demo_district, *Q3,
                                                                                          schools=schools))


def test_spark_gives_duckdbs_encounters_keep_apart_meetings_and_contacts(spark, demo_district):
    from passkit import encounters, spark as passkit_spark

    data = passkit_spark.load(demo_district.cache, spark)
    assert data.keep_apart is not None, "keep_apart.csv travels in the cache"
    rule = {"meet_minutes": 0, "min_encounters": 1}
    for name in ("encounters", "encounters_by_week", "keep_apart_meetings"):
        compute = registry.analyst_function(registry.get(name))
        pd.testing.assert_frame_equal(compute(data, *Q3, **rule), compute(demo_district, *Q3, **rule),
                                      check_exact=True, obj=name)
    student = encounters.encounters(demo_district, *Q3).iloc[0]
    pd.testing.assert_frame_equal(
        encounters.contacts(data, student["student_a"], *Q3, school=student["school"], degree=2),
        encounters.contacts(demo_district, student["student_a"], *Q3, school=student["school"], degree=2))


def test_a_plain_parquet_path_of_passes(spark, demo_district, tmp_path):
    from passkit import spark as passkit_spark

    data = passkit_spark.load(demo_district.cache / "passes.parquet", spark)
    assert data.rooms is None and data.staff is None
    # without rooms.csv and staff.csv only rooms and staff seen in the passes are listed
    same_tables(reports.all_reports(data, *Q3), reports.all_reports(demo_district.passes, *Q3))


def test_report_command_with_the_spark_engine(spark, demo_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("PASSKIT_SPARK_MASTER", "local[2]")
    for engine in ("duckdb", "spark"):
        assert main(["report", "--data", str(demo_folder), "--cache", str(tmp_path / "cache"), "--start", Q3[0],
                     "--end", Q3[1], "--out", str(tmp_path / engine), "--engine", engine]) == 0
    for name in registry.names("csv"):
        assert (tmp_path / "spark" / f"{name}.csv").read_bytes() == (tmp_path / "duckdb" / f"{name}.csv").read_bytes()


def test_the_time_reports_on_hand_made_edges(spark, folder):
    """Clock changes, midnight, untimed passes, a room's own limit, period boundaries, a late start: as DuckDB."""
    from passkit import spark as passkit_spark

    from .conftest import pass_row
    from .test_timing import BELLS, NEW, ROOMS, SMALL

    edges = [pass_row(11, start="2026-03-08T01:50:00", end="2026-03-08T03:10:00"),
             pass_row(12, start="2025-11-02T01:50:00-05:00", end="2025-11-02T01:10:00-06:00"),
             pass_row(13, start="2026-01-07T23:50:00", end="2026-01-08T00:10:00"),
             pass_row(14, start="2026-01-07T09:00:00", end="2026-01-07T09:12:00"),
             pass_row(15, start="2026-01-06T09:00:00", end="")]
    data = folder([*SMALL, *edges], rooms=ROOMS, bells=BELLS)
    frames = passkit_spark.load(data.cache, spark)
    for name in NEW:
        compute = registry.analyst_function(registry.get(name))
        for start, end in (("2025-11-01", "2026-03-31"), ("2026-01-05", "2026-01-05"), ("2026-07-01", "2026-07-02")):
            pd.testing.assert_frame_equal(compute(frames, start, end), compute(data, start, end), check_exact=True,
                                          obj=f"{name} {start}..{end}")
