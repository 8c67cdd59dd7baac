"""The admin dashboard that `passkit dashboard` serves with Voila: one page, in the order of the analytics page.

A date range (presets or custom), a grade filter and, for a district, a school selector filter
everything below: headline tiles, then a section per report the registry marks for the dashboard,
as a chart (with its table a click away) or a sortable table. Clicking a student or a room opens a
drill-down; every section has a Download menu whose files carry the on-screen labels, filter, sort,
range and school.

This module is the page: widgets and filters, and nothing heavier than ipywidgets. What the page
shows for a range comes from a source: `dashboard_store.StoredSource` (the preset ranges, computed
once by `passkit dashboard` for every page's kernel) or `dashboard_data.LiveSource` (computed in this
kernel, loading pandas and DuckDB on first need). A kernel showing only presets stays small.

Dates are relative to the data, not to today: an export is usually looked at after the fact (the
demo is a past school year), so "this week" is the week of the last day with passes.

Messages from the page are never trusted: every request is checked here before anything is done
(tests/test_dashboard.py runs all of this without a browser).
"""

import datetime as dt
import html
import json
import logging
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import anywidget
import ipywidgets as widgets
import traitlets

from . import grades as grade_levels
from .errors import PasskitError
from .folders import slug
from .params import prior_range

STATIC = Path(__file__).parent / "static"
ENV_CACHE = "PASSKIT_DASHBOARD_CACHE"  # the Parquet cache `passkit dashboard` loaded; the kernel opens it read-only
ENV_QUARTERS = "PASSKIT_DASHBOARD_QUARTERS"
ENV_SCHOOL = "PASSKIT_DASHBOARD_SCHOOL"  # the name in titles and file names (the parameters file's school)
ALL_GRADES, ALL_SCHOOLS, CUSTOM = "All grades", "All schools", "Custom"
ESTIMATED = " (estimated)"  # on quarters guessed from the data rather than given
FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "png": "image/png"}
FINDINGS_SHOWN = 3  # the most severe findings open; the others behind "N more findings"
MAX_KEY = 200  # characters of a student id or school name the kernel accepts from the page


