"""The six reports, one function each, written once on narwhals.

Each takes `data` (a `PassData`, or any frame narwhals accepts with the cache's columns: DuckDB,
pandas, PySpark...), an inclusive date range, and optional grade and school filters, and returns
a pandas DataFrame sorted the way an admin reads it. A pass belongs to the local date it started.

With several schools, the per-room, per-student and per-staff reports carry a `school` column
(the same room name in two schools is two rooms); with one unnamed school they do not.
"""

import datetime as dt

import narwhals as nw
import numpy as np
import pandas as pd

from . import grades as grade_levels
from .errors import PasskitError

FREQUENT_FLYERS = 20
STUDENT_COLUMNS = ["school", "student_id", "student_name", "grade", "passes"]  # how per-student tables begin
REPORTS = ("daily_passes", "passes_by_grade", "passes_by_student", "room_usage", "staff_usage",
           "frequent_flyers")


def daily_passes(data, start, end, grades=None, schools=None) -> pd.DataFrame:
    """Passes per day and grade: every date with a pass in the range x every grade present, zero-filled."""
    return _daily(_date_grade_counts(in_range(data, start, end, grades, schools)))


def passes_by_grade(data, start, end, grades=None, schools=None) -> pd.DataFrame:
    """Passes per grade in the range."""
    table = in_range(data, start, end, grades, schools).group_by("grade").agg(passes=nw.len())
    return _by_grade(_collect(table))


def passes_by_student(data, start, end, grades=None, schools=None) -> pd.DataFrame:
    """Passes per student with at least one; `outlier` flags passes > Q3 + 1.5 IQR within the grade."""
    return _with_outliers(_collect(_per_student(in_range(data, start, end, grades, schools), data)))


def room_usage(data, start, end, grades=None, schools=None) -> pd.DataFrame:
    """Passes from and to every room: listed in rooms.csv or seen in the range."""
    return _rooms(_trip_counts(in_range(data, start, end, grades, schools)), _listed(data, "rooms", "room", schools))


def staff_usage(data, start, end, grades=None, schools=None) -> pd.DataFrame:
    """Passes created by each teacher, or by a kiosk a teacher launched in kiosk mode.

    Student-created passes and kiosks with their own dedicated login are not staff use.
    Staff listed in staff.csv appear even with no passes (dedicated kiosks listed there do not).
    """
    return _staff(_staff_counts(in_range(data, start, end, grades, schools)),
                  _listed(data, "staff", "issuer", schools))


def frequent_flyers(data, start, end, grades=None, schools=None, top: int = FREQUENT_FLYERS) -> pd.DataFrame:
    """The `top` students by passes, then minutes out of class, then student_id (then school).

    Minutes come from passes that ended, and not before they started.
    """
    return _flyers(_collect(_per_student(in_range(data, start, end, grades, schools), data)), top)


def all_reports(data, start, end, grades=None, schools=None) -> dict[str, pd.DataFrame]:
    """Every report for one range, by name, in the order of the analytics page.

    The same tables as calling each report, from four aggregations instead of six: passes by
    grade comes from the daily counts, and frequent flyers from the per-student table.
    """
    passes = in_range(data, start, end, grades, schools)
    daily = _date_grade_counts(passes)
    students = _collect(_per_student(passes, data))
    return {
        "daily_passes": _daily(daily),
        "passes_by_grade": _by_grade(daily),
        "passes_by_student": _with_outliers(students),
        "room_usage": _rooms(_trip_counts(passes), _listed(data, "rooms", "room", schools)),
        "staff_usage": _staff(_staff_counts(passes), _listed(data, "staff", "issuer", schools)),
        "frequent_flyers": _flyers(students, FREQUENT_FLYERS),
    }


# ---- the aggregations (on the engine) and the finishing touches (on the small results, in pandas) ------

