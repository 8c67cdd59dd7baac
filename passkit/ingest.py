"""Parse and validate a folder of exports into the typed Parquet cache, once.

Every input row ends in exactly one place: a kept pass, a dropped duplicate, or a rejected row
with a reason a person can read. `summary.json` counts them, and the counts add up.

Each file is read under its layout (`passkit.columns`). What a file lacks is derived where the rule
is exact (an end time from a duration, a pass id from the row's content) and otherwise left null;
`columns_missing` in the summary names the pass columns no file provided.
"""

import datetime as dt
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from . import bells, grades, keepapart
from .columns import has_year
from .errors import PasskitError
from .readers import LINE, MALFORMED, TOO_LONG, read_passes, read_table
from .schema import (CREATED_BY, FALSE_WORDS, ONEROSTER_USERS, PASS_COLUMNS, PASS_TYPES, READ_SIDE_FILES, ROOMS,
                     ROSTER, STAFF, TRUE_WORDS)

FILE = "_file"
LINE_BITS = (1 << 40) - 1  # a row_key holds the file's index above its line number
PLAIN_TIME = "%Y-%m-%dT%H:%M:%S"  # the usual export time: school-local, no offset
CLOCK_YEARS = (1900, 2200)  # the span of years whose clock changes are looked up
# Small row groups let a date range skip most of a school's year. The cache keeps roughly the exports'
# order (files, then lines), which is by school and time for the exports seen: sorting 8.6M rows on
# top cost a district year 4-5 s and 2.7 GB more memory, and made the reports no faster.
ROW_GROUP_ROWS = 20_480
RAW_COLUMNS = ("school", *PASS_COLUMNS, "duration")  # the text of a row, as kept for rejected.csv
DATE_ONLY = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}(/[0-9]{2,4})?"
IMPLAUSIBLE_DAYS = 400  # beyond this many days outside the middle 90% of start dates a time is a typo
SCHOOL_YEAR_MONTH = 8  # a school year runs August to July

# (the column a rule checks, its condition, the reason), checked in this order on each row of a file
# that has the column; a row is rejected for the first rule it breaks. The last rule's condition
# (None) needs every file's rows, so it is checked once all are read, on the rows still standing.
# Before any rule, the reader rejects rows with the wrong number of fields and rows over 1 MB.
REJECT_RULES = (
    ("pass_id", "pass_id IS NULL", "missing pass_id"),
    ("student_id", "student_id IS NULL", "missing student_id"),
    ("origin", "origin IS NULL", "missing origin"),
    ("destination", "destination IS NULL", "missing destination"),
    ("start_time", "start_time IS NULL", "missing start_time"),
    ("start_time", "start_date_only", "start_time has no time of day"),
    ("start_time", "start_local IS NULL", "start_time is not a date and time"),
    ("end_time", "end_time IS NOT NULL AND end_local IS NULL", "end_time is not a date and time"),
    ("duration", "duration IS NOT NULL AND duration_seconds IS NULL", "duration is not a number of minutes"),
    ("created_by", f"created_by IS NULL OR lower(created_by) NOT IN {CREATED_BY}",
     "created_by is not student, teacher or kiosk"),
    ("pass_type", f"pass_type IS NULL OR lower(pass_type) NOT IN {PASS_TYPES}", "pass_type is not now or scheduled"),
    ("kiosk_mode", f"kiosk_mode IS NOT NULL AND lower(kiosk_mode) NOT IN {TRUE_WORDS + FALSE_WORDS}",
     "kiosk_mode is not true or false"),
    ("start_time", None, "start_time is implausible"),
)
READ_REJECTS = (MALFORMED, TOO_LONG)  # rows the reader rejects, before any rule
IMPLAUSIBLE = REJECT_RULES[-1][2]


class FilesChanged(Exception):
    """An export changed while it was parsed: its cache would describe neither version."""


