"""Time out of class and when it happens: pass length, long passes, time of day and bell periods.

- A pass is **timed** when it ended, and not before it started. Its length is the cache's `minutes`,
  measured between the real instants, so a pass across a daylight-saving change counts its true length.
  Untimed passes count as passes but in no length.
- A **long pass** is a timed pass longer than its limit: its destination's `max_minutes` in rooms.csv,
  else the `long_minutes` option (`--long-minutes`, 15 by default). Long Passes also lists every pass
  that never ended.
- Minutes stay exact until written: whole milliseconds are summed (in any order, on any engine, the
  same total) and quantiles are taken to the millisecond; files round them to a tenth.

The aggregations run on the engine (DuckDB, pandas or Spark, through narwhals) and share their scans
through `tables.once`; the small results are finished in pandas.
"""

import narwhals as nw
import numpy as np
import pandas as pd

from . import bells as bell_schedule, grades as grade_levels
from .registry import Column, Option, report
from .tables import collect as _collect, listed as _listed

LONG_MINUTES = Option("long_minutes", 15.0, "minutes after which a pass is long, for destinations without "
                                            "max_minutes in rooms.csv")
PER_SCHOOL = ("destination", "origin", "issuer")  # pass_length's groupings after all and grade: each of one school
SLOT_MINUTES = 15
MS = 60_000  # milliseconds in a minute


def minutes_column(name, label):
    return Column(name, label, "minutes")  # written to a tenth


@report(
    title="Pass Length",
    description="How long passes last: totals, mean, median and 90th percentile by grade, destination, origin and "
                "issuer.",
    columns=[Column("by", "Grouped by", "text"), Column("key", "Group", "text"), Column("passes", "Passes", "int"),
             Column("timed_passes", "Timed passes", "int"), minutes_column("minutes_total", "Minutes out (total)"),
             minutes_column("minutes_mean", "Average minutes"), minutes_column("minutes_median", "Median minutes"),
             minutes_column("minutes_p90", "90th percentile minutes"), Column("long_passes", "Long passes", "int")],
    chart="pass_length", needs=("end_time",), options=(LONG_MINUTES,),
    guidance="""\
- **The median** is the typical pass; **the 90th percentile** is how long the slowest one in ten takes. A destination whose
  90th percentile sits far above its median has a few very long trips worth looking into.
- Restroom and water-fountain passes are usually short. **Long restroom passes** are where students meet up or wander;
  nurse and counselor visits are expected to be longer, and their limits (`max_minutes` in rooms.csv) can say so.
- Compare **origins** of the same kind: a classroom whose passes run much longer than its neighbours' is a conversation with
  its teacher. Passes that never ended are counted in *Passes* but in no minutes; Long Passes lists them.""")
def pass_length(tables) -> pd.DataFrame:
    """One row for all passes, then one per grade (school order), destination, origin and issuer (most passes
    first). In a district, destination, origin and issuer rows name their school; grade and all rows roll up."""
    found = tables.once(_lengths)
    return _without_unnamed_school(_length_figures(_length_rows(found)), found["destination"])


