"""Parse and validate a folder of exports into the typed Parquet cache, once.

Every input row ends in exactly one place: a kept pass, a dropped duplicate, or a rejected row
with a reason a person can read. `summary.json` counts them, and the counts add up.
"""

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from . import grades, keepapart
from .columns import ColumnMap
from .readers import LINE, read_table
from .schema import (CREATED_BY, FALSE_WORDS, ONEROSTER_USERS, PASS_COLUMNS, PASS_OPTIONAL, PASS_REQUIRED,
                     PASS_TYPES, ROOMS, ROSTER, STAFF, TRUE_WORDS)

FILE = "_file"
LINE_BITS = (1 << 40) - 1  # a row_key holds the file's index above its line number
PLAIN_TIME = "%Y-%m-%dT%H:%M:%S"  # the usual export time: school-local, no offset
CLOCK_YEARS = (1900, 2200)  # the span of years whose clock changes are looked up
# Small row groups let a date range skip most of a school's year. The cache keeps roughly the exports'
# order (files, then lines), which is by school and time for the exports seen: sorting 8.6M rows on
# top cost a district year 4-5 s and 2.7 GB more memory, and made the reports no faster.
ROW_GROUP_ROWS = 20_480
MALFORMED = "the row has the wrong number of fields"

# Checked in this order; a row is rejected for the first rule it breaks.
REJECT_RULES = (
    ("pass_id IS NULL", "missing pass_id"),
    ("student_id IS NULL", "missing student_id"),
    ("origin IS NULL", "missing origin"),
    ("destination IS NULL", "missing destination"),
    ("start_time IS NULL", "missing start_time"),
    ("start_local IS NULL", "start_time is not an ISO 8601 date and time"),
    ("end_time IS NOT NULL AND end_local IS NULL", "end_time is not an ISO 8601 date and time"),
    (f"created_by IS NULL OR lower(created_by) NOT IN {CREATED_BY}", "created_by is not student, teacher or kiosk"),
    (f"pass_type IS NULL OR lower(pass_type) NOT IN {PASS_TYPES}", "pass_type is not now or scheduled"),
    (f"kiosk_mode IS NOT NULL AND lower(kiosk_mode) NOT IN {TRUE_WORDS + FALSE_WORDS}",
     "kiosk_mode is not true or false"),
)


def build(files: dict, timezone: str, column_map: ColumnMap, out: Path, progress=None, replace=False) -> dict:
    """Write passes/students/rejected/rooms/staff Parquet files and summary.json into `out`; return the summary.

    `files` maps a role ('passes', 'roster', 'users', 'rooms', 'staff') to paths; names in the
    summary and in rejected rows are relative to the data folder, given as files['root'].
    """
    root = files["root"]
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{timezone}'")
    con.execute("SET enable_progress_bar = false")  # passkit.load shows its own
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=out.parent))
    # All rows live in DuckDB, which keeps to its memory limit by spilling to the cache's disk.
    con.execute(f"SET temp_directory = '{tmp / 'spill'}'")
    con.execute(f"SET memory_limit = '{_memory_limit()}MB'")
    try:
        con.register("roster", _read_roster(files, column_map))
        _register_clock_changes(con, timezone)
        malformed, per_file = _read_passes(con, files["passes"], root, column_map, timezone, progress)
        _find_duplicates_and_students(con)
        summary = _write(con, tmp, malformed, per_file, timezone)
        _side_table(con, files.get("rooms"), ROOMS, column_map).write_parquet(str(tmp / "rooms.parquet"))
        _with_dedicated_kiosks(con, _side_table(con, files.get("staff"), STAFF, column_map)).write_parquet(
            str(tmp / "staff.parquet"))
        keepapart.write(files.get("keep_apart"), column_map, tmp)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        _publish(tmp, out, replace)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


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


def _read_passes(con, paths, root, column_map, timezone, progress):
    """Type and check every passes file into the DuckDB table `checked`, one file at a time."""
    grade_map = GradeMap(con)
    malformed, per_file = [], []
    for index, (path, (table, bad_lines)) in enumerate(zip(paths, _read_ahead(paths, column_map))):
        table = column_map.apply_values(table)
        for name in ("school", *PASS_COLUMNS):
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        table = table.append_column(FILE, pa.repeat(pa.scalar(index, pa.int32()), table.num_rows))
        grade_map.add(table.column("grade"))
        con.register("raw", table.select(["school", *PASS_COLUMNS, FILE, LINE]))
        con.execute(("CREATE TEMP TABLE checked AS " if index == 0 else "INSERT INTO checked ") + _typed(timezone))
        con.unregister("raw")
        name = str(Path(path).relative_to(root))
        malformed += [(name, line) for line in bad_lines]
        per_file.append({"file": name, "rows": table.num_rows + len(bad_lines)})
        if progress:
            progress(name)
    return malformed, per_file