def build(files: dict, timezone: str, column_map, out: Path, progress=None, replace=False, *, year_start=None,
          drop_identical=False, year_out=None, expected=None) -> dict:
    """Write passes/students/rejected/rooms/staff (and bells) Parquet files and summary.json into `out`; return
    the summary.

    `files` maps a role ('passes', 'roster', 'users', 'rooms', 'staff', 'bells') to paths; names in the
    summary and in rejected rows are relative to the data folder, given as files['root'].
    `column_map` is a column map (`passkit.columns.Layout`) replacing layout detection, or None.
    Times without a year take it from the school year starting on `year_start` (a date), else from
    each export's modification time; such a cache goes to `year_out` instead of `out`. `expected`
    are the inputs' fingerprints when the parse began: if they differ at the end, FilesChanged.
    """
    root = files["root"]
    tmp = Path(tempfile.mkdtemp(prefix=f".building-{os.getpid()}-", dir=out.parent))
    # All rows live in DuckDB, which keeps to its memory limit by spilling to the cache's disk.
    con = duckdb.connect(config={"temp_directory": str(tmp / "spill"), "memory_limit": f"{_memory_limit()}MB"})
    try:
        _set_timezone(con, timezone)
        con.execute("SET enable_progress_bar = false")  # passkit.load shows its own
        _create_macros(con)
        # checked before the long part: a malformed bells.csv stops the load at once
        schedule = bells.read(files["bells"], column_map.rename if column_map else {}) if files.get("bells") else None
        con.register("roster", _read_roster(files, column_map))
        _register_clock_changes(con)
        read = _read_passes(con, files["passes"], root, column_map, timezone, year_start, progress)
        _reject_implausible(con)
        identical = _find_duplicates_and_students(con, read["derived_ids"], drop_identical)
        summary = _write(con, tmp, read, identical, drop_identical, timezone, year_start)
        summary["other_files"] = _other_files(files)
        _side_table(con, files.get("rooms"), ROOMS, column_map).write_parquet(str(tmp / "rooms.parquet"))
        _with_dedicated_kiosks(con, _side_table(con, files.get("staff"), STAFF, column_map)).write_parquet(
            str(tmp / "staff.parquet"))
        bells.write_cache(schedule, tmp)
        keepapart.write(files.get("keep_apart"), column_map, tmp)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if expected is not None:
            _check_unchanged(files, expected)
        _publish(tmp, (year_out or out) if "year_less_times" in summary else out, replace)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _set_timezone(con, timezone):
    """Refuse a zone DuckDB does not know (zoneinfo alone accepts 'posixrules' or 'localtime')."""
    known = con.execute("SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [timezone]).fetchall()[0][0]
    if not known:
        raise PasskitError(f"unknown time zone '{timezone}' (--timezone takes an IANA name such as America/Chicago)")
    con.execute("SET TimeZone = ?", [timezone])  # times with an offset are converted to this zone


def _check_unchanged(files, expected):
    from .data import fingerprints

    for before, after in zip(expected, fingerprints(files)):  # the same files, stat'ed again
        if before != after:
            raise FilesChanged(before["file"])


def _publish(tmp: Path, out: Path, replace: bool):
    """Move a finished cache into place: a cache folder is complete or absent, never half-written.

    Two processes may parse the same exports at once (an audit's notebooks do). Unless asked to
    replace it, a folder another process published first stays: it holds the same tables, and its
    readers keep their files.
    """
    if replace and out.exists():
        shutil.rmtree(out)
    try:
        os.replace(tmp, out)
    except OSError:
        if replace or not (out / "summary.json").exists():
            raise


def _memory_limit() -> int:
    """DuckDB's memory in MB while building: a quarter of the RAM, at least 1.5 GB. Beyond it, work
    spills to disk (slower, never out of memory); a 40-school year needs about 6 GB to stay in memory."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2 ** 20
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        ram = 0
    return max(1536, ram // 4)


def _create_macros(con):
    # Minutes as exports write them: 5, 5:07 (minutes:seconds), 4.25, each with or without ' min'.
    con.execute(r"""
        CREATE TEMP MACRO minutes_text(d) AS regexp_replace(lower(trim(d)), '\s*(minutes|minute|mins|min)\.?$', '');
        CREATE TEMP MACRO duration_seconds(d) AS CASE
            WHEN regexp_full_match(minutes_text(d), '[0-9]+:[0-5][0-9]')
                THEN 60 * CAST(split_part(minutes_text(d), ':', 1) AS DOUBLE)
                     + CAST(split_part(minutes_text(d), ':', 2) AS DOUBLE)
            WHEN regexp_full_match(minutes_text(d), '[0-9]+(\.[0-9]*)?|\.[0-9]+')
                THEN 60 * CAST(minutes_text(d) AS DOUBLE) END;
        CREATE TEMP MACRO is_leap(y) AS y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0);""")


def _read_passes(con, paths, root, column_map, timezone, year_start, progress):
    """Type and check every passes file into the DuckDB table `checked`, one file (or sheet) at a time."""
    grade_map = GradeMap(con)
    # derived_ids, issuers: the indices of the files without a pass id, and of those with an issuer column
    read = {"parts": [], "rejected": [], "provided": set(), "derived_ids": [], "issuers": []}
    index = 0
    for path, parts in zip(paths, _read_ahead(paths, root, column_map)):
        for part in parts:
            table = part.layout.apply_fill(part.layout.apply_values(part.table))
            given = set(table.column_names)
            read["provided"] |= given | ({"end_time"} if "duration" in given else set())
            for name in RAW_COLUMNS:
                if name not in table.column_names:
                    table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
            table = table.append_column(FILE, pa.repeat(pa.scalar(index, pa.int32()), table.num_rows))
            grade_map.add(table.column("grade"))
            con.register("raw", table.select([*RAW_COLUMNS, FILE, LINE]))
            notes = dict(part.notes)
            if part.layout.times:
                notes.update(_normalise_times(con, part.layout, year_start, path, timezone))
            derived = "pass_id" not in given
            read["derived_ids"] += [index] if derived else []
            read["issuers"] += [index] if "issuer" in given else []
            con.execute(("CREATE TEMP TABLE checked AS " if index == 0 else "INSERT INTO checked BY NAME ")
                        + _typed(given, derived))
            con.unregister("raw")
            read["rejected"] += [(part.label, line, reason) for line, reason in part.rejected]
            read["parts"].append({"file": part.label, "rows": table.num_rows + len(part.rejected),
                                  "layout": part.layout.name, "layout_title": part.layout.title,
                                  "columns": part.columns, **_public(notes)})
            index += 1
        if progress:
            progress(str(Path(path).relative_to(root)))
    return read


def _public(notes):
    """The reading notes the summary keeps: counts, and the first 20 repaired lines."""
    notes = {key: value for key, value in notes.items() if not key.startswith("_")}
    if "rows_repaired" in notes:
        lines = notes.pop("rows_repaired")
        notes["rows_repaired_from_windows_1252"] = len(lines)
        notes["rows_repaired_lines"] = lines[:20]
    return notes


def _read_ahead(paths, root, column_map):
    """Each file's parts in order, reading the next file while the last is stored (never more at once)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for path in paths:
            following = pool.submit(read_passes, path, column_map, str(Path(path).relative_to(root)))
            if pending:
                yield pending.result()
            pending = following
        if pending:
            yield pending.result()


