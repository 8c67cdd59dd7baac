"""Who is out together: passes that meet, pairs of students who meet again and again, contact tracing
and keep-apart lists.

The rule (README "Encounters"): two passes *meet* when they belong to different students of the same
school, go to the same destination, both ended (and not before they started), and their [start, end]
intervals overlap by at least `meet_minutes` (0: any overlap, touching ends included). A pair's
*encounters* are its distinct meeting pass pairs in the range.

Overlaps are measured between real instants. The cache holds school-local wall-clock times, so a
pass's start is read in the school's time zone (a wall time repeated when the clocks fall back is
its second occurrence, as the load reads it) and it ends `minutes` later: a pass spanning a clock
change keeps the length the load measured, and two passes either side of the change compare
correctly. Only days on which the clocks change need a zone lookup per pass; every other day has
one offset.

Speed: the passes are sorted by (school, destination, start) and swept: each pass meets the later
ones of its bucket that start before it ends (a binary search), so the work grows with the
meetings, not with the square of a busy restroom's passes. The options measured on two schools'
quarter, as DuckDB SQL: a self-join on (school, destination) took 9.7 s (quadratic per restroom);
an IEJoin on (bucket, time) ranges 138 s; joining on (school, destination, local date) 0.4 s, and on
an hour of real time faster still: that one is the anchor (benchmarks/encounters_sql.py). On a
40-school quarter (2.6 M timed passes, 10.7 M meetings) the sweep, done a school at a time (pairs
never cross schools, so memory stays that of one school, and two threads share the schools), took
about a fifth of the anchor's CPU time. `make bench` has the figures.
"""

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import PasskitError
from .registry import Column, Option, report

MEET_MINUTES, MIN_ENCOUNTERS = 1.0, 2
MINUTE_US, DAY_US = 60_000_000, 86_400_000_000
COUNTING_KEYS = 1 << 23  # pair keys counted with a table (bincount) below this many; sorted above
SORT_KEY_LIMIT = 1 << 62  # (bucket, start) packed into one int64 sort key below this; else a slower lexsort
EPOCH = dt.datetime(1970, 1, 1)
# The table's names are copied with the C allocator numpy uses, so they can reuse the memory the sweep's
# arrays just gave back instead of adding to it (Arrow's own allocator keeps its own): a district quarter
# peaked about 40 MB lower.
SYSTEM = pa.system_memory_pool()

OPTIONS = (Option("meet_minutes", MEET_MINUTES, "minutes two passes must overlap to meet (0: any overlap, "
                                                "touching ends included)", minimum=0),
           Option("min_encounters", MIN_ENCOUNTERS, "encounters a pair needs to be listed in Encounters", minimum=1))
STUDENT_A = (Column("student_a", "Student A ID", "text"), Column("student_a_name", "Student A", "text"))
STUDENT_B = (Column("student_b", "Student B ID", "text"), Column("student_b_name", "Student B", "text"))
# A district quarter has some 1.8 million pairs: a workbook of them takes two minutes to write and no one reads past
# the strongest pairs (listed first), so the sheet stops here; encounters.csv has them all.
SHEET_ROWS = 100_000
ENCOUNTERS = Column("encounters", "Encounters", "int")
TOGETHER = Column("minutes_together", "Minutes together", "minutes")
# The dashboard has the pairs (Encounters) and the keep-apart meetings; the weekly chart stays in the audit
# and the files, as each dashboard section is redrawn on every range change.
WEEKLY_OUTPUTS = frozenset({"csv", "xlsx", "page"})


@report(
    title="Encounters",
    description="Pairs of students whose passes meet again and again: same destination, at the same time.",
    columns=[*STUDENT_A, *STUDENT_B, ENCOUNTERS, TOGETHER, Column("destinations", "Where they met", "text"),
             Column("first_date", "First met", "date"), Column("last_date", "Last met", "date")],
    chart="encounters", options=OPTIONS, sheet_rows=SHEET_ROWS,
    guidance="""\
- **Pairs at the top** meet on passes far more than chance: the same restroom, at the same time, week after week. Check
  whether their passes come from the same classes and periods; a hallway meet-up is easier to break up with a word to
  both teachers than after it becomes a habit.
- **Where they met** lists the destinations most frequent first: one restroom again and again is a meeting place.
- A busy restroom at lunch makes chance meetings; a pair with few encounters spread over the whole range is usually
  just that. Raise `--min-encounters` or `--meet-minutes` to see only the strongest pairs.
- Two passes meet when they overlap by at least a minute at the same destination; passes that never ended are not used.""")
def encounters(tables) -> pd.DataFrame:
    return tables.once(_pairs).table


