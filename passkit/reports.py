"""The six reports, one function each, written once on narwhals (and, by name, every other registered report).

Each takes `data` (a `PassData`, or any frame narwhals accepts with the cache's columns: DuckDB,
pandas, PySpark...), an inclusive date range, and optional grade and school filters, and returns
a pandas DataFrame sorted the way an admin reads it. A pass belongs to the local date it started.

With several schools, the per-room, per-student and per-staff reports carry a `school` column
(the same room name in two schools is two rooms); with one unnamed school they do not.
"""

import narwhals as nw
import numpy as np
import pandas as pd

from . import grades as grade_levels
from .registry import Column, Option, report
from .tables import as_date, collect as _collect, in_range, listed as _listed, passes_frame  # noqa: F401 (API)

FREQUENT_FLYERS = 20
STUDENT_COLUMNS = ["school", "student_id", "student_name", "grade", "passes"]  # how per-student tables begin
GRADE = Column("grade", "Grade", "text")
PASSES = Column("passes", "Passes", "int")
STUDENT = (Column("student_id", "Student ID", "text"), Column("student_name", "Student", "text"), GRADE, PASSES)


@report(
    title="Daily Passes",
    description="Passes per grade on each school day: look for steady use, slides and spikes.",
    columns=[Column("date", "Date", "date"), GRADE, PASSES],
    chart="daily_passes", tables=lambda table: _daily_wide(table), words=lambda table: _daily_words(table),
    guidance="""\
- **Steady lines are the goal.** Similar counts from week to week mean passes are being used the same way across the building.
- **A slow slide over several weeks** usually means staff or students have stopped logging every trip, not that students stay
  in class more. That calls for restating expectations or a short refresher, not for celebrating.
- **A spike** means more students out of class that day. Open Room Usage for the same range to see whether one destination or
  one classroom drove it, and whether that room's pass limits need changing.
- One quarter is a short window: compare the shape with the previous audit before drawing conclusions.""")
def daily_passes(tables) -> pd.DataFrame:
    """Every date with a pass in the range x every grade present, zero-filled."""
    return _daily(tables.once(_date_grade_counts))


@report(
    title="Total Passes by Grade",
    description="Each grade's passes, to compare with your school's usual pattern.",
    columns=[GRADE, PASSES],
    chart="passes_by_grade", words=lambda table: _grade_words(table),
    guidance="""\
- Some grades always use more passes than others (younger students often do). Learn your school's usual pattern and watch for
  a grade that **moves away from it** between audits.
- A grade far above its usual share may need expectations reinforced with its students and teachers; one far below may mean
  its teachers are not using the system.
- If every pass shows as *All students* or *Unknown*, the export has no grade levels: add them through a roster upload.""")
def passes_by_grade(tables) -> pd.DataFrame:
    return _by_grade(tables.once(_date_grade_counts))


@report(
    title="Total Passes by Student",
    description="Every student as a dot; outliers in red, named on hover.",
    columns=[*STUDENT, Column("outlier", "Outlier", "bool")],
    chart="passes_by_student", words=lambda table: _student_words(table), explain=lambda table: outlier_words(table),
    sample=lambda table: _plotted(table), hint="Point at a dot to see who it is; click it for their passes.",
    guidance="""\
- **Single red dots** are individual students to talk with; the Frequent Flyers page lists them with their minutes out of class.
- **A whole grade sitting high, or a cluster of dots** well above the rest, points to a grade-level habit rather than a few
  students, and to grade-level reminders.
- Students with no pass at all are not shown; the table is sorted by passes, most first.""")
def passes_by_student(tables) -> pd.DataFrame:
    """Passes per student with at least one; `outlier` flags passes > Q3 + 1.5 IQR within the grade.

    Exempt students are listed (they are dots on the chart) but never flagged, nor in the quartiles.
    """
    students = tables.once(student_totals)
    return _with_outliers(students, tables.is_exempt(students))