def _normalise_times(con, layout, year_start, path, timezone) -> dict:
    """Rewrite `raw`'s times in the layout's formats as ISO 8601 text (others stay as written).

    A time without a year (SmartPass's '3/04 9:05 AM') falls in the school year starting on
    `year_start`; without one, in the latest school year (from August 1) in which none of the
    file's passes falls after the file's modification time.
    """
    dated = [f for f in layout.times if has_year(f)]
    yearless = [f"%Y/{f}" for f in layout.times if not has_year(f)]

    def with_year(column):  # the formats are bound as parameters: a column map's are the user's text
        return f"strftime(try_strptime({column}, $dated), '{PLAIN_TIME}')" if dated else "NULL"

    # '2000/' first: a leap year, so that 2/29 parses before its real year is known
    undated = {c: f"try_strptime('2000/' || {c}, $yearless)" if yearless else "CAST(NULL AS TIMESTAMP)"
               for c in ("start_time", "end_time")}
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE vendor_times AS
        SELECT *, {undated['start_time']} AS _start_2000, {undated['end_time']} AS _end_2000,
               {with_year('start_time')} AS _start_dated, {with_year('end_time')} AS _end_dated
        FROM raw""", {name: formats for name, formats in (("dated", dated), ("yearless", yearless)) if formats})
    notes = {}
    rows = con.execute("SELECT count(*) FROM vendor_times WHERE _start_dated IS NULL AND _start_2000 IS NOT NULL"
                       ).fetchall()[0][0]
    if rows:
        if year_start is None:
            days = con.execute("SELECT DISTINCT month(_start_2000), day(_start_2000) FROM vendor_times "
                               "WHERE _start_2000 IS NOT NULL").fetchall()
            modified = dt.datetime.fromtimestamp(Path(path).stat().st_mtime, ZoneInfo(timezone)).date()
            year_start = fallback_year_start(days, modified)
            notes["year_from_modification_time"] = True
        notes["year_less_rows"] = rows
        notes["school_year_starts"] = year_start.isoformat()
    start = year_start or dt.date(2000, SCHOOL_YEAR_MONTH, 1)

    def shifted(column):
        day = f"(month({column}) * 100 + day({column}))"
        year = f"(CASE WHEN {day} >= {start.month * 100 + start.day} THEN {start.year} ELSE {start.year + 1} END)"
        return (f"CASE WHEN NOT (month({column}) = 2 AND day({column}) = 29 AND NOT is_leap({year})) THEN "
                f"strftime(make_timestamp({year}, month({column}), day({column}), hour({column}), minute({column}), "
                f"second({column})), '{PLAIN_TIME}') END")

    replaced = con.sql(f"""
        SELECT * EXCLUDE (_start_2000, _end_2000, _start_dated, _end_dated) REPLACE (
            coalesce(_start_dated, {shifted('_start_2000')}, start_time) AS start_time,
            coalesce(_end_dated, {shifted('_end_2000')}, end_time) AS end_time)
        FROM vendor_times""").to_arrow_table()
    con.unregister("raw")
    con.register("raw", replaced)
    return notes


def fallback_year_start(month_days, modified: dt.date) -> dt.date:
    """August 1 of the latest school year in which no (month, day) falls after `modified`."""
    year = modified.year if modified.month >= SCHOOL_YEAR_MONTH else modified.year - 1
    month, day = max(month_days, key=lambda md: ((md[0] - SCHOOL_YEAR_MONTH) % 12, md[1]))
    if ((year if month >= SCHOOL_YEAR_MONTH else year + 1), month, day) > (modified.year, modified.month, modified.day):
        year -= 1
    return dt.date(year, SCHOOL_YEAR_MONTH, 1)


def _read_roster(files, column_map):
    """Students' grades and names from roster.csv, or from a OneRoster users.csv."""
    rename = column_map.rename if column_map else {}
    empty = pa.table({"school": pa.array([], pa.string()), "student_id": pa.array([], pa.string()),
                      "grade": pa.array([], pa.string()), "student_name": pa.array([], pa.string())})
    if files.get("roster"):
        table, _ = read_table(files["roster"], *ROSTER, rename)
    elif files.get("users"):
        table = _oneroster_students(files["users"], rename)
    else:
        return empty
    columns = {name: table.column(name) if name in table.column_names else pa.nulls(table.num_rows, pa.string())
               for name in empty.column_names}
    return pa.table(columns)