# ---- what is selected -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """One filter state: an inclusive date range, one grade or all, one school or all; and the range it is
    compared with (`prior`, following from the range and the page's quarters; None: as many days before)."""

    start: dt.date
    end: dt.date
    grade: str | None = None
    school: str | None = None
    prior: tuple[dt.date, dt.date] | None = field(default=None, compare=False)

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

    def caption(self, place: str = "") -> str:
        """Where and when, for titles: 'North High · Jan 5 – Mar 27, 2026 · grade 9' (the chosen school,
        else the page's school)."""
        where = self.school or place
        return " · ".join(filter(None, [where, Selection(self.start, self.end, self.grade).describe()]))

    def filename(self, name: str, fmt: str, place: str = "", filtered: bool = False) -> str:
        """room_usage_demo-high_2026-01-05_2026-03-27[_grade-9][_filtered].csv"""
        where = self.school or place
        parts = [name, *([slug(where)] if where else []), self.start.isoformat(), self.end.isoformat()]
        if self.grade:
            parts.append(f"grade-{self.grade}")
        if filtered:
            parts.append("filtered")
        return "_".join(parts) + f".{fmt}"


def format_range(start: dt.date, end: dt.date) -> str:
    if start == end:
        return f"{start:%a %b} {start.day}, {start.year}"
    if start.year == end.year:
        return f"{start:%b} {start.day} – {end:%b} {end.day}, {end.year}"
    return f"{start:%b} {start.day}, {start.year} – {end:%b} {end.day}, {end.year}"


def words(selection: Selection) -> str:
    """'from Jan 5 – Mar 27, 2026 for grade 9 at North High', for sentences."""
    text = f"from {format_range(selection.start, selection.end)}" if selection.start != selection.end \
        else f"on {format_range(selection.start, selection.end)}"
    if selection.grade:
        text += f" for grade {selection.grade}" if selection.grade != grade_levels.UNKNOWN else " for unknown grade"
    if selection.school:
        text += f" at {selection.school}"
    return text


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
    """Preset ranges, relative to the last day with passes: this week, last 30 days, each quarter, whole year.

    Quarters guessed from the data (no `quarters` given) say so: "Quarter 1 (estimated)".
    """
    last = days[-1]
    found = OrderedDict()
    found["This week"] = (last - dt.timedelta(days=last.weekday()), last)
    found["Last 30 days"] = (last - dt.timedelta(days=29), last)
    ranges = quarter_ranges(days, quarters)
    for number, (begin, end) in enumerate(ranges, start=1):
        if any(begin <= d <= end for d in days):  # only quarters with data
            found[f"Quarter {number}{'' if quarters else ESTIMATED}"] = (begin, min(end, last))
    found["Whole year"] = (ranges[0][0], last)
    return found


def quarter_presets(options: dict) -> list[tuple[dt.date, dt.date]]:
    """The quarters among the presets: a quarter is compared with the one before it as the page shows them."""
    return [span for label, span in options.items() if label.startswith("Quarter")]


def default_preset(options: dict) -> str:
    """The latest quarter that has data."""
    quarters = [label for label in options if label.startswith("Quarter")]
    return quarters[-1] if quarters else "Whole year"


# ---- widgets ------------------------------------------------------------------------------------------

def script(*names: str) -> str:
    """Page code from static/*.js, joined: an anywidget module is one file, and these share the table,
    chart and menu code."""
    return "\n".join((STATIC / f"{name}.js").read_text(encoding="utf-8") for name in names)


class PageWidget(anywidget.AnyWidget):
    """A widget whose page only ever sends requests (custom messages, checked by `checked_request`).

    Whatever state the page sends is dropped: no trait of these widgets (formats, rows, what a row
    opens) can be changed from the browser."""

    page_widgets = traitlets.Int(0, read_only=True).tag(sync=True)  # how many start on the page (static/chart.js)

    def set_state(self, sync_data):
        return


class Section(PageWidget):
    """One report: title and Download menu, its text alternative, then its chart (and, on request, the
    chart's numbers as a table) or its sortable table. The page asks; `App.answer` answers."""

    _esm = script("menu", "table", "chart", "section")
    name = traitlets.Unicode(read_only=True).tag(sync=True)
    title = traitlets.Unicode(read_only=True).tag(sync=True)
    note = traitlets.Unicode(read_only=True).tag(sync=True)
    kind = traitlets.Unicode(read_only=True).tag(sync=True)  # "graph" or "table"
    formats = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    state = traitlets.Unicode("empty").tag(sync=True)  # shown, empty, unavailable
    message = traitlets.Unicode().tag(sync=True)
    summary = traitlets.Unicode().tag(sync=True)
    sampled = traitlets.Unicode().tag(sync=True)
    explain = traitlets.List(traitlets.Unicode()).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)
    pick_fields = traitlets.List(traitlets.Unicode()).tag(sync=True)
    table_open = traitlets.Bool(False).tag(sync=True)
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.List()).tag(sync=True)
    pick = traitlets.Unicode().tag(sync=True)  # what a table row opens: "student", "room" or nothing
    pick_column = traitlets.Int(None, allow_none=True).tag(sync=True)

    def __init__(self, meta: dict, app: "App"):
        super().__init__()
        for trait in ("name", "title", "note", "kind", "formats"):
            self.set_trait(trait, meta[trait])
        self.app = app
        self.add_class("passkit-section")
        self.add_class(f"passkit-section-{meta['name']}")
        self.table = {"columns": [], "rows": [], "key_columns": []}  # the kernel's copy of the page's table
        self.on_msg(lambda _widget, content, _buffers: self.app.answer(self, content))

    def show(self, part: dict | None, selection: Selection, revision: int):
        part = part or {"state": "unavailable", "reason": "it could not be made"}
        with self.hold_sync():
            self.state = part["state"]
            self.message = {"unavailable": f"{self.title} is not available for this export: {part.get('reason')}.",
                            "empty": f"No passes {words(selection)}, so there is nothing to show here."
                            }.get(part["state"], "")
            self.summary = part.get("summary", "")
            self.sampled = part.get("sampled", "")
            self.explain = part.get("explain", [])
            self.pick_fields = part.get("pick", []) if self.kind == "graph" else []
            if part["state"] == "shown" and self.kind == "graph":
                self.spec = {**part["spec"], "usermeta": {"revision": revision}}
                self.revision = revision
                if self.table_open:
                    self.fill_table(None)
            elif part["state"] == "shown":
                self.fill_table(part)
            else:
                self.fill_table({"columns": [], "rows": []})

    def download(self, fmt: str, view: dict | None = None) -> tuple[str, bytes]:
        """(file name, bytes) of this section as the page's Download menu makes it."""
        return self.app.download(self, fmt, view)

    def fill_table(self, view: dict | None):
        """The table the page shows: a table report's, or a chart's numbers (computed on request)."""
        if view is None:
            view = self.app.table_view(self.name)
        self.table = {"columns": view["columns"], "rows": view["rows"], "key_columns": view.get("key_columns", [])}
        with self.hold_sync():
            self.columns, self.rows = view["columns"], view["rows"]
            self.pick, self.pick_column = view.get("pick", ""), view.get("pick_column")


