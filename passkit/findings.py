"""Findings: what an admin should look at in a range, in plain sentences, each with the numbers behind it.

Every rule below has one threshold (the constants); a rule that does not trigger says nothing, and when
none triggers the range "looks steady". Findings name rooms, destinations, grades and staff, never a
student (pairs of students are counted, not named: the Encounters pages list them).

- **decline**: passes per school day fall over the range: the least-squares slope of each calendar week's
  passes per day with passes (weeks Monday to Sunday, at their real distance apart) is negative, and the
  range's last two calendar weeks average at least DECLINE (20%) fewer passes per day than its first two.
  Needs at least four weeks with passes.
- **spike**: a day with more than SPIKE (2) times the median passes of its weekday in the range (over the
  days of that weekday with passes), naming the destination and the origin whose passes that day exceed
  their own weekday median the most. The largest SPIKES_SHOWN (3) spikes are listed.
- **grade drift**: a grade's share of passes moved by GRADE_DRIFT (5) percentage points or more from the
  prior period (only when the exports cover it).
- **hot spot**: a room whose passes out at one moment reached its max_passes_to / max_passes_from (rooms.csv)
  on at least LIMIT_DAYS (3) days (Pass Limits), or a destination with at least HOT_SHARE (25%) of all passes.
- **staff fidelity**: staff listed in staff.csv with no passes in the range; staff whose passes per school
  day fell by STAFF_FALL (half) or more from the prior period, from at least STAFF_MIN (10) passes then.
- **long passes**: long passes per school day up by LONG_RISE (half) or more on the prior period (from at
  least LONG_MIN (10) long passes then); a destination whose median pass length is over its limit
  (max_minutes in rooms.csv, else --long-minutes), over at least LENGTH_MIN (20) passes that ended.
- **repeat meet-ups**: pairs of students whose passes met (Encounters) at least once a week: as many times as
  the range has calendar weeks with passes, and at least REPEAT_MEETUPS (5) times. (In a busy school many
  pairs meet a few times by chance at a restroom at lunch; once a week for a quarter is a habit.)
- **keep-apart meetings**: any meeting on passes between students of one keep-apart group.

Severity: "high" for keep-apart meetings and a decline (the system may not be used with fidelity),
"medium" for spikes, hot spots, staff and long passes, "low" for grade drift and repeat meet-ups.
"""

import json
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd

from . import compare, limits as pass_limits
from .registry import Column, report
from .tables import collect, listed

DECLINE, SPIKE, SPIKES_SHOWN, GRADE_DRIFT = 0.20, 2.0, 3, 5.0
LIMIT_DAYS, HOT_SHARE, STAFF_FALL, STAFF_MIN = 3, 0.25, 0.5, 10
LONG_RISE, LONG_MIN, LENGTH_MIN, REPEAT_MEETUPS = 0.5, 10, 20, 5
SEVERITY = {"high": 0, "medium": 1, "low": 2}
STEADY = ("Nothing stands out in this range: no decline or spike in passes, no crowded room, no change worth a "
          "look from the prior period.")


def _finding(kind, severity, title, text, evidence) -> dict:
    return {"kind": kind, "severity": severity, "title": title, "text": text, "evidence": evidence}


def _words(table: pd.DataFrame) -> str:
    return f"{len(table)} finding{'s' * (len(table) != 1)}: " + " ".join(table["title"].head(3))


@report(
    title="Findings",
    description="What stands out in the range, in plain sentences, each with the numbers that triggered it.",
    columns=[Column("kind", "Kind", "text"), Column("severity", "Severity", "text"), Column("title", "Finding", "text"),
             Column("text", "Details", "text"), Column("evidence", "Numbers", "text")],
    outputs=frozenset({"csv", "json", "xlsx"}), kind="table", words=_words, empty=STEADY,
    guidance="""\
- Findings are **starting points**: each names the rule that triggered it and its numbers, so you can check them in the
  report pages.
- When nothing triggers, the range looks steady; that is the goal.""")
def findings(tables) -> pd.DataFrame:
    """Every rule's findings, most severe first (then in the rules' order); none for a range without passes
    (whose every staff member "created no passes")."""
    found = []
    for rule in RULES if tables.passes_in_range else ():
        found += rule(tables)
    found.sort(key=lambda item: SEVERITY[item["severity"]])  # stable: the rules' order within a severity
    return pd.DataFrame(found, columns=["kind", "severity", "title", "text", "evidence"], dtype="str")


