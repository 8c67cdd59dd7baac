"""`Tables`: the reports of one date range, each computed once, in one process.

    tables = Tables(data, "2026-01-05", "2026-03-27")
    tables.get("room_usage")          # computed now, kept
    tables.all()                      # every report the exports allow, by name, in page order
    tables.unavailable                # {report: why not} for reports needing columns the exports lack

Report functions receive the `Tables` and share work through it: `tables.passes` is the range's
passes (a narwhals LazyFrame), `tables.once(step)` runs an aggregation several reports use only
once, and `tables.get(name)` gives another report's table. `tables.prior` is the same selection over the prior
period (`prior_range`), for the reports that compare.

Exempt students (exempt.csv, see `passkit.exempt`) count in every total but are never singled out:
a report that names or flags individual students starts from `tables.without_exempt(frame)` (or
tests `tables.is_exempt(table)`), and one declared `singles_out=True` is checked for them.
"""

import dataclasses
import datetime as dt
from functools import cached_property

import narwhals as nw
import numpy as np
import pandas as pd

from . import grades as grade_levels, registry
from .params import prior_range
from .errors import PasskitError


class Tables:
    def __init__(self, data, start, end, grades=None, schools=None, options=None, where=None, prior=None):
        self.data = data
        self.where = where  # an extra narwhals filter on the passes (a packet's teacher or room)
        self.start, self.end = as_date(start, "start"), as_date(end, "end")
        if self.start > self.end:
            raise PasskitError(f"the range starts ({self.start}) after it ends ({self.end})")
        self.grades = list(grades) if grades else None
        self.schools = list(schools) if schools else None
        self.options = _options(options or {})
        if isinstance(prior, Tables):  # computed already (an audit's previous quarter): its tables are reused
            self.prior_range = (prior.start, prior.end)
            self.__dict__["prior"] = prior  # where cached_property keeps it
        else:
            self.prior_range = (tuple(as_date(day, "prior") for day in prior) if prior
                                else prior_range(self.start, self.end))
        self._tables: dict[str, pd.DataFrame] = {}
        self._steps: dict = {}

    @cached_property
    def passes(self) -> nw.LazyFrame:
        passes = in_range(self.data, self.start, self.end, self.grades, self.schools)
        return passes if self.where is None else passes.filter(self.where)

    @cached_property
    def prior(self) -> "Tables":
        """The same schools, grades, options and filter over the prior period."""
        return Tables(self.data, *self.prior_range, self.grades, self.schools, self.options, self.where,
                      prior=self.prior_range)

    @cached_property
    def prior_covered(self) -> bool:
        """Whether the exports reach back over the whole prior period (else a comparison would show a drop to
        zero that is only missing data)."""
        return covers(self.data, *self.prior_range)

    @cached_property
    def unavailable(self) -> dict[str, str]:
        """{report: the sentence saying why it is not made} for this data and engine."""
        reasons = registry.unavailable(self.data)
        if getattr(self.data, "engine", "") == "spark":
            for entry in registry.all_reports():
                if not entry.spark:
                    reasons.setdefault(entry.name, f"{entry.title} does not run on the Spark engine; "
                                                   "use the default engine (DuckDB)")
        return reasons

    @cached_property
    def exempt(self) -> frozenset:
        """student_key of the exempt students (exempt.csv); empty without one, or for a bare frame."""
        found = getattr(self.data, "exempt", None)
        return found.keys if found is not None else frozenset()

    def without_exempt(self, frame):
        """`frame` without the exempt students' rows: where every list or flag of individuals starts.

        A narwhals frame (e.g. `tables.passes`) or a pandas table, keyed by `student_key`, or by
        `student_id` (and `school` in a district) as the report tables are.
        """
        if not self.exempt:
            return frame
        if isinstance(frame, pd.DataFrame):
            return frame[~self.is_exempt(frame)]
        return frame.filter(~nw.col("student_key").is_in(sorted(self.exempt)))

    def is_exempt(self, table: pd.DataFrame) -> np.ndarray:
        """For each row of a pandas `table` (with student_key, or student_id and maybe school), whether
        its student is exempt."""
        if not self.exempt or table.empty:
            return np.zeros(len(table), bool)
        if "student_key" in table:
            return table["student_key"].isin(self.exempt).to_numpy()
        schools = table["school"].tolist() if "school" in table else [""] * len(table)
        ids = self.data.exempt.ids
        return np.array([pair in ids for pair in zip(schools, table["student_id"].tolist())], bool)

    def once(self, step):
        """`step(self)`, computed on first use and kept: an aggregation several reports share."""
        if step not in self._steps:
            self._steps[step] = step(self)
        return self._steps[step]

    def get(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            entry = registry.get(name)
            if name in self.unavailable:
                raise PasskitError(f"{entry.title} cannot be made: {self.unavailable[name]}")
            self._tables[name] = self._singles_out_nobody_exempt(entry, _checked(entry, entry.compute(self)))
        return self._tables[name]

    def _singles_out_nobody_exempt(self, entry, table: pd.DataFrame) -> pd.DataFrame:
        if entry.singles_out and self.is_exempt(table).any():
            raise AssertionError(f"report {entry.name} lists an exempt student: start from tables.without_exempt()")
        return table

    def all(self, output: str | None = None) -> dict[str, pd.DataFrame]:
        """Every available report (appearing in `output`, if given), by name, in page order."""
        return {entry.name: self.get(entry.name) for entry in registry.all_reports(output)
                if entry.name not in self.unavailable}

    def computed(self) -> dict[str, pd.DataFrame]:
        """The tables computed so far."""
        return dict(self._tables)

    def keeping(self, names) -> "Tables":
        """The same range with only the tables `names` already computed (others are computed again on use): what a
        later range compared with this one reads, without holding the rest in memory."""
        slim = Tables(self.data, self.start, self.end, self.grades, self.schools, self.options, self.where,
                      prior=self.prior_range)
        slim._tables = {name: table for name, table in self._tables.items() if name in names}
        return slim

    @property
    def passes_in_range(self) -> int:
        return int(self.get("passes_by_grade")["passes"].sum())


def _options(given: dict) -> dict:
    known = registry.options()
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise PasskitError(f"unknown report option '{unknown[0]}' (options: {', '.join(known) or 'none'})")
    for name, value in given.items():
        if known[name].minimum is not None and not value >= known[name].minimum:
            raise PasskitError(f"{known[name].flag} must be at least {known[name].minimum}, not {value}")
    return {name: option.default for name, option in known.items()} | given


def _checked(entry, table: pd.DataFrame) -> pd.DataFrame:
    """A report's table has its declared columns in order (school only when there are schools)."""
    declared = [column.name for column in entry.columns]
    actual = list(table.columns)
    if actual[:1] == ["school"] and declared[:1] != ["school"]:
        actual = actual[1:]
    if actual != declared:
        raise AssertionError(f"report {entry.name} returned columns {list(table.columns)}, declared {declared}")
    return table


# ---- the passes of a range ------------------------------------------------------------------------

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


def covers(data, start, end) -> bool:
    """Whether the exports behind `data` run from `start` or before to `end` or after (its load summary's first and
    last days; for a bare frame, its passes' first and last dates)."""
    loaded = getattr(data, "summary", None)
    if loaded:
        first, last = loaded.get("first_date"), loaded.get("last_date")
    else:
        found = collect(passes_frame(data).select(first=nw.col("date").min(), last=nw.col("date").max()))
        first, last = found["first"].iloc[0], found["last"].iloc[0]
    return within(first, last, start, end)


def within(first, last, start, end) -> bool:
    """Whether data from `first` to `last` (dates or ISO text; None when there is none) spans `start`..`end`."""
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return False
    return as_date(first) <= as_date(start) and as_date(end) <= as_date(last)


def passes_frame(data) -> nw.LazyFrame:
    frame = data.passes if hasattr(data, "passes") else nw.from_native(data)
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def with_passes(data, passes):
    """`data` (a PassData) with other passes: a frame with the cache's columns, such as your own filtering of
    `data.passes.collect("pandas").to_native()`.

    Reports on it keep what a bare frame lacks: rooms.csv (room folders, long-pass limits), staff.csv, the
    students table and bells.csv. An eager frame (pandas, Polars, PyArrow) gets the side tables in its own
    library, so the reports' joins run there.
    """
    frame = nw.from_native(passes)
    copy = dataclasses.replace(data)  # the same cache and connection; its frames are bound again on use
    copy.__dict__["passes"] = frame.lazy()  # set where cached_property would keep it
    if isinstance(frame, nw.DataFrame):
        for name in ("students", "rooms", "staff"):
            copy.__dict__[name] = getattr(data, name).collect(backend=frame.implementation).lazy()
    return copy


def as_date(value, name="date") -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PasskitError(f"the {name} date '{value}' is not a date like 2026-01-05") from None


def listed(data, name, key, schools):
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


def collect(frame: nw.LazyFrame) -> pd.DataFrame:
    return frame.collect(backend="pandas").to_native()