class Drill(PageWidget):
    """The drill-down dialog: a student's passes or a room's busiest times and students."""

    _esm = script("menu", "table", "chart", "drill")
    visible = traitlets.Bool(False).tag(sync=True)
    loading = traitlets.Bool(False).tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)
    title = traitlets.Unicode().tag(sync=True)
    subtitle = traitlets.Unicode().tag(sync=True)
    summary = traitlets.Unicode().tag(sync=True)
    message = traitlets.Unicode().tag(sync=True)
    charts = traitlets.List(traitlets.Dict()).tag(sync=True)
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.List()).tag(sync=True)
    pick = traitlets.Unicode().tag(sync=True)
    pick_column = traitlets.Int(None, allow_none=True).tag(sync=True)
    formats = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)

    def __init__(self, app: "App"):
        super().__init__()
        self.set_trait("formats", ["csv", "xlsx"])
        self.app = app
        self.detail: dict = {}
        self.add_class("passkit-drill-widget")
        self.on_msg(lambda _widget, content, _buffers: self.app.answer(self, content))

    def start(self, title: str):
        self.detail = {}
        with self.hold_sync():
            self.title, self.subtitle, self.summary, self.message = title, "", "", ""
            self.charts, self.columns, self.rows = [], [], []
            self.loading, self.visible = True, True
            self.revision += 1

    def show(self, detail: dict | None, message: str = ""):
        self.detail = detail or {}
        with self.hold_sync():
            self.loading = False
            self.message = message
            if detail:
                self.title, self.subtitle, self.summary = detail["title"], detail["subtitle"], detail["summary"]
                self.charts = detail["charts"]
                self.columns, self.rows = detail["columns"], detail["rows"]
                self.pick, self.pick_column = detail["pick"], detail["pick_column"]
            self.revision += 1


def style() -> str:
    return "<style>" + (STATIC / "dashboard.css").read_text(encoding="utf-8") + "</style>"