def _oneroster_students(path, rename):
    table, _ = read_table(path, *ONEROSTER_USERS, rename)
    rows = table.to_pylist()
    students = [r for r in rows if (r.get("role") or "student").lower() == "student"]
    return pa.table({
        "student_id": pa.array([r["sourcedid"] for r in students], pa.string()),
        # OneRoster lists grades comma-separated; the first is the student's grade.
        "grade": pa.array([(r.get("grades") or "").split(",")[0].strip() or None for r in students], pa.string()),
        "student_name": pa.array([" ".join(filter(None, (r.get("givenname"), r.get("familyname")))) or None
                                  for r in students], pa.string()),
        "school": pa.nulls(len(students), pa.string()),
    })


class GradeMap:
    """`grade_map` (spelling -> grade): each distinct spelling normalised once, in Python."""

    def __init__(self, con):
        self.con, self.known = con, set()
        con.execute("CREATE TEMP TABLE grade_map (spelling VARCHAR, grade VARCHAR)")
        self.add(con.sql("SELECT DISTINCT grade FROM roster").to_arrow_table().column(0))

    def add(self, column):
        new = sorted({g for g in pc.unique(column).to_pylist() if g is not None} - self.known)
        if new:
            self.known.update(new)
            self.con.executemany("INSERT INTO grade_map VALUES (?, ?)", [(g, grades.normalise(g)) for g in new])


