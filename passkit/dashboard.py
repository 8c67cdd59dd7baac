"""The admin dashboard that `passkit dashboard` serves with Voila: one page, in the order of the analytics page.

A date range (presets or custom), a grade filter and, for a district, a school selector filter
everything below: a section per report the registry marks for the dashboard, as a graph or a
table sorted by clicking a header. Each has a Download menu whose files are written by
`passkit.exports` / `passkit.charts.to_png`, so they equal what `passkit report` writes.

Dates are relative to the data, not to today: an export is usually looked at after the fact (the
demo is a past school year), so "this week" is the week of the last day with passes.

Everything here runs in the kernel and is tested without a browser (tests/test_dashboard.py).
"""

import dataclasses
import datetime as dt
import html
import json
import logging
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import anywidget
import ipywidgets as widgets
import pandas as pd
import traitlets

from . import charts, exports, grades as grade_levels, registry
from .charts import plotted_students
from .errors import PasskitError
from .folders import slug
from .tables import Tables, as_date, passes_frame

STATIC = Path(__file__).parent / "static"
ENV_CACHE = "PASSKIT_DASHBOARD_CACHE"  # the Parquet cache `passkit dashboard` loaded; the kernel opens it read-only
ENV_QUARTERS = "PASSKIT_DASHBOARD_QUARTERS"
ENV_SCHOOL = "PASSKIT_DASHBOARD_SCHOOL"  # the school `passkit dashboard` names in the page's title
ALL_GRADES, ALL_SCHOOLS, CUSTOM = "All grades", "All schools", "Custom"
CACHED_RANGES = 24  # report sets kept per kernel, so going back to a range is instant
FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "png": "image/png"}


def sections() -> list:
    """The registry's reports that the dashboard shows, in page order."""
    return registry.all_reports("dashboard")


def formats(entry) -> tuple[str, ...]:
    return ("csv", "xlsx", "png") if entry.kind == "graph" and entry.chart is not None else ("csv", "xlsx")


def note(entry) -> str:
    hint = {"graph": "", "table": " Click a column title to sort; click again to reverse."}[entry.kind]
    if entry.name == "passes_by_student":
        hint = " Point at a dot to see who it is."
    return entry.description + hint


# ---- what is selected -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """One filter state: an inclusive date range, one grade or all, one school or all."""

    start: dt.date
    end: dt.date
    grade: str | None = None
    school: str | None = None

    @property
    def grades(self) -> list[str] | None:
        return [self.grade] if self.grade else None

    @property
    def schools(self) -> list[str] | None:
        return [self.school] if self.school is not None else None

    def describe(self) -> str:
        """'Jan 5 – Mar 27, 2026 · grade 9 · North High'"""
        parts = [format_range(self.start, self.end)]
        if self.grade:
            parts.append(f"grade {self.grade}" if self.grade != grade_levels.UNKNOWN else "unknown grade")
        if self.school:
            parts.append(self.school)
        return " · ".join(parts)

    def filename(self, name: str, fmt: str) -> str:
        """room_usage_2026-01-05_2026-03-27[_grade-9][_north-high].csv"""
        parts = [name, self.start.isoformat(), self.end.isoformat()]
        if self.grade:
            parts.append(f"grade-{self.grade}")
        if self.school:
            parts.append(slug(self.school))  # as audits name a school's folder
        return "_".join(parts) + f".{fmt}"


def format_range(start: dt.date, end: dt.date) -> str:
    if start == end:
        return f"{start:%a %b} {start.day}, {start.year}"
    if start.year == end.year:
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"


# ---- date presets -----------------------------------------------------------------------------------

def school_year_start(day: dt.date) -> dt.date:
    """School years run July 1 to June 30."""
    return dt.date(day.year if day.month >= 7 else day.year - 1, 7, 1)


