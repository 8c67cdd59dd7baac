"""The audit summary: the figures a principal asks first, and how clean the export behind them was."""

import pandas as pd

from .registry import Column, report

DATE_FORMAT = "%a %Y-%m-%d"  # "Mon 2026-01-05": the weekday matters when reading a day's count
IN_RANGE, QUALITY = "In this range", "Data quality"
EXEMPT = "Exempt students with a pass"


@report(
    title="Audit summary",
    description="The headline figures for the range and how clean the export was.",
    columns=[Column("section", "Section", "text"), Column("figure", "Figure", "text"),
             Column("value", "Value", "mixed"), Column("change", "Change from the prior period", "text")],
    outputs=frozenset({"csv", "xlsx", "page"}), kind="table",
    tables=lambda table: [("In this range", part(table, IN_RANGE)),
                          ("Data quality of the whole export", part(table, QUALITY))],
    guidance="""\
- **Passes per day** is the number to compare with earlier audits (its change from the prior period is beside it); a drop
  can mean fewer trips out of class, or that passes stopped being logged. The Daily Passes page tells the two apart.
- **Rows rejected** should be a handful at most. Many rejections usually mean the export was cut short or its columns were
  changed; the reasons are listed above and the rows themselves are in `rejected.csv`.
- **Grades filled in from the roster** is normal when passes are exported without grades. Passes with an **unknown grade** still
  count everywhere, but they blur the per-grade pages: upload grade levels to the pass system to fix it.
- If the **export does not cover the whole range**, the first or last weeks look quiet only because the data stops: export again
  with the full date range.""")
def audit_summary(tables) -> pd.DataFrame:
    """Both parts as one table (section, figure, value, change), for the CSV and the workbook; `change` says how
    each headline figure moved from the prior period (see passkit.compare), blank when it cannot be compared."""
    from . import compare  # here: passkit.compare imports this module

    found = headline(tables)
    moved = compare.changes(tables.get(compare.NAME))
    found["Change"] = [moved.get(figure, "") for figure in found["Figure"]]
    parts = [found.assign(section=IN_RANGE)]
    if getattr(tables.data, "summary", None):  # a bare frame has no load summary
        parts.append(data_quality(tables.data.summary, tables.start, tables.end).assign(section=QUALITY, Change=""))
    table = pd.concat(parts, ignore_index=True)[["section", "Figure", "Value", "Change"]]
    return table.rename(columns={"Figure": "figure", "Value": "value", "Change": "change"})


NAME = audit_summary.report.name  # the pages that make it their cover (index, report.pdf) find it by this


def headline(tables) -> pd.DataFrame:
    """The figures a principal asks first, as (Figure, Value) rows: made once per range (the summary, the
    comparison and the dashboard's tiles all read them), a copy each time."""
    return tables.once(_headline).copy()


def _headline(tables) -> pd.DataFrame:
    daily, by_grade = tables.get("daily_passes"), tables.get("passes_by_grade")
    students, rooms = tables.get("passes_by_student"), tables.get("room_usage")
    total = int(by_grade["passes"].sum())
    per_day = daily.groupby("date")["passes"].sum()
    rows = [("Passes", total), ("Days with passes", len(per_day)),
            ("Passes per day (average)", round(total / len(per_day), 1) if len(per_day) else 0)]
    if len(per_day):
        busiest = per_day.idxmax()
        rows.append(("Busiest day", f"{pd.Timestamp(busiest):{DATE_FORMAT}} ({int(per_day.max()):,} passes)"))
    if total:
        top_grade = by_grade.loc[by_grade["passes"].idxmax()]
        rows.append(("Grade with the most passes", f"{top_grade['grade']} ({int(top_grade['passes']):,})"))
    rows += [("Students with a pass", len(students)), ("Students marked as outliers", int(students["outlier"].sum()))]
    if getattr(tables.data, "exempt", None) is not None:  # exempt.csv: never outliers, never listed
        rows.append((EXEMPT, int(tables.is_exempt(students).sum())))
    for column, figure in (("passes_to", "Busiest destination"), ("passes_from", "Room students leave most")):
        if total:
            room = rooms.loc[rooms[column].idxmax()]
            rows.append((figure, f"{room['room']} ({int(room[column]):,})"))
    if "staff_usage" not in tables.unavailable:
        staff = tables.get("staff_usage")
        rows += [("Staff who created passes", int((staff["total_passes"] > 0).sum())),
                 ("Listed staff with no passes", int((staff["total_passes"] == 0).sum()))]
    if "pass_length" not in tables.unavailable:
        from .timing import headline as time_out  # here: importing it first would register its reports first

        rows += time_out(tables)
    if "keep_apart_meetings" not in tables.unavailable:  # only when the data folder has a keep_apart.csv
        rows.append(("Keep-apart meetings", len(tables.get("keep_apart_meetings"))))
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def data_quality(summary: dict, start, end) -> pd.DataFrame:
    """What the load kept and dropped, for the whole export (not only this range)."""
    rows = [("Files read", len(summary["files"])), ("Rows read", summary["rows_read"]),
            ("Passes kept", summary["passes_kept"]), ("Duplicate rows dropped", summary["duplicates_dropped"]),
            ("Rows rejected", summary["rows_rejected"])]
    rows += [(f"Rejected: {reason}", count) for reason, count in sorted(summary["rejected_by_reason"].items())]
    rows += [("Grades filled in from the roster", summary["grades_filled_from_roster"]),
             ("Passes with an unknown grade", summary.get("passes_with_unknown_grade", 0)),
             ("Passes that never ended", summary.get("passes_never_ended", 0)),
             *_exempt_rows(summary.get("exempt")),
             ("First day in the export", summary.get("first_date") or ""),
             ("Last day in the export", summary.get("last_date") or ""),
             ("Export covers the whole range", "yes" if covers(summary, start, end) else "no")]
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def _exempt_rows(counts) -> list:
    if not counts:
        return []
    return [("Students listed in exempt.csv", counts["rows"] - counts["without_student_id"]),
            ("Listed exempt students with no pass in the export", counts["not_found"])]


def covers(summary: dict, start, end) -> bool:
    from .tables import within

    return within(summary.get("first_date") or None, summary.get("last_date") or None, start, end)


def cards(table: pd.DataFrame, section: str) -> list[dict]:
    """One section of the audit summary as {label, value (as shown), change} for the pages' cards."""
    from .notebook import cell_text

    rows = table[table["section"] == section]
    changes = _texts(rows["change"]) if "change" in rows else [""] * len(rows)
    return [{"label": figure, "value": cell_text(value), "change": change}
            for figure, value, change in zip(rows["figure"], rows["value"], changes)]


def _texts(values) -> list[str]:
    """The column's text, "" where blank (a column read back with no text at all is float NaN)."""
    return [value if isinstance(value, str) else "" for value in values]


def part(table: pd.DataFrame, section: str) -> pd.DataFrame:
    """One section of the audit summary as (Figure, Value) rows, with Change when any figure has one."""
    rows = table[table["section"] == section]
    found = pd.DataFrame({"Figure": rows["figure"].tolist(), "Value": rows["value"].tolist()})
    if "change" in rows and any(_texts(rows["change"])):
        found["Change"] = _texts(rows["change"])
    return found


def tenth(numerator, denominator) -> float:
    """numerator / denominator to a tenth, rounded half up, exactly (milliseconds add up exactly; floats do not)."""
    from decimal import ROUND_HALF_UP, Decimal

    return float((Decimal(int(numerator)) / Decimal(int(denominator))).quantize(Decimal("0.1"), ROUND_HALF_UP))