@report(
    title="Long Passes",
    description="Every pass longer than its limit, and every pass that never ended, longest first.",
    columns=[Column("pass_id", "Pass", "text"), Column("student_id", "Student ID", "text"),
             Column("student_name", "Student", "text"), Column("grade", "Grade", "text"),
             Column("origin", "From", "text"), Column("destination", "To", "text"),
             Column("start_time", "Started", "datetime"), Column("end_time", "Ended", "datetime"),
             minutes_column("minutes", "Minutes"), minutes_column("limit_minutes", "Limit (minutes)"),
             Column("reason", "Why listed", "text")],
    chart="long_passes", kind="table", needs=("end_time",), options=(LONG_MINUTES,),
    guidance="""\
- **Over the limit** passes are timed passes longer than their destination's limit (`max_minutes` in rooms.csv) or, for
  rooms without one, the long-pass limit of the run (`--long-minutes`, 15 minutes unless changed).
- **Never ended** passes were not closed: a student who did not come back, or a pass nobody ended. Many from one room or
  one teacher usually mean a habit of not ending passes, which also hides real lengths from every other report.
- Look for **the same students** or **the same destination** appearing again and again rather than at single passes.""")
def long_passes(tables) -> pd.DataFrame:
    """Timed passes over their limit (longest first), then passes that never ended (by start); ties by start,
    school and pass_id."""
    table = tables.once(_long_rows)
    columns = ["school", "pass_id", "student_id", "student_name", "grade", "origin", "destination", "start_time",
               "end_time", "minutes"]
    limit = table["_limit"].astype("float64")
    words = {most: f"over {_number(most)} min" for most in set(limit.tolist())}  # a few limits: name each once
    reason = np.where(table["minutes"].isna(), "never ended", limit.map(words).fillna("").astype(object))
    shown = table[columns].assign(
        start_time=table["start_time"].astype("datetime64[us]"), end_time=table["end_time"].astype("datetime64[us]"),
        minutes=table["minutes"].astype("float64"), limit_minutes=limit, reason=pd.array(reason, dtype="str"))
    for column in ("school", "pass_id", "student_id", "student_name", "grade", "origin", "destination"):
        if shown[column].dtype != "str":  # Spark hands back objects
            shown[column] = pd.array(shown[column], dtype="str")
    return _without_unnamed_school(shown, shown)