@report(
    title="Encounters per Week",
    description="Meetings of the listed pairs each week, to see whether meeting up on passes grows or fades.",
    columns=[Column("week", "Week of", "date"), ENCOUNTERS, Column("pairs", "Pairs", "int")],
    chart="encounters_by_week", options=OPTIONS, outputs=WEEKLY_OUTPUTS,
    guidance="""\
- Each bar counts the meetings of the pairs listed in Encounters (at least `--min-encounters` in the range) during
  the week starting that Monday; weeks with passes but no meetings show as zero.
- **A rising run of weeks** means meet-ups are becoming a habit; a drop after you spoke with students or moved a
  pass limit shows it worked.
- A short week (a holiday) has fewer passes and so fewer meetings: compare with Daily Passes.""")
def encounters_by_week(tables) -> pd.DataFrame:
    return tables.once(_pairs).weekly


@report(
    title="Keep-apart meetings",
    description="Every meeting on passes between two students of one keep-apart group (keep_apart.csv).",
    columns=[Column("group", "Keep-apart group", "text"), Column("pass_id_a", "Pass of student A", "text"),
             Column("pass_id_b", "Pass of student B", "text"), Column("student_a", "Student A ID", "text"),
             Column("student_b", "Student B ID", "text"), Column("destination", "Destination", "text"),
             Column("start", "Met at", "datetime"), Column("overlap_minutes", "Minutes together", "minutes")],
    kind="table", options=OPTIONS[:1], needs=("keep_apart.csv",),
    guidance="""\
- **Every row is a meeting the order was meant to prevent**: two students of one group out at the same destination at
  the same time. Follow up with the staff who issued the passes (the pass ids find them in the pass system).
- A meeting starts when the second pass starts; *minutes together* is how long both passes were open.
- No rows means no two students of a group met on passes in this range.""")
def keep_apart_meetings(tables) -> pd.DataFrame:
    return _keep_apart(tables)


# ---- the range's timed passes, sorted for the sweep ------------------------------------------------

@dataclass
class Students:
    """Everyone a table may name, by code: school, id, name, grade; `rank` and `school_rank` order codes by
    id and by school as text (equal ids, as in two schools, have equal ranks)."""

    school: pa.Array
    student_id: pa.Array
    student_name: pa.Array
    grade: pa.Array
    rank: np.ndarray
    school_rank: np.ndarray


@dataclass
class Timed:
    """The range's timed passes (long enough to meet) as arrays sorted by school, destination, real start."""

    school: np.ndarray  # students.school_rank: schools in text order
    destination: np.ndarray  # codes into `destinations` (alphabetical)
    student: np.ndarray  # codes into `students`
    start: np.ndarray  # real microseconds (UTC)
    end: np.ndarray
    local: np.ndarray | None  # the start's wall-clock microseconds (when `extra` columns were asked for)
    day: np.ndarray  # the local date the pass started, days since 1970-01-01
    reach: np.ndarray  # for each pass, the end (exclusive) of the later passes it meets in its bucket
    destinations: list
    students: Students
    extra: dict  # other columns asked for, in the same order (keep-apart's pass ids)

    def slices(self):
        """(first, end) of each school's passes."""
        if not len(self.school):
            return iter(())
        bounds = np.flatnonzero(np.diff(self.school)) + 1
        return zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(self.school)].tolist())


def _options(tables) -> tuple[int, int]:
    """The overlap needed (microseconds) and the encounters a listed pair needs (Tables checked both)."""
    return round(tables.options["meet_minutes"] * MINUTE_US), int(tables.options["min_encounters"])


