"""The benchmark's anchor: the reports written by hand as DuckDB SQL over views on the Parquet cache.

This is what a careful analyst would write without passkit: one query per report, each scanning the
passes view with the date filter and finishing the table in SQL; per student, it counts by the
cache's integer `student_key` and joins the students table, as passkit does. tests/test_district.py checks that
these queries return exactly passkit's tables, so the ratio passkit / SQL compares equal work.
"""

from pathlib import Path

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


# The time-out-of-class reports (passkit.timing), with the default long-pass limit.
LONG_MINUTES = 15.0
MS = "round(minutes * 60000)"  # whole milliseconds, as passkit adds them up
WITH_LIMITS = f"""
    SELECT i.*, coalesce(r.max_minutes, {LONG_MINUTES}) AS limit_minutes
    FROM in_range i LEFT JOIN chosen_rooms r ON r.school = i.school AND r.room = i.destination"""
LENGTHS = f"""count(*) AS passes, count(minutes) AS timed_passes, coalesce(sum({MS}), 0) / 60000 AS minutes_total,
              sum({MS}) / count(minutes) / 60000 AS minutes_mean,
              quantile_cont({MS}, [0.5, 0.9]) AS quantiles,  -- both from one sort
              count(*) FILTER (minutes > limit_minutes) AS long_passes"""
TIME_QUERIES = {
    "pass_length": f"""
        WITH p AS ({WITH_LIMITS}),
        grouped AS (
            SELECT 0 AS part, '' AS school, 'all' AS by, 'all' AS key, 0 AS rank, {LENGTHS} FROM p
            UNION ALL SELECT 1, '', 'grade', grade, {GRADE_RANK}, {LENGTHS} FROM p GROUP BY grade
            UNION ALL SELECT 2, school, 'destination', destination, 0, {LENGTHS} FROM p GROUP BY school, destination
            UNION ALL SELECT 3, school, 'origin', origin, 0, {LENGTHS} FROM p GROUP BY school, origin
            UNION ALL SELECT 4, school, 'issuer', issuer, 0, {LENGTHS} FROM p GROUP BY school, issuer)
        SELECT school, "by", key, passes, timed_passes, minutes_total, minutes_mean,
               round_even(quantiles[1], 0) / 60000 AS minutes_median, round_even(quantiles[2], 0) / 60000 AS minutes_p90,
               long_passes
        FROM grouped ORDER BY part, rank, CASE WHEN part > 1 THEN -passes END, school, key""",
    "long_passes": f"""
        SELECT school, pass_id, student_id, student_name, grade, origin, destination, start_time, end_time, minutes,
               limit_minutes, CASE WHEN minutes IS NULL THEN 'never ended'
                                   ELSE 'over ' || regexp_replace(printf('%.1f', limit_minutes), '\\.0$', '') || ' min'
                              END AS reason
        FROM ({WITH_LIMITS}) WHERE minutes > limit_minutes OR end_time IS NULL
        ORDER BY minutes DESC NULLS LAST, start_time, school, pass_id""",
    "time_of_day": """
        SELECT dayname(start_time) AS weekday, strftime(time_bucket(INTERVAL 15 MINUTE, start_time), '%H:%M') AS slot,
               count(*) AS passes
        FROM in_range GROUP BY ALL ORDER BY min(isodow(start_time)), slot""",
}
# A pass's period: the bells of its school (or the shared ones) and weekday that hold its start minute.
PERIODS = f"""
    WITH starts AS (
        SELECT school, isodow(start_time) AS weekday, hour(start_time) * 60 + minute(start_time) AS minute,
               count(*) AS passes, count(minutes) AS timed, sum({MS}) AS ms
        FROM in_range GROUP BY ALL),
    own AS (SELECT DISTINCT school FROM bells),
    days AS (SELECT school, weekday, min(start) AS first, max("end") AS last FROM bells GROUP BY ALL),
    ranks AS (SELECT period, row_number() OVER (ORDER BY min(start * 1000000 + line)) AS rank FROM bells GROUP BY ALL),
    labelled AS (
        SELECT s.*, coalesce(b.period, CASE WHEN d.first IS NULL THEN 'no bell schedule'
                                            WHEN s.minute < d.first THEN 'before school'
                                            WHEN s.minute >= d.last THEN 'after school'
                                            ELSE 'between periods' END) AS period
        FROM (SELECT *, CASE WHEN school IN (SELECT school FROM own) THEN school ELSE '' END AS bells_of
              FROM starts) s
        LEFT JOIN bells b ON b.school = s.bells_of AND b.weekday = s.weekday AND s.minute >= b.start
                             AND s.minute < b."end"
        LEFT JOIN days d ON d.school = s.bells_of AND d.weekday = s.weekday),
    school_days AS (SELECT school, isodow(date) AS weekday, count(DISTINCT date) AS school_days FROM in_range GROUP BY ALL)
    SELECT school, period, dayname(make_date(2024, 1, weekday)) AS weekday, sum(passes) AS passes, school_days,
           sum(passes) / school_days AS passes_per_day, sum(ms) / nullif(sum(timed), 0) / 60000 AS minutes_mean
    FROM labelled l JOIN school_days USING (school, weekday) LEFT JOIN ranks USING (period)
    GROUP BY school, period, l.weekday, school_days, rank
    ORDER BY school, CASE period WHEN 'before school' THEN -1 WHEN 'between periods' THEN 1000000
                                 WHEN 'after school' THEN 1000001 WHEN 'no bell schedule' THEN 1000002 ELSE rank END,
             l.weekday"""


def connect(cache) -> duckdb.DuckDBPyConnection:
    """A connection with `passes`, `students`, `rooms` and `staff` views on a passkit cache folder."""
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")  # as passkit does
    for name in ("passes", "students", "rooms", "staff", "bells"):
        if name != "bells" or (Path(cache) / "bells.parquet").exists():  # bells.csv is optional
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
    queries = {**QUERIES, **TIME_QUERIES}
    if con.sql("SELECT count(*) FROM duckdb_views() WHERE view_name = 'bells'").fetchall()[0][0]:
        queries["passes_by_period"] = PERIODS
    return {name: _finish(con.sql(query).df()) for name, query in queries.items()}


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """As passkit does: no school column when every row is the one unnamed school."""
    if "school" in table and (table["school"] == "").all():
        table = table.drop(columns="school")
    return table
