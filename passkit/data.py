"""`passkit.load`: a data folder in, a `PassData` out (backed by the Parquet cache and DuckDB)."""

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import zoneinfo
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import narwhals as nw
import pandas as pd

from . import __version__
from .columns import load_column_map
from .errors import PasskitError
from .folders import alive
from .schema import EXPORT_SUFFIXES, PASSKIT_OUTPUTS, READ_SIDE_FILES, SIDE_FILES, WORKBOOK

CACHE_FORMAT = 4  # bump when the cache's columns or rules change
SIDE_ROLES = READ_SIDE_FILES  # rooms, roster, users, staff, bells
PARSE_ATTEMPTS = 2  # an export that changes while it is parsed is parsed again, once


@dataclass
class PassData:
    """The validated passes of one data folder, plus its students, rooms, staff and load summary.

    `passes` is a narwhals LazyFrame (DuckDB reading the Parquet cache); `frame(...)` filters it.
    """

    cache: Path
    summary: dict
    timezone: str
    con: duckdb.DuckDBPyConnection = field(repr=False)
    exempt: object = field(default=None, repr=False)  # passkit.exempt.Exempt when exempt.csv lists students

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
    def bells(self):
        """The bell schedule from bells.csv (a `passkit.bells.Schedule`), or None when the folder has none."""
        from .bells import from_cache

        return from_cache(self.cache)

    def using(self, passes) -> "PassData":
        """This data with other passes, e.g. your own filtering of `data.passes`: see `tables.with_passes`."""
        from .tables import with_passes

        return with_passes(self, passes)

    @property
    def columns_missing(self) -> frozenset:
        """The pass columns (schema.PASS_COLUMNS) no export provided, such as created_by for SmartPass."""
        return frozenset(self.summary.get("columns_missing", ()))

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
        rows = self.con.read_parquet(str(self.cache / "rejected.parquet"))
        if schools:
            rows = rows.filter(duckdb.ColumnExpression("school").isin(*map(duckdb.ConstantExpression, schools)))
        return rows.df()

    def possible_duplicates(self) -> pd.DataFrame:
        """Rows identical in every column to an earlier row (file, line, first_file, first_line): in
        exports without a pass id these may be one pass exported twice. Kept unless --drop-identical."""
        path = self.cache / "identical.parquet"
        if not path.exists():
            return pd.DataFrame({"file": [], "line": [], "first_file": [], "first_line": []})
        return self.con.read_parquet(str(path)).df()


def load(data_dir, timezone: str = "America/Chicago", *, columns=None, cache_dir=None, refresh: bool = False,
         progress: bool = False, year_starts=None, drop_identical: bool = False) -> PassData:
    """Load the exports in `data_dir`, parsing them only when they changed since the last load.

    `columns` is an optional column-mapping YAML (see `passkit.columns`); `cache_dir` defaults to
    $PASSKIT_CACHE or ~/.cache/passkit. The data folder itself is only ever read. `progress` shows
    a bar on stderr while exports are parsed.

    Times written without a year (SmartPass) fall in the school year that starts on `year_starts`
    (a date; `school_year_start(day)` gives the one containing a day); without it, see
    `ingest.fallback_year_start`. `drop_identical` drops rows identical in every column to an
    earlier one (in exports without a pass id); by default they are kept and listed.
    """
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise PasskitError("data folder not found", file=data_dir)
    check_timezone(timezone)
    year_starts = _as_date(year_starts)
    column_map = load_column_map(columns)
    root = _cache_root(cache_dir)
    for attempt in range(PARSE_ATTEMPTS):
        files = find_files(data_dir)
        key = _fingerprint(files, timezone, column_map, drop_identical)
        out, year_out = root / key[:20], root / _year_key(key, year_starts)[:20]
        marker = root / f"{key[:20]}.yearless"  # these exports have times without a year
        if not refresh:
            for folder in (out, year_out if marker.exists() else None):
                if folder and (folder / "summary.json").exists():
                    return _opened(folder, files)
        try:
            summary = _parse(files, timezone, column_map, root, out, year_out, progress, refresh, year_starts,
                             drop_identical)
        except _files_changed() as exc:
            if attempt + 1 == PARSE_ATTEMPTS:
                raise PasskitError("changed while it was read (is the export still being written?); run again "
                                   "once it is complete", file=data_dir / str(exc)) from None
            continue
        if "year_less_times" in summary:
            _write_cache_file(marker, "")
            return _opened(year_out, files)
        return _opened(out, files)


def _opened(folder: Path, files: dict) -> "PassData":
    """The cache, with exempt.csv's students (read on every load: it is not in the cache)."""
    from . import exempt

    return exempt.attach(open_cache(folder), files.get("exempt"))


def _files_changed():
    from .ingest import FilesChanged  # ingest (and its imports) only when exports are parsed

    return FilesChanged


def _parse(files, timezone, column_map, root, out, year_out, progress, refresh, year_starts, drop_identical):
    from tqdm.auto import tqdm  # these two only when exports are parsed: opening a cache stays quick

    from . import ingest

    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_builds(root)
        with tqdm(total=len(files["passes"]), desc="parsing exports", unit="file", disable=None if progress else True,
                  leave=False) as bar:
            return ingest.build(files, timezone, column_map, out, lambda name: bar.update(), replace=refresh,
                                year_start=year_starts, drop_identical=drop_identical, year_out=year_out,
                                expected=fingerprints(files))
    except OSError as exc:  # a read-only or full cache folder
        raise PasskitError(f"cannot write the cache ({exc.strerror or type(exc).__name__}); choose another "
                           "folder with --cache or $PASSKIT_CACHE", file=root) from None
    except duckdb.IOException as exc:
        raise PasskitError(f"cannot write the cache ({_io_reason(exc)}); choose another folder with --cache or "
                           "$PASSKIT_CACHE", file=root) from None