def _typed(given, derived_id: bool):
    """The query typing and checking the rows of `raw` (one file): its columns plus keys, times, reason.

    `given` are the passkit columns the file has: rules about other columns do not apply to it.
    """
    reasons = " ".join(f"WHEN {rule} THEN '{reason}'" for column, rule, reason in REJECT_RULES
                       if rule and (column in given or column == "start_time"))
    # No pass id: a stable key from the row's content (identical rows get one key, numbered later)
    content = ", ".join(f"coalesce(r.{c}, chr(0))" for c in RAW_COLUMNS)
    columns = f"r.* REPLACE ('row-' || substr(md5(concat_ws(chr(31), {content})), 1, 16) AS pass_id)" \
        if derived_id else "r.*"
    duration = "duration_seconds(r.duration)" if "duration" in given else "CAST(NULL AS DOUBLE)"
    # Most times are plain 'YYYY-MM-DDTHH:MM:SS' wall-clock times on a day without a clock change:
    # those are already school-local and their difference is real minutes, so only the others go
    # through the (slow) time-zone conversion (to the connection's TimeZone). Both ways give the same values.
    query = f"""
        WITH plain AS (
            SELECT {columns}, coalesce(r.school, '') AS school_key, gm.grade AS grade_norm,
                   (CAST(_file AS BIGINT) << 40) + _line AS row_key,  -- file and line in one integer
                   try_strptime(r.start_time, '{PLAIN_TIME}') AS start_plain,
                   try_strptime(r.end_time, '{PLAIN_TIME}') AS end_plain,
                   {duration} AS duration_seconds
            FROM raw r LEFT JOIN grade_map gm ON gm.spelling = r.grade),
        easy AS (
            SELECT p.*, start_plain IS NOT NULL AND sc.day IS NULL AS start_easy,
                   end_plain IS NOT NULL AND ec.day IS NULL AS end_easy
            FROM plain p LEFT JOIN clock_changes sc ON sc.day = CAST(p.start_plain AS DATE)
            LEFT JOIN clock_changes ec ON ec.day = CAST(p.end_plain AS DATE)),
        typed AS (
            SELECT * EXCLUDE (start_plain, end_plain, start_easy, end_easy),
                   CASE WHEN start_easy THEN start_plain
                        ELSE CAST(try_cast(start_time AS TIMESTAMPTZ) AS TIMESTAMP) END AS start_local,
                   CASE WHEN end_easy THEN end_plain
                        ELSE CAST(try_cast(end_time AS TIMESTAMPTZ) AS TIMESTAMP) END AS end_local,
                   -- durations from instants, so a pass across a clock change counts real minutes
                   CASE WHEN start_easy AND end_easy AND abs(date_diff('day', start_plain, end_plain)) <= 1
                        THEN epoch(end_plain) - epoch(start_plain)
                        ELSE epoch(try_cast(end_time AS TIMESTAMPTZ)) - epoch(try_cast(start_time AS TIMESTAMPTZ))
                   END AS seconds,
                   -- a date alone ('2026-01-05', '3/04') is not midnight: the time is unknown
                   CASE WHEN start_plain IS NOT NULL THEN false
                        ELSE coalesce(regexp_full_match(start_time, '{DATE_ONLY}'), false) END AS start_date_only
            FROM easy)"""
    if "duration" in given:  # no end time but a duration: the end is the start plus the duration
        query += """,
        timed AS (
            SELECT * REPLACE (
                CASE WHEN end_time IS NULL AND duration_seconds IS NOT NULL
                     THEN start_local + to_microseconds(CAST(round(duration_seconds * 1e6) AS BIGINT))
                     ELSE end_local END AS end_local,
                CASE WHEN end_time IS NULL THEN duration_seconds ELSE seconds END AS seconds)
            FROM typed)
        SELECT * EXCLUDE (start_date_only, duration_seconds), CASE """ + reasons + """ ELSE NULL END AS reason
        FROM timed"""
        return query
    return query + f"""
        SELECT * EXCLUDE (start_date_only, duration_seconds), CASE {reasons} ELSE NULL END AS reason FROM typed"""


def _reject_implausible(con):
    """Start dates more than IMPLAUSIBLE_DAYS outside the middle 90% of the others ('2062' among a
    school year) are typos: rejected, so that no range or preset stretches to them."""
    counts = con.execute("SELECT CAST(start_local AS DATE) AS d, count(*) FROM checked WHERE reason IS NULL "
                         "GROUP BY d ORDER BY d").fetchall()
    total = sum(n for _, n in counts)
    if not total:
        return
    low = high = None
    seen = 0
    for day, n in counts:  # the 5th and 95th percentiles, from the per-day counts
        seen += n
        low = low or (day if seen >= total * 0.05 else None)
        if seen >= total * 0.95:
            high = day
            break
    first, last = low - dt.timedelta(IMPLAUSIBLE_DAYS), high + dt.timedelta(IMPLAUSIBLE_DAYS)
    if counts[0][0] < first or counts[-1][0] > last:
        con.execute("UPDATE checked SET reason = ? WHERE reason IS NULL AND "
                    "(CAST(start_local AS DATE) < ? OR CAST(start_local AS DATE) > ?)", [IMPLAUSIBLE, first, last])