def _read_ahead(paths, column_map):
    """The parsed files in order, reading the next one while the last is stored (never more at once)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for path in paths:
            following = pool.submit(read_table, path, PASS_REQUIRED, PASS_OPTIONAL, column_map.rename)
            if pending:
                yield pending.result()
            pending = following
        if pending:
            yield pending.result()


def _read_roster(files, column_map):
    """Students' grades and names from roster.csv, or from a OneRoster users.csv."""
    empty = pa.table({"school": pa.array([], pa.string()), "student_id": pa.array([], pa.string()),
                      "grade": pa.array([], pa.string()), "student_name": pa.array([], pa.string())})
    if files.get("roster"):
        table, _ = read_table(files["roster"], *ROSTER, column_map.rename)
    elif files.get("users"):
        table = _oneroster_students(files["users"], column_map)
    else:
        return empty
    columns = {name: table.column(name) if name in table.column_names else pa.nulls(table.num_rows, pa.string())
               for name in empty.column_names}
    return pa.table(columns)


def _oneroster_students(path, column_map):
    table, _ = read_table(path, *ONEROSTER_USERS, column_map.rename)
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


def _typed(timezone):
    """The query typing and checking the rows of `raw` (one file): its columns plus keys, times, reason."""
    reasons = " ".join(f"WHEN {rule} THEN '{reason}'" for rule, reason in REJECT_RULES)
    # Most times are plain 'YYYY-MM-DDTHH:MM:SS' wall-clock times on a day without a clock change:
    # those are already school-local and their difference is real minutes, so only the others go
    # through the (slow) time-zone conversion. Both ways give the same values.
    return f"""
        WITH plain AS (
            SELECT r.*, coalesce(r.school, '') AS school_key, gm.grade AS grade_norm,
                   (CAST(_file AS BIGINT) << 40) + _line AS row_key,  -- file and line in one integer
                   try_strptime(r.start_time, '{PLAIN_TIME}') AS start_plain,
                   try_strptime(r.end_time, '{PLAIN_TIME}') AS end_plain
            FROM raw r LEFT JOIN grade_map gm ON gm.spelling = r.grade),
        easy AS (
            SELECT p.*, start_plain IS NOT NULL AND sc.day IS NULL AS start_easy,
                   end_plain IS NOT NULL AND ec.day IS NULL AS end_easy
            FROM plain p LEFT JOIN clock_changes sc ON sc.day = CAST(p.start_plain AS DATE)
            LEFT JOIN clock_changes ec ON ec.day = CAST(p.end_plain AS DATE)),
        typed AS (
            SELECT * EXCLUDE (start_plain, end_plain, start_easy, end_easy),
                   CASE WHEN start_easy THEN start_plain
                        ELSE timezone('{timezone}', try_cast(start_time AS TIMESTAMPTZ)) END AS start_local,
                   CASE WHEN end_easy THEN end_plain
                        ELSE timezone('{timezone}', try_cast(end_time AS TIMESTAMPTZ)) END AS end_local,
                   -- durations from instants, so a pass across a clock change counts real minutes
                   CASE WHEN start_easy AND end_easy AND abs(date_diff('day', start_plain, end_plain)) <= 1
                        THEN epoch(end_plain) - epoch(start_plain)
                        ELSE epoch(try_cast(end_time AS TIMESTAMPTZ)) - epoch(try_cast(start_time AS TIMESTAMPTZ))
                   END AS seconds
            FROM easy)
        SELECT *, CASE {reasons} ELSE NULL END AS reason FROM typed"""


def _find_duplicates_and_students(con):
    # The first copy (by file, then line) of a pass_id in a school is kept. Hashing the keys finds
    # the few candidates; the exact comparison runs on those alone, and the later steps drop
    # duplicates by their integer row_key.
    con.execute("""
        CREATE TEMP TABLE duplicates AS
        SELECT row_key, first_key FROM (
            SELECT row_key, min(row_key) OVER (PARTITION BY school_key, pass_id) AS first_key FROM checked
            WHERE reason IS NULL AND hash(school_key, pass_id) IN (
                SELECT h FROM (SELECT hash(school_key, pass_id) AS h FROM checked WHERE reason IS NULL)
                GROUP BY h HAVING count(*) > 1))
        WHERE row_key <> first_key""")
    con.execute("""
        CREATE TEMP VIEW kept AS
        SELECT * FROM checked WHERE reason IS NULL AND row_key NOT IN (SELECT row_key FROM duplicates)""")
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


def _register_clock_changes(con, timezone):
    """`clock_changes`: local days near a change of the UTC offset (where wall-clock minutes lie)."""
    con.execute(f"""
        CREATE TEMP TABLE clock_changes AS
        WITH days AS (
            SELECT CAST(range AS DATE) AS day,
                   epoch(range) - epoch(timezone('{timezone}', range)) AS utc_offset
            FROM range(TIMESTAMP '{CLOCK_YEARS[0]}-01-01', TIMESTAMP '{CLOCK_YEARS[1]}-01-01', INTERVAL 1 DAY))
        SELECT day FROM (SELECT day, min(utc_offset) OVER w <> max(utc_offset) OVER w AS changes FROM days
                         WINDOW w AS (ORDER BY day ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING))
        WHERE changes""")