def _io_reason(exc) -> str:
    """The system's reason in a DuckDB I/O error ('No space left on device'), which carries its errno."""
    found = re.search(r'"errno":\s*"?(\d+)', str(exc))
    return os.strerror(int(found.group(1))) if found else "DuckDB could not write to it"


def _write_cache_file(path: Path, text: str):
    try:
        path.write_text(text)
    except OSError:  # only a hint for the next load: without it, that load parses again
        pass


def _remove_stale_builds(root: Path):
    """Remove `.building-PID-*` folders left by a parse that was killed (kill -9, a power cut).

    A folder whose process still runs is another parse in progress and stays.
    """
    for folder in root.glob(".building-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and alive(int(pid)):
            continue
        if not pid.isdigit() and dt.datetime.now().timestamp() - folder.stat().st_mtime < 86400:
            continue  # an older passkit's folder (no pid in the name): only once it is a day old
        shutil.rmtree(folder, ignore_errors=True)


def open_cache(out: Path) -> PassData:
    summary = json.loads((out / "summary.json").read_text())
    con = duckdb.connect()
    # Each step of a report binds the view again; cached Parquet footers make that free (the cache
    # files never change in place: a refresh writes a new folder and swaps it in).
    con.execute("SET parquet_metadata_cache = true")
    for name in ("passes", "students", "rooms", "staff"):
        con.read_parquet(str(out / f"{name}.parquet")).create_view(name)  # the path is bound, never pasted into SQL
    return PassData(out, summary, summary["timezone"], con)


def check_timezone(timezone: str):
    """A first check (the parse also refuses zones DuckDB does not know, such as 'posixrules')."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PasskitError(f"unknown time zone '{timezone}' (--timezone takes an IANA name such as "
                           "America/Chicago)") from None


def school_year_start(day) -> dt.date:
    """August 1 of the school year (August to July) that contains `day`."""
    day = _as_date(day)
    return dt.date(day.year if day.month >= 8 else day.year - 1, 8, 1)


def _as_date(value):
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PasskitError(f"'{value}' is not a date like 2025-08-01") from None


def find_files(data_dir: Path) -> dict:
    """The exports passkit reads in a data folder, by role: every .csv/.xlsx that is not a side file
    (rooms, roster, users, staff, bells, keep_apart, exempt) or one of passkit's own
    outputs is a passes export. Which layout it is comes from its header, never its name."""
    files = {"root": data_dir, "passes": [], "ignored": []}
    listing = sorted((p for p in data_dir.iterdir() if p.is_file()), key=lambda p: (p.stem.lower(), p.suffix.lower()))
    for path in listing:
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if suffix not in EXPORT_SUFFIXES or path.name.startswith((".", "~$")):
            continue  # hidden files and Excel's lock files
        if stem == "exempt" and stem not in files:
            files["exempt"] = path  # read on every load, outside the cache key (`passkit.exempt`)
        elif stem in SIDE_FILES:
            if stem in SIDE_ROLES and stem not in files:
                files[stem] = path
            elif stem not in SIDE_ROLES:
                files["ignored"].append((path.name, "reserved for school settings"))
        elif is_passkit_output(stem):
            files["ignored"].append((path.name, "written by passkit report"))
        else:
            files["passes"].append(path)
    if not files["passes"]:
        raise PasskitError("no passes export found (any .csv or .xlsx file other than rooms, roster, users and staff)",
                           file=data_dir)
    return files


def is_passkit_output(stem: str) -> bool:
    """A file `passkit report` writes (one CSV per report, the workbook, ...): never read as passes."""
    from . import registry

    return stem in PASSKIT_OUTPUTS or stem in registry.names("csv") or re.fullmatch(WORKBOOK, stem) is not None


def fingerprints(files: dict) -> list[dict]:
    """Name, size and modification time of every input: what decides whether to re-parse."""
    paths = [*files["passes"], *(files[r] for r in SIDE_ROLES if r in files)]
    stats = [p.stat() for p in paths]
    return [{"file": str(p.relative_to(files["root"])), "bytes": s.st_size, "modified_ns": s.st_mtime_ns}
            for p, s in zip(paths, stats)]


def _fingerprint(files, timezone, column_map, drop_identical) -> str:
    identity = {"format": CACHE_FORMAT, "version": __version__, "root": str(files["root"].resolve()),
                "timezone": timezone, "columns": column_map.text if column_map else "",
                "drop_identical": drop_identical, "files": fingerprints(files)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _year_key(key: str, year_starts) -> str:
    """The cache key of exports with year-less times: their years depend on the school year chosen
    (ordinary exports keep `key`, so a new range does not parse them again)."""
    chosen = year_starts.isoformat() if year_starts else "from-modification-time"
    return hashlib.sha256(f"{key}:{chosen}".encode()).hexdigest()


def _cache_root(cache_dir) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("PASSKIT_CACHE"):
        return Path(os.environ["PASSKIT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "passkit"
