"""The benchmark's anchor: the six reports written by hand as DuckDB SQL over views on the Parquet cache.

This is what a careful analyst would write without passkit: one query per report, each scanning the
passes view with the date filter and finishing the table in SQL; per student, it counts by the
cache's integer `student_key` and joins the students table, as passkit does. tests/test_district.py checks that
these queries return exactly passkit's tables, so the ratio passkit / SQL compares equal work.
"""

import duckdb
import pandas as pd

# Grades in school order, as passkit.grades.ORDER (not imported: a cold start loads DuckDB and pandas only).
GRADES = ["PK", "K", *map(str, range(1, 13)), "Unknown"]
GRADE_RANK = "CASE grade " + " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(GRADES)) + f" ELSE {len(GRADES)} END"

# Every query reads `in_range` (and `chosen_rooms`, `chosen_staff`): views re-created for each range and
# choice of schools.
QUERIES = {
    "daily_passes": f"""
        WITH counts AS (SELECT date, grade, count(*) AS passes FROM in_range GROUP BY ALL)
        SELECT d.date, g.grade, coalesce(c.passes, 0) AS passes
        FROM (SELECT DISTINCT date FROM counts) d CROSS JOIN (SELECT DISTINCT grade FROM counts) g
        LEFT JOIN counts c ON c.date = d.date AND c.grade = g.grade
        ORDER BY d.date, {GRADE_RANK.replace('grade', 'g.grade')}""",
    "passes_by_grade": f"""
        SELECT grade, count(*) AS passes FROM in_range GROUP BY grade ORDER BY {GRADE_RANK}""",
    "passes_by_student": """
        WITH counts AS (SELECT student_key, count(*) AS passes FROM in_range GROUP BY ALL),
        per_student AS (SELECT school, student_id, student_name, grade, passes
                        FROM counts JOIN students USING (student_key)),
        fences AS (
            SELECT grade, quantile_cont(passes, 0.75) + 1.5 * (quantile_cont(passes, 0.75)
                   - quantile_cont(passes, 0.25)) AS fence
            FROM per_student GROUP BY grade)
        SELECT s.*, s.passes > f.fence AS outlier
        FROM per_student s JOIN fences f USING (grade)
        ORDER BY passes DESC, school, student_id""",
    "room_usage": """
        WITH origin AS (SELECT school, origin AS room, count(*) AS passes_from FROM in_range GROUP BY ALL),
             destination AS (SELECT school, destination AS room, count(*) AS passes_to FROM in_range GROUP BY ALL),
             listed AS (SELECT school, room, folder FROM chosen_rooms WHERE room IS NOT NULL)
        SELECT school, room, coalesce(l.folder, '') AS folder,
               coalesce(o.passes_from, 0) AS passes_from, coalesce(d.passes_to, 0) AS passes_to
        FROM (SELECT school, room FROM origin UNION SELECT school, room FROM destination
              UNION SELECT school, room FROM listed) r
        LEFT JOIN origin o USING (school, room) LEFT JOIN destination d USING (school, room)
        LEFT JOIN listed l USING (school, room)
        ORDER BY passes_to DESC, passes_from DESC, school, room""",
    "staff_usage": """
        WITH counts AS (
            SELECT school, issuer, count(*) AS total_passes,
                   count(*) FILTER (pass_type = 'now') AS now_passes,
                   count(*) FILTER (pass_type = 'scheduled') AS scheduled_passes
            FROM in_range WHERE created_by = 'teacher' OR (created_by = 'kiosk' AND kiosk_mode)
            GROUP BY ALL),
             listed AS (SELECT school, issuer FROM chosen_staff WHERE issuer IS NOT NULL AND NOT dedicated_kiosk)
        SELECT school, issuer, coalesce(total_passes, 0) AS total_passes, coalesce(now_passes, 0) AS now_passes,
               coalesce(scheduled_passes, 0) AS scheduled_passes
        FROM (SELECT school, issuer FROM counts UNION SELECT school, issuer FROM listed)
        LEFT JOIN counts USING (school, issuer)
        ORDER BY total_passes DESC, school, issuer""",
    "frequent_flyers": """
        SELECT school, student_id, student_name, grade, passes,
               -- whole milliseconds, rounded half up to a tenth of a minute (exact whatever the order)
               floor((coalesce(ms, 0) + 3000) / 6000) / 10 AS minutes_out
        FROM (SELECT student_key, count(*) AS passes, sum(round(minutes * 60000)) AS ms FROM in_range GROUP BY ALL)
        JOIN students USING (student_key)
        ORDER BY passes DESC, minutes_out DESC, student_id, school LIMIT 20""",
}


def connect(cache) -> duckdb.DuckDBPyConnection:
    """A connection with `passes`, `students`, `rooms` and `staff` views on a passkit cache folder."""
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")  # as passkit does
    for name in ("passes", "students", "rooms", "staff"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{cache}/{name}.parquet')")
    return con


def run(con, start, end, schools=None) -> dict[str, pd.DataFrame]:
    """The six tables for an inclusive date range (and optionally some schools), as pandas."""
    school = "TRUE"
    if schools:
        school = "school IN (" + ", ".join("'" + s.replace("'", "''") + "'" for s in schools) + ")"
    for name in ("rooms", "staff"):
        con.execute(f"CREATE OR REPLACE TEMP VIEW chosen_{name} AS SELECT * FROM {name} WHERE {school}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW in_range AS SELECT * FROM passes "
                f"WHERE date BETWEEN DATE '{start}' AND DATE '{end}' AND {school}")
    return {name: _finish(con.sql(query).df()) for name, query in QUERIES.items()}


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """As passkit does: no school column when every row is the one unnamed school."""
    if "school" in table and (table["school"] == "").all():
        table = table.drop(columns="school")
    return table