def _timed(tables, passes=None, extra=()) -> Timed:
    """The timed passes of `passes` (default: the range's), sorted and with each one's reach.

    Only what the sweep needs is read (a district quarter is millions of passes): a pass's date is that of
    its local start, and with the cache's students table a student's code gives their school."""
    meet, _ = _options(tables)
    passes = tables.passes if passes is None else passes
    keyed = _has_students_table(tables.data, passes)
    who = ["student_key"] if keyed else ["school", "student_id", "student_name", "grade"]
    # a float tolerance: minutes are seconds / 60; the exact test is on microseconds below
    timed = passes.filter(~nw.col("minutes").is_null(), nw.col("minutes") >= meet / MINUTE_US - 1e-6)
    table = _collect(timed.select("destination", *who, "start_time", "minutes", *extra))
    duration = np.rint(_numbers(table["minutes"], np.float64) * MINUTE_US).astype(np.int64)
    if keyed:
        known = tables.once(_keyed_students)
        code, students = known.code(_numbers(table["student_key"], np.int32)), known.students
    else:
        code, students = _students_of(table)
    destinations, destination = _codes(table["destination"])
    local = _micros(table["start_time"])
    extra = {name: _array(table[name]) for name in extra}
    del table
    long_enough = duration >= meet
    if not long_enough.all():
        duration, code, destination, local = (values[long_enough] for values in (duration, code, destination, local))
        extra = {name: values.filter(pa.array(long_enough)) for name, values in extra.items()}
    school = students.school_rank[code]
    start = _real(local, local // DAY_US, _timezone(tables.data))
    end = start + duration
    order, reach = _sweep_order(school.astype(np.int64) * len(destinations) + destination, start, end - meet)
    return Timed(school=school[order], destination=destination[order], student=code[order], start=start[order],
                 end=end[order], local=local[order] if extra else None, day=(local[order] // DAY_US).astype(np.int32),
                 reach=reach, destinations=destinations, students=students,
                 extra={name: values.take(pa.array(order)) for name, values in extra.items()})


def _has_students_table(data, passes) -> bool:
    return getattr(data, "students", None) is not None and "student_key" in passes.collect_schema()


@dataclass
class _Keyed:
    students: Students
    keys: np.ndarray  # sorted student_key of each code

    def code(self, keys: np.ndarray) -> np.ndarray:
        if len(self.keys) and self.keys[0] == 0 and self.keys[-1] == len(self.keys) - 1:
            return keys  # the cache numbers students 0..n-1
        return np.searchsorted(self.keys, keys).astype(np.int32)


def _keyed_students(tables) -> _Keyed:
    """The students table (one row per student) by code, as PassData and SparkPassData give it."""
    table = _collect(tables.data.students.select("student_key", "school", "student_id", "student_name", "grade"))
    table = table.sort_by("student_key")
    return _Keyed(_students(table), _numbers(table["student_key"], np.int64))


def _students_of(table: pa.Table) -> tuple[np.ndarray, Students]:
    """Codes for a bare frame's passes, by (school, student_id); a student's name and grade are the greatest
    seen on their passes (as passkit.reports does for such frames)."""
    frame = pd.DataFrame({name: table[name].to_pandas() for name in ("school", "student_id", "student_name",
                                                                    "grade")})
    grouped = frame.groupby(["school", "student_id"], sort=True, dropna=False)
    code = grouped.ngroup().to_numpy(np.int32)
    per = grouped[["student_name", "grade"]].max().reset_index()
    return code, _students(pa.Table.from_pandas(per, preserve_index=False))


def _students(table: pa.Table) -> Students:
    columns = [table[name].combine_chunks().cast(pa.large_string())  # what pandas' strings hold: no cast later
               for name in ("school", "student_id", "student_name", "grade")]
    return Students(*columns, rank=_codes(columns[1])[1].astype(np.int32),
                    school_rank=_codes(columns[0])[1].astype(np.int32))



def _array(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _collect(frame) -> pa.Table:
    return frame.collect(backend="pyarrow").to_native()


def _numbers(column, dtype) -> np.ndarray:
    return column.combine_chunks().to_numpy(zero_copy_only=False).astype(dtype, copy=False)


def _codes(column) -> tuple[list, np.ndarray]:
    """(names in text order, each row's code into them)."""
    encoded = _array(column).cast(pa.string()).fill_null("").dictionary_encode()
    names = encoded.dictionary.to_pylist()
    order = np.argsort(np.array(names, dtype=object), kind="stable") if names else np.array([], np.int64)
    position = np.empty(len(names), np.int64)
    position[order] = np.arange(len(names))
    return [names[i] for i in order], position.astype(np.int32)[encoded.indices.to_numpy(zero_copy_only=False)]


def _micros(column) -> np.ndarray:
    """Timestamps as int64 microseconds of their wall clock, whatever unit or zone label the engine gave."""
    values = _array(column)
    values = pc.cast(values, pa.timestamp("us", tz=values.type.tz), safe=False)
    return values.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _days(column) -> np.ndarray:
    values = _array(column)
    if pa.types.is_timestamp(values.type):  # a pandas frame's dates are midnight timestamps
        return (_micros(values) // DAY_US).astype(np.int32)
    return values.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)


def _timezone(data) -> str | None:
    return getattr(data, "timezone", None) or (getattr(data, "summary", None) or {}).get("timezone")


def _sweep_order(bucket: np.ndarray, start: np.ndarray, latest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order by (bucket, start), and each pass's reach in that order: the end of the run of its bucket's
    passes that start at or before `latest` (its end less the overlap needed), found by binary search.

    (bucket, time) packed into one int64 key sorts 3x faster than a lexsort and is searched in one call;
    when the key would overflow (centuries-long data), a lexsort and a search per bucket do the same."""
    if not len(start):
        return np.arange(0), np.arange(0)
    base = int(start.min())
    span = max(int(start.max()), int(latest.max())) - base + 1  # a pass's latest stays inside its bucket's span
    if (int(bucket.max()) + 1) * span < SORT_KEY_LIMIT:  # in place where it can: millions of passes
        key = bucket.astype(np.int64)
        key *= span
        key -= base
        reach = key + latest
        key += start
        order = np.argsort(key, kind="stable")
        return order, np.searchsorted(key[order], reach[order], side="right")
    order = np.lexsort((start, bucket))
    bucket, start, latest = bucket[order], start[order], latest[order]
    reach = np.empty(len(start), np.int64)
    bounds = np.flatnonzero(np.diff(bucket)) + 1
    for first, last in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(start)].tolist()):
        reach[first:last] = first + np.searchsorted(start[first:last], latest[first:last], side="right")
    return order, reach


# ---- real instants ----------------------------------------------------------------------------------

def _real(local: np.ndarray, day: np.ndarray, timezone: str | None) -> np.ndarray:
    """Wall-clock microseconds -> real (UTC) microseconds in `timezone` (unchanged without one)."""
    if not timezone or not len(local):
        return local
    days = _distinct(day)
    offsets = [_day_offset(int(d), timezone) for d in days.tolist()]
    which = np.searchsorted(days, day)
    real = local - np.array([offset or 0 for offset in offsets], np.int64)[which]
    changing = np.array([offset is None for offset in offsets])[which]
    if changing.any():  # a day the clocks change: each pass on its own (schools are seldom open then)
        tz = ZoneInfo(timezone)
        real[changing] = [value - _offset_us(EPOCH + dt.timedelta(microseconds=value), tz)
                          for value in local[changing].tolist()]
    return real


@lru_cache(maxsize=4096)
def _day_offset(day: int, timezone: str) -> int | None:
    """The UTC offset (microseconds) of a local day, or None when it changes during the day."""
    tz = ZoneInfo(timezone)
    midnight = EPOCH + dt.timedelta(days=day)
    found = {_offset_us(midnight + dt.timedelta(hours=hour), tz) for hour in range(25)}
    return found.pop() if len(found) == 1 else None


def _offset_us(wall: dt.datetime, tz) -> int:
    """The UTC offset of a wall-clock time as DuckDB (ICU) reads it when the cache is built: a repeated
    time (clocks falling back) is its second occurrence; a skipped one takes the offset before the change."""
    later = wall.replace(tzinfo=tz, fold=1)
    if later.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None) != wall:  # skipped
        later = wall.replace(tzinfo=tz, fold=0)
    return round(later.utcoffset().total_seconds() * 1_000_000)


# ---- meetings, and the pairs they make -------------------------------------------------------------

def _meetings(timed: Timed, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of the pass pairs among passes first..last-1 (one school) that meet, i < j, students not told apart.

    Sorted by (bucket, start), pass i meets every later pass j of its bucket up to its reach: j starts no
    earlier and no later than i's end less the overlap needed, and j itself lasts at least that long
    (shorter passes were left out), so min(end_i, end_j) - start_j is enough. Each pair comes once.
    """
    index = np.arange(first, last)
    count = timed.reach[first:last] - index - 1
    i = np.repeat(index, count)
    return i, np.arange(len(i)) + np.repeat(index + 1 - (np.cumsum(count) - count), count)


def _overlap(timed: Timed, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Microseconds both passes were open (j starts no earlier than i)."""
    return np.minimum(timed.end[i], timed.end[j]) - timed.start[j]


@dataclass
class SchoolPairs:
    """One school's pairs with at least `least` meetings, a before b as text, in that (a, b) order."""

    a: np.ndarray  # student codes
    b: np.ndarray
    meetings: np.ndarray
    together_us: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    destinations: pa.Array | None = None  # where each met, most meetings first (with details=True)
    weeks: tuple = ()  # (meetings, pairs) per week of `weeks`, when asked


def _school_pairs(timed: Timed, first: int, last: int, least: int, weeks=None, details=False) -> SchoolPairs:
    i, j = _meetings(timed, first, last)
    place, code_at, low = _places(timed, first, last)
    who = place[timed.student[first:last] - low]
    one, other = who[i - first], who[j - first]
    size = len(code_at)
    keys = np.minimum(one, other) * size + np.maximum(one, other)  # (a, b): a is the first as text
    keep = one != other  # two passes of one student never meet
    if size * size <= COUNTING_KEYS:  # most pairs meet once: drop them before sorting the rest
        keep &= np.bincount(keys, minlength=size * size)[keys] >= least
    chosen = np.flatnonzero(keep)
    chosen = chosen[np.argsort(keys[chosen])]  # the order within a pair does not matter
    starts, counts = _segments(keys[chosen])
    if (counts < least).any():
        chosen = chosen[np.repeat(counts >= least, counts)]
        starts, counts = _segments(keys[chosen])
    i, j, keys = i[chosen], j[chosen], keys[chosen]
    day = timed.day[j]  # a meeting begins on the later pass's day
    found = SchoolPairs(code_at[keys[starts] // size].astype(np.int32), code_at[keys[starts] % size].astype(np.int32),
                        counts.astype(np.int32), _sums(_overlap(timed, i, j), starts),
                        _reduce(np.minimum, day, starts), _reduce(np.maximum, day, starts))
    pair = np.repeat(np.arange(len(starts)), counts)
    if details:
        found.destinations = _destinations(timed, pair, timed.destination[i], len(starts))
    if weeks is not None:
        week = np.searchsorted(weeks, _week(day))
        found.weeks = (np.bincount(week, minlength=len(weeks)), _pairs_per_week(pair, week, len(starts), len(weeks)))
    return found


def _pairs_per_week(pair: np.ndarray, week: np.ndarray, pairs: int, weeks: int) -> np.ndarray:
    """How many distinct pairs met in each week."""
    if pairs * weeks <= COUNTING_KEYS:
        return (np.bincount(pair * weeks + week, minlength=pairs * weeks).reshape(pairs, weeks) > 0).sum(axis=0)
    return np.bincount(_distinct(pair * weeks + week) % weeks, minlength=weeks)


def _distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique of integers is several times slower here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _places(timed: Timed, first: int, last: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Each code's place among the school's students in id order (indexed from the lowest code, which is
    returned too), and the code at each place.

    The codes of one school's students are consecutive from the cache (numbered by school, then id);
    from elsewhere they may not be, which only makes the table of places larger."""
    codes = timed.student[first:last]
    low, high = int(codes.min()), int(codes.max())
    by_id = np.argsort(timed.students.rank[low:high + 1], kind="stable")
    place = np.empty(high - low + 1, np.int64)
    place[by_id] = np.arange(high - low + 1)
    return place, low + by_id, low


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of each run of equal sorted keys."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.arange(0)
    return starts, np.diff(np.r_[starts, len(keys)])


def _sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts) if len(starts) else np.zeros(0, np.int64)


def _reduce(ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return ufunc.reduceat(values, starts) if len(starts) else np.zeros(0, values.dtype)


def _destinations(timed: Timed, pair: np.ndarray, destination: np.ndarray, pairs: int) -> pa.Array:
    """Each pair's destinations, most meetings first (then by name: codes are in name order), joined by '; '."""
    places = len(timed.destinations)
    keys = np.sort(pair * places + destination)
    starts, counts = _segments(keys)
    pair, place = keys[starts] // places, keys[starts] % places
    most = int(counts.max(initial=0)) + 1
    order = np.argsort((pair * most + (most - counts)) * places + place)  # fits: pairs x meetings x places
    offsets = np.r_[0, np.cumsum(np.bincount(pair, minlength=pairs))]
    names = pa.array(timed.destinations, pa.large_string()).take(pa.array(place[order]))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), names),
                          pa.scalar("; ", pa.large_string()))


@dataclass
class Pairs:
    table: pd.DataFrame  # encounters
    weekly: pd.DataFrame  # encounters_by_week


def _pairs(tables) -> Pairs:
    """Encounters and Encounters per Week from one sweep of the range, a school at a time on every core
    (numpy lets go of the interpreter while it sorts and counts)."""
    _, least = _options(tables)
    timed = _timed(tables)
    weeks = _weeks_with_passes(tables)
    with _pool() as pool:
        parts = list(pool.map(lambda bounds: _school_pairs(timed, *bounds, least, weeks, details=True),
                              timed.slices()))
    weekly = pd.DataFrame({"week": _dates(weeks * 7 - 3),
                           "encounters": sum((part.weeks[0] for part in parts), np.zeros(len(weeks), np.int64)),
                           "pairs": sum((part.weeks[1] for part in parts), np.zeros(len(weeks), np.int64))})
    students = timed.students
    timed = None  # the passes' arrays (100 MB a district quarter) go before the table's names are made
    return Pairs(_pairs_table(students, parts), weekly)


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))


def _week(day: np.ndarray) -> np.ndarray:
    """Monday-based week numbers (1970-01-01 was a Thursday): the week starts on day week * 7 - 3."""
    return (day.astype(np.int64) + 3) // 7


def _weeks_with_passes(tables) -> np.ndarray:
    from .reports import _date_grade_counts  # the daily counts every audit computes anyway

    dates = tables.once(_date_grade_counts)["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    return _distinct(_week(dates))


def _pairs_table(students: Students, parts: list) -> pd.DataFrame:
    def joined(name):
        return np.concatenate([getattr(part, name) for part in parts]) if parts else np.zeros(0, np.int32)

    meetings, tenths = joined("meetings"), _tenths(joined("together_us"))
    order = _order(meetings, tenths, students, joined("a"), joined("b"))
    a, b, where = pa.array(joined("a")[order]), pa.array(joined("b")[order]), pa.array(order)
    places = pa.concat_arrays([part.destinations for part in parts]) if parts else pa.array([], pa.large_string())
    for part in parts:
        part.destinations = None  # joined above: free each school's copy before the names are made
    columns = {"school": (students.school, a), "student_a": (students.student_id, a),
               "student_a_name": (students.student_name, a), "student_b": (students.student_id, b),
               "student_b_name": (students.student_name, b), "destinations": (places, where)}
    with _pool() as pool:  # copying 1.8 million names is most of the work: on every core
        text = dict(zip(columns, pool.map(lambda source: pc.take(*source, memory_pool=SYSTEM), columns.values())))
    del places, columns
    if not (len(order) and pc.max(text["school"]).as_py()):  # one unnamed school: no school column
        del text["school"]
    frame = pa.table(text).to_pandas()
    frame.insert(len(text) - 1, "encounters", meetings[order].astype(np.int64))
    frame.insert(len(text), "minutes_together", tenths[order] / 10)
    frame["first_date"], frame["last_date"] = _dates(joined("first_day")[order]), _dates(joined("last_day")[order])
    return frame


def _order(meetings, tenths, students: Students, a, b) -> np.ndarray:
    """Most encounters first, then most minutes together, then student_a, student_b and school as text."""
    if not len(meetings):
        return np.arange(0)
    ids, schools = int(students.rank.max()) + 1, int(students.school_rank.max()) + 1
    if ids * ids * schools < SORT_KEY_LIMIT:  # one packed key sorts 3x faster than a lexsort
        by_names = np.argsort((students.rank[a].astype(np.int64) * ids + students.rank[b]) * schools
                              + students.school_rank[a])
    else:
        by_names = np.lexsort((students.school_rank[a], students.rank[b], students.rank[a]))
    most = int(tenths.max()) + 1
    if (int(meetings.max()) + 1) * most < SORT_KEY_LIMIT:
        return by_names[np.argsort(-(meetings[by_names].astype(np.int64) * most + tenths[by_names]), kind="stable")]
    return by_names[np.lexsort((-tenths[by_names], -meetings[by_names].astype(np.int64)))]


def _tenths(microseconds: np.ndarray) -> np.ndarray:
    """Whole tenths of a minute, rounded half up (exact: integer arithmetic)."""
    return (microseconds.astype(np.int64) + MINUTE_US // 20) // (MINUTE_US // 10)


def _text(values: pa.Array) -> pd.Series:
    return pa.table({"text": values}).to_pandas()["text"]


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series((np.asarray(days, np.int64) * DAY_US).view("datetime64[us]"))


# ---- keep-apart lists -------------------------------------------------------------------------------

def keep_apart_list(data) -> pd.DataFrame | None:
    """The data's keep_apart.csv as (school, group, student_id) rows, or None when it has none."""
    return getattr(data, "keep_apart", None)


def _keep_apart(tables) -> pd.DataFrame:
    """Every meeting between two students who share a keep-apart group (a row per group they share)."""
    listed = keep_apart_list(tables.data)
    groups = {}  # (school, student_id) -> groups; a row without a school applies in every school
    for school, group, student in listed[["school", "group", "student_id"]].itertuples(index=False):
        groups.setdefault((school, student), set()).add(group)
    ids = sorted({student for _, student in groups})
    timed = _timed(tables, tables.passes.filter(nw.col("student_id").is_in(ids)), extra=("pass_id",))
    students = timed.students
    rows = []
    for first, last in timed.slices():
        i, j = _meetings(timed, first, last)
        different = timed.student[i] != timed.student[j]
        i, j = i[different], j[different]
        for one, other, minutes in zip(i.tolist(), j.tolist(), _tenths(_overlap(timed, i, j)).tolist()):
            if students.rank[timed.student[one]] > students.rank[timed.student[other]]:
                one, other = other, one  # student a is the one first as text
            school = students.school[timed.student[one]].as_py()
            a, b = (students.student_id[timed.student[k]].as_py() for k in (one, other))
            shared = ((groups.get((school, a), set()) | groups.get(("", a), set()))
                      & (groups.get((school, b), set()) | groups.get(("", b), set())))
            later = max(one, other, key=lambda k: (timed.start[k], k))
            rows += [(school, group, timed.extra["pass_id"][one].as_py(), timed.extra["pass_id"][other].as_py(), a, b,
                      timed.destinations[timed.destination[one]], int(timed.local[later]), minutes / 10)
                     for group in sorted(shared)]
    rows.sort(key=lambda row: (row[0], row[1], row[7], row[4], row[5], row[2], row[3]))
    columns = ["school", "group", "pass_id_a", "pass_id_b", "student_a", "student_b", "destination", "start",
               "overlap_minutes"]
    table = pd.DataFrame({name: pd.Series([row[k] for row in rows], dtype="str") for k, name in enumerate(columns)
                          if name not in ("start", "overlap_minutes")})
    table["start"] = pd.Series(np.array([row[7] for row in rows], np.int64).astype("datetime64[us]"))
    table["overlap_minutes"] = pd.Series([row[8] for row in rows], dtype="float64")
    table = table[columns]
    return table if (table["school"] != "").any() else table.drop(columns="school")


# ---- contact tracing ---------------------------------------------------------------------------------

CONTACT_COLUMNS = (Column("degree", "Degree", "int"), Column("student_id", "Student ID", "text"),
                   Column("student_name", "Student", "text"), Column("grade", "Grade", "text"),
                   Column("via", "Via", "text"), Column("meetings", "Meetings", "int"), TOGETHER,
                   Column("first_met", "First met", "date"), Column("last_met", "Last met", "date"))


def contacts(data, student_id: str, start, end, *, school: str | None = None, degree: int = 1,
             meet_minutes: float = MEET_MINUTES) -> pd.DataFrame:
    """Who met `student_id` on passes from `start` to `end` (degree 1), and who met those (degree 2).

    Degree 2 lists students who met a degree-1 contact and are not the student or a degree-1 contact;
    `via` is the contact they met most (then the first by id), and their figures are those with it.
    Sorted by degree, meetings (most first), student_id.
    """
    from .tables import Tables

    if degree not in (1, 2):
        raise PasskitError(f"--degree must be 1 or 2, not {degree}")
    school = _school_of(data, student_id, school)
    tables = Tables(data, start, end, schools=[school] if school else None, options={"meet_minutes": meet_minutes})
    timed = _timed(tables)
    students = timed.students
    found = [_school_pairs(timed, first, last, 1) for first, last in timed.slices()]
    target = np.flatnonzero((students.student_id.to_numpy(zero_copy_only=False) == student_id)
                            & (students.school.to_numpy(zero_copy_only=False) == school))
    rows = []
    if found and len(target):
        me = int(target[0])
        first, near = _contacts_of(found[0], {me})
        rows = [(1, contact, None, *figures) for contact, figures in first.items()]
        if degree == 2:
            rows += [(2, contact, via, *figures)
                     for contact, (via, figures) in _second(found[0], near, near | {me}, students).items()]
    return _contacts_table(rows, students)


def _school_of(data, student_id: str, school: str | None) -> str:
    """The school of the student with this id (one line naming the id typed when there is none, or several)."""
    known = _collect(data.students.filter(nw.col("student_id") == student_id).select("school"))["school"].to_pylist()
    if school is not None:
        known = [name for name in known if name == school]
    if not known:
        where = f" at {school}" if school else ""
        raise PasskitError(f"student id '{student_id}' is not in the data{where}")
    if len(known) > 1:
        raise PasskitError(f"student id '{student_id}' is in several schools ({', '.join(sorted(known))}); "
                           "choose one with --school")
    return known[0]


def _contacts_of(pairs: SchoolPairs, people: set) -> tuple[dict, set]:
    """{contact: (meetings, together_us, first_day, last_day)} of everyone who met one of `people`."""
    figures = {}
    for a, b, meetings, together, first, last in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.meetings.tolist(),
                                                     pairs.together_us.tolist(), pairs.first_day.tolist(),
                                                     pairs.last_day.tolist()):
        for one, other in ((a, b), (b, a)):
            if one in people:
                figures[other] = (meetings, together, first, last)
    return figures, set(figures)


def _second(pairs: SchoolPairs, near: set, seen: set, students: Students) -> dict:
    """{student: (via, figures with via)} of everyone who met a degree-1 contact and is not in `seen`."""
    best = {}
    for a, b, meetings, together, first, last in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.meetings.tolist(),
                                                     pairs.together_us.tolist(), pairs.first_day.tolist(),
                                                     pairs.last_day.tolist()):
        for via, other in ((a, b), (b, a)):
            if via in near and other not in seen:
                current = best.get(other)
                candidate = (via, (meetings, together, first, last))
                if current is None or (-meetings, students.rank[via]) < (-current[1][0], students.rank[current[0]]):
                    best[other] = candidate
    return best


def _contacts_table(rows, students: Students) -> pd.DataFrame:
    ids = students.student_id
    rows.sort(key=lambda row: (row[0], -row[3], ids[row[1]].as_py()))
    code = pa.array([row[1] for row in rows], pa.int64())
    via = [ids[row[2]].as_py() if row[2] is not None else "" for row in rows]
    return pd.DataFrame({
        "degree": pd.Series([row[0] for row in rows], dtype="int64"),
        "student_id": _text(ids.take(code)), "student_name": _text(students.student_name.take(code)),
        "grade": _text(students.grade.take(code)), "via": pd.Series(via, dtype="str"),
        "meetings": pd.Series([row[3] for row in rows], dtype="int64"),
        "minutes_together": _tenths(np.array([row[4] for row in rows], np.int64)) / 10,
        "first_met": _dates(np.array([row[5] for row in rows], np.int64)),
        "last_met": _dates(np.array([row[6] for row in rows], np.int64))})