NAME = findings.report.name  # the pages that show the findings (index, PDF cover, dashboard) find them by this
FILE = f"{NAME}.json"  # written by every `passkit report` and audit folder (the report's "json" output)


# ---- the rules: each takes the range's Tables and returns a list of findings --------------------------

def decline(tables) -> list[dict]:
    weeks = _weekly(_per_day(tables))
    if len(weeks) < 4:
        return []
    slope = float(np.polyfit(weeks["offset"], weeks["per_day"], 1)[0])
    first, last = _rate(weeks[weeks["offset"] <= 1]), _rate(weeks[weeks["offset"] >= weeks["offset"].max() - 1])
    if not (slope < 0 and first and last <= first * (1 - DECLINE)):
        return []
    fall = (first - last) * 100 / first
    return [_finding(
        "decline", "high", f"Passes per day fell {fall:.0f}% over the range.",
        f"The last two weeks averaged {last:,.1f} passes a school day against {first:,.1f} in the first two, and the "
        "weekly trend is downward. Fewer passes can mean fewer trips out of class, or staff who stopped logging them: "
        "compare Staff Usage with the prior period.",
        f"first two weeks {first:,.1f} a day; last two weeks {last:,.1f} a day ({-fall:+.1f}%); "
        f"trend {slope:+,.1f} passes a day per week")]


def spike(tables) -> list[dict]:
    days = _per_day(tables)
    if days.empty:
        return []
    weekday = pd.to_datetime(days.index).day_of_week
    median = days.groupby(weekday).transform("median")
    spikes = days[days > SPIKE * median]
    ratios = (spikes / median[spikes.index]).sort_values(ascending=False, kind="stable").head(SPIKES_SHOWN)
    found = []
    for day in ratios.index:
        excess = float(days[day] - median[day])
        where = {column: _excess_by(tables, column, day) for column in ("destination", "origin")}
        (to, to_excess), (source, from_excess) = where["destination"], where["origin"]
        found.append(_finding(
            "spike", "medium", f"{_day(day)} had {ratios[day]:.1f} times the passes of a usual {_weekday(day)}.",
            f"{int(days[day]):,} passes against a median of {median[day]:,.1f} on {_weekday(day)}s. Most of the extra "
            f"passes went to {to} ({to_excess:,.0f} more than usual) and came from {source} ({from_excess:,.0f} more).",
            f"{_day(day)}: {int(days[day]):,} passes; {_weekday(day)} median {median[day]:,.1f}; excess {excess:,.1f}; "
            f"to {to} +{to_excess:,.1f}; from {source} +{from_excess:,.1f}"))
    return found


def grade_drift(tables) -> list[dict]:
    table = tables.get(compare.NAME)
    shares = table[table["metric"].str.endswith(": share of passes (%)") & table["change"].notna()]
    found = []
    for metric, current, prior, change in shares[["metric", "current", "prior", "change"]].itertuples(index=False):
        if abs(change) >= GRADE_DRIFT:
            grade = metric.removeprefix("Grade ").removesuffix(": share of passes (%)")
            found.append(_finding(
                "grade drift", "low",
                f"Grade {grade}'s share of passes {'rose' if change > 0 else 'fell'} {abs(change):.1f} points.",
                f"Grade {grade} took {current:.1f}% of passes in this range against {prior:.1f}% in the prior period.",
                f"share {prior:.1f}% -> {current:.1f}% ({change:+.1f} points)"))
    return found


