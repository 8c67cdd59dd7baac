"""bells.csv: a school's bell schedule, read and checked once, and the period a time of day falls in.

    period,start,end,days
    Period 1,07:45,08:35,"Mon,Tue,Thu,Fri"
    Period 1,08:55,09:35,Wed                 # a late-start Wednesday has its own rows

Times are school-local `HH:MM`; a period runs from its start (included) to its end (excluded).
`days` lists days (`Mon`, `Tuesday`...) and ranges (`Mon-Fri`), comma-separated; blank means every
day. An optional `school` column gives a district's schools their own schedules: a school with rows
of its own uses those, the others use the rows without a school.

A time outside every period of its day is `before school`, `between periods` or `after school`;
on a day the schedule has no period at all it is `no bell schedule`.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PasskitError
from .readers import read_table

REQUIRED, OPTIONAL = ("period", "start", "end"), ("days", "school")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # ISO weekday 1..7
BEFORE, BETWEEN, AFTER, NO_SCHEDULE = "before school", "between periods", "after school", "no bell schedule"
CACHE_FILE = "bells.parquet"
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class Bell:
    """One period on one weekday."""

    school: str  # "" for the rows every school without its own rows uses
    period: str
    weekday: int  # 1 = Monday ... 7 = Sunday
    start: int  # minutes after midnight, included
    end: int  # minutes after midnight, excluded
    line: int  # its line in bells.csv (the header is line 1)


class Schedule:
    """The checked bells of a data folder; `labels` names the period of many start times at once."""

    def __init__(self, bells):
        self.bells = sorted(bells, key=lambda b: (b.school, b.weekday, b.start))
        first = {}
        for bell in self.bells:
            first[bell.period] = min(first.get(bell.period, (bell.start, bell.line)), (bell.start, bell.line))
        # the order bells ring in: by a period's earliest start, then by where the file lists it
        self.periods = sorted(first, key=lambda period: first[period])
        self.order = [BEFORE, *self.periods, BETWEEN, AFTER, NO_SCHEDULE]
        self._own = {bell.school for bell in self.bells}
        self._days: dict = {}

    def labels(self, schools, weekdays, minutes) -> np.ndarray:
        """The period (as an index into `order`) of each start: school, ISO weekday, minute of the day."""
        school_codes, names = pd.factorize(np.asarray(schools, dtype=object))
        days, which = np.unique(school_codes * 8 + np.asarray(weekdays, np.int64), return_inverse=True)
        table = np.array([self._day(names[day // 8], int(day % 8)) for day in days], np.int64).reshape(-1, 24 * 60)
        return table[which, np.asarray(minutes, np.int64)] if len(days) else np.zeros(0, np.int64)

    def _day(self, school: str, weekday: int) -> np.ndarray:
        """The period code of each of the day's 1,440 minutes."""
        key = (school if school in self._own else "", weekday)
        if key not in self._days:
            bells = [b for b in self.bells if (b.school, b.weekday) == key]
            day = np.full(24 * 60, self.order.index(NO_SCHEDULE if not bells else BETWEEN), np.int64)
            if bells:
                day[:bells[0].start] = self.order.index(BEFORE)
                day[bells[-1].end:] = self.order.index(AFTER)
            for bell in bells:
                day[bell.start:bell.end] = self.order.index(bell.period)
            self._days[key] = day
        return self._days[key]

    def table(self) -> pd.DataFrame:
        """One row per period and weekday (what the cache keeps)."""
        return pd.DataFrame({name: pd.Series([getattr(b, name) for b in self.bells],
                                             dtype="str" if name in ("school", "period") else "int64")
                             for name in Bell.__dataclass_fields__})


def read(path, rename=None) -> Schedule:
    """bells.csv, checked: a row that cannot be read, or periods that overlap, stop the load with one line."""
    path = Path(path)
    table, bad_lines = read_table(path, REQUIRED, OPTIONAL, rename)
    if bad_lines:
        raise PasskitError("the row has the wrong number of fields", file=path, line=bad_lines[0])
    rows = table.to_pylist()
    if not rows:
        raise PasskitError("no periods listed", file=path)
    bells = [bell for row in rows for bell in _bells(row, path)]
    _check_overlaps(bells, path)
    return Schedule(bells)


def _bells(row: dict, path) -> list[Bell]:
    line = row["_line"]
    if not row["period"]:
        raise PasskitError("missing period", file=path, line=line, column="period")
    start, end = (_minutes(row[name], name, path, line) for name in ("start", "end"))
    if end <= start:
        raise PasskitError(f"end {row['end']} is not after start {row['start']}", file=path, line=line, column="end")
    return [Bell(row.get("school") or "", row["period"], day, start, end, line)
            for day in _days(row.get("days"), path, line)]


def _minutes(text, name, path, line) -> int:
    match = _TIME.fullmatch(text or "")
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise PasskitError(f"{name} '{text or ''}' is not a time like 08:05", file=path, line=line, column=name)
    return int(match[1]) * 60 + int(match[2])


def _days(text, path, line) -> list[int]:
    """'Mon-Fri' -> [1..5]; 'Mon,Tue,Thu,Fri' -> [1, 2, 4, 5]; blank -> every day."""
    if not text:
        return list(range(1, 8))
    days = []
    for item in text.split(","):
        first, _, last = item.partition("-")
        begin, finish = _day(first, path, line), _day(last, path, line) if last else None
        if finish is not None and finish < begin:
            raise PasskitError(f"the day range '{item.strip()}' runs backwards (write it as Mon-Fri)", file=path,
                               line=line, column="days")
        days += range(begin, (finish or begin) + 1)
    return sorted(set(days))


def _day(text, path, line) -> int:
    """A day's English name or its first three letters or more ('Wed', 'Thurs'), in any case."""
    word = text.strip().lower()
    for number, name in enumerate(DAYS, start=1):
        if len(word) >= 3 and name.lower().startswith(word):
            return number
    raise PasskitError(f"unknown day '{text.strip()}' (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range like "
                       "Mon-Fri)", file=path, line=line, column="days")


def _check_overlaps(bells, path):
    """Two periods of one schedule may touch (one ends as the next starts) but not overlap on any day."""
    by_day = {}
    for bell in sorted(bells, key=lambda b: (b.school, b.weekday, b.start, b.line)):
        by_day.setdefault((bell.school, bell.weekday), []).append(bell)
    clashes = [(max(a, b, key=lambda x: x.line), min(a, b, key=lambda x: x.line))
               for day in by_day.values() for a, b in zip(day, day[1:]) if b.start < a.end]
    if clashes:
        later, earlier = min(clashes, key=lambda pair: (pair[0].line, pair[1].line))
        raise PasskitError(f"{later.period} ({_hhmm(later.start)}-{_hhmm(later.end)}) overlaps {earlier.period} "
                           f"({_hhmm(earlier.start)}-{_hhmm(earlier.end)}, line {earlier.line}) on "
                           f"{DAYS[later.weekday - 1]}", file=path, line=later.line)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---- in the cache -----------------------------------------------------------------------------------

def write_cache(schedule: Schedule | None, folder: Path):
    if schedule is not None:
        schedule.table().to_parquet(folder / CACHE_FILE, index=False)


def from_cache(folder) -> Schedule | None:
    """The schedule a cache folder keeps, or None when the data folder had no bells.csv."""
    path = Path(folder) / CACHE_FILE
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    return Schedule(Bell(*row) for row in table[list(Bell.__dataclass_fields__)].itertuples(index=False, name=None))
