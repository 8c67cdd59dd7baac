"""What the report notebooks call: open one date range, then show a report as chart, table and guidance.

    from passkit import notebook
    audit = notebook.open_range("../demo-data", "2026-01-05", "2026-03-27")
    audit.show("daily_passes")        # caption, chart, table, what to look for

An audit computes every table once, in its own process, and hands the notebooks the results
(`results_dir`); a notebook opened alone computes its table with the same function. The
notebooks hold only their parameters; everything here returns or displays data, so tests reach it.
"""

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import registry
from .summary import DATE_FORMAT, NAME

SHOWN_ROWS = 25  # rows shown before "show all"
PAGE_ROWS = 1000  # at most this many under "show all": a district's 60,000 students belong in the CSV, not a page
PASS_COLUMNS = ("passes", "passes_from", "passes_to", "total_passes",  # the counts that say a range had passes
                "peak_out_from", "peak_out_to")
RESULTS = "results.json"  # in a results folder: the range, the label and the reports not made


@dataclass
class RangeReport:
    """One date range of the data: its tables (computed once, or read from an audit's results) and its label."""

    tables: object  # a passkit.Tables, or None when every table comes from `results`
    start: dt.date
    end: dt.date
    label: str = ""
    results: Path | None = None
    unavailable: dict = field(default_factory=dict)
    _bundle_sent: bool = field(default=False, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        if self.results and (self.results / f"{name}.pickle").is_file():
            return pd.read_pickle(self.results / f"{name}.pickle")
        return self.tables.get(name)

    def view(self, name: str) -> dict:
        """How to show report `name` (see `describe`): handed over by the audit, or made here."""
        if self.results and (self.results / f"{name}.json").is_file():
            return json.loads((self.results / f"{name}.json").read_text(encoding="utf-8"))
        return describe(registry.get(name), None if name in self.unavailable else self.table(name))

    def caption(self) -> str:
        """'Demo High · Mon 2026-01-05 to Fri 2026-03-27'."""
        span = f"{self.start:{DATE_FORMAT}} to {self.end:{DATE_FORMAT}}"
        return f"{self.label} · {span}" if self.label else span

    def show(self, name: str):
        """Display report `name`: the caption, its chart, its table, and what to look for."""
        from IPython.display import HTML, Markdown, display

        view = self.view(name)
        display(HTML(f'<p class="passkit-caption">{html.escape(self.caption())}</p>'))
        if name in self.unavailable:
            display(HTML(f'<p class="passkit-unavailable">{html.escape(view["title"])} is not available for this '
                         f'export: {html.escape(self.unavailable[name])}.</p>'))
        else:
            for piece in self._pieces(name, view, self.table(name)):
                display(piece)
        if view["guidance"]:
            display(Markdown(f"## What to look for\n{view['guidance']}"))

    def _pieces(self, name: str, view: dict, table: pd.DataFrame) -> list:
        from IPython.display import HTML

        pieces = []
        if view["chart"] is not None:
            pieces.append(self._chart(name, view["chart"]))
        elif view["has_chart"]:  # listed rooms and staff still have rows, all zero: no chart of nothing
            pieces.append(HTML('<p class="passkit-empty">No passes in this range.</p>'))
        return pieces + [HTML(html) for html in view["tables"]]

    def _chart(self, name: str, spec: dict):
        """The chart as a display object. In an audit its PNG goes to the results folder for the audit's
        files (and into the notebook); alone, the first chart carries the Vega library."""
        from . import charts

        png = None
        if self.results:
            png = charts.png_bytes(spec)
            (self.results / f"{name}.png").write_bytes(png)
        bundle = charts.mimebundle(spec, png=png, with_bundle=not self.results and not self._bundle_sent)
        self._bundle_sent = self._bundle_sent or not self.results
        return Shown(bundle)

    def show_summary(self):
        self.show(NAME)


def describe(entry, table: pd.DataFrame | None) -> dict:
    """What a notebook needs to show a report besides its table, as plain data: the audit computes it
    with the tables and hands both over, so a kernel shows any registered report, even one it never
    imported."""
    from . import charts

    drawn = entry.chart is not None and table is not None and has_passes(table)
    shown = entry.shown(table) if table is not None else []
    return {"title": entry.title, "guidance": entry.guidance, "has_chart": entry.chart is not None,
            "chart": charts.as_spec(entry.draw(table)) if drawn else None,
            "tables": [table_html(labelled(part, entry.labels), title=caption) for caption, part in shown]}


def open_range(data_dir, start, end, *, timezone="America/Chicago", schools=(), label="", cache_dir="",
               columns="", results_dir="", options=None) -> RangeReport:
    """The range `start`..`end` (both included) of `data_dir`, loaded from the cache when it has not changed.

    With `results_dir` (an audit's precomputed tables), nothing is loaded or computed. Empty strings
    mean "not set", so a notebook's parameters cell stays plain literals.
    """
    from . import tables as tables_module

    start, end = tables_module.as_date(start, "start"), tables_module.as_date(end, "end")
    results = Path(results_dir) if results_dir else None
    if results and (results / RESULTS).is_file():
        saved = json.loads((results / RESULTS).read_text(encoding="utf-8"))
        return RangeReport(None, start, end, label, results, saved.get("unavailable", {}))
    import passkit

    data = passkit.load(data_dir, timezone, columns=columns or None, cache_dir=cache_dir or None,
                        year_starts=passkit.data.school_year_start(start))  # as `passkit audit` loads it
    computed = tables_module.Tables(data, start, end, None, list(schools or []) or None, options or {})
    return RangeReport(computed, start, end, label, None, computed.unavailable)


def save_results(tables, folder: Path):
    """Write computed tables where notebooks find them (`open_range(..., results_dir=folder)`).

    Pickles, not Parquet: they keep every dtype exactly (the summary's mixed numbers and text), and
    this is a private hand-off between passkit's own processes through a temporary folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.computed().items():
        table.to_pickle(folder / f"{name}.pickle")
        (folder / f"{name}.json").write_text(json.dumps(describe(registry.get(name), table), default=str),
                                             encoding="utf-8")
    for name in tables.unavailable:
        (folder / f"{name}.json").write_text(json.dumps(describe(registry.get(name), None)), encoding="utf-8")
    (folder / RESULTS).write_text(json.dumps({"unavailable": tables.unavailable}), encoding="utf-8")


class Shown:
    """Displayed as its ready-made MIME bundle."""

    def __init__(self, bundle: dict):
        self.bundle = bundle

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.bundle


def has_passes(table: pd.DataFrame) -> bool:
    """Whether a chart of `table` shows something: passes counted, or rows of a report counting something
    else (encounters)."""
    counts = [column for column in PASS_COLUMNS if column in table]
    return any(table[column].sum() > 0 for column in counts) if counts else not table.empty


# ---- tables as an admin reads them ----------------------------------------------------------------

def labelled(table: pd.DataFrame, labels: dict | None = None) -> pd.DataFrame:
    """The table with the headers a principal reads (a report's column labels)."""
    labels = labels or registry.labels()
    return table.rename(columns=lambda c: labels.get(c, c))


def shown_table(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Report `name`'s main table as its page shows it, labelled (Daily Passes: a row per day)."""
    entry = registry.get(name)
    return labelled(entry.shown(table)[0][1], entry.labels)


def table_html(table: pd.DataFrame, title: str = "", rows: int = SHOWN_ROWS, most: int = PAGE_ROWS) -> str:
    """An HTML table: numbers right-aligned with separators; past `rows` rows, up to `most` under 'show all'
    (the CSV and the workbook always hold every row)."""
    shown = _formatted(table.head(most))
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in table.columns]
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    first = _html_table(shown.head(rows), numeric, caption)
    if len(table) <= rows:
        return first
    label = (f"Show all {len(table):,} rows" if len(table) <= most else
             f"Show the first {most:,} of {len(table):,} rows (the CSV and the workbook hold them all)")
    return (first + f'<details class="passkit-more"><summary>{label}</summary>'
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
        elif pd.api.types.is_datetime64_any_dtype(values):  # dates, or times of day (Long Passes); blank if none
            at_midnight = (values.dropna() == values.dropna().dt.normalize()).all()
            shown[column] = values.dt.strftime(DATE_FORMAT if at_midnight else f"{DATE_FORMAT} %H:%M").fillna("")
        elif pd.api.types.is_integer_dtype(values):  # a nullable count (Pass Limits) is blank where it has none
            shown[column] = ["" if value is pd.NA else f"{value:,}" for value in values.tolist()]
        elif pd.api.types.is_float_dtype(values):
            shown[column] = values.map("{:,.1f}".format)
        else:
            shown[column] = values.map(cell_text)
    return shown


def cell_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return "" if value is None else str(value)