@report(
    title="Room Usage",
    description="The busiest destinations and the rooms students leave most.",
    columns=[Column("room", "Room", "text"), Column("folder", "Room folder", "text"),
             Column("passes_from", "Passes from this room", "int"), Column("passes_to", "Passes to this room", "int")],
    chart="room_usage", kind="table", words=lambda table: _room_words(table),
    hint="Click a room for its busiest times and students.",
    guidance="""\
- **Busiest destinations** are the hot spots: restrooms, lockers, places where students meet up. A lower *max passes to this
  room* limit eases crowding there, and hall supervision can move to where the traffic is.
- **Rooms students leave most, or least,** open a conversation with the teacher about expectations. Compare rooms of the same
  kind (two science labs, two math rooms) to find a healthy level, and set *max passes from this room* where one stands out.
- Rooms with no passes at all are listed at the bottom of the table; the room folder groups them as in the pass system.""")
def room_usage(tables) -> pd.DataFrame:
    """Passes from and to every room: listed in rooms.csv or seen in the range. Every pass counts."""
    return _rooms(tables.once(_trip_counts), _listed(tables.data, "rooms", "room", tables.schools))


@report(
    title="Staff Usage",
    description="Now and scheduled passes created by each teacher and kiosk.",
    columns=[Column("issuer", "Staff member / kiosk", "text"), Column("total_passes", "Total passes", "int"),
             Column("now_passes", "Now passes", "int"), Column("scheduled_passes", "Scheduled passes", "int")],
    chart="staff_usage", kind="table", needs=("created_by", "issuer"), tables=lambda table: _staff_tables(table),
    words=lambda table: _staff_words(table),
    guidance="""\
- **Staff with few or no passes** may not be using the system, which leaves gaps in every other report; they may need a
  refresher, or a kiosk placed where students can see and reach it.
- **Now passes** show who uses their own login or kiosk for students leaving right away; **scheduled passes** show who plans
  passes ahead, which some roles (counselors, office staff) are expected to do.
- Use the numbers to start a conversation about consistent use, not as a ranking of teachers.""")
def staff_usage(tables) -> pd.DataFrame:
    """Passes created by each teacher, or by a kiosk a teacher launched in kiosk mode.

    Student-created passes and kiosks with their own dedicated login are not staff use.
    Staff listed in staff.csv appear even with no passes (dedicated kiosks listed there do not).
    """
    return _staff(_staff_counts(tables.passes), _listed(tables.data, "staff", "issuer", tables.schools))


@report(
    title="Frequent Flyers",
    description="The students with the most passes, with minutes out of class.",
    columns=[*STUDENT, Column("minutes_out", "Minutes out", "minutes")],
    chart="frequent_flyers", options=(Option("top", FREQUENT_FLYERS, "students listed in Frequent Flyers"),),
    singles_out=True, words=lambda table: _flyer_words(table), hint="Click a bar for the student's passes.",
    guidance="""\
- Many passes with **few minutes** (quick restroom trips) reads differently from fewer passes with **many minutes out**.
- Check whether the same names appear audit after audit, and whether they cluster in one grade (see Total Passes by Student).
- These are conversations to have with the student, family or counselor; the list is a starting point, not a verdict.""")
def frequent_flyers(tables) -> pd.DataFrame:
    """The top students by passes, then minutes out of class, then student_id (then school).

    Minutes come from passes that ended, and not before they started. Exempt students are never listed.
    """
    return _flyers(tables.without_exempt(tables.once(student_totals)), tables.options["top"])


def all_reports(data, start, end, grades=None, schools=None, **options) -> dict[str, pd.DataFrame]:
    """Every report the exports allow for one range, by name, in the order of the analytics page."""
    from .tables import Tables

    return Tables(data, start, end, grades, schools, options).all()


def __getattr__(name):
    """`passkit.reports.<name>` for every registered report, also those declared elsewhere (passkit.timing)."""
    from . import registry
    from .errors import PasskitError

    if not name.startswith("_"):
        try:
            return registry.analyst_function(registry.get(name))
        except PasskitError:
            pass
    raise AttributeError(f"module 'passkit.reports' has no attribute '{name}'")


# ---- the aggregations (on the engine) and the finishing touches (on the small results, in pandas) ------

def _date_grade_counts(tables) -> pd.DataFrame:
    return _collect(tables.passes.group_by("date", "grade").agg(passes=nw.len()))


def student_totals(tables) -> pd.DataFrame:
    """Per student with a pass in the range: passes and `_ms` (milliseconds out)."""
    return _collect(_per_student(tables.passes, tables.data))