class App(widgets.VBox):
    """The whole page. `App(data)` with a loaded `PassData`; `App.from_parameters(...)` in the notebook.

    `source` (instead of `data`) supplies the page's facts and each selection's screen and tables.
    """

    def __init__(self, data=None, *, source=None, quarters=None, school: str = ""):
        super().__init__()
        self.add_class("passkit-app")
        if source is None:
            from .dashboard_data import LiveSource

            source = LiveSource(data)
        self.source = source
        facts = source.facts
        self.days = [dt.date.fromisoformat(day) for day in facts["days"]]
        if not self.days:
            raise PasskitError("the data holds no passes, so there is nothing to show")
        self.place = school
        self.presets = presets(self.days, quarters)
        self.revision = 0
        self._quiet = False  # set while the app itself moves the pickers

        first, last = self.days[0], self.days[-1]
        choice = default_preset(self.presets)
        start, end = self.presets[choice]
        self.preset = widgets.Dropdown(options=[*self.presets, CUSTOM], value=choice, description="Range")
        self.start = widgets.DatePicker(value=start, min=first, max=last, description="From")
        self.end = widgets.DatePicker(value=end, min=first, max=last, description="To")
        self.grade = widgets.Dropdown(options=[ALL_GRADES, *facts["grades"]], value=ALL_GRADES, description="Grade")
        named = facts["schools"]
        self.school = widgets.Dropdown(options=[ALL_SCHOOLS, *named], value=ALL_SCHOOLS, description="School",
                                       layout=widgets.Layout(display=None if len(named) > 1 else "none"))
        for name, control in (("preset", self.preset), ("start", self.start), ("end", self.end),
                              ("grade", self.grade), ("school", self.school)):
            control.style.description_width = "initial"
            control.add_class("passkit-control")
            control.add_class(f"passkit-{name}")
        self.status = widgets.HTML()
        self.status.add_class("passkit-status")
        controls = widgets.Box([self.preset, self.start, self.end, self.grade, self.school])
        controls.add_class("passkit-controls")
        filters = widgets.VBox([controls, self.status])
        filters.add_class("passkit-filters")
        self.tiles = widgets.HTML()
        self.tiles.add_class("passkit-tiles-widget")
        self.drill = Drill(self)
        self.sections = [Section(meta, self) for meta in facts["sections"]]
        for widget in (self.drill, *self.sections):
            widget.set_trait("page_widgets", len(self.sections) + 1)
        estimated = "" if quarters else (
            " Quarters are estimated: the year's days with passes split into four equal runs. Start the dashboard "
            "with your parameters file (or --quarters) to use your school's own.")
        heading = widgets.HTML(
            f"{style()}<header class='passkit-header'><h1>{html.escape(dashboard_title(school))}</h1>"
            "<p class='passkit-subtitle'>"
            f"{facts['passes_kept']:,} passes from {format_range(first, last)}. Preset ranges count back from the last "
            f"day in the data.{estimated}</p></header>")
        self.body = widgets.Box(self.sections)
        self.body.add_class("passkit-body")
        self.children = [heading, filters, self.tiles, self.drill, self.body]

        self.preset.observe(self._preset_changed, "value")
        for control in (self.start, self.end, self.grade, self.school):
            control.observe(self._filter_changed, "value")
        self.refresh()

    @classmethod
    def from_parameters(cls, data_dir=None, timezone="America/Chicago", quarters=None, cache_dir=None, school=None):
        """The notebook's entry point: a data folder, or (served) what `passkit dashboard` prepared."""
        if isinstance(quarters, str):  # the notebook's parameter, as --quarters takes it
            from .params import parse_quarters

            quarters = parse_quarters(quarters)
        quarters = quarters or read_quarters(os.environ.get(ENV_QUARTERS))
        school = school or os.environ.get(ENV_SCHOOL, "")
        if data_dir:
            from .data import load

            return cls(load(data_dir, timezone, cache_dir=cache_dir), quarters=quarters,
                       school=school or Path(data_dir).name)
        if not os.environ.get(ENV_CACHE):
            raise PasskitError("no data: set data_dir, or start the dashboard with `passkit dashboard --data DIR`")
        from .kernel import skip_slow_optional_imports

        skip_slow_optional_imports()  # this kernel is passkit's own (see passkit.kernel)
        hide_tracebacks()
        return cls(source=open_source(Path(os.environ[ENV_CACHE])), quarters=quarters, school=school)

    def section(self, name: str) -> Section:
        return next(view for view in self.sections if view.name == name)

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
        return Selection(start, end, grade, school, prior_range(start, end, quarter_presets(self.presets)))

    def refresh(self):
        """Show everything for the current filters; say so while it works."""
        try:
            selection = self.selection()
        except PasskitError as exc:
            return self._say(str(exc), "problem")
        self._say(f"Updating… {selection.describe()}", "updating")
        self.body.add_class("passkit-updating")
        self.drill.visible = False  # it showed the last range
        try:
            with warnings.catch_warnings():  # a library's warning is no news to an admin
                warnings.simplefilter("ignore")
                screen = self.source.screen(selection)
            self.revision += 1
            self.tiles.value = tiles_html(screen["tiles"]) + findings_html(screen.get("findings"))
            for view in self.sections:
                view.show(screen["sections"].get(view.name), selection, self.revision)
        except PasskitError as exc:
            return self._say(str(exc), "problem")
        except Exception:  # the page says something went wrong; no traceback, no data in logs
            return self._say("Something went wrong while updating. Try another range.", "problem")
        finally:
            self.body.remove_class("passkit-updating")
        count = screen["passes"]
        self._say(f"{count:,} passes · {selection.describe()}" if count else f"No passes {words(selection)}.", "done")

    def _say(self, text: str, state: str):
        self.status.value = f'<span class="passkit-state {state}" data-state="{state}">{html.escape(text)}</span>'

    # -- requests from the page --

    def answer(self, widget, content):
        """Do what a widget's page asks, if it is a well-formed request; anything else is ignored."""
        request = checked_request(content, widget)
        if request is None:
            return
        kind = request["kind"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._do(widget, request)
        except PasskitError as exc:
            self._failed(widget, kind, str(exc))
        except Exception:  # never a traceback or table contents in the page or the server log
            self._failed(widget, kind, "This file could not be made." if kind == "download" else
                         "This could not be shown." if kind == "pick" else "This could not be done.")

    def _failed(self, widget, kind: str, text: str):
        if kind == "pick":
            self.drill.show(None, text)
        widget.send({"kind": "error", "text": text})

    def _do(self, widget, request):
        kind = request["kind"]
        if kind == "download":
            name, payload = self.download(widget, request["format"], request["view"])
            widget.send({"kind": "file", "filename": name, "mime": FORMATS[request["format"]]}, [payload])
        elif kind == "table":
            widget.table_open = request["open"]
            if request["open"] and widget.state == "shown":
                widget.fill_table(None)
        elif kind == "close":
            widget.visible = False
        elif kind == "pick":
            self.open_detail(*request["target"])

    def table_view(self, name: str) -> dict:
        from . import dashboard_data, registry

        table = self.source.tables(self.selection()).get(name)
        return dashboard_data.table_view(registry.get(name), table)

    def download(self, widget, fmt: str, view: dict | None) -> tuple[str, bytes]:
        """(file name, bytes) of a section's or the drill-down's table as shown, or a section's chart."""
        from . import dashboard_data, registry

        selection = self.selection()
        if widget is self.drill:
            columns, rows = self.drill.detail.get("columns", []), self.drill.detail.get("rows", [])
        else:
            columns, rows = widget.table["columns"], widget.table["rows"]
        if view is not None:
            view = dashboard_data.checked_view(view, columns)
            if view is None:
                raise PasskitError("This download request was not understood.")
        shown = dashboard_data.view_words(columns, view) if fmt != "png" else ""
        filtered = bool(view and view["filter"]) and fmt != "png"
        if widget is self.drill:
            detail = self.drill.detail
            if not detail:
                raise PasskitError("Nothing to download yet.")
            heading = " · ".join(filter(None, [detail["title"], selection.caption(self.place), shown]))
            name = f"{detail['kind']}_{slug(detail['title'].split(' · ')[0])}"
            return (selection.filename(name, fmt, self.place, filtered),
                    dashboard_data.detail_file(detail, fmt, heading, view))
        entry = registry.get(widget.name)
        table = self.source.tables(selection).get(widget.name)
        if view is not None and fmt != "png" and (widget.kind == "table" or widget.table_open):
            if len(rows) != len(table):
                raise PasskitError("The table changed meanwhile; download again.")
            table = table.iloc[dashboard_data.arrange(columns, rows, view)]
        heading = " · ".join(filter(None, [entry.title, selection.caption(self.place), shown]))
        return (selection.filename(widget.name, fmt, self.place, filtered),
                dashboard_data.render_file(entry, table, fmt, heading=heading))

    def open_detail(self, kind: str, school: str, key: str):
        """Open the drill-down of a student (kind "student", key their id) or a room, in this range."""
        from . import dashboard_data

        selection = self.selection()
        self.drill.start("Loading…")
        tables = self.source.tables(selection)
        found = (dashboard_data.student_detail if kind == "student" else dashboard_data.room_detail)(tables, school, key)
        self.drill.show(found, "" if found else f"No passes {words(selection)} for this {kind}.")

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


def open_source(cache: Path):
    """The store `passkit dashboard` prepared in `cache`, else computing everything in this kernel."""
    from .dashboard_store import StoredSource

    try:
        return StoredSource(cache)
    except (OSError, ValueError, KeyError):
        from .dashboard_data import LiveSource
        from .data import open_cache

        return LiveSource(open_cache(cache))


def checked_request(content, widget) -> dict | None:
    """A request from a widget's page, checked field by field, or None to ignore it.

    download: {"kind": "download", "format": one of the widget's formats, "view": None or a table view}
    table:    {"kind": "table", "open": bool}                       (a section's "show the table")
    close:    {"kind": "close"}                                     (the drill-down)
    pick:     {"kind": "pick", "row": index of a row the page was sent}
              {"kind": "pick", "datum": {"student_id": text, "school": text}}  (a dot or a bar)
    The answer to a pick is ("student" or "room", school, key), found in the kernel's own copy of the
    rows; a datum is only ever looked up, never run.
    """
    if not isinstance(content, dict) or not isinstance(content.get("kind"), str):
        return None
    kind = content["kind"]
    if kind == "download":
        fmt, view = content.get("format"), content.get("view")
        if not isinstance(fmt, str) or fmt not in widget.formats or not (view is None or isinstance(view, dict)):
            return None
        return {"kind": kind, "format": fmt, "view": view}
    if kind == "table" and isinstance(widget, Section) and widget.kind == "graph":
        return {"kind": kind, "open": content.get("open")} if type(content.get("open")) is bool else None
    if kind == "close" and isinstance(widget, Drill):
        return {"kind": kind}
    if kind == "pick":
        target = _picked_row(content.get("row"), widget) if "row" in content else _picked_datum(content.get("datum"),
                                                                                                   widget)
        return {"kind": kind, "target": target} if target else None
    return None


def _picked_row(row, widget):
    if isinstance(widget, Drill):
        keys, pick = widget.detail.get("keys", []), widget.detail.get("pick")
        if type(row) is not int or not pick or not 0 <= row < len(keys):
            return None
        return (pick, *keys[row])
    rows, key_columns = widget.table["rows"], widget.table["key_columns"]
    if type(row) is not int or not widget.pick or not key_columns or not 0 <= row < len(rows):
        return None
    school_at, key_at = key_columns
    school = "" if school_at is None else rows[row][school_at]
    return (widget.pick, school or "", str(rows[row][key_at]))


def _picked_datum(datum, widget):
    if not isinstance(widget, Section) or not widget.pick_fields or not isinstance(datum, dict):
        return None
    if set(datum) - set(widget.pick_fields) or not all(isinstance(v, str) and len(v) <= MAX_KEY for v in datum.values()):
        return None
    if not datum.get("student_id"):
        return None
    return ("student", datum.get("school", ""), datum["student_id"])


def findings_html(findings: dict | None) -> str:
    """The range's findings under the figures, each a sentence with its numbers; when there are none, the sentence
    saying the range looks steady."""
    if not findings:
        return ""
    items = [f'<li class="passkit-finding {html.escape(item["severity"])}"><strong>{html.escape(item["title"])}'
             f'</strong> {html.escape(item["text"])}</li>' for item in findings["items"]]
    if not items:
        items = [f'<li class="passkit-finding">{html.escape(findings["summary"])}</li>']
    rest = items[FINDINGS_SHOWN:]  # on a phone, the rest would push the reports a few screens down
    more = (f'<details><summary>{len(rest)} more finding{"s" * (len(rest) != 1)}</summary><ul>{"".join(rest)}</ul>'
            "</details>" if rest else "")
    return ('<section class="passkit-findings" aria-label="Findings"><h2>Findings</h2>'
            f'<ul>{"".join(items[:FINDINGS_SHOWN])}</ul>{more}</section>')


def tiles_html(tiles: list[dict]) -> str:
    """The headline figures as cards; each has room for a change from the prior period."""
    cards = []
    for tile in tiles:
        change = tile.get("change")
        cards.append(f'<div class="passkit-tile" role="listitem" data-tile="{html.escape(tile["key"])}">'
                     f'<div class="passkit-tile-label">{html.escape(tile["label"])}</div>'
                     f'<div class="passkit-tile-value">{html.escape(tile["value"])}</div>'
                     f'<div class="passkit-tile-detail">{html.escape(tile["detail"])}</div>'
                     + (f'<div class="passkit-tile-change">{html.escape(change)}</div>' if change else "")
                     + "</div>")
    return f'<div class="passkit-tiles" role="list" aria-label="Headline figures">{"".join(cards)}</div>'