def _write(con, out, malformed, per_file, timezone):
    con.execute(f"""
        COPY (
        SELECT k.school_key AS school, k.pass_id, k.student_id, s.name AS student_name, s.grade,
               k.origin, k.destination, lower(k.created_by) AS created_by,
               coalesce(k.issuer, '(no issuer)') AS issuer,
               coalesce(lower(k.kiosk_mode) IN {TRUE_WORDS}, false) AS kiosk_mode,
               lower(k.pass_type) AS pass_type,
               k.start_local AS start_time, k.end_local AS end_time,
               CAST(k.start_local AS DATE) AS date,
               CASE WHEN k.seconds >= 0 THEN k.seconds / 60.0 END AS minutes,
               coalesce(k.seconds < 0, false) AS ended_before_start,
               s.own_grade IS NULL AND s.grade <> 'Unknown' AS grade_from_roster,
               k._file AS source_file, k._line AS source_line, s.student_key
        FROM kept k JOIN students s USING (school_key, student_id)
        ) TO '{out / "passes.parquet"}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})""")
    # One row per student, which per-student reports join on `student_key` (an integer groups faster)
    con.execute(f"""
        COPY (SELECT student_key, school_key AS school, student_id, name AS student_name, grade
              FROM students ORDER BY student_key) TO '{out / "students.parquet"}' (FORMAT parquet)""")
    names = [entry["file"] for entry in per_file]
    con.register("file_names", pa.table({"_file": pa.array(range(len(names)), pa.int32()),
                                         "file": pa.array(names, pa.string())}))
    con.register("malformed", pa.table({"file": pa.array([m[0] for m in malformed], pa.string()),
                                        "line": pa.array([m[1] for m in malformed], pa.int64())}))
    raw_columns = ", ".join(f"r.{c}" for c in ("school", *PASS_COLUMNS))  # the text as read
    con.execute(f"""
        COPY (
        WITH dropped AS (
            SELECT _file, _line, reason FROM checked WHERE reason IS NOT NULL
            UNION ALL
            SELECT CAST(d.row_key >> 40 AS INTEGER), d.row_key & {LINE_BITS}, 'duplicate pass_id (first seen in '
                   || f1.file || ' line ' || (d.first_key & {LINE_BITS}) || ')'
            FROM duplicates d JOIN file_names f1 ON f1._file = d.first_key >> 40)
        SELECT * FROM (
            SELECT f.file, r._line AS line, d.reason, {raw_columns}
            FROM dropped d JOIN checked r USING (_file, _line) JOIN file_names f USING (_file)
            UNION ALL
            SELECT file, line, '{MALFORMED}', {", ".join("NULL" for _ in ("school", *PASS_COLUMNS))}
            FROM malformed)
        ORDER BY file, line
        ) TO '{out / "rejected.parquet"}' (FORMAT parquet)""")
    return _summary(con, out, per_file, timezone)


def _summary(con, out, per_file, timezone):
    passes, rejected = f"read_parquet('{out / 'passes.parquet'}')", f"read_parquet('{out / 'rejected.parquet'}')"
    kept, from_roster, unknown, before, open_, first, last = con.execute(f"""
        SELECT count(*), count(*) FILTER (grade_from_roster), count(*) FILTER (grade = 'Unknown'),
               count(*) FILTER (ended_before_start), count(*) FILTER (end_time IS NULL),
               CAST(min(date) AS VARCHAR), CAST(max(date) AS VARCHAR)
        FROM {passes}""").fetchall()[0]
    by_reason = dict(con.execute(f"""
        SELECT CASE WHEN reason LIKE 'duplicate pass_id%' THEN 'duplicate pass_id' ELSE reason END AS r, count(*)
        FROM {rejected} GROUP BY r ORDER BY r""").fetchall())
    duplicates = by_reason.pop("duplicate pass_id", 0)
    unrecognised = con.execute("""
        SELECT count(*) FROM checked WHERE grade_norm = 'Unknown' AND lower(grade) <> 'unknown'""").fetchall()[0][0]
    rows_read = sum(entry["rows"] for entry in per_file)
    summary = {
        "timezone": timezone,
        "files": per_file,
        "rows_read": rows_read,
        "passes_kept": kept,
        "duplicates_dropped": duplicates,
        "rows_rejected": sum(by_reason.values()),
        "rejected_by_reason": by_reason,
        "grades_filled_from_roster": from_roster,
        "passes_with_unknown_grade": unknown,
        "grade_values_not_recognised": unrecognised,
        "passes_ended_before_start": before,
        "passes_never_ended": open_,
        "first_date": first,
        "last_date": last,
    }
    if kept + duplicates + summary["rows_rejected"] != rows_read:  # the promise every report rests on
        raise AssertionError(f"rows do not add up: {summary}")
    return summary


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
        table, _ = read_table(path, required, optional, column_map.rename)
    else:
        table = pa.table({LINE: pa.array([], pa.int64())})
    for name in names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    con.register("side", table.select([*names, LINE]))
    casts = {name: f"TRY_CAST({name} AS INTEGER)" for name in ("max_passes_from", "max_passes_to")}
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
