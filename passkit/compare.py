"""Compared with what: each range's headline figures beside the prior period's.

- The **prior period** of a range is the quarter before it, when the parameters list quarters and the range
  is one of them (not the first); otherwise as many calendar days, ending the day before the range starts
  (`tables.prior_range`). It has the same schools, grades and options.
- A figure is compared only when the exports cover the whole prior period; otherwise its prior, change and
  change_pct are blank, and the report says why (a drop to zero would only be missing data).
- `change` is current minus prior, as the figures are shown (passes per day to a tenth); `change_pct` is
  change / prior x 100 to a tenth, blank when prior is 0.
- The figures: the audit summary's numeric headline figures (passes, days with passes, passes per day,
  students with a pass, outliers, staff, pass lengths, long passes...), then for each grade its passes per
  day with passes and its share of the range's passes (in percent, to a tenth).
"""

import pandas as pd

from . import summary
from .registry import Column, report

UNCOVERED = "the exports do not cover the prior period"
# What a range's comparisons read from its prior period (the headline's tables): an audit of every quarter keeps these
# of each quarter for the next one (`Tables.keeping`).
PRIOR_TABLES = ("daily_passes", "passes_by_grade", "passes_by_student", "room_usage", "staff_usage", "pass_length",
                "keep_apart_meetings")


def _words(table: pd.DataFrame) -> str:
    prior = table.attrs.get("prior", "the prior period")
    if not table.attrs.get("covered", True):
        return f"Compared with {prior}: no change is shown, because {UNCOVERED}."
    per_day = table[table["metric"] == "Passes per day (average)"]
    if per_day.empty or pd.isna(per_day["change_pct"].iloc[0]):
        return f"Compared with {prior}: the prior period had no passes."
    row = per_day.iloc[0]
    return f"Compared with {prior}: passes per day {change_words(row['change'], row['change_pct'], row['prior'])}."


@report(
    title="Compared with the Prior Period",
    description="The range's headline figures beside the prior period's: what went up, what went down.",
    columns=[Column("metric", "Figure", "text"), Column("current", "This range", "mixed"),
             Column("prior", "Prior period", "mixed"), Column("change", "Change", "mixed"),
             Column("change_pct", "Change (%)", "float")],
    kind="table", words=_words,
    guidance="""\
- **Passes per day** is the figure to compare: totals depend on how many school days each period had.
- **A fall** in passes per day can mean fewer trips out of class, or staff who stopped logging them (see Staff Usage and the
  findings); **a rise** after a new limit or rule means the rule is not holding.
- **A grade's share** moving by several points is worth a look even when the total is steady.
- The prior period is the previous quarter when your parameters list quarters, else as many days just before the range.
  When the exports do not reach back that far, no change is shown: export a longer date range to compare.""")
def comparison(tables) -> pd.DataFrame:
    """One row per figure (see the module docstring), in the headline's order, then grade by grade."""
    covered = tables.prior_covered
    current = figures(tables)
    prior = figures(tables.prior) if covered else {}
    rows = []
    for metric, value in current.items():
        before = prior.get(metric, 0) if covered else None
        rows.append((metric, value, before, *difference(value, before)))
    table = pd.DataFrame(rows, columns=["metric", "current", "prior", "change", "change_pct"], dtype=object)
    table = table.astype({"metric": "str", "change_pct": "float64"})  # ints stay ints beside a tenth
    start, end = tables.prior_range
    table.attrs.update(prior=f"{start:{summary.DATE_FORMAT}} to {end:{summary.DATE_FORMAT}}", covered=covered)
    return table


def figures(tables) -> dict:
    """{figure: number} of one range: the numeric headline figures, then each grade's."""
    found = {figure: value for figure, value in summary.headline(tables).itertuples(index=False)
             if isinstance(value, (int, float)) and not isinstance(value, bool)}
    by_grade = tables.get("passes_by_grade")
    days, total = int(found.get("Days with passes", 0)), int(by_grade["passes"].sum())
    for grade, passes in by_grade[["grade", "passes"]].itertuples(index=False):
        found[f"Grade {grade}: passes per day"] = round(passes / days, 1) if days else 0.0
        found[f"Grade {grade}: share of passes (%)"] = round(passes * 100 / total, 1) if total else 0.0
    return found


def difference(current, prior) -> tuple:
    """(change, change_pct): blank without a prior; change_pct blank when prior is 0."""
    if prior is None:
        return None, float("nan")
    change = current - prior
    change = round(change, 1) if isinstance(change, float) else int(change)
    return change, round(change * 100 / prior, 1) if prior else float("nan")