def _daily(counts: pd.DataFrame) -> pd.DataFrame:
    """Every date x every grade present, zero-filled (numpy: these small frames are all overhead in pandas)."""
    dates = counts["date"].astype("datetime64[us]").to_numpy()  # Spark hands back datetime.date objects
    days = np.unique(dates)
    levels = sorted(set(counts["grade"]), key=lambda g: (grade_levels.sort_key(g), g))
    grid = np.zeros((len(days), len(levels)), np.int64)
    grid[np.searchsorted(days, dates), [levels.index(g) for g in counts["grade"]]] = counts["passes"]
    return pd.DataFrame({"date": np.repeat(days, len(levels)),
                         "grade": pd.Series(levels * len(days), dtype="str"), "passes": grid.ravel()})


def _per_student(passes: nw.LazyFrame, data=None) -> nw.LazyFrame:
    """school, student_id, student_name, grade, passes and _ms (milliseconds out) per student with a pass."""
    # Milliseconds add up exactly in any order (a float sum does not, and its rounding to a tenth of
    # a minute then flips between runs and engines).
    passes = passes.with_columns(_ms=(nw.col("minutes") * 60_000).round(0))
    totals = (nw.len().alias("passes"), nw.col("_ms").sum())
    students = getattr(data, "students", None)
    if students is not None and "student_key" in passes.collect_schema():
        # The cache's integer key groups faster than two strings; a student's name and grade are
        # the same on all their passes, so the students table gives what max() would.
        return passes.group_by("student_key").agg(*totals).join(students, on="student_key")
    return passes.group_by("school", "student_id").agg(nw.col("student_name", "grade").max(), *totals)


def _with_outliers(table: pd.DataFrame, exempt=None) -> pd.DataFrame:
    """Flag passes > Q3 + 1.5 IQR of the student's grade (linear quartiles); sort by passes, school, id.

    `exempt` (a boolean per row) marks students left out of the quartiles and never flagged.
    """
    codes, levels = pd.factorize(table["grade"])
    passes = table["passes"].to_numpy()
    counted = np.ones(len(table), bool) if exempt is None else ~np.asarray(exempt, bool)
    fence = np.full(len(levels) + 1, np.inf)  # the last entry is for a missing grade (code -1): never an outlier
    for code, quartiles in enumerate(_quartiles(passes, codes, len(levels), counted)):
        if quartiles:  # a grade of exempt students only has no fence
            fence[code] = quartiles[1] + 1.5 * (quartiles[1] - quartiles[0])
    # student_key numbers students in (school, student_id) order: an integer sorts much faster
    by = ["student_key"] if "student_key" in table else ["school", "student_id"]
    order = np.lexsort([table[column].to_numpy() for column in reversed(by)] + [-passes])
    shown = table[_named(table, STUDENT_COLUMNS)].take(order)
    return shown.assign(outlier=((passes > fence[codes]) & counted)[order]).reset_index(drop=True)


def _quartiles(passes: np.ndarray, codes: np.ndarray, levels: int, counted=None) -> list:
    """(Q1, Q3) of the `counted` pass counts of each grade code, linearly interpolated (None for a grade
    with no counted student)."""
    counted = np.ones(len(passes), bool) if counted is None else counted
    found = []
    for code in range(levels):
        grade = passes[(codes == code) & counted]
        found.append(tuple(np.quantile(grade, [0.25, 0.75])) if len(grade) else None)
    return found


def grade_quartiles(table: pd.DataFrame) -> pd.DataFrame:
    """The outlier rule of Total Passes by Student, grade by grade (school order): grade, students, q1, q3,
    fence (Q3 + 1.5 IQR: more passes than this is an outlier) and outliers, from that report's table."""
    codes, levels = pd.factorize(table["grade"])
    passes = table["passes"].to_numpy()
    rows = []
    for code, quartiles in enumerate(_quartiles(passes, codes, len(levels))):
        (q1, q3), grade_passes = quartiles, passes[codes == code]
        fence = q3 + 1.5 * (q3 - q1)
        rows.append((levels[code], len(grade_passes), q1, q3, fence, int((grade_passes > fence).sum())))
    rows.sort(key=lambda row: (grade_levels.sort_key(row[0]), row[0]))
    return pd.DataFrame(rows, columns=["grade", "students", "q1", "q3", "fence", "outliers"])


