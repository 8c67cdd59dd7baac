"""The one list of reports: every front-end (`passkit report`, the audit, the dashboard) reads it.

A report is declared once, next to the function that computes it:

    @registry.report(
        title="Daily Passes", description="Passes per grade on each school day.",
        guidance="- **Steady lines are the goal.** ...",
        columns=[Column("date", "Date", "date"), Column("grade", "Grade", "text"), Column("passes", "Passes", "int")],
        chart="daily_passes")
    def daily_passes(tables):          # a `passkit.tables.Tables`: one range, each table computed once
        ...

The decorated name becomes the analyst's function, `daily_passes(data, start, end, grades=None,
schools=None, **options)`, returning a pandas DataFrame. The built-in reports live in the modules
named by BUILTIN_MODULES; `register` adds one from anywhere (a plug-in, a test).
"""

import importlib
from dataclasses import dataclass, field
from typing import Callable

# What a report can appear in. "page" is an audit page (a notebook run by papermill; its chart as PNG);
# "json" is <name>.json, its rows as a list of objects (findings.json), not among the defaults.
OUTPUTS = frozenset({"csv", "xlsx", "page", "dashboard", "json"})
DEFAULT_OUTPUTS = frozenset({"csv", "xlsx", "page", "dashboard"})
KINDS = ("int", "float", "minutes", "text", "date", "datetime", "bool", "mixed")
BUILTIN_MODULES = ("passkit.summary", "passkit.reports", "passkit.timing", "passkit.encounters", "passkit.limits",
                   "passkit.compare", "passkit.findings")  # in page order


@dataclass(frozen=True)
class Column:
    """A column of a report: its machine name (CSV header), the label people read, and its type.

    Types: int, float, minutes (a float written to a tenth), text, date, datetime, bool, and mixed
    (numbers stay numbers, anything else is text).
    """

    name: str
    label: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind must be one of {KINDS}, not {self.kind!r}")


# The school column every per-room, per-student and per-staff report starts with in a district.
SCHOOL = Column("school", "School", "text")


@dataclass(frozen=True)
class Option:
    """A setting a report reads from `Tables.options`; the CLI offers it as --NAME (dashes for underscores)."""

    name: str
    default: object
    help: str
    minimum: float | None = None  # the least value that makes sense (checked when a range is opened)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str  # one line: what the report is for
    columns: tuple[Column, ...]
    compute: Callable = field(repr=False)  # Tables -> pandas DataFrame with `columns` (school only in districts)
    guidance: str = ""  # "What to look for", Markdown bullets
    chart: Callable | str | None = None  # table -> Altair chart, or the name of a function in passkit.charts
    outputs: frozenset = DEFAULT_OUTPUTS
    kind: str = "graph"  # how the dashboard shows it: "graph" (its chart) or "table" (a sortable table)
    needs: tuple[str, ...] = ()  # pass columns (an export may lack them) or side files ("bells.csv") it needs
    options: tuple[Option, ...] = ()
    spark: bool = True  # whether it runs on the Spark engine (else refused there with a one-line message)
    singles_out: bool = False  # lists individual students as findings (top lists, long passes): never exempt ones
    # How the front-ends show it, beyond its chart and table (all optional):
    tables: Callable | None = field(default=None, repr=False)  # table -> [(caption, table)] a page shows
    words: Callable | None = field(default=None, repr=False)  # table -> one sentence: the chart's text alternative
    explain: Callable | None = field(default=None, repr=False)  # table -> sentences explaining how to read it
    sample: Callable | None = field(default=None, repr=False)  # table -> the rows its chart draws, when fewer
    hint: str = ""  # what clicking does in the dashboard ("Click a room for ...")
    empty: str = ""  # the sentence for a table with no rows, when that is news ("Nothing stands out")
    sheet_rows: int | None = None  # the most rows its workbook sheet holds (first rows first); its CSV has them all

    def __post_init__(self):
        unknown = set(self.outputs) - OUTPUTS
        if unknown:
            raise ValueError(f"report {self.name}: unknown outputs {sorted(unknown)}")
        if self.kind not in ("graph", "table"):
            raise ValueError(f"report {self.name}: kind is 'graph' or 'table'")

    def shown(self, table) -> list:
        """[(caption, table)] as a page shows the report: `tables` when declared, else the table itself."""
        return self.tables(table) if self.tables else [("", table)]

    def sentence(self, table) -> str:
        """One sentence saying what the report shows for `table` (a chart's text alternative)."""
        if self.words and len(table):
            return self.words(table)
        if self.empty and not len(table):
            return self.empty
        return f"{self.title}, {len(table):,} row{'s' * (len(table) != 1)}: {self.description}"

    @property
    def labels(self) -> dict[str, str]:
        return {column.name: column.label for column in (SCHOOL, *self.columns)}

    def draw(self, table):
        """The report's Altair chart of `table`, or None when it has none.

        Built without Altair's validation of every data row on construction (most of a district chart's
        cost); tests/test_registry.py validates every chart against the Vega-Lite schema instead."""
        if self.chart is None:
            return None
        from altair.utils.schemapi import debug_mode

        from . import charts

        draw = self.chart if callable(self.chart) else getattr(charts, self.chart)
        with debug_mode(False):
            return draw(table)