@report(
    title="Passes by Time of Day",
    description="Passes started in each 15-minute slot of each weekday: when students leave class.",
    columns=[Column("weekday", "Weekday", "text"), Column("slot", "Time slot", "text"),
             Column("passes", "Passes", "int")],
    chart="time_of_day", needs=("start_time",),
    guidance="""\
- **Dark bands** are the times students leave most. Right after the start of a period and just before lunch are common;
  a band at the same time every day points to a schedule habit, one on a single day to that day's events.
- **Passes in the first and last minutes of a period** interrupt instruction most; if they are frequent, restate when
  passes may be used.
- The slots are 15 minutes of local start time, labelled by their start (`09:15` holds 09:15:00 to 09:29:59).""")
def time_of_day(tables) -> pd.DataFrame:
    """Passes per (weekday, 15-minute slot of the start time), Monday first; only pairs with passes."""
    minutes = tables.once(_minute_counts)
    slots = minutes.assign(_slot=minutes["_minute"] // SLOT_MINUTES * SLOT_MINUTES)
    counts = slots.groupby(["_weekday", "_slot"], sort=True)["passes"].sum()
    weekday, slot = counts.index.get_level_values(0), counts.index.get_level_values(1)
    return pd.DataFrame({"weekday": pd.array([bell_schedule.DAYS[day - 1] for day in weekday], dtype="str"),
                         "slot": pd.array([f"{m // 60:02d}:{m % 60:02d}" for m in slot], dtype="str"),
                         "passes": counts.to_numpy().astype("int64")})


@report(
    title="Passes by Period",
    description="Passes started in each bell period of each weekday, from your bell schedule (bells.csv).",
    columns=[Column("period", "Period", "text"), Column("weekday", "Weekday", "text"), Column("passes", "Passes", "int"),
             Column("school_days", "School days", "int"), Column("passes_per_day", "Passes per day", "float"),
             minutes_column("minutes_mean", "Average minutes")],
    chart="passes_by_period", needs=("bells.csv", "start_time"),
    guidance="""\
- **Passes per day** compares periods and weekdays fairly: a range may hold fewer Mondays (holidays) than Tuesdays, and
  `School days` says how many of each had passes.
- **One period far above the others** every day is a schedule question (the period before or after lunch, a long block);
  one period high on one weekday only is a question for that day's classes.
- **Between periods** counts passes started in the passing time, **before school** and **after school** those outside the
  day's bells: many of them can mean a bells.csv that does not match the real schedule.""")
def passes_by_period(tables) -> pd.DataFrame:
    """Passes per (period, weekday), periods in bell order; a pass belongs to the period it started in (start
    included, end excluded). School days: dates of that weekday in the range with at least one pass."""
    schedule = tables.data.bells
    table = _period_counts(tables, schedule)
    timed, ms = table["timed"].astype("int64").to_numpy(), table["ms"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(timed > 0, ms / timed / MS, np.nan)
    shown = pd.DataFrame({
        "school": pd.array(table["school"], dtype="str"),
        "period": pd.array([schedule.order[code] for code in table["_code"]], dtype="str"),
        "weekday": pd.array([bell_schedule.DAYS[day - 1] for day in table["_weekday"]], dtype="str"),
        "passes": table["passes"].astype("int64"), "school_days": table["school_days"].astype("int64"),
        "passes_per_day": table["passes"] / table["school_days"], "minutes_mean": mean})
    return _without_unnamed_school(shown, shown)


def headline(tables) -> list[tuple[str, object]]:
    """The audit's figures on time out of class, as (figure, value) rows; minutes to a tenth.

    Minutes out of class per student per school day = the minutes of every timed pass / (students with a
    pass x dates with a pass), both counted in the range and for the chosen grades and schools.
    """
    overall = tables.get("pass_length").iloc[0]  # the `all` row
    rows = []
    if overall["timed_passes"]:
        students, days = len(tables.get("passes_by_student")), tables.get("daily_passes")["date"].nunique()
        rows += [("Average pass length (minutes)", round(float(overall["minutes_mean"]), 1)),
                 ("Median pass length (minutes)", round(float(overall["minutes_median"]), 1)),
                 ("Minutes out of class per student per school day",
                  round(float(overall["minutes_total"]) / (students * days), 1))]
    return rows + [("Long passes", int(overall["long_passes"]))]


# ---- the aggregations, on the engine --------------------------------------------------------------

def _long_rows(tables) -> pd.DataFrame:
    """Every long or never-ended pass of the range, longest first (then by start, school, pass_id), with its
    issuer, `_limit` (long-pass minutes) and `_long` (1 or 0): Long Passes' rows and pass_length's long counts."""
    _, lowest = tables.once(_limits)
    # First the passes some limit could make long, or untimed. A test on one column reaches DuckDB's Parquet scan,
    # which then skips the other passes' text: about 4x faster than testing end_time here.
    candidates = tables.passes.filter((nw.col("minutes") > lowest) | nw.col("minutes").is_null())
    chosen = _with_limits(tables, candidates).filter((nw.col("_long") == 1) | nw.col("end_time").is_null())
    columns = ["school", "pass_id", "student_id", "student_name", "grade", "origin", "destination", "issuer",
               "start_time", "end_time", "minutes", "_limit", "_long"]
    ordered = chosen.select(*columns).sort("minutes", "start_time", "school", "pass_id",
                                           descending=[True, False, False, False], nulls_last=True)
    # Through Arrow: its text becomes pandas' text without a Python object per value (many rows in a district).
    # A pandas frame keeps its own index through the sort.
    return ordered.collect(backend="pyarrow").to_native().to_pandas().reset_index(drop=True)


def _with_limits(tables, passes) -> nw.LazyFrame:
    """`passes` with `_limit` (long-pass minutes) and `_long` (1 or 0)."""
    limits, _ = tables.once(_limits)
    if limits is None:
        passes = passes.with_columns(_limit=nw.lit(float(tables.options["long_minutes"]), nw.Float64()))
    else:
        passes = passes.join(limits, left_on=["school", "destination"], right_on=["school", "_room"], how="left")
        passes = passes.with_columns(_limit=nw.col("_max").fill_null(float(tables.options["long_minutes"])))
    return passes.with_columns(_long=nw.when(nw.col("minutes") > nw.col("_limit")).then(1).otherwise(0))


def _limits(tables) -> tuple[nw.LazyFrame | None, float]:
    """rooms.csv's max_minutes by (school, room) (None when no listed room has one: no join needed), and the
    lowest limit of any pass."""
    default = float(tables.options["long_minutes"])
    rooms = _listed(tables.data, "rooms", "room", tables.schools)
    if rooms is None or "max_minutes" not in rooms.collect_schema():
        return None, default
    rooms = rooms.filter(~nw.col("max_minutes").is_null()).select(
        "school", _room=nw.col("room"), _max=nw.col("max_minutes").cast(nw.Float64()))
    listed = _collect(rooms.select("_max"))["_max"]
    return (rooms, min(default, float(listed.min()))) if len(listed) else (None, default)


def _lengths(tables) -> dict[str, pd.DataFrame]:
    """passes, timed, ms, median, p90 (milliseconds) and long for each grouping of pass_length ("all": one row).

    Grades and all come from one count of passes per grade and millisecond length (some thousand distinct
    lengths); rooms and staff, each of one school, are too many for that, so the engine takes their quantiles.
    Long passes are counted on the rows Long Passes lists anyway.
    """
    passes = tables.passes.with_columns(_ms=(nw.col("minutes") * MS).round(0))
    found = _histogram_lengths(_collect(passes.group_by("grade", "_ms").agg(nw.len().alias("passes"))))
    ms = nw.col("_ms")
    figures = [nw.len().alias("passes"), ms.count().alias("timed"), ms.sum().alias("ms"),
               ms.quantile(0.5, "linear").alias("median"), ms.quantile(0.9, "linear").alias("p90")]
    for by in PER_SCHOOL:
        found[by] = _collect(passes.group_by("school", by).agg(*figures))
    return _with_long_counts(found, tables.once(_long_rows))


def _minute_counts(tables) -> pd.DataFrame:
    """passes, timed passes and ms per (school, ISO weekday, minute of the day the pass started)."""
    start = nw.col("start_time")
    passes = tables.passes.with_columns(
        _ms=(nw.col("minutes") * MS).round(0), _weekday=start.dt.weekday().cast(nw.Int64()),
        _minute=start.dt.hour().cast(nw.Int64()) * 60 + start.dt.minute().cast(nw.Int64()))
    counts = _collect(passes.group_by("school", "_weekday", "_minute").agg(
        nw.len().alias("passes"), nw.col("_ms").count().alias("timed"), nw.col("_ms").sum().alias("ms")))
    counts = counts.astype({"_weekday": "int64", "_minute": "int64", "passes": "int64", "timed": "int64",
                            "ms": "float64"})
    # narwhals 2.29 numbers Sunday 0 on Spark (7 elsewhere): the same week, Monday = 1, on every engine
    return counts.assign(_weekday=(counts["_weekday"] - 1) % 7 + 1)


def _school_days(tables) -> pd.DataFrame:
    """Each (school, date) with a pass in the range, with its ISO weekday."""
    days = _collect(tables.passes.group_by("school", "date").agg(nw.len().alias("passes")))
    return days.assign(_weekday=pd.to_datetime(days["date"]).dt.day_of_week.astype("int64") + 1)


# ---- finishing touches ------------------------------------------------------------------------------

def _period_counts(tables, schedule) -> pd.DataFrame:
    """passes, timed, ms and school_days per (school, period code, weekday), in that order."""
    minutes = tables.once(_minute_counts)
    codes = schedule.labels(minutes["school"].to_numpy(), minutes["_weekday"].to_numpy(),
                            minutes["_minute"].to_numpy())
    counts = minutes.assign(_code=codes).groupby(["school", "_code", "_weekday"], sort=True)[
        ["passes", "timed", "ms"]].sum().reset_index()
    days = tables.once(_school_days).groupby(["school", "_weekday"]).size().rename("school_days").reset_index()
    return counts.merge(days, on=["school", "_weekday"], how="left")


def _histogram_lengths(histogram: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """pass_length's all and grade figures from passes counted by (grade, _ms): quantiles as DuckDB's
    quantile_cont takes them, interpolating linearly between the values at the floor and ceiling positions."""
    histogram = histogram.astype({"_ms": "float64", "passes": "int64"})
    rows = [_histogram_figures(part) | {"grade": grade} for grade, part in histogram.groupby("grade", sort=False)]
    every = histogram.groupby("_ms", dropna=False)["passes"].sum().reset_index()
    return {"all": pd.DataFrame([_histogram_figures(every)]),
            "grade": pd.DataFrame(rows, columns=["grade", "passes", "timed", "ms", "median", "p90"])}


def _histogram_figures(part: pd.DataFrame) -> dict:
    timed = part[part["_ms"].notna()].sort_values("_ms")
    values, counts = timed["_ms"].to_numpy(), timed["passes"].to_numpy()
    found = {"passes": int(part["passes"].sum()), "timed": int(counts.sum()), "ms": float((values * counts).sum())}
    ends = np.cumsum(counts)  # the (0-based) position after each value's last copy
    for name, q in (("median", 0.5), ("p90", 0.9)):
        position = (found["timed"] - 1) * q
        low, high = (values[np.searchsorted(ends, index, side="right")] if found["timed"] else np.nan
                     for index in (np.floor(position), np.ceil(position)))
        found[name] = low + (position - np.floor(position)) * (high - low) if high != low else low
    return found


def _with_long_counts(found: dict, long_rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each grouping's long passes (timed, over their limit), counted on Long Passes' rows."""
    long = long_rows[long_rows["_long"] == 1]
    found["all"] = found["all"].assign(long=len(long))
    for by, keys in (("grade", ["grade"]), *((by, ["school", by]) for by in PER_SCHOOL)):
        counts = long.groupby(keys).size().rename("long").reset_index()
        found[by] = found[by].merge(counts, on=keys, how="left").astype({"long": "float64"}).fillna({"long": 0})
    return found


def _length_rows(found: dict) -> pd.DataFrame:
    """pass_length's groups in order: all; grades in school order; rooms and issuers by passes, school, name."""
    parts = [found["all"].assign(by="all", key="all", school="")]
    grades = found["grade"].rename(columns={"grade": "key"}).assign(by="grade", school="")
    keys = grades["key"].astype(str).tolist()
    parts.append(grades.iloc[sorted(range(len(keys)), key=lambda row: (grade_levels.sort_key(keys[row]), keys[row]))])
    for by in PER_SCHOOL:
        rows = found[by].rename(columns={by: "key"}).assign(by=by)
        rows = rows[rows["key"].notna()]  # passes naming no issuer (an export without that column) have no row
        parts.append(rows.sort_values(["passes", "school", "key"], ascending=[False, True, True], kind="stable"))
    return pd.concat(parts, ignore_index=True)


def _length_figures(table: pd.DataFrame) -> pd.DataFrame:
    """Counts and milliseconds as pass_length's columns: minutes, a mean and quantiles only over timed passes."""
    timed = table["timed"].fillna(0).astype("int64").to_numpy()
    ms = table["ms"].fillna(0).astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(timed > 0, ms / timed / MS, np.nan)
    return pd.DataFrame({
        "school": pd.array(table["school"], dtype="str"), "by": pd.array(table["by"], dtype="str"),
        "key": pd.array(table["key"].astype(str), dtype="str"),
        "passes": table["passes"].astype("int64"), "timed_passes": timed,
        "minutes_total": ms / MS, "minutes_mean": mean,
        "minutes_median": _quantile_minutes(table["median"]), "minutes_p90": _quantile_minutes(table["p90"]),
        "long_passes": table["long"].fillna(0).astype("int64")})


def _quantile_minutes(values: pd.Series) -> np.ndarray:
    """A quantile of milliseconds as minutes, to the whole millisecond (engines interpolate in different
    floating-point steps; the millisecond makes their answers one)."""
    return np.round(values.astype("float64").to_numpy()) / MS


def _number(value: float) -> str:
    """15.0 -> '15', 7.5 -> '7.5'."""
    return f"{value:.1f}".removesuffix(".0")


def _without_unnamed_school(table: pd.DataFrame, keyed: pd.DataFrame) -> pd.DataFrame:
    """Drop `school` unless the rows keyed by room, staff or pass name a school (a district)."""
    if "school" in keyed and (keyed["school"].astype(str) != "").any():
        return table
    return table.drop(columns="school")