def _find_duplicates_and_students(con, derived_ids, drop_identical) -> bool:
    """Tables `duplicates`, `identical` (rows equal in every column, in the files `derived_ids` whose
    pass ids are derived), `kept` and `students`. Returns whether any rows are identical."""
    files = ", ".join(map(str, derived_ids))  # file indices
    derived, own = (f"_file IN ({files})", f"_file NOT IN ({files})") if derived_ids else ("false", "true")
    # The first copy (by file, then line) of a pass_id in a school is kept. Hashing the keys finds
    # the few candidates; the exact comparison runs on those alone, and the later steps drop
    # duplicates by their integer row_key.
    con.execute(f"""
        CREATE TEMP TABLE duplicates AS
        SELECT row_key, first_key FROM (
            SELECT row_key, min(row_key) OVER (PARTITION BY school_key, pass_id) AS first_key FROM checked
            WHERE reason IS NULL AND {own} AND hash(school_key, pass_id) IN (
                SELECT h FROM (SELECT hash(school_key, pass_id) AS h FROM checked WHERE reason IS NULL AND {own})
                GROUP BY h HAVING count(*) > 1))
        WHERE row_key <> first_key""")
    # Derived keys are equal only for rows equal in every column: possibly the same pass exported
    # twice, possibly two passes. Kept (numbered -2, -3...) unless --drop-identical.
    con.execute("CREATE TEMP TABLE identical (row_key BIGINT, first_key BIGINT, n BIGINT)")
    if derived_ids:
        con.execute(f"""
        INSERT INTO identical
        SELECT row_key, first_key, n FROM (
            SELECT row_key, min(row_key) OVER w AS first_key, row_number() OVER (w ORDER BY row_key) AS n
            FROM checked WHERE reason IS NULL AND {derived} AND hash(school_key, pass_id) IN (
                SELECT h FROM (SELECT hash(school_key, pass_id) AS h FROM checked WHERE reason IS NULL AND {derived})
                GROUP BY h HAVING count(*) > 1)
            WINDOW w AS (PARTITION BY school_key, pass_id))
        WHERE n > 1""")
    identical = con.execute("SELECT count(*) FROM identical").fetchall()[0][0] > 0
    if identical and not drop_identical:
        con.execute("""
            CREATE TEMP VIEW kept AS
            SELECT c.* REPLACE (CASE WHEN i.n IS NULL THEN c.pass_id ELSE c.pass_id || '-' || i.n END AS pass_id)
            FROM checked c LEFT JOIN identical i USING (row_key)
            WHERE c.reason IS NULL AND c.row_key NOT IN (SELECT row_key FROM duplicates)""")
    else:
        con.execute(f"""
            CREATE TEMP VIEW kept AS
            SELECT * FROM checked WHERE reason IS NULL AND row_key NOT IN (SELECT row_key FROM duplicates)
            {'AND row_key NOT IN (SELECT row_key FROM identical)' if identical else ''}""")
    con.execute("""
        CREATE TEMP TABLE roster_grades AS
        SELECT coalesce(r.school, '') AS school_key, r.student_id,
               max(gm.grade) FILTER (WHERE gm.grade <> 'Unknown') AS grade, max(r.student_name) AS name
        FROM roster r LEFT JOIN grade_map gm ON gm.spelling = r.grade
        WHERE r.student_id IS NOT NULL GROUP BY ALL""")
    # A grade is the student's: from their latest pass that names one, else the roster (a roster
    # row without a school applies to every school), else Unknown. Likewise the name.
    con.execute("""
        CREATE TEMP TABLE students AS
        SELECT CAST(row_number() OVER (ORDER BY s.school_key, s.student_id) - 1 AS INTEGER) AS student_key,
               s.school_key, s.student_id, s.own_grade,
               coalesce(s.own_grade, rs.grade, ra.grade, 'Unknown') AS grade,
               coalesce(s.own_name, rs.name, ra.name, s.student_id) AS name
        FROM (SELECT school_key, student_id,
                     arg_max(grade_norm, start_local) FILTER (grade_norm <> 'Unknown') AS own_grade,
                     arg_max(student_name, start_local) FILTER (student_name IS NOT NULL) AS own_name
              FROM kept GROUP BY ALL) s
        LEFT JOIN roster_grades rs ON rs.school_key = s.school_key AND rs.student_id = s.student_id
        LEFT JOIN (SELECT student_id, max(grade) AS grade, max(name) AS name
                   FROM roster_grades WHERE school_key = '' GROUP BY ALL) ra ON ra.student_id = s.student_id""")
    return identical


def _register_clock_changes(con):
    """`clock_changes`: local days near a change of the UTC offset (where wall-clock minutes lie)."""
    con.execute(f"""
        CREATE TEMP TABLE clock_changes AS
        WITH days AS (
            SELECT CAST(range AS DATE) AS day, epoch(range) - epoch(CAST(range AS TIMESTAMPTZ)) AS utc_offset
            FROM range(TIMESTAMP '{CLOCK_YEARS[0]}-01-01', TIMESTAMP '{CLOCK_YEARS[1]}-01-01', INTERVAL 1 DAY))
        SELECT day FROM (SELECT day, min(utc_offset) OVER w <> max(utc_offset) OVER w AS changes FROM days
                         WINDOW w AS (ORDER BY day ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING))
        WHERE changes""")


