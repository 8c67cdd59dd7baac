"""`passkit.load`: a data folder in, a `PassData` out (backed by the Parquet cache and DuckDB)."""

import hashlib
import json
import os
import zoneinfo
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import narwhals as nw
import pandas as pd

from . import __version__
from .columns import ColumnMap, load_column_map
from .errors import PasskitError
from .schema import PASS_FILES

CACHE_FORMAT = 3  # bump when the cache's columns or rules change


@dataclass
class PassData:
    """The validated passes of one data folder, plus its students, rooms, staff and load summary.

    `passes` is a narwhals LazyFrame (DuckDB reading the Parquet cache); `frame(...)` filters it.
    """

    cache: Path
    summary: dict
    timezone: str
    con: duckdb.DuckDBPyConnection = field(repr=False)

    # Each frame is bound once per PassData: binding a view costs DuckDB a few milliseconds, a fair
    # share of a school's whole range change.
    @cached_property
    def passes(self) -> nw.LazyFrame:
        return nw.from_native(self.con.view("passes"))

    @cached_property
    def students(self) -> nw.LazyFrame:
        """One row per student with a kept pass: student_key (as in passes), school, student_id, name, grade."""
        return nw.from_native(self.con.view("students"))

    @cached_property
    def rooms(self) -> nw.LazyFrame:
        return nw.from_native(self.con.view("rooms"))

    @cached_property
    def staff(self) -> nw.LazyFrame:
        return nw.from_native(self.con.view("staff"))

    @cached_property
    def keep_apart(self) -> pd.DataFrame | None:
        """keep_apart.csv's rows (school, group, student_id), or None without one (see passkit.keepapart)."""
        from . import keepapart

        return keepapart.load(self.cache)

    @property
    def schools(self) -> list[str]:
        return [row[0] for row in self.con.execute("SELECT DISTINCT school FROM students ORDER BY 1").fetchall()]

    def check_schools(self, schools, each_school: bool, folder):
        """Refuse school names the data does not hold, and --each-school without a school column."""
        known = [school for school in self.schools if school]
        if each_school and not known:
            raise PasskitError("--each-school needs exports with a 'school' column", file=folder)
        unknown = [school for school in schools or [] if school not in known]
        if unknown:
            choices = ", ".join(known) if known else "the exports have no 'school' column"
            raise PasskitError(f"school '{unknown[0]}' is not in the data ({choices})", file=folder)

    def rejected(self, schools=None) -> pd.DataFrame:
        """The rows not kept, with their reason; with `schools`, only rows that name one of them."""
        rows = self.con.sql(f"SELECT * FROM read_parquet('{self.cache / 'rejected.parquet'}')")
        if schools:
            rows = rows.filter(duckdb.ColumnExpression("school").isin(*map(duckdb.ConstantExpression, schools)))
        return rows.df()


def load(data_dir, timezone: str = "America/Chicago", *, columns=None, cache_dir=None,
         refresh: bool = False, progress: bool = False) -> PassData:
    """Load the exports in `data_dir`, parsing them only when they changed since the last load.

    `columns` is an optional column-mapping YAML (see `passkit.columns`); `cache_dir` defaults to
    $PASSKIT_CACHE or ~/.cache/passkit. The data folder itself is only ever read. `progress` shows
    a bar on stderr while exports are parsed.
    """
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise PasskitError("data folder not found", file=data_dir)
    check_timezone(timezone)
    column_map = load_column_map(columns)
    files = find_files(data_dir)
    key = _fingerprint(files, timezone, column_map)
    out = _cache_root(cache_dir) / f"{key[:20]}"
    if refresh or not (out / "summary.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        from tqdm.auto import tqdm  # these two only when exports are parsed: opening a cache stays quick

        from . import ingest

        with tqdm(total=len(files["passes"]), desc="parsing exports", unit="file", disable=None if progress else True,
                  leave=False) as bar:
            ingest.build(files, timezone, column_map, out, lambda name: bar.update(), replace=refresh)
    return open_cache(out)


def open_cache(out: Path) -> PassData:
    summary = json.loads((out / "summary.json").read_text())
    con = duckdb.connect()
    # Each step of a report binds the view again; cached Parquet footers make that free (the cache
    # files never change in place: a refresh writes a new folder and swaps it in).
    con.execute("SET parquet_metadata_cache = true")
    for name in ("passes", "students", "rooms", "staff"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{out / (name + '.parquet')}')")
    return PassData(out, summary, summary["timezone"], con)


def check_timezone(timezone: str):
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PasskitError(f"unknown time zone '{timezone}' (use an IANA name such as America/Chicago)") from None


def find_files(data_dir: Path) -> dict:
    """The exports passkit reads in a data folder, by role."""
    listing = {p.name.lower(): p for p in sorted(data_dir.iterdir()) if p.is_file()}
    passes = sorted((p for name, p in listing.items()
                     if any(Path(name).match(pattern) for pattern in PASS_FILES) and not name.startswith("~$")),
                    key=lambda p: (p.stem.lower(), p.suffix.lower()))  # passes.csv before passes-2.csv
    if not passes:
        raise PasskitError("no passes*.csv or passes*.xlsx export found", file=data_dir)
    files = {"root": data_dir, "passes": passes}
    for role, name in (("roster", "roster.csv"), ("users", "users.csv"), ("rooms", "rooms.csv"),
                       ("staff", "staff.csv"), ("keep_apart", "keep_apart.csv")):
        if name in listing:
            files[role] = listing[name]
    return files


def fingerprints(files: dict) -> list[dict]:
    """Name, size and modification time of every input: what decides whether to re-parse."""
    paths = [*files["passes"], *(files[r] for r in ("roster", "users", "rooms", "staff", "keep_apart") if r in files)]
    stats = [p.stat() for p in paths]
    return [{"file": str(p.relative_to(files["root"])), "bytes": s.st_size, "modified_ns": s.st_mtime_ns}
            for p, s in zip(paths, stats)]


def _fingerprint(files, timezone, column_map: ColumnMap) -> str:
    identity = {"format": CACHE_FORMAT, "version": __version__, "root": str(files["root"].resolve()),
                "timezone": timezone, "columns": column_map.text, "files": fingerprints(files)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _cache_root(cache_dir) -> Path:
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("PASSKIT_CACHE"):
        return Path(os.environ["PASSKIT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "passkit"