def hot_spot(tables) -> list[dict]:
    found = []
    if pass_limits.NAME not in tables.unavailable:
        table = tables.get(pass_limits.NAME)
        for direction in ("to", "from"):
            found += _limits_reached(table, direction)
    rooms = tables.get("room_usage")
    total = tables.passes_in_range
    if total:
        for row in rooms[rooms["passes_to"] >= HOT_SHARE * total].itertuples(index=False):
            share = row.passes_to * 100 / total
            found.append(_finding(
                "hot spot", "medium", f"{_place(row)} took {share:.0f}% of all passes.",
                f"{row.passes_to:,} of {total:,} passes went to {_place(row)}: the first place to supervise.",
                f"passes to it {row.passes_to:,} of {total:,} ({share:.1f}%)"))
    return found


def staff_fidelity(tables) -> list[dict]:
    if "staff_usage" in tables.unavailable:
        return []
    staff = tables.get("staff_usage")
    found = []
    idle = staff[staff["total_passes"] == 0]
    if len(idle) and listed(tables.data, "staff", "issuer", tables.schools) is not None:
        found.append(_finding(
            "staff fidelity", "medium", f"{len(idle)} listed staff created no passes.",
            f"{_first([_place(row, 'issuer') for row in idle.itertuples(index=False)], 5)} are in staff.csv but created no pass in this range: they may not be using the system, which "
            "leaves their students' trips out of every report.", f"listed staff with no passes {len(idle)}"))
    if tables.prior_covered:
        found += _staff_falls(tables, staff)
    return found


def long_passes(tables) -> list[dict]:
    if "pass_length" in tables.unavailable:
        return []
    found = []
    table = tables.get(compare.NAME).set_index("metric")
    if tables.prior_covered and "Long passes" in table.index:
        days, prior_days = table.loc["Days with passes", ["current", "prior"]]
        now, before = table.loc["Long passes", ["current", "prior"]]
        if before >= LONG_MIN and days and prior_days and now / days >= (1 + LONG_RISE) * before / prior_days:
            rise = (now / days) / (before / prior_days) * 100 - 100
            found.append(_finding(
                "long passes", "medium", f"Long passes per day rose {rise:.0f}% on the prior period.",
                f"{now:,} long passes on {days} days against {before:,} on {prior_days} days in the prior period.",
                f"long passes a day {before / prior_days:.1f} -> {now / days:.1f} ({rise:+.0f}%)"))
    lengths = tables.get("pass_length")
    limits = _destination_limits(tables)
    for row in lengths[lengths["by"] == "destination"].itertuples(index=False):
        limit = limits.get((getattr(row, "school", ""), row.key), float(tables.options["long_minutes"]))
        if row.timed_passes >= LENGTH_MIN and row.minutes_median > limit:
            found.append(_finding(
                "long passes", "medium", f"Half the passes to {row.key} last longer than its {limit:g}-minute limit.",
                f"The median pass to {row.key} lasted {row.minutes_median:.1f} minutes over {row.timed_passes:,} passes "
                "that ended: the limit may be too short for what students do there, or the visits run long.",
                f"median {row.minutes_median:.1f} min; limit {limit:g} min; timed passes {row.timed_passes:,}"))
    return found


def repeat_meetups(tables) -> list[dict]:
    if "encounters" in tables.unavailable:
        return []
    pairs = tables.get("encounters")
    times = max(REPEAT_MEETUPS, len(_weekly(_per_day(tables))))
    often = pairs[pairs["encounters"] >= times]
    if often.empty:
        return []
    return [_finding(
        "repeat meet-ups", "low", f"{len(often)} pair{'s' * (len(often) != 1)} of students met on passes about once "
        "a week or more.",
        f"Each met {times} times or more at the same destination at the same time; the most frequent pair "
        f"{int(often['encounters'].max())} times. The Encounters page lists the pairs.",
        f"pairs meeting {times}+ times {len(often)}; most meetings of a pair {int(often['encounters'].max())}")]


