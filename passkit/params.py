"""Settings for every command: a YAML parameters file and/or command-line options, checked in one place.

`passkit report`, `audit` and `dashboard` all read their settings through `build` (options given on
the command line override the file). A parameters file (relative paths in it are relative to the file's own folder, so it works from any
working directory):

    school: Demo High              # the name on the reports and in the output folder's name
    data: ../demo-data             # folder of exports
    timezone: America/Chicago
    period: 2025-26 Q3             # optional name of the range (default "<start> to <end>")
    start: 2026-01-05
    end: 2026-03-27
    schools: [Lincoln High]        # optional: only these schools of a district export
    grades: ["9"]                  # optional: only these grades
    quarters:                      # optional: the ranges `--all-quarters` audits
      - {period: 2025-26 Q1, start: 2025-08-18, end: 2025-10-17}
    columns: vendor-map.yaml       # optional column-mapping file
    cache: /var/cache/passkit      # optional Parquet cache folder
    year_starts: 2025-08-01        # optional: the school year of times written without a year
    drop_identical: true           # optional: drop rows identical to an earlier one (exports without pass ids)
    paper: a4                      # optional: letter (default) or a4, for report.pdf and the workbook's print setup
"""

import datetime as dt

from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import PasskitError
from .folders import slug

KEYS = ("school", "data", "timezone", "period", "start", "end", "schools", "grades", "quarters", "columns", "cache",
        "year_starts", "drop_identical", "paper")
PAPERS = ("letter", "a4")
PATH_KEYS = ("data", "columns", "cache")
DEFAULT_TIMEZONE = "America/Chicago"


@dataclass(frozen=True)
class Period:
    """A named, inclusive date range."""

    name: str
    start: dt.date
    end: dt.date

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass(frozen=True)
class Settings:
    data: Path
    period: Period | None  # None only where no range is needed (the dashboard)
    timezone: str = DEFAULT_TIMEZONE
    school: str = ""
    schools: tuple[str, ...] = ()
    quarters: tuple[Period, ...] = ()
    columns: Path | None = None
    cache: Path | None = None
    grades: tuple[str, ...] = ()
    year_starts: dt.date | None = None  # for exports whose times have no year (else from the range)
    drop_identical: bool = False
    paper: str = "letter"  # report.pdf's and the workbook's paper size
    options: dict = field(default_factory=dict, compare=False)  # report options (registry.Option)
    source: Path | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """The name on the reports: the school, else the one chosen school, else the data folder's name."""
        if self.school:
            return self.school
        if len(self.schools) == 1:
            return self.schools[0]
        return self.data.resolve().name

    @property
    def school_year_start(self) -> dt.date | None:
        """Where year-less times fall: the given first day, else the school year holding the range's start."""
        if self.year_starts or self.period is None:
            return self.year_starts
        from .data import school_year_start

        return school_year_start(self.period.start)

    def caption(self, period: Period | None = None) -> str:
        """'Demo High · 2025-26 Q3 · 2026-01-05 to 2026-03-27' (the period's name only when it has its own)."""
        period = period or self.period
        span = f"{period.start} to {period.end}"
        return " · ".join(part for part in (self.label, period.name if period.name != span else "", span) if part)

    def folder_name(self, period: Period | None = None) -> str:
        """'demo-high-2025-26-q3': deterministic, from the label and the period."""
        return f"{slug(self.label)}-{(period or self.period).slug}"

    def prior(self, period: Period | None = None) -> tuple[dt.date, dt.date]:
        """The range `period` (default: this one) is compared with: the quarter before it, or as many days before."""
        period = period or self.period
        return prior_range(period.start, period.end, self.quarters)

    def periods(self, all_quarters: bool) -> list[Period]:
        if not all_quarters:
            return [self.period]
        if not self.quarters:
            raise PasskitError("--all-quarters needs a parameters file with a 'quarters:' list",
                               file=self.source)
        return list(self.quarters)


def prior_range(start, end, quarters=()) -> tuple[dt.date, dt.date]:
    """The period a range is compared with: the quarter before it when the range is one of `quarters` (Periods or
    (start, end) pairs) other than the first; else as many calendar days, ending the day before it starts."""
    start, end = _day(start), _day(end)
    ranges = sorted((_day(getattr(q, "start", None) or q[0]), _day(getattr(q, "end", None) or q[1])) for q in quarters)
    if (start, end) in ranges[1:]:
        return ranges[ranges.index((start, end)) - 1]
    return start - (end - start) - dt.timedelta(days=1), start - dt.timedelta(days=1)


def _day(value) -> dt.date:
    """A date, or ISO text of one (checked dates only: parameters are checked where they are read)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def read_file(path) -> dict:
    """The checked values of a parameters file, with its relative paths resolved against its folder."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except OSError as exc:
        raise PasskitError(f"cannot read the parameters file ({exc.strerror})", file=path) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise PasskitError(f"not valid YAML ({getattr(exc, 'problem', None) or exc})", file=path,
                           line=line + 1 if line is not None else None) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PasskitError("a parameters file is a list of 'key: value' lines", file=path)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise PasskitError(f"unknown key '{unknown[0]}' (known keys: {', '.join(KEYS)})", file=path)
    values = {key: value for key, value in raw.items() if value is not None}
    for key in PATH_KEYS:
        if key in values:
            values[key] = (path.parent / str(values[key])).resolve()
    if "quarters" in values:
        values["quarters"] = _quarters(values["quarters"], path)
    values["source"] = path
    return values