def _write(con, out, read, identical, drop_identical, timezone, year_start):
    issuer = "coalesce(k.issuer, '(no issuer)')"  # a file with an issuer column: blank is '(no issuer)'
    if len(read["issuers"]) < len(read["parts"]):  # a file without one: null
        issuer = f"CASE WHEN k._file IN ({', '.join(map(str, read['issuers'])) or 'NULL'}) THEN {issuer} END"
    con.execute(f"""COPY (
        SELECT k.school_key AS school, k.pass_id, k.student_id, s.name AS student_name, s.grade,
               k.origin, k.destination, lower(k.created_by) AS created_by,
               {issuer} AS issuer,
               coalesce(lower(k.kiosk_mode) IN {TRUE_WORDS}, false) AS kiosk_mode,
               lower(k.pass_type) AS pass_type,
               k.start_local AS start_time, k.end_local AS end_time,
               CAST(k.start_local AS DATE) AS date,
               CASE WHEN k.seconds >= 0 THEN k.seconds / 60.0 END AS minutes,
               coalesce(k.seconds < 0, false) AS ended_before_start,
               s.own_grade IS NULL AND s.grade <> 'Unknown' AS grade_from_roster,
               k._file AS source_file, k._line AS source_line, s.student_key
        FROM kept k JOIN students s USING (school_key, student_id)
        ) TO ? (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})""", [str(out / "passes.parquet")])
    # One row per student, which per-student reports join on `student_key` (an integer groups faster)
    con.execute("""COPY (SELECT student_key, school_key AS school, student_id, name AS student_name, grade
                   FROM students ORDER BY student_key) TO ? (FORMAT parquet)""", [str(out / "students.parquet")])
    names = [entry["file"] for entry in read["parts"]]
    con.register("file_names", pa.table({"_file": pa.array(range(len(names)), pa.int32()),
                                         "file": pa.array(names, pa.string())}))
    con.register("read_rejects", pa.table({"file": pa.array([r[0] for r in read["rejected"]], pa.string()),
                                           "line": pa.array([r[1] for r in read["rejected"]], pa.int64()),
                                           "reason": pa.array([r[2] for r in read["rejected"]], pa.string())}))
    raw_columns = ", ".join(f"r.{c}" for c in RAW_COLUMNS)  # the text as read
    dropped_identical = f"""
            UNION ALL
            SELECT CAST(i.row_key >> 40 AS INTEGER), i.row_key & {LINE_BITS}, 'identical to ' || f1.file
                   || ' line ' || (i.first_key & {LINE_BITS}) || ' (--drop-identical)'
            FROM identical i JOIN file_names f1 ON f1._file = i.first_key >> 40""" if drop_identical else ""
    con.execute(f"""COPY (
        WITH dropped AS (
            SELECT _file, _line, reason FROM checked WHERE reason IS NOT NULL
            UNION ALL
            SELECT CAST(d.row_key >> 40 AS INTEGER), d.row_key & {LINE_BITS}, 'duplicate pass_id (first seen in '
                   || f1.file || ' line ' || (d.first_key & {LINE_BITS}) || ')'
            FROM duplicates d JOIN file_names f1 ON f1._file = d.first_key >> 40 {dropped_identical})
        SELECT * FROM (
            SELECT f.file, r._line AS line, d.reason, {raw_columns}
            FROM dropped d JOIN checked r USING (_file, _line) JOIN file_names f USING (_file)
            UNION ALL
            SELECT file, line, reason, {", ".join("NULL" for _ in RAW_COLUMNS)} FROM read_rejects)
        ORDER BY file, line) TO ? (FORMAT parquet)""", [str(out / "rejected.parquet")])
    if identical:
        con.execute(f"""COPY (
            SELECT f.file, i.row_key & {LINE_BITS} AS line, f1.file AS first_file,
                   i.first_key & {LINE_BITS} AS first_line
            FROM identical i JOIN file_names f ON f._file = i.row_key >> 40
            JOIN file_names f1 ON f1._file = i.first_key >> 40 ORDER BY i.row_key) TO ? (FORMAT parquet)""",
                    [str(out / "identical.parquet")])
    return _summary(con, out, read, identical, drop_identical, timezone, year_start)


