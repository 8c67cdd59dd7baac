"""Audit parameters: a YAML file and/or command-line options, checked, with stable output folder names.

A parameters file (relative paths in it are relative to the file's own folder, so it works from any
working directory):

    school: Demo High              # the name on the reports and in the output folder's name
    data: ../demo-data             # folder of exports
    timezone: America/Chicago
    period: 2025-26 Q3             # optional name of the range (default "<start> to <end>")
    start: 2026-01-05
    end: 2026-03-27
    schools: [Lincoln High]        # optional: only these schools of a district export
    quarters:                      # optional: the ranges `--all-quarters` audits
      - {period: 2025-26 Q1, start: 2025-08-18, end: 2025-10-17}
    columns: vendor-map.yaml       # optional column-mapping file
    cache: /var/cache/passkit      # optional Parquet cache folder
"""

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import PasskitError

KEYS = ("school", "data", "timezone", "period", "start", "end", "schools", "quarters", "columns", "cache")
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
class AuditParams:
    data: Path
    period: Period
    timezone: str = DEFAULT_TIMEZONE
    school: str = ""
    schools: tuple[str, ...] = ()
    quarters: tuple[Period, ...] = ()
    columns: Path | None = None
    cache: Path | None = None
    source: Path | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """The name on the reports: the school, else the one chosen school, else the data folder's name."""
        if self.school:
            return self.school
        if len(self.schools) == 1:
            return self.schools[0]
        return self.data.resolve().name

    def folder_name(self, period: Period | None = None) -> str:
        """'demo-high-2025-26-q3': deterministic, from the label and the period."""
        return f"{slug(self.label)}-{(period or self.period).slug}"

    def periods(self, all_quarters: bool) -> list[Period]:
        if not all_quarters:
            return [self.period]
        if not self.quarters:
            raise PasskitError("--all-quarters needs a parameters file with a 'quarters:' list",
                               file=self.source)
        return list(self.quarters)


def slug(text: str) -> str:
    """'Demo High' -> 'demo-high'; '2025-26 Q3' -> '2025-26-q3'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "audit"


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


def build(file=None, **options) -> AuditParams:
    """Parameters from an optional file, with command-line `options` (None = not given) taking precedence."""
    values = read_file(file) if file else {}
    values.update({key: value for key, value in options.items() if value not in (None, [], ())})
    where = values.get("source")
    if "data" not in values:
        raise PasskitError("no data folder: give --data or 'data:' in a parameters file", file=where)
    quarters = values.get("quarters", ())
    start = values.get("start") or (quarters[0].start if quarters else None)
    end = values.get("end") or (quarters[-1].end if quarters else None)
    if start is None or end is None:
        raise PasskitError("no date range: give --start and --end, or 'start:' and 'end:' in a parameters file",
                           file=where)
    start, end = as_date(start, "start", where), as_date(end, "end", where)
    if start > end:
        raise PasskitError(f"the range starts ({start}) after it ends ({end})", file=where)
    overridden = options.get("start") or options.get("end")  # a file's period name no longer fits
    name = str(values["period"]) if values.get("period") and not overridden else f"{start} to {end}"
    schools = values.get("schools", ())
    if isinstance(schools, str):
        schools = [schools]
    return AuditParams(data=Path(values["data"]), period=Period(name, start, end),
                       timezone=str(values.get("timezone") or DEFAULT_TIMEZONE), school=str(values.get("school") or ""),
                       schools=tuple(str(s) for s in schools), quarters=tuple(quarters),
                       columns=_path(values.get("columns")), cache=_path(values.get("cache")), source=where)


def for_school(params: AuditParams, school: str) -> AuditParams:
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