def build(file=None, *, need_range=True, report_options=None, **options) -> Settings:
    """Settings from an optional file, with command-line `options` (None = not given) taking precedence.

    `quarters` may be given as text ("2025-08-18..2025-10-17,..." or first days only); `report_options`
    are the reports' own settings (e.g. long_minutes), already typed.
    """
    values = read_file(file) if file else {}
    if isinstance(options.get("quarters"), str):
        options["quarters"] = parse_quarters(options["quarters"], values.get("source"))
    values.update({key: value for key, value in options.items() if value not in (None, [], ())})
    where = values.get("source")
    if "data" not in values:
        raise PasskitError("no data folder: give --data or 'data:' in a parameters file", file=where)
    return Settings(data=Path(values["data"]), period=_period(values, options, where, need_range),
                    timezone=str(values.get("timezone") or DEFAULT_TIMEZONE), school=str(values.get("school") or ""),
                    schools=_texts(values.get("schools")), quarters=tuple(values.get("quarters", ())),
                    columns=_path(values.get("columns")), cache=_path(values.get("cache")),
                    grades=_texts(values.get("grades")), options=dict(report_options or {}),
                    year_starts=as_date(values["year_starts"], "year start", where) if values.get("year_starts") else None,
                    drop_identical=bool(values.get("drop_identical")), paper=_paper(values.get("paper"), where),
                    source=where)


def _period(values, options, where, need_range) -> Period | None:
    quarters = values.get("quarters", ())
    start = values.get("start") or (quarters[0].start if quarters else None)
    end = values.get("end") or (quarters[-1].end if quarters else None)
    if start is None or end is None:
        if not need_range:
            return None
        raise PasskitError("no date range: give --start and --end, or 'start:' and 'end:' in a parameters file",
                           file=where)
    start, end = as_date(start, "start", where), as_date(end, "end", where)
    if start > end:
        raise PasskitError(f"the range starts ({start}) after it ends ({end})", file=where)
    overridden = options.get("start") or options.get("end")  # a file's period name no longer fits
    name = str(values["period"]) if values.get("period") and not overridden else f"{start} to {end}"
    return Period(name, start, end)


def _paper(value, where) -> str:
    paper = str(value or "letter").strip().lower()
    if paper not in PAPERS:
        raise PasskitError(f"paper '{value}' is not letter or a4", file=where)
    return paper


def _texts(value) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(item) for item in ([value] if isinstance(value, str) else value))


def parse_quarters(text: str, where=None) -> tuple[Period, ...]:
    """'2025-08-18..2025-10-17,2025-10-20..2025-12-19,...', or first days only ('2025-08-18,2025-10-20,...'):
    then each quarter ends the day before the next begins, and the last a year after the first began."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise PasskitError("--quarters lists each quarter's first day (or start..end), separated by commas")
    pairs = [item.split("..", 1) if ".." in item else (item, None) for item in items]
    starts = [as_date(start, "quarter start", where) for start, _ in pairs]
    year_end = dt.date(starts[0].year + 1, starts[0].month, 1) - dt.timedelta(days=1)
    entries = []
    for number, ((_, end), start) in enumerate(zip(pairs, starts)):
        default_end = starts[number + 1] - dt.timedelta(days=1) if number + 1 < len(starts) else year_end
        entries.append({"period": f"Quarter {number + 1}", "start": str(start), "end": end or str(default_end)})
    return _quarters(entries, where or "--quarters")


def for_school(params: Settings, school: str) -> Settings:
    """The same audit limited to one school of a district, named after it."""
    return replace(params, school=school, schools=(school,))


def as_date(value, name: str, where=None) -> dt.date:
    from . import reports

    try:
        return reports.as_date(value, name)
    except PasskitError as exc:
        raise PasskitError(str(exc), file=where) from None


def _quarters(entries, path) -> tuple[Period, ...]:
    if not isinstance(entries, list) or not entries:
        raise PasskitError("'quarters:' is a list of {period, start, end} entries", file=path)
    quarters = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) - {"period", "start", "end"} or not {"start", "end"} <= set(entry):
            raise PasskitError(f"quarter {number} needs exactly 'start', 'end' and an optional 'period'", file=path)
        start, end = as_date(entry["start"], "start", path), as_date(entry["end"], "end", path)
        if start > end:
            raise PasskitError(f"quarter {number} starts ({start}) after it ends ({end})", file=path)
        if quarters and start <= quarters[-1].end:
            raise PasskitError(f"quarter {number} starts ({start}) before the previous one ends", file=path)
        quarters.append(Period(str(entry.get("period") or f"{start} to {end}"), start, end))
    if len({q.slug for q in quarters}) < len(quarters):
        raise PasskitError("two quarters have the same name", file=path)
    return tuple(quarters)


def _loader():
    """YAML's safe loader, but dates stay text: checked here, so '2026-13-05' gets passkit's message."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return Loader


def _path(value) -> Path | None:
    return Path(value) if value else None