def quarter_ranges(days: list[dt.date], quarters=()) -> list[tuple[dt.date, dt.date]]:
    """Each quarter of the school year as (first day, last day).

    `quarters` are the school's own (`params.Period`s, from a parameters file or --quarters).
    Without them, the days with passes of the year holding the last one are split into four equal
    runs, which matches a school calendar's quarters for a whole year's export.
    """
    if quarters:
        return sorted((quarter.start, quarter.end) for quarter in quarters)
    last = days[-1]
    year = [d for d in days if d >= school_year_start(last)]
    count = min(4, len(year))
    starts = [year[len(year) * q // count] for q in range(count)]
    return [(start, starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else last)
            for i, start in enumerate(starts)]


def format_quarters(quarters) -> str:
    """The quarters for the environment a served kernel reads (JSON)."""
    return json.dumps([[q.name, str(q.start), str(q.end)] for q in quarters])


def read_quarters(text: str | None) -> tuple:
    """The inverse of `format_quarters`."""
    from .params import Period

    if not text:
        return ()
    return tuple(Period(name, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
                 for name, start, end in json.loads(text))


def presets(days: list[dt.date], quarters=None) -> "OrderedDict[str, tuple[dt.date, dt.date]]":
    """Preset ranges, relative to the last day with passes: this week, last 30 days, each quarter, whole year."""
    last = days[-1]
    found = OrderedDict()
    found["This week"] = (last - dt.timedelta(days=last.weekday()), last)
    found["Last 30 days"] = (last - dt.timedelta(days=29), last)
    ranges = quarter_ranges(days, quarters)
    for number, (begin, end) in enumerate(ranges, start=1):
        if any(begin <= d <= end for d in days):  # only quarters with data
            found[f"Quarter {number}"] = (begin, min(end, last))
    found["Whole year"] = (ranges[0][0], last)
    return found


def default_preset(options: dict) -> str:
    """The latest quarter that has data."""
    quarters = [label for label in options if label.startswith("Quarter")]
    return quarters[-1] if quarters else "Whole year"


# ---- reports and files ------------------------------------------------------------------------------

class ReportCache:
    """The six reports per selection, the most recent CACHED_RANGES kept; `warm` fills it in the background."""

    def __init__(self, data):
        self.data = data
        self.kept: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def tables(self, selection: Selection, data=None) -> dict[str, pd.DataFrame]:
        with self.lock:
            if selection in self.kept:
                self.kept.move_to_end(selection)
                return self.kept[selection]
        tables = Tables(data or self.data, selection.start, selection.end, selection.grades,
                        selection.schools).all("dashboard")
        with self.lock:
            self.kept[selection] = tables
            while len(self.kept) > CACHED_RANGES:
                self.kept.popitem(last=False)
        return tables

    def warm(self, selections) -> threading.Thread | None:
        """Compute `selections` on a thread with its own DuckDB cursor, so the presets open at once.

        Not when the machine is already busy (many pages opening at once): then each page computes
        only what it shows, and the cores go to drawing the pages that are waiting.
        """
        con = getattr(self.data, "con", None)
        if con is None or busy():
            return None
        data = dataclasses.replace(self.data, con=con.cursor())

        def work():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for selection in selections:
                    try:
                        self.tables(selection, data)
                    except Exception:  # the page computes it again when asked, and says what went wrong
                        return

        # not a daemon: DuckDB must not be mid-query when the interpreter exits
        thread = threading.Thread(target=work, name="passkit-warm")
        thread.start()
        return thread


def busy() -> bool:
    """More runnable work than cores over the last minute."""
    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:  # no load average on this system
        return False


def render_file(name: str, table: pd.DataFrame, fmt: str) -> bytes:
    """The bytes of one download, written exactly as `passkit report` writes them."""
    if fmt not in FORMATS:
        raise PasskitError(f"unknown download format '{fmt}'")
    entry = registry.get(name)
    sheet = exports.sheet(entry, table)
    if fmt == "csv":
        return exports.csv_bytes(table, sheet.columns)
    with tempfile.TemporaryDirectory(prefix="passkit-download-") as folder:
        path = Path(folder) / f"{name}.{fmt}"
        if fmt == "xlsx":
            exports.write_xlsx([sheet], path)
        else:
            charts.to_png(entry.draw(table), path)
        return path.read_bytes()


def passes_in(tables: dict) -> int:
    return int(tables["passes_by_grade"]["passes"].sum())


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """A report as the page shows it: the headers a principal reads."""
    labels = registry.labels()
    return table.rename(columns=lambda c: labels.get(c, c))


# ---- widgets ------------------------------------------------------------------------------------------

class PageWidget(anywidget.AnyWidget):
    """A passkit widget the page only draws: a state update from the page never writes a read-only trait,
    and a value that does not validate is dropped (ipywidgets writes every trait the page names and sends
    it a traceback when one fails)."""

    def set_state(self, sync_data):
        if not isinstance(sync_data, dict):
            return
        for name, value in sync_data.items():
            trait = self.traits().get(name)
            if trait is None or trait.read_only or name not in self.keys:
                continue
            try:
                super().set_state({name: value})
            except (traitlets.TraitError, TypeError, ValueError):
                continue


class VegaChart(PageWidget):
    """A Vega-Lite chart; setting `spec` redraws it in the page."""

    _esm = STATIC / "vega_chart.js"
    spec = traitlets.Dict().tag(sync=True)


class DownloadMenu(PageWidget):
    """A Download button with one menu item per format; the file is made in the kernel on click.

    `provide(fmt) -> (filename, bytes)`. Anything but {"kind": "download", "format": <one of formats>}
    from the page is ignored.
    """

    _esm = STATIC / "download_menu.js"
    formats = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    title = traitlets.Unicode("Download").tag(sync=True)

    def __init__(self, formats, provide, title="Download"):
        super().__init__(title=title)
        self.set_trait("formats", list(formats))
        self.provide = provide
        self.on_msg(self._on_message)

    def reply(self, content) -> tuple[dict, list[bytes]] | None:
        """The message answering a request from the page, or None to ignore it."""
        if not isinstance(content, dict) or content.get("kind") != "download":
            return None
        fmt = content.get("format")
        if not isinstance(fmt, str) or fmt not in self.formats:
            return None
        try:
            filename, payload = self.provide(fmt)
        except PasskitError as exc:
            return {"kind": "error", "text": str(exc)}, []
        except Exception:  # never a traceback or table contents in the page or the server log
            return {"kind": "error", "text": "This file could not be made."}, []
        return {"kind": "file", "filename": filename, "mime": FORMATS[fmt]}, [payload]

    def _on_message(self, _widget, content, _buffers):
        answer = self.reply(content)
        if answer:
            self.send(*answer)


class SortableTable(PageWidget):
    """A report as a table sorted by clicking a column title; every row is sent, one page is drawn.

    Sorting, filtering and paging happen in the page (static/sortable_table.js); it sends nothing back.
    """

    _esm = STATIC / "sortable_table.js"
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{"name": title, "numeric": bool}]
    rows = traitlets.List(traitlets.List()).tag(sync=True)

    def show(self, table: pd.DataFrame):
        with self.hold_sync():  # one message: the page arranges the new rows once
            self.columns = [{"name": str(name), "numeric": pd.api.types.is_numeric_dtype(dtype)
                             and not pd.api.types.is_bool_dtype(dtype)} for name, dtype in table.dtypes.items()]
            self.rows = json.loads(table.to_json(orient="values", date_format="iso"))


STYLE = """<style>
.passkit-app { max-width: 1040px; margin: 0 auto; font-size: 14px; }
.passkit-app h1 { font-size: 22px; margin: 4px 0 0 0; }
.passkit-app .passkit-subtitle { color: #555; margin-bottom: 8px; }
.passkit-filters { background: #f4f6f8; border: 1px solid #dde2e7; border-radius: 6px; padding: 8px 10px;
  position: sticky; top: 0; z-index: 10; }
.passkit-status { min-height: 22px; font-weight: 600; margin: 6px 0 2px 0; }
.passkit-state.updating { color: #8a5a00; }
.passkit-state.problem { color: #b00020; }
.passkit-section { border-top: 1px solid #dde2e7; padding-top: 10px; margin-top: 14px; }
.passkit-section h2 { font-size: 18px; margin: 0; }
.passkit-note { color: #555; margin: 2px 0 6px 0; }
.passkit-empty { color: #444; background: #fafafa; border: 1px dashed #ccc; border-radius: 4px; padding: 18px;
  text-align: center; }
.passkit-updating .passkit-chart, .passkit-updating .passkit-table-widget { opacity: 0.45; transition: opacity 0.1s; }
.passkit-download { position: relative; display: inline-block; overflow: visible !important; }
.passkit-download-button { border: 1px solid #b8c0c8; background: white; border-radius: 4px; padding: 3px 10px;
  cursor: pointer; font-size: 13px; }
.passkit-download-button:hover { background: #eef2f5; }
.passkit-download-menu { position: absolute; right: 0; top: 28px; z-index: 20; background: white; min-width: 140px;
  border: 1px solid #b8c0c8; border-radius: 4px; box-shadow: 0 2px 8px rgba(0,0,0,0.15); }
.passkit-download-menu[hidden] { display: none; }
.passkit-download-menu button { display: block; width: 100%; text-align: left; border: none; background: white;
  padding: 6px 12px; cursor: pointer; font-size: 13px; }
.passkit-download-menu button:hover { background: #eef2f5; }
.passkit-download-status { margin-left: 6px; color: #555; font-size: 12px; }
.passkit-table-bar, .passkit-table-footer { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.passkit-table-filter { margin-left: auto; padding: 3px 6px; border: 1px solid #b8c0c8; border-radius: 4px; }
.passkit-table-footer button { border: 1px solid #b8c0c8; background: white; border-radius: 4px; padding: 2px 10px; }
.passkit-table-footer button:disabled { color: #aaa; }
.passkit-table-info { margin-right: auto; color: #555; }
table.passkit-table { width: 100%; border-collapse: collapse; font-size: 13px; }
table.passkit-table th { text-align: left; border-bottom: 2px solid #b8c0c8; padding: 5px 22px 5px 6px; cursor: pointer;
  position: relative; user-select: none; white-space: nowrap; }
table.passkit-table th:hover { background: #eef2f5; }
table.passkit-table th::after { content: "⇅"; position: absolute; right: 6px; color: #aab; }
table.passkit-table th[aria-sort=ascending]::after { content: "▲"; color: #333; }
table.passkit-table th[aria-sort=descending]::after { content: "▼"; color: #333; }
table.passkit-table td { padding: 4px 6px; border-bottom: 1px solid #eceff2; }
table.passkit-table .numeric { text-align: right; }
table.passkit-table tbody tr:nth-child(even) { background: #f8f9fa; }
</style>"""


class SectionView:
    """One graph or report: a title row with its Download menu, then the chart or table, or a sentence when empty."""

    def __init__(self, section, app: "App"):
        self.section, self.app = section, app  # section: a registry.Report
        self.menu = DownloadMenu(formats(section), self.download, title=f"Download {section.title}")
        self.empty = widgets.HTML(layout=widgets.Layout(display="none"))
        self.empty.add_class("passkit-empty")
        if section.kind == "graph":
            self.view = VegaChart()
        else:
            self.view = SortableTable()
        self.view.add_class(f"passkit-{section.name}")
        header = widgets.HBox([widgets.HTML(f"<h2>{html.escape(section.title)}</h2>"), self.menu],
                              layout=widgets.Layout(justify_content="space-between", align_items="center",
                                                    overflow="visible"))  # the open menu hangs below
        note_line = widgets.HTML(f'<div class="passkit-note">{html.escape(note(section))}</div>')
        self.sampled = widgets.HTML(layout=widgets.Layout(display="none"))
        self.sampled.add_class("passkit-note")
        self.box = widgets.VBox([header, note_line, self.sampled, self.empty, self.view],
                                layout=widgets.Layout(overflow="visible"))
        self.box.add_class("passkit-section")
        self.box.add_class(f"passkit-section-{section.name}")

    def show(self, table: pd.DataFrame | None, selection: Selection, revision: int, any_passes: bool):
        reason = self.app.unavailable.get(self.section.name)
        if reason or not any_passes:
            self.empty.value = html.escape(f"{self.section.title} is not available for this export: {reason}."
                                           if reason else f"No passes {_words(selection)}, so there is nothing "
                                                          "to show here.")
            self.menu.layout.display = "none" if reason else None
            self.empty.layout.display = None
            self.view.layout.display = "none"
            return
        self.empty.layout.display = "none"
        self.view.layout.display = None
        if self.section.kind == "graph":
            drawn = plotted_students(table) if self.section.name == "passes_by_student" else table
            self.sampled.layout.display = None if len(drawn) < len(table) else "none"
            self.sampled.value = (f"Showing {len(drawn):,} of {len(table):,} students: every outlier and an even "
                                  f"sample of the others. The download has them all.")
            spec = charts.spec(self.section.name, drawn)
            spec["usermeta"] = {"revision": revision}
            self.view.spec = spec
        else:
            self.view.show(shown_table(table))

    def download(self, fmt: str) -> tuple[str, bytes]:
        selection = self.app.selection()
        table = self.app.cache.tables(selection)[self.section.name]
        return selection.filename(self.section.name, fmt), render_file(self.section.name, table, fmt)


def _words(selection: Selection) -> str:
    text = f"from {format_range(selection.start, selection.end)}" if selection.start != selection.end \
        else f"on {format_range(selection.start, selection.end)}"
    if selection.grade:
        text += f" for grade {selection.grade}" if selection.grade != grade_levels.UNKNOWN else " for unknown grade"
    if selection.school:
        text += f" at {selection.school}"
    return text


class App(widgets.VBox):
    """The whole page. `App(data)` with a loaded `PassData`; `App.from_parameters(...)` in the notebook."""

    def __init__(self, data, *, quarters=None, title="Hall-pass analytics"):
        super().__init__()
        self.add_class("passkit-app")
        self.data = data
        self.cache = ReportCache(data)
        self.unavailable = registry.unavailable(data)
        self.days = data_days(data)
        if not self.days:
            raise PasskitError("the data holds no passes, so there is nothing to show")
        self.presets = presets(self.days, quarters)
        self.revision = 0
        self._quiet = False  # set while the app itself moves the pickers

        first, last = self.days[0], self.days[-1]
        choice = default_preset(self.presets)
        start, end = self.presets[choice]
        self.preset = widgets.Dropdown(options=[*self.presets, CUSTOM], value=choice, description="Range",
                                       layout=widgets.Layout(width="230px"))
        self.start = widgets.DatePicker(value=start, min=first, max=last, description="From",
                                        layout=widgets.Layout(width="220px"))
        self.end = widgets.DatePicker(value=end, min=first, max=last, description="To",
                                      layout=widgets.Layout(width="220px"))
        self.grade = widgets.Dropdown(options=[ALL_GRADES, *data_grades(data)], value=ALL_GRADES,
                                      description="Grade", layout=widgets.Layout(width="200px"))
        named = [s for s in data.schools if s]
        self.school = widgets.Dropdown(options=[ALL_SCHOOLS, *named], value=ALL_SCHOOLS, description="School",
                                       layout=widgets.Layout(width="280px", display=None if len(named) > 1 else "none"))
        for name, control in (("preset", self.preset), ("start", self.start), ("end", self.end),
                              ("grade", self.grade), ("school", self.school)):
            control.style.description_width = "48px"
            control.add_class(f"passkit-{name}")
        self.status = widgets.HTML()
        self.status.add_class("passkit-status")
        filters = widgets.VBox([widgets.HBox([self.preset, self.start, self.end]),
                                widgets.HBox([self.grade, self.school]), self.status])
        filters.add_class("passkit-filters")
        self.sections = [SectionView(section, self) for section in sections()]
        summary = data.summary
        heading = widgets.HTML(
            f"{STYLE}<h1>{html.escape(title)}</h1>"
            f"<div class='passkit-subtitle'>{summary.get('passes_kept', 0):,} passes "
            f"from {format_range(first, last)}. Preset ranges count back from the last day in the data.</div>")
        self.body = widgets.VBox([s.box for s in self.sections])
        self.children = [heading, filters, self.body]

        self.preset.observe(self._preset_changed, "value")
        for control in (self.start, self.end, self.grade, self.school):
            control.observe(self._filter_changed, "value")
        self.refresh()
        self.warming = self.cache.warm([Selection(*span) for span in self.presets.values()])

    @classmethod
    def from_parameters(cls, data_dir=None, timezone="America/Chicago", quarters=None, cache_dir=None):
        """The notebook's entry point: a data folder, or (served) the cache `passkit dashboard` loaded."""
        from .data import load, open_cache

        if isinstance(quarters, str):  # the notebook's parameter, as --quarters takes it
            from .params import parse_quarters

            quarters = parse_quarters(quarters)
        quarters = quarters or read_quarters(os.environ.get(ENV_QUARTERS))
        if data_dir:
            data = load(data_dir, timezone, cache_dir=cache_dir)
        elif os.environ.get(ENV_CACHE):
            hide_tracebacks()
            data = open_cache(Path(os.environ[ENV_CACHE]))
        else:
            raise PasskitError("no data: set data_dir, or start the dashboard with `passkit dashboard --data DIR`")
        return cls(data, quarters=quarters, title=dashboard_title(os.environ.get(ENV_SCHOOL, "")))

    def section(self, name: str) -> "SectionView":
        return next(view for view in self.sections if view.section.name == name)

    # -- state --

    def selection(self) -> Selection:
        """The current filters, checked: a client can send anything, so nothing is taken on trust."""
        start, end = self.start.value, self.end.value
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            raise PasskitError("Pick both a From and a To date.")
        if start > end:
            raise PasskitError("The From date is after the To date.")
        grade = None if self.grade.value == ALL_GRADES else self.grade.value
        school = None if self.school.value == ALL_SCHOOLS else self.school.value
        return Selection(start, end, grade, school)

    def refresh(self):
        """Recompute and redraw everything for the current filters; say so while it works."""
        try:
            selection = self.selection()
        except PasskitError as exc:
            return self._say(str(exc), "problem")
        self._say(f"Updating… {selection.describe()}", "updating")
        self.body.add_class("passkit-updating")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tables = self.cache.tables(selection)
                self.revision += 1
                count = passes_in(tables)
                for view in self.sections:
                    view.show(tables.get(view.section.name), selection, self.revision, count > 0)
        except PasskitError as exc:
            return self._say(str(exc), "problem")
        except Exception:  # the page says something went wrong; no traceback, no data in logs
            return self._say("Something went wrong while updating. Try another range.", "problem")
        finally:
            self.body.remove_class("passkit-updating")
        self._say(f"{count:,} passes · {selection.describe()}" if count else
                  f"No passes {_words(selection)}.", "done")

    def _say(self, text: str, state: str):
        self.status.value = f'<span class="passkit-state {state}" data-state="{state}">{html.escape(text)}</span>'

    # -- events --

    def _preset_changed(self, change):
        if self._quiet or change["new"] not in self.presets:
            return
        start, end = self.presets[change["new"]]
        self._quiet = True
        try:
            self.start.value, self.end.value = start, end
        finally:
            self._quiet = False
        self.refresh()

    def _filter_changed(self, change):
        if self._quiet:
            return
        if change["owner"] in (self.start, self.end):
            matching = [label for label, span in self.presets.items()
                        if span == (self.start.value, self.end.value)]
            self._quiet = True
            try:
                self.preset.value = matching[0] if matching else CUSTOM
            finally:
                self._quiet = False
        self.refresh()


def dashboard_title(school: str = "") -> str:
    """'Hall-pass analytics - North High': the page's tab and heading (and the login page's)."""
    return f"Hall-pass analytics - {school}" if school else "Hall-pass analytics"


def hide_tracebacks():
    """In a kernel `passkit dashboard` serves: an error a page's message causes (a malformed widget
    update) reaches the page as one line, never a traceback with install paths (ipywidgets shows one
    through the shell), and the comm layer logs such errors without their traceback."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.InteractiveTB.set_mode("Minimal")
    for name in ("ipykernel.comm", "Comm"):
        logging.getLogger(name).addFilter(_without_traceback)


def _without_traceback(record) -> bool:
    record.exc_info = record.exc_text = None
    return True


def data_days(data) -> list[dt.date]:
    """Every local date with at least one pass, in order."""
    frame = passes_frame(data).select("date").unique().sort("date").collect(backend="pandas").to_native()
    return [as_date(value) for value in frame["date"]]


def data_grades(data) -> list[str]:
    frame = passes_frame(data).select("grade").unique().collect(backend="pandas").to_native()
    return sorted(frame["grade"].dropna(), key=grade_levels.sort_key)