def _summary(con, out, read, identical, drop_identical, timezone, year_start):
    passes, rejected = str(out / "passes.parquet"), str(out / "rejected.parquet")
    kept, from_roster, unknown, before, open_, first, last = con.execute("""
        SELECT count(*), count(*) FILTER (grade_from_roster), count(*) FILTER (grade = 'Unknown'),
               count(*) FILTER (ended_before_start), count(*) FILTER (end_time IS NULL),
               CAST(min(date) AS VARCHAR), CAST(max(date) AS VARCHAR)
        FROM read_parquet(?)""", [passes]).fetchall()[0]
    by_reason = dict(con.execute("""
        SELECT CASE WHEN reason LIKE 'duplicate pass_id%' THEN 'duplicate pass_id'
                    WHEN reason LIKE 'identical to %' THEN 'identical' ELSE reason END AS r, count(*)
        FROM read_parquet(?) GROUP BY r ORDER BY r""", [rejected]).fetchall())
    duplicates = by_reason.pop("duplicate pass_id", 0) + by_reason.pop("identical", 0)
    unrecognised = con.execute("""
        SELECT count(*) FROM checked WHERE grade_norm = 'Unknown' AND lower(grade) <> 'unknown'""").fetchall()[0][0]
    parts = read["parts"]
    rows_read = sum(entry["rows"] for entry in parts)
    summary = {
        "timezone": timezone,
        "files": parts,
        "rows_read": rows_read,
        "passes_kept": kept,
        "duplicates_dropped": duplicates,
        "rows_rejected": sum(by_reason.values()),
        "rejected_by_reason": by_reason,
        "blank_rows_skipped": sum(entry.get("blank_rows", 0) for entry in parts),
        "columns_missing": sorted(set(PASS_COLUMNS) - read["provided"]),
        "possible_duplicates": _identical_count(con, identical),
        "possible_duplicates_dropped": bool(drop_identical and identical),
        "rows_repaired_from_windows_1252": sum(entry.get("rows_repaired_from_windows_1252", 0) for entry in parts),
        "control_character_rows": sum(entry.get("control_character_rows", 0) for entry in parts),
        "grades_filled_from_roster": from_roster,
        "passes_with_unknown_grade": unknown,
        "grade_values_not_recognised": unrecognised,
        "passes_ended_before_start": before,
        "passes_never_ended": open_,
        "first_date": first,
        "last_date": last,
    }
    year_less = [entry for entry in parts if entry.get("year_less_rows")]
    if year_less:
        summary["year_less_times"] = {
            "rows": sum(entry["year_less_rows"] for entry in year_less),
            "school_year_starts": sorted({entry["school_year_starts"] for entry in year_less}),
            "chosen_by": "--year-starts or the requested range" if year_start else
                         "each export's modification time (no range or --year-starts given): the latest school "
                         "year in which none of its passes falls after it"}
    if kept + duplicates + summary["rows_rejected"] != rows_read:  # the promise every report rests on
        raise AssertionError(f"rows do not add up: {summary}")
    return summary


def _other_files(files) -> list:
    """[file, what passkit does with it] for the data folder's files that are not passes."""
    read = [[str(Path(files[role]).relative_to(files["root"])), f"read as {role}"]
            for role in READ_SIDE_FILES if files.get(role)]
    if files.get("roster") and files.get("users"):
        read = [entry if entry[1] != "read as users" else [entry[0], "not read: roster.csv gives the grades"]
                for entry in read]
    return read + [[name, f"not read: {why}"] for name, why in files.get("ignored", ())]


def _identical_count(con, identical) -> int:
    return con.execute("SELECT count(*) FROM identical").fetchall()[0][0] if identical else 0


def _with_dedicated_kiosks(con, staff):
    """staff.csv plus `dedicated_kiosk`: every pass naming this issuer came from a kiosk with its own
    login. Such a kiosk is not a staff member, so Staff Usage does not list it as one with no passes."""
    staff.create_view("listed_staff")
    return con.sql(f"""
        SELECT s.*, coalesce(k.dedicated, false) AS dedicated_kiosk
        FROM listed_staff s LEFT JOIN (
            SELECT school_key AS school, issuer, bool_and(lower(created_by) = 'kiosk'
                   AND NOT coalesce(lower(kiosk_mode) IN {TRUE_WORDS}, false)) AS dedicated
            FROM kept WHERE issuer IS NOT NULL GROUP BY ALL) k ON k.school = s.school AND k.issuer = s.issuer
        ORDER BY s.school, s.issuer""")


def _side_table(con, path, spec, column_map):
    """rooms.csv / staff.csv as a DuckDB relation with every listed column.

    A row without a school applies to every school in the passes (as a roster row does), unless
    the same school lists that room or person itself; the first row of a name wins.
    """
    required, optional = spec
    names = ("school", *required, *(c for c in optional if c != "school"))
    if path:
        table, _ = read_table(path, required, optional, column_map.rename if column_map else {})
    else:
        table = pa.table({LINE: pa.array([], pa.int64())})
    for name in names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    con.register("side", table.select([*names, LINE]))
    casts = {name: f"TRY_CAST({name} AS INTEGER)" for name in ("max_passes_from", "max_passes_to")}
    casts["max_minutes"] = "TRY_CAST(max_minutes AS DOUBLE)"
    select = ", ".join(casts.get(n, n) + f" AS {n}" if n != "school" else "coalesce(side.school, s.school) AS school"
                       for n in names)
    key = ", ".join(("school", required[0]))
    return con.sql(f"""
        WITH schools AS (SELECT DISTINCT school_key AS school FROM students
                         UNION ALL SELECT '' WHERE NOT EXISTS (SELECT 1 FROM students))
        SELECT DISTINCT ON ({key}) {select} FROM side
        LEFT JOIN schools s ON side.school IS NULL
        WHERE {required[0]} IS NOT NULL
        ORDER BY {key}, side.school IS NULL, {LINE}""")
