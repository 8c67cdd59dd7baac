"""The same reports on Apache Spark, for data beyond one machine (`pip install passkit[spark]`).

    data = passkit.spark.load("~/.cache/passkit/<key>")     # a passkit cache folder, or
    data = passkit.spark.load("s3a://district/passes/", spark=session)   # any Parquet of passes
    passkit.reports.all_reports(data, "2026-01-05", "2026-03-27")

Spark reads the Parquet; the report functions in `passkit.reports` run unchanged on the Spark
frames through narwhals, so Spark does the aggregations and only the small results come back.
"""

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import narwhals as nw

from .bells import from_cache
from .errors import PasskitError


@dataclass
class SparkPassData:
    """Spark frames shaped like `PassData`'s: what the report functions read."""

    passes: nw.LazyFrame
    students: nw.LazyFrame | None = None
    rooms: nw.LazyFrame | None = None
    staff: nw.LazyFrame | None = None
    spark: object = field(default=None, repr=False)
    bells: object = field(default=None, repr=False)  # the cache's bells.csv (a passkit.bells.Schedule), if any
    summary: dict = field(default_factory=dict, repr=False)  # the cache's load summary, when there is one
    keep_apart: object = field(default=None, repr=False)  # keep_apart.csv's rows (pandas), when there are some
    engine = "spark"  # Tables refuses the reports that do not run here

    @property
    def columns_missing(self) -> frozenset:
        return frozenset(self.summary.get("columns_missing", ()))

    @property
    def schools(self) -> list[str]:
        frame = self.students if self.students is not None else self.passes
        return sorted(row[0] for row in frame.to_native().select("school").distinct().collect())


def load(path, spark=None) -> SparkPassData:
    """Spark frames over a passkit cache folder (passes/students/rooms/staff.parquet) or a Parquet path of passes.

    `spark` is an existing SparkSession (a cluster's); without one, a local session on every core.
    """
    spark = spark or session()
    location = str(path)
    cache = Path(location).expanduser()
    if cache.is_dir() and (cache / "passes.parquet").exists():
        frames = {name: spark.read.parquet(str(cache / f"{name}.parquet"))
                  for name in ("passes", "students", "rooms", "staff")}
        summary = json.loads((cache / "summary.json").read_text()) if (cache / "summary.json").is_file() else {}
        from . import keepapart

        return SparkPassData(**{name: nw.from_native(frame) for name, frame in frames.items()}, spark=spark,
                             summary=summary, bells=from_cache(cache),
                             keep_apart=keepapart.load(cache))
    if "://" not in location and not cache.exists():
        raise PasskitError("no Parquet found", file=cache)
    return SparkPassData(nw.from_native(spark.read.parquet(location)), spark=spark)


def quiet():
    """PySpark 4.3 warns on every transfer that pandas 3 is not fully supported; the paths passkit uses work."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module="pyspark")


def session(master: str = "local[*]", app: str = "passkit"):
    """A quiet SparkSession: UTC, few shuffle partitions (report results are small), Arrow transfers."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise PasskitError("the Spark engine needs PySpark: pip install 'passkit[spark]'") from None
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # one machine: no network lookup, no warning
    quiet()
    spark = (SparkSession.builder.master(master).appName(app)
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "8")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark
