"""What the report notebooks call: open one date range of the data, then show a report as chart + table.

    from passkit import notebook
    audit = notebook.open_range("../demo-data", "2026-01-05", "2026-03-27")
    audit.show("daily_passes")        # chart, sorted table; CSV + PNG too when output_dir is set

The notebooks hold the prose; everything here returns or displays data, so tests can reach it.
"""

import datetime as dt
import html
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import reports
from .exports import HEADERS

SHOWN_ROWS = 25  # rows shown before "show all"; the full table is always in the page, the CSV and the workbook
PASS_COLUMNS = ("passes", "passes_from", "passes_to", "total_passes")  # the counts in the six reports
DATE_FORMAT = "%a %Y-%m-%d"  # "Mon 2026-01-05": the weekday matters when reading a day's count


@dataclass
class RangeReport:
    """The loaded data and one audit range; tables are computed once and kept."""

    data: object
    start: dt.date
    end: dt.date
    schools: list = field(default_factory=list)
    label: str = ""
    output_dir: Path | None = None
    _tables: dict = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = getattr(reports, name)(self.data, self.start, self.end, None, self.schools or None)
        return self._tables[name]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: self.table(name) for name in reports.REPORTS}

    def caption(self) -> str:
        """'Demo High · Mon 2026-01-05 to Fri 2026-03-27'."""
        span = f"{self.start:{DATE_FORMAT}} to {self.end:{DATE_FORMAT}}"
        return f"{self.label} · {span}" if self.label else span

    def show(self, name: str):
        """Display report `name` as its chart and its table; write both to output_dir when set."""
        from IPython.display import HTML, display

        from . import charts

        table = self.table(name)
        display(HTML(f'<p class="passkit-caption">{html.escape(self.caption())}</p>'))
        if not has_passes(table):  # listed rooms and staff still have rows, all zero: no chart of nothing
            display(HTML('<p class="passkit-empty">No passes in this range.</p>'))
        else:
            chart = charts.chart(name, table)
            display(chart)
            if self.output_dir:
                charts.to_png(chart, self.output_dir / f"{name}.png")
        display(HTML(table_html(shown_table(name, table))))
        if name == "staff_usage" and (table["total_passes"] == 0).any():  # else they hide at the bottom
            idle = table[table["total_passes"] == 0]
            display(HTML(table_html(shown_table(name, idle), title="Listed staff with no passes in this range")))
        if self.output_dir:
            from .exports import write_csv

            write_csv(table, self.output_dir / f"{name}.csv")

    def show_summary(self):
        """Display the headline figures and the data quality of the load; write audit_summary.csv."""
        from IPython.display import HTML, display

        display(HTML(f'<p class="passkit-caption">{html.escape(self.caption())}</p>'))
        figures = headline(self.tables(), self.start, self.end)
        quality = data_quality(self.data.summary, self.start, self.end)
        display(HTML(table_html(figures, title="In this range")))
        display(HTML(table_html(quality, title="Data quality of the whole export")))
        if self.output_dir:
            from .exports import write_csv

            write_csv(summary_table(figures, quality), self.output_dir / "audit_summary.csv")
            # a school's audit holds only its own rejected rows: they name students
            write_csv(self.data.rejected(self.schools or None), self.output_dir / "rejected.csv")


def open_range(data_dir, start, end, *, timezone="America/Chicago", schools=(), label="", output_dir="",
               cache_dir="", columns="") -> RangeReport:
    """Load `data_dir` (from the cache when it has not changed) for the range `start`..`end`, both included.

    Empty strings mean "not set", so a notebook's parameters cell can stay plain literals.
    """
    import passkit

    _skip_slow_optional_imports()
    from . import charts

    charts.use_offline_renderer()
    start, end = reports.as_date(start, "start"), reports.as_date(end, "end")
    data = passkit.load(data_dir, timezone, columns=columns or None, cache_dir=cache_dir or None,
                        year_starts=passkit.data.school_year_start(start))  # as `passkit audit` loads it
    out = Path(output_dir) if output_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    return RangeReport(data, start, end, list(schools or []), label, out)


