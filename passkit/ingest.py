"""Parse and validate a folder of exports into the typed Parquet cache, once.

Every input row ends in exactly one place: a kept pass, a dropped duplicate, or a rejected row
with a reason a person can read. `summary.json` counts them, and the counts add up.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from . import grades
from .columns import ColumnMap
from .errors import PasskitError
from .readers import LINE, read_table
from .schema import (CREATED_BY, FALSE_WORDS, ONEROSTER_USERS, PASS_COLUMNS, PASS_OPTIONAL, PASS_REQUIRED,
                     PASS_TYPES, ROOMS, ROSTER, STAFF, TRUE_WORDS)

FILE = "_file"
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


def build(files: dict, timezone: str, column_map: ColumnMap, out: Path, progress=None) -> dict:
    """Write passes/rejected/rooms/staff Parquet files and summary.json into `out`; return the summary.

    `files` maps a role ('passes', 'roster', 'users', 'rooms', 'staff') to paths; names in the
    summary and in rejected rows are relative to the data folder, given as files['root'].
    """
    root = files["root"]
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{timezone}'")
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=out.parent))
    try:
        raw, malformed, per_file = _read_passes(files["passes"], root, column_map, progress)
        con.register("raw", raw)
        con.register("roster", _read_roster(files, column_map))
        _register_grade_map(con)
        _check(con, timezone)
        summary = _write(con, tmp, malformed, per_file, timezone)
        _side_table(con, files.get("rooms"), ROOMS, column_map).write_parquet(str(tmp / "rooms.parquet"))
        _side_table(con, files.get("staff"), STAFF, column_map).write_parquet(str(tmp / "staff.parquet"))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)  # a cache folder is complete or absent, never half-written
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _read_passes(paths, root, column_map, progress):
    tables, malformed, per_file = [], [], []
    for index, path in enumerate(paths):
        table, bad_lines = read_table(path, PASS_REQUIRED, PASS_OPTIONAL, column_map.rename)
        table = column_map.apply_values(table)
        for name in ("school", *PASS_COLUMNS):
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        table = table.append_column(FILE, pa.array([index] * table.num_rows, pa.int32()))
        tables.append(table.select(["school", *PASS_COLUMNS, FILE, LINE]))
        name = str(Path(path).relative_to(root))
        malformed += [(name, line) for line in bad_lines]
        per_file.append({"file": name, "rows": table.num_rows + len(bad_lines)})
        if progress:
            progress(name)
    return pa.concat_tables(tables), malformed, per_file


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


def _register_grade_map(con):
    """Normalise each distinct grade spelling once, in Python, and join the result."""
    spellings = sorted(row[0] for row in con.execute(
        "SELECT DISTINCT grade FROM raw WHERE grade IS NOT NULL "
        "UNION SELECT DISTINCT grade FROM roster WHERE grade IS NOT NULL").fetchall())
    con.register("grade_map", pa.table({"spelling": pa.array(spellings, pa.string()),
                                        "grade": pa.array(map(grades.normalise, spellings), pa.string())}))


def _check(con, timezone):
    """Type every row, give each rejected row its first broken rule, mark duplicates."""
    reasons = " ".join(f"WHEN {rule} THEN '{reason}'" for rule, reason in REJECT_RULES)
    con.execute(f"""
        CREATE TEMP TABLE typed AS
        SELECT r.*, coalesce(r.school, '') AS school_key,
               try_cast(r.start_time AS TIMESTAMPTZ) AS start_instant,
               try_cast(r.end_time AS TIMESTAMPTZ) AS end_instant,
               timezone('{timezone}', start_instant) AS start_local,
               timezone('{timezone}', end_instant) AS end_local,
               gm.grade AS grade_norm
        FROM raw r LEFT JOIN grade_map gm ON gm.spelling = r.grade""")
    con.execute(f"""
        CREATE TEMP TABLE checked AS
        SELECT *, CASE {reasons} ELSE NULL END AS reason FROM typed""")
    con.execute("""
        CREATE TEMP TABLE ranked AS
        SELECT *,
               row_number() OVER w AS copy,
               first_value(_file) OVER w AS first_file, first_value(_line) OVER w AS first_line
        FROM checked WHERE reason IS NULL
        WINDOW w AS (PARTITION BY school_key, pass_id ORDER BY _file, _line)""")
    con.execute("""
        CREATE TEMP TABLE roster_grades AS
        SELECT coalesce(r.school, '') AS school_key, r.student_id,
               max(gm.grade) FILTER (WHERE gm.grade <> 'Unknown') AS grade, max(r.student_name) AS name
        FROM roster r LEFT JOIN grade_map gm ON gm.spelling = r.grade
        WHERE r.student_id IS NOT NULL GROUP BY ALL""")
    # A grade is the student's: from their latest pass that names one, else the roster (a roster
    # without a school column applies to every school), else Unknown. Likewise the name.
    con.execute("""
        CREATE TEMP TABLE students AS
        SELECT s.school_key, s.student_id, s.own_grade,
               coalesce(s.own_grade, rs.grade, ra.grade, 'Unknown') AS grade,
               coalesce(s.own_name, rs.name, ra.name, s.student_id) AS name
        FROM (SELECT school_key, student_id,
                     arg_max(grade_norm, start_local) FILTER (grade_norm <> 'Unknown') AS own_grade,
                     arg_max(student_name, start_local) FILTER (student_name IS NOT NULL) AS own_name
              FROM ranked WHERE copy = 1 GROUP BY ALL) s
        LEFT JOIN roster_grades rs ON rs.school_key = s.school_key AND rs.student_id = s.student_id
        LEFT JOIN (SELECT student_id, max(grade) AS grade, max(name) AS name
                   FROM roster_grades WHERE school_key = '' GROUP BY ALL) ra ON ra.student_id = s.student_id""")


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
               -- durations from instants, so a pass across a clock change counts real minutes
               CASE WHEN k.end_instant >= k.start_instant
                    THEN (epoch(k.end_instant) - epoch(k.start_instant)) / 60.0 END AS minutes,
               coalesce(k.end_instant < k.start_instant, false) AS ended_before_start,
               coalesce(k.grade_norm, 'Unknown') = 'Unknown' AND s.own_grade IS NULL
                   AND s.grade <> 'Unknown' AS grade_from_roster,
               k._file AS source_file, k._line AS source_line
        FROM ranked k JOIN students s USING (school_key, student_id)
        WHERE k.copy = 1
        ORDER BY school, start_time, pass_id
        ) TO '{out / "passes.parquet"}' (FORMAT parquet, COMPRESSION zstd)""")
    names = [entry["file"] for entry in per_file]
    con.register("file_names", pa.table({"_file": pa.array(range(len(names)), pa.int32()),
                                         "file": pa.array(names, pa.string())}))
    con.register("malformed", pa.table({"file": pa.array([m[0] for m in malformed], pa.string()),
                                        "line": pa.array([m[1] for m in malformed], pa.int64())}))
    raw_columns = ", ".join(f"c.{c}" for c in ("school", *PASS_COLUMNS))
    con.execute(f"""
        COPY (
        SELECT * FROM (
            SELECT f.file, c._line AS line, c.reason, {raw_columns}
            FROM checked c JOIN file_names f USING (_file) WHERE c.reason IS NOT NULL
            UNION ALL
            SELECT f.file, d._line, 'duplicate pass_id (first seen in ' || f1.file || ' line ' || d.first_line || ')',
                   {raw_columns.replace('c.', 'd.')}
            FROM ranked d JOIN file_names f USING (_file) JOIN file_names f1 ON f1._file = d.first_file
            WHERE d.copy > 1
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
        SELECT count(*) FROM raw JOIN grade_map gm ON gm.spelling = raw.grade
        WHERE gm.grade = 'Unknown' AND lower(raw.grade) <> 'unknown'""").fetchall()[0][0]
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


def _side_table(con, path, spec, column_map):
    """rooms.csv / staff.csv as a DuckDB relation with every listed column (blank school = '')."""
    required, optional = spec
    names = ("school", *required, *(c for c in optional if c != "school"))
    if path:
        table, _ = read_table(path, required, optional, column_map.rename)
    else:
        table = pa.table({LINE: pa.array([], pa.int64())})
    for name in names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    con.register("side", table.select(list(names)))
    casts = {"max_passes_from": "TRY_CAST(max_passes_from AS INTEGER)", "max_passes_to": "TRY_CAST(max_passes_to AS INTEGER)"}
    select = ", ".join(casts.get(n, n) + f" AS {n}" if n != "school" else "coalesce(school, '') AS school" for n in names)
    key = ", ".join(("school", required[0]))
    return con.sql(f"SELECT DISTINCT ON ({key}) {select} FROM side WHERE {required[0]} IS NOT NULL ORDER BY {key}")