def change_words(change, change_pct, prior) -> str:
    """'up 12.0% on the prior period (1,118.6)', 'down 3 on the prior period (0)' (no percent of 0), 'the same as
    the prior period (40)'."""
    if change is None or pd.isna(change):
        return ""
    shown = f"{prior:,}" if isinstance(prior, int) else f"{prior:,.1f}"
    if not change:
        return f"the same as the prior period ({shown})"
    size = f"{abs(change_pct):.1f}%" if not pd.isna(change_pct) else (
        f"{abs(change):,}" if isinstance(change, int) else f"{abs(change):,.1f}")
    return f"{'up' if change > 0 else 'down'} {size} on the prior period ({shown})"


def changes(table: pd.DataFrame) -> dict[str, str]:
    """{figure: 'up 12.0% on the prior period (1,118.6)'} from a comparison table, for the headline cards; {} when
    the exports do not cover the prior period."""
    return {metric: change_words(change, pct, prior) for metric, prior, change, pct in
            table[["metric", "prior", "change", "change_pct"]].itertuples(index=False) if prior is not None
            and not pd.isna(prior)}


NAME = comparison.report.name  # the headline cards, the tiles and the findings read it by this


# ---- rooms and staff beside the prior period -------------------------------------------------------

def _beside(tables, name: str, keys: list[str], counts: list[str]) -> pd.DataFrame:
    """Report `name`'s table with, for each count, the prior period's count and the change (blank when the exports
    do not cover the prior period). A row only one period has counts 0 in the other; the prior period's own rows
    follow the table's, in its order."""
    table = tables.get(name)
    keys = (["school"] if "school" in table else []) + keys
    found = table[keys + counts].copy()
    if tables.prior_covered:
        prior = tables.prior.get(name)[keys + counts]
        gone = prior.merge(found[keys], on=keys, how="left", indicator=True)["_merge"] == "left_only"
        found = pd.concat([found, prior[gone.to_numpy()][keys].assign(**{count: 0 for count in counts})],
                          ignore_index=True)
        found = found.merge(prior, on=keys, how="left", suffixes=("", "_prior"))
        for count in counts:
            found[count] = found[count].astype("int64")
            found[f"{count}_prior"] = found[f"{count}_prior"].fillna(0).astype("int64")
            found[f"{count}_change"] = found[count] - found[f"{count}_prior"]
    else:
        for count in counts:
            found[f"{count}_prior"] = found[f"{count}_change"] = pd.array([pd.NA] * len(found), "Int64")
    return found[keys + [f"{count}{part}" for count in counts for part in ("", "_prior", "_change")]]


@report(
    title="Rooms Compared",
    description="Passes from and to each room beside the prior period's, to sort by what changed most.",
    columns=[Column("room", "Room", "text"), Column("passes_to", "Passes to this room", "int"),
             Column("passes_to_prior", "Passes to it, prior period", "int"),
             Column("passes_to_change", "Change in passes to it", "int"),
             Column("passes_from", "Passes from this room", "int"),
             Column("passes_from_prior", "Passes from it, prior period", "int"),
             Column("passes_from_change", "Change in passes from it", "int")],
    kind="table", outputs=frozenset({"csv", "xlsx", "dashboard"}),
    guidance="""\
- Sort by **change** to see where traffic moved: a restroom whose passes jumped may have become a meeting place; a room
  whose passes fell to nothing may have stopped using the system.
- Counts are totals: compare them knowing how many school days each period had (the comparison's *Days with passes*).""")
def room_changes(tables) -> pd.DataFrame:
    """Room Usage's rows and order, with the prior period's counts and the changes."""
    return _beside(tables, "room_usage", ["room"], ["passes_to", "passes_from"])


@report(
    title="Staff Compared",
    description="Passes each teacher and kiosk created beside the prior period's, to sort by what changed most.",
    columns=[Column("issuer", "Staff member / kiosk", "text"), Column("total_passes", "Total passes", "int"),
             Column("total_passes_prior", "Total passes, prior period", "int"),
             Column("total_passes_change", "Change in total passes", "int")],
    kind="table", outputs=frozenset({"csv", "xlsx", "dashboard"}), needs=("created_by", "issuer"),
    guidance="""\
- A large **fall** for one teacher usually means passes stopped being logged in that room, not fewer trips out.
- A teacher new to the list (nothing in the prior period) may have started using the system, or joined the school.""")
def staff_changes(tables) -> pd.DataFrame:
    """Staff Usage's rows and order, with the prior period's totals and the changes."""
    return _beside(tables, "staff_usage", ["issuer"], ["total_passes"])