def _date_grade_counts(passes: nw.LazyFrame) -> pd.DataFrame:
    return _collect(passes.group_by("date", "grade").agg(passes=nw.len()))


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
    students = getattr(data, "students", None)
    if students is not None and "student_key" in passes.collect_schema():
        # The cache's integer key groups faster than two strings; a student's name and grade are
        # the same on all their passes, so the students table gives what max() would.
        counts = passes.group_by("student_key").agg(nw.len().alias("passes"), nw.col("_ms").sum())
        return counts.join(students, on="student_key")
    return passes.group_by("school", "student_id").agg(
        nw.col("student_name", "grade").max(), nw.len().alias("passes"), nw.col("_ms").sum())


def _with_outliers(table: pd.DataFrame) -> pd.DataFrame:
    """Flag passes > Q3 + 1.5 IQR of the student's grade (linear quartiles); sort by passes, school, id."""
    codes, levels = pd.factorize(table["grade"])
    passes = table["passes"].to_numpy()
    fence = np.full(len(levels) + 1, np.inf)  # the last entry is for a missing grade (code -1): never an outlier
    for code in range(len(levels)):
        q1, q3 = np.quantile(passes[codes == code], [0.25, 0.75])
        fence[code] = q3 + 1.5 * (q3 - q1)
    # student_key numbers students in (school, student_id) order: an integer sorts much faster
    by = ["student_key"] if "student_key" in table else ["school", "student_id"]
    order = np.lexsort([table[column].to_numpy() for column in reversed(by)] + [-passes])
    shown = table[_named(table, STUDENT_COLUMNS)].take(order)
    return shown.assign(outlier=(passes > fence[codes])[order]).reset_index(drop=True)


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


def _trip_counts(passes: nw.LazyFrame) -> pd.DataFrame:
    """Passes per (school, origin, destination): one scan serves both directions."""
    return _collect(passes.group_by("school", "origin", "destination").agg(passes=nw.len()))


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


# ---- shared steps -------------------------------------------------------------------------------

def in_range(data, start, end, grades=None, schools=None) -> nw.LazyFrame:
    """The passes that started on a local date from `start` to `end`, both included."""
    start, end = as_date(start, "start"), as_date(end, "end")
    if start > end:
        raise PasskitError(f"the range starts ({start}) after it ends ({end})")
    passes = passes_frame(data)
    if passes.collect_schema()["date"] == nw.Datetime:  # e.g. a pandas frame: compare as timestamps
        start, end = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())
    passes = passes.filter(nw.col("date").is_between(start, end, closed="both"))
    if grades:
        passes = passes.filter(nw.col("grade").is_in([grade_levels.normalise(g) if g != grade_levels.UNKNOWN
                                                      else g for g in grades]))
    if schools:
        passes = passes.filter(nw.col("school").is_in(list(schools)))
    return passes


def passes_frame(data) -> nw.LazyFrame:
    frame = data.passes if hasattr(data, "passes") else nw.from_native(data)
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def as_date(value, name="date") -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PasskitError(f"the {name} date '{value}' is not a date like 2026-01-05") from None


def _listed(data, name, key, schools):
    """rooms.csv / staff.csv rows (only a PassData has them), limited to the chosen schools."""
    table = getattr(data, name, None)
    if table is None:
        return None
    keep = ~nw.col(key).is_null()
    if name == "staff":  # a kiosk with its own login is listed in staff.csv but is not staff
        keep = keep & ~nw.col("dedicated_kiosk")
    if schools:
        keep = keep & nw.col("school").is_in(list(schools))
    return table.filter(keep)


def _collect(frame: nw.LazyFrame) -> pd.DataFrame:
    return frame.collect(backend="pandas").to_native()


def _by_grade(counts: pd.DataFrame) -> pd.DataFrame:
    """Passes per grade, in school order (PK, K, 1..12, Unknown), from counts by grade (and maybe more)."""
    totals = {}
    for grade, passes in _rows(counts, "grade", "passes"):
        totals[grade] = totals.get(grade, 0) + passes
    levels = sorted(totals, key=lambda g: (grade_levels.sort_key(g), g))
    return pd.DataFrame({"grade": pd.Series(levels, dtype="str"),
                         "passes": pd.Series([totals[g] for g in levels], dtype="int64")})