def keep_apart(tables) -> list[dict]:
    if "keep_apart_meetings" in tables.unavailable:
        return []
    meetings = tables.get("keep_apart_meetings")
    if meetings.empty:
        return []
    groups = meetings["group"].nunique()
    return [_finding(
        "keep-apart meetings", "high", f"Students who are to be kept apart met {len(meetings)} time"
        f"{'s' * (len(meetings) != 1)} on passes.",
        f"Meetings in {groups} keep-apart group{'s' * (groups != 1)}; the Keep-apart meetings page lists each one, "
        "with both passes.", f"meetings {len(meetings)}; groups {groups}")]


RULES = (decline, spike, grade_drift, hot_spot, staff_fidelity, long_passes, repeat_meetups, keep_apart)


def read(folder) -> list[dict] | None:
    """A folder's findings.json as [{severity, title, text}]; None when it has none (an older folder). Tolerant of
    hand-written files: a list of plain sentences, or of objects with "title" and "text" (or "detail")."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    items = json.loads(path.read_text(encoding="utf-8"))
    items = items.get("findings", []) if isinstance(items, dict) else items
    return [{"severity": str(item.get("severity", "")), "title": str(item.get("title", "")),
             "text": str(item.get("text", item.get("detail", "")))} if isinstance(item, dict)
            else {"severity": "", "title": str(item), "text": ""} for item in items]


# ---- helpers --------------------------------------------------------------------------------------

def _per_day(tables) -> pd.Series:
    """Passes on each date with passes (a date index), from Daily Passes."""
    daily = tables.get("daily_passes")
    return daily.groupby("date")["passes"].sum().sort_index()


def _weekly(per_day: pd.Series) -> pd.DataFrame:
    """Each calendar week's passes, days with passes, passes per such day, and its distance in weeks from the first."""
    dates = pd.to_datetime(per_day.index)
    mondays = dates - pd.to_timedelta(dates.day_of_week, unit="D")
    weeks = per_day.groupby(mondays.values).agg(passes="sum", days="count")
    weeks["per_day"] = weeks["passes"] / weeks["days"]
    weeks["offset"] = (weeks.index - weeks.index.min()).days // 7 if len(weeks) else []
    return weeks


def _rate(weeks: pd.DataFrame) -> float:
    return float(weeks["passes"].sum() / weeks["days"].sum()) if weeks["days"].sum() else 0.0


def _excess_by(tables, column: str, day) -> tuple[str, float]:
    """The `column` value (destination or origin) whose passes on `day` most exceed its own median on that
    weekday in the range (0 on days it had none), and by how much."""
    weekday = pd.Timestamp(day).day_of_week
    counts = tables.once(_DAILY_COUNTS[column])
    same = counts[counts["date"].dt.day_of_week == weekday]
    table = same.pivot_table(index="date", columns=column, values="passes", aggfunc="sum", fill_value=0)
    dates = pd.to_datetime(_per_day(tables).index)
    table = table.reindex(dates[dates.day_of_week == weekday], fill_value=0)
    excess = table.loc[pd.Timestamp(day)] - table.median()
    top = excess.sort_values(ascending=False, kind="stable")
    return str(top.index[0]), float(top.iloc[0])


def _limits_reached(limits: pd.DataFrame, direction: str) -> list[dict]:
    """One finding for the rooms whose max_passes_{direction} was reached on LIMIT_DAYS days or more, busiest
    first (a school sets many limits: one sentence, its three busiest rooms named)."""
    days, peak = f"busy_days_{direction}", f"peak_out_{direction}"
    busy = limits[limits[days].fillna(0) >= LIMIT_DAYS]
    if busy.empty:
        return []
    busy = busy.sort_values([days, peak], ascending=False, kind="stable")
    named = _first([f"{_place(row)} (limit {int(getattr(row, f'max_passes_{direction}'))}, reached on "
             f"{int(getattr(row, days))} days, up to {int(getattr(row, peak))} out at once; Pass Limits suggests "
             f"{_number(getattr(row, f'recommended_{direction}'))})" for row in busy.itertuples(index=False)],
                   3, "; ", "; and")
    if len(busy) == 1:
        row = next(busy.itertuples(index=False))
        limit = int(getattr(row, f"max_passes_{direction}"))
        title = (f"{_place(row)} reached its limit of {limit} pass{'es' * (limit != 1)} {direction} it on "
                 f"{int(getattr(row, days))} days.")
    else:
        title = f"{len(busy)} rooms reached their limits of passes {direction} them on {LIMIT_DAYS} days or more."
    return [_finding(
        "hot spot", "medium", title,
        f"{named}. Students wait when a limit is reached: see Pass Limits for a limit that fits.",
        "; ".join(f"{_place(row)} max_passes_{direction} {int(getattr(row, f'max_passes_{direction}'))}, "
                  f"{int(getattr(row, days))} days at the limit, peak {int(getattr(row, peak))}"
                  for row in busy.head(3).itertuples(index=False)))]