def _skip_slow_optional_imports():
    """jsonschema (under Altair) compiles an IRI grammar at import when rfc3987-syntax is installed: about
    2 s of every kernel's start. Altair never checks IRI formats, so a fresh kernel skips that module."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def has_passes(table: pd.DataFrame) -> bool:
    return any(column in table and table[column].sum() > 0 for column in PASS_COLUMNS)


# ---- tables as an admin reads them ----------------------------------------------------------------

def shown_table(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """The report as displayed: daily passes one row per day with a column per grade, readable headers."""
    if name == "daily_passes" and not table.empty:
        from .grades import sort_key

        wide = table.pivot_table(index="date", columns="grade", values="passes", aggfunc="sum", fill_value=0)
        wide = wide[sorted(wide.columns, key=sort_key)]
        wide.columns = [f"Grade {g}" for g in wide.columns]
        wide["Total"] = wide.sum(axis=1)
        table = wide.reset_index()
    return table.rename(columns=lambda c: HEADERS.get(c, c))


def headline(tables: dict[str, pd.DataFrame], start, end) -> pd.DataFrame:
    """The figures a principal asks first, as (figure, value) rows."""
    daily, by_grade = tables["daily_passes"], tables["passes_by_grade"]
    students, rooms, staff = tables["passes_by_student"], tables["room_usage"], tables["staff_usage"]
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
    for column, figure in (("passes_to", "Busiest destination"), ("passes_from", "Room students leave most")):
        if total:
            room = rooms.loc[rooms[column].idxmax()]
            rows.append((figure, f"{room['room']} ({int(room[column]):,})"))
    rows += [("Staff who created passes", int((staff["total_passes"] > 0).sum())),
             ("Listed staff with no passes", int((staff["total_passes"] == 0).sum()))]
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
             ("First day in the export", summary.get("first_date") or ""),
             ("Last day in the export", summary.get("last_date") or ""),
             ("Export covers the whole range", "yes" if covers(summary, start, end) else "no")]
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def covers(summary: dict, start, end) -> bool:
    first, last = summary.get("first_date"), summary.get("last_date")
    return bool(first and last) and str(first) <= str(start) and str(end) <= str(last)


def summary_table(figures: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """Both summary tables as one, for the CSV and the workbook."""
    return pd.concat([figures.assign(Section="In this range"), quality.assign(Section="Data quality")],
                     ignore_index=True)[["Section", "Figure", "Value"]]


def table_html(table: pd.DataFrame, title: str = "", rows: int = SHOWN_ROWS) -> str:
    """An HTML table: numbers right-aligned with separators; past `rows` rows, the whole table under 'show all'."""
    shown = _formatted(table)
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in table.columns]
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    first = _html_table(shown.head(rows), numeric, caption)
    if len(shown) <= rows:
        return first
    return (first + f'<details class="passkit-more"><summary>Show all {len(shown):,} rows</summary>'
            + _html_table(shown, numeric, caption) + "</details>")


def _html_table(shown: pd.DataFrame, numeric: list, caption: str) -> str:
    align = [' class="num"' if flag else "" for flag in numeric]
    head = "".join(f"<th{a}>{html.escape(str(c))}</th>" for c, a in zip(shown.columns, align))
    body = "\n".join("<tr>" + "".join(f"<td{a}>{html.escape(v)}</td>" for v, a in zip(row, align)) + "</tr>"
                     for row in shown.itertuples(index=False))
    return (f'<table class="passkit-table">{caption}<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody></table>")


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_bool_dtype(values):
            shown[column] = values.map({True: "yes", False: ""})
        elif pd.api.types.is_datetime64_any_dtype(values):
            shown[column] = values.dt.strftime(DATE_FORMAT)
        elif pd.api.types.is_integer_dtype(values):
            shown[column] = values.map("{:,}".format)
        elif pd.api.types.is_float_dtype(values):
            shown[column] = values.map("{:,.1f}".format)
        else:
            shown[column] = values.map(_cell)
    return shown


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return "" if value is None else str(value)