COLUMN_WORDS = {"created_by": "creator", "pass_id": "pass id", "end_time": "end time", "pass_type": "pass type",
                "start_time": "start time"}
_REPORTS: dict[str, Report] = {}
_loaded = False


def report(*, title, description, columns, name=None, **details):
    """Decorator: register the decorated `compute(tables)` and return the analyst's function for it."""
    def declare(compute):
        entry = Report(name or compute.__name__, title, description, tuple(columns), compute, **details)
        register(entry)
        return analyst_function(entry)
    return declare


def register(entry: Report) -> Report:
    """Add a report (replacing one of the same name). Page order: the built-in modules' reports in
    BUILTIN_MODULES order, each module's in the order it declares them, then any other in the order
    registered (modules may import one another, so the order of imports cannot decide)."""
    load_builtins()
    _REPORTS.pop(entry.name, None)
    _REPORTS[entry.name] = entry
    ordered = sorted(_REPORTS.items(), key=lambda item: (_rank(item[1]), list(_REPORTS).index(item[0])))
    _REPORTS.clear()
    _REPORTS.update(ordered)
    return entry


def _rank(entry: Report) -> int:
    module = getattr(entry.compute, "__module__", "")
    return BUILTIN_MODULES.index(module) if module in BUILTIN_MODULES else len(BUILTIN_MODULES)


def unregister(name: str):
    _REPORTS.pop(name, None)


def analyst_function(entry: Report):
    def compute(data, start, end, grades=None, schools=None, prior=None, **options):
        from .tables import Tables

        return Tables(data, start, end, grades, schools, options, prior=prior).get(entry.name)

    compute.__name__ = compute.__qualname__ = entry.name
    compute.__doc__ = (f"{entry.title}: {entry.description}\n\n"
                       f"Columns: {', '.join(c.name for c in entry.columns)}.\n"
                       "`data` is a PassData (or a frame with the cache's columns); `start`..`end` both included; `prior`, "
                       "the (start, end) the comparisons use (default: as many days just before).")
    compute.report = entry
    return compute


def all_reports(output: str | None = None) -> list[Report]:
    """Every registered report in page order; with `output`, only those appearing in it."""
    load_builtins()
    return [entry for entry in _REPORTS.values() if output is None or output in entry.outputs]


def names(output: str | None = None) -> list[str]:
    return [entry.name for entry in all_reports(output)]


def get(name: str) -> Report:
    load_builtins()
    try:
        return _REPORTS[name]
    except KeyError:
        from .errors import PasskitError

        raise PasskitError(f"no report named '{name}' (reports: {', '.join(_REPORTS)})") from None


def options() -> dict[str, Option]:
    """Every report option by name (the first declaration of a shared name wins)."""
    found = {}
    for entry in all_reports():
        for option in entry.options:
            found.setdefault(option.name, option)
    return found


def labels() -> dict[str, str]:
    """Column name -> label over every report (a name means the same thing in every report)."""
    found = {}
    for entry in all_reports():
        for name, label in entry.labels.items():
            found.setdefault(name, label)
    return found


def missing_columns(data) -> frozenset:
    """The pass columns the exports behind `data` lacked; for a bare frame, the cache's columns it does not have."""
    if hasattr(data, "passes"):  # a PassData (its cache has every column) or Spark frames of one
        return frozenset(getattr(data, "columns_missing", None) or ())
    from .schema import CACHE_COLUMNS
    from .tables import passes_frame

    return frozenset(CACHE_COLUMNS) - set(passes_frame(data).collect_schema().names())


def unavailable(data, entries=None) -> dict[str, str]:
    """{report name: why it cannot be made} for the reports needing columns the exports lack, or a side file
    (a need such as "bells.csv": `data.bells` is None) the data folder lacks."""
    missing = missing_columns(data)
    reasons = {}
    for entry in entries or all_reports():
        absent = [need for need in entry.needs if need.endswith(".csv")
                  and getattr(data, need.removesuffix(".csv"), None) is None]
        lacking = [COLUMN_WORDS.get(column, column.replace("_", " ")) for column in entry.needs if column in missing]
        if absent:
            reasons[entry.name] = f"the data folder has no {absent[0]}"
        elif lacking:
            listed = lacking[0] if len(lacking) == 1 else f"{', '.join(lacking[:-1])} or {lacking[-1]}"
            reasons[entry.name] = f"the export has no {listed} column"
    return reasons


def load_builtins():
    """Import the modules declaring the built-in reports, in page order (once)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