def _daily_counts(tables, column: str) -> pd.DataFrame:
    counts = collect(tables.passes.group_by("date", column).agg(nw.len().alias("passes")))
    return counts.assign(date=pd.to_datetime(counts["date"]))


# Passes by date and destination / origin: each spike day reads them; `tables.once` keeps one of each.
_DAILY_COUNTS = {column: (lambda tables, column=column: _daily_counts(tables, column))
                 for column in ("destination", "origin")}


def _staff_falls(tables, staff: pd.DataFrame) -> list[dict]:
    keys = [c for c in ("school", "issuer") if c in staff]
    prior = tables.prior.get("staff_usage")
    days = tables.get("daily_passes")["date"].nunique()
    prior_days = tables.prior.get("daily_passes")["date"].nunique()
    if not days or not prior_days:
        return []
    both = prior[prior["total_passes"] >= STAFF_MIN].merge(staff, on=keys, how="left", suffixes=("_prior", ""))
    both["total_passes"] = both["total_passes"].fillna(0)
    fell = both[both["total_passes"] / days <= (1 - STAFF_FALL) * both["total_passes_prior"] / prior_days]
    if fell.empty:
        return []
    names = _first([_place(row, "issuer") for row in fell.itertuples(index=False)], 5)
    return [_finding(
        "staff fidelity", "medium", f"{len(fell)} staff created half as many passes a day as in the prior period, "
        "or fewer.", f"{names}: a fall this large usually means passes stopped being logged, not fewer trips.",
        "; ".join(f"{_place(row, 'issuer')} {row.total_passes_prior / prior_days:.1f} -> {row.total_passes / days:.1f} "
                  "a day" for row in fell.head(5).itertuples(index=False)))]


def _destination_limits(tables) -> dict:
    """{(school, room): max_minutes} for the rooms of rooms.csv that have one (school "" outside a district)."""
    rooms = listed(tables.data, "rooms", "room", tables.schools)
    if rooms is None or "max_minutes" not in rooms.collect_schema():
        return {}
    table = collect(rooms.filter(~nw.col("max_minutes").is_null()).select("school", "room", "max_minutes"))
    district = "school" in tables.get("pass_length")
    return {(school if district else "", room): float(limit) for school, room, limit in table.itertuples(index=False)}


def _first(names: list[str], shown: int, separator: str = ", ", then: str = " and") -> str:
    """The first `shown` names, then how many more: "Ms. A, Mr. B and 3 more" (a finding stays a few lines)."""
    more = f"{then} {len(names) - shown} more" if len(names) > shown else ""
    return separator.join(names[:shown]) + more


def _place(row, column: str = "room") -> str:
    """A room's or staff member's name, with its school in a district."""
    name = str(getattr(row, column))
    school = getattr(row, "school", "")
    return f"{name} ({school})" if school and isinstance(school, str) else name


def _number(value) -> str:
    return "–" if pd.isna(value) else f"{int(value)}"


def _day(day) -> str:
    return f"{pd.Timestamp(day):%a %Y-%m-%d}"


def _weekday(day) -> str:
    return f"{pd.Timestamp(day):%A}"