def _flyers(table: pd.DataFrame, top: int) -> pd.DataFrame:
    passes = table["passes"].to_numpy()
    if len(table) > top:  # only students with at least the top-th most passes can be in the top
        table = table[passes >= np.partition(passes, len(passes) - top)[len(passes) - top]]
    # a tenth of a minute, rounded half up
    minutes = ((table["_ms"].fillna(0).to_numpy() + 3_000) // 6_000) / 10
    rows = sorted(zip(table["passes"].tolist(), minutes.tolist(), table["student_id"].tolist(),
                      table["school"].tolist(), range(len(table))),
                  key=lambda row: (-row[0], -row[1], row[2], row[3]))[:top]  # few rows: plain Python
    chosen = [row[4] for row in rows]
    shown = table[_named(table, STUDENT_COLUMNS)].take(chosen)
    return shown.assign(minutes_out=minutes[chosen]).reset_index(drop=True)


def _trip_counts(tables) -> pd.DataFrame:
    """Passes per (school, origin, destination): one scan serves both directions."""
    return _collect(tables.passes.group_by("school", "origin", "destination").agg(passes=nw.len()))


def _rooms(trips: pd.DataFrame, listed) -> pd.DataFrame:
    rooms = {}  # (school, room) -> [passes from, passes to, folder]; plain Python beats pandas at this size
    for index, column in enumerate(("origin", "destination")):
        for (school, room), passes in trips.groupby(["school", column], sort=False)["passes"].sum().items():
            rooms.setdefault((school, room), [0, 0, ""])[index] += passes
    if listed is not None:
        for school, room, folder in _rows(_collect(listed.select("school", "room", "folder")), "school", "room",
                                          "folder"):
            rooms.setdefault((school, room), [0, 0, ""])[2] = folder if isinstance(folder, str) else ""
    order = sorted(rooms, key=lambda key: (-rooms[key][1], -rooms[key][0], key))
    return _frame(order, [rooms[key] for key in order], "room", {"folder": 2, "passes_from": 0, "passes_to": 1})


def _staff_counts(passes: nw.LazyFrame) -> pd.DataFrame:
    by_staff = passes.filter((nw.col("created_by") == "teacher")
                             | ((nw.col("created_by") == "kiosk") & nw.col("kiosk_mode")))
    return _collect(by_staff.group_by("school", "issuer", "pass_type").agg(passes=nw.len()))


def _staff(counts: pd.DataFrame, listed) -> pd.DataFrame:
    staff = {}  # (school, issuer) -> [total, now, scheduled]
    for school, issuer, pass_type, passes in _rows(counts, "school", "issuer", "pass_type", "passes"):
        row = staff.setdefault((school, issuer), [0, 0, 0])
        row[0] += passes
        if pass_type in ("now", "scheduled"):  # an export without pass types counts totals only
            row[1 if pass_type == "now" else 2] += passes
    if listed is not None:
        for school, issuer in _rows(_collect(listed.select("school", "issuer")), "school", "issuer"):
            staff.setdefault((school, issuer), [0, 0, 0])
    order = sorted(staff, key=lambda key: (-staff[key][0], key))
    return _frame(order, [staff[key] for key in order], "issuer",
                  {"total_passes": 0, "now_passes": 1, "scheduled_passes": 2})


def _rows(table: pd.DataFrame, *columns):
    return zip(*(table[column].tolist() for column in columns))


def _frame(keys, values, name, value_columns) -> pd.DataFrame:
    """A report table from sorted (school, name) keys and their value lists; no school column for one unnamed school."""
    table = {}
    if any(key[0] for key in keys):
        table["school"] = pd.array([key[0] for key in keys], dtype="str")
    table[name] = pd.array([key[1] for key in keys], dtype="str")
    for column, index in value_columns.items():
        table[column] = pd.array([value[index] for value in values], dtype="str" if column == "folder" else "int64")
    return pd.DataFrame(table)


def _named(table: pd.DataFrame, columns: list[str]) -> list[str]:
    """`columns` without `school` when every row is the one unnamed school."""
    return [c for c in columns if c != "school" or (table["school"] != "").any()]


def _by_grade(counts: pd.DataFrame) -> pd.DataFrame:
    """Passes per grade, in school order (PK, K, 1..12, Unknown), from counts by grade (and maybe more)."""
    totals = {}
    for grade, passes in _rows(counts, "grade", "passes"):
        totals[grade] = totals.get(grade, 0) + passes
    levels = sorted(totals, key=lambda g: (grade_levels.sort_key(g), g))
    return pd.DataFrame({"grade": pd.Series(levels, dtype="str"),
                         "passes": pd.Series([totals[g] for g in levels], dtype="int64")})


# ---- how the pages show them: shapes and sentences (registered with each report) -----------------------

def _daily_wide(table: pd.DataFrame) -> list:
    """Daily Passes as a page shows it: one row per day, a column per grade and the day's total."""
    if table.empty:
        return [("", table)]
    wide = table.pivot_table(index="date", columns="grade", values="passes", aggfunc="sum", fill_value=0)
    wide = wide[sorted(wide.columns, key=grade_levels.sort_key)]
    wide.columns = [f"Grade {g}" for g in wide.columns]
    wide["Total"] = wide.sum(axis=1)
    return [("", wide.reset_index())]


def _staff_tables(table: pd.DataFrame) -> list:
    """Staff Usage, then the listed staff with no passes (else they hide at the bottom)."""
    idle = table[table["total_passes"] == 0]
    return [("", table)] + ([("Listed staff with no passes in this range", idle)] if len(idle) else [])


def _plotted(table: pd.DataFrame) -> pd.DataFrame:
    from .charts import plotted_students

    return plotted_students(table)


def _daily_words(table):
    per_day = table.groupby("date")["passes"].sum()
    busiest = pd.Timestamp(per_day.idxmax())
    total = int(per_day.sum())
    return (f"{total:,} passes over {len(per_day):,} school days, about {total / len(per_day):,.0f} a day; the busiest "
            f"day was {busiest:%a %b} {busiest.day}, {busiest.year} with {int(per_day.max()):,}.")


def _grade_words(table):
    most, least = table.loc[table["passes"].idxmax()], table.loc[table["passes"].idxmin()]
    total = int(table["passes"].sum())
    text = f"Grade {most['grade']} has the most passes: {int(most['passes']):,} of {total:,}"
    return text + (f"; grade {least['grade']} the fewest, {int(least['passes']):,}." if len(table) > 1 else ".")


def _student_words(table):
    outliers = int(table["outlier"].sum())
    return (f"{len(table):,} students had a pass, from {int(table['passes'].min()):,} to {int(table['passes'].max()):,} "
            f"passes each; {outliers:,} {'is an outlier' if outliers == 1 else 'are outliers'} in their grade.")


def _room_words(table):
    to, out = table.loc[table["passes_to"].idxmax()], table.loc[table["passes_from"].idxmax()]
    return (f"{len(table):,} rooms. The busiest destination is {to['room']} ({int(to['passes_to']):,} passes); "
            f"students leave {out['room']} most ({int(out['passes_from']):,}).")


def _staff_words(table):
    active = table[table["total_passes"] > 0]
    if not len(active):
        return f"{len(table):,} staff listed; none created a pass in this range."
    top = active.iloc[0]
    return (f"{len(active):,} staff members and kiosks created passes; {top['issuer']} created the most, "
            f"{int(top['total_passes']):,}.")


def _flyer_words(table):
    return (f"The {len(table):,} students with the most passes: from {int(table['passes'].min()):,} to "
            f"{int(table['passes'].max()):,} passes, {table['minutes_out'].sum():,.0f} minutes out of class in all.")




def outlier_words(table: pd.DataFrame) -> list[str]:
    """How a student becomes an outlier, in words, with each grade's figures for this range."""
    lines = ["Within each grade, Q1 is the pass count a quarter of its students are at or below, and Q3 the "
             "count three quarters are at or below; half the grade is between them. A student is an outlier "
             "when their passes exceed Q3 by more than 1.5 times that middle spread (Q3 − Q1)."]
    for row in grade_quartiles(table).itertuples(index=False):
        grade = "Students with no grade" if row.grade == "Unknown" else f"Grade {row.grade}"
        lines.append(f"{grade}: half of its {row.students:,} students had {row.q1:g} to {row.q3:g} passes, so more "
                     f"than {row.fence:g} is an outlier ({row.outliers:,} student{'s' * (row.outliers != 1)}).")
    return lines


