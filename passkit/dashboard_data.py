"""What the dashboard shows for one selection, as plain values a page can draw, computed from `Tables`.

- `screen(tables)`: everything on the page at once (tiles, each section's chart or table, its text
  alternative). JSON-able: `passkit.dashboard_store` keeps the preset ranges' screens on disk, so a
  page's kernel reads them instead of computing them (and never imports this module for them).
- `student_detail` / `room_detail`: a student's passes, a room's busiest times and students (drill-downs).
- `arrange`: the table view's filter and sort, the same rules as static/table.js, so a download made
  in the kernel holds exactly the rows the page shows, in its order.
- `render_file`: a section's download (CSV, XLSX, PNG) with on-screen labels and the range in its title.
"""

import json
import re
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import narwhals as nw
import pandas as pd

from . import charts, exports, registry, summary
from .tables import collect

SCREEN_FORMAT = 2  # bump when a screen's shape changes (stored screens of another format are not read)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_FILTER = 200  # characters of a table filter the kernel accepts from the page


def formats(entry) -> tuple[str, ...]:
    return ("csv", "xlsx", "png") if entry.kind == "graph" and entry.chart is not None else ("csv", "xlsx")


def note(entry) -> str:
    sorting = " Click a column title to sort; click again to reverse." if entry.kind == "table" else ""
    return entry.description + sorting + (" " + entry.hint if entry.hint else "")


def sections() -> list[dict]:
    """The registry's dashboard reports in page order, as the page's kernel needs them (no tables)."""
    return [{"name": entry.name, "title": entry.title, "kind": entry.kind if entry.chart is not None else "table",
             "formats": list(formats(entry)), "note": note(entry)} for entry in registry.all_reports("dashboard")]


def page_facts(data) -> dict:
    """What the page's pickers and sections need before any range is chosen (JSON-able)."""
    from . import grades as grade_levels
    from .tables import as_date, passes_frame

    passes = passes_frame(data)
    days = collect(passes.select("date").unique().sort("date"))["date"]
    levels = collect(passes.select("grade").unique())["grade"].dropna()
    return {"days": [as_date(day).isoformat() for day in days],
            "grades": sorted(levels, key=grade_levels.sort_key),
            "schools": [school for school in getattr(data, "schools", []) if school],
            "passes_kept": int(getattr(data, "summary", {}).get("passes_kept", 0)), "sections": sections()}


class LiveSource:
    """A page's data computed in its own kernel: each selection's `Tables` (the latest few kept) and screen."""

    KEPT = 24  # selections kept, so going back to a range is instant

    def __init__(self, data, facts: dict | None = None):
        self.data = data
        self.facts = facts or page_facts(data)
        self.kept: dict = {}  # selection -> (Tables, screen or None), oldest first

    def tables(self, selection):
        from .tables import Tables

        if selection not in self.kept:
            self.kept[selection] = [Tables(self.data, selection.start, selection.end, selection.grades,
                                           selection.schools, prior=selection.prior), None]
            while len(self.kept) > self.KEPT:
                self.kept.pop(next(iter(self.kept)))
        self.kept[selection] = self.kept.pop(selection)  # now the most recent
        return self.kept[selection][0]

    def screen(self, selection) -> dict:
        tables = self.tables(selection)
        if self.kept[selection][1] is None:
            self.kept[selection][1] = screen(tables)
        return self.kept[selection][1]


# ---- one selection's screen ------------------------------------------------------------------------

def screen(tables) -> dict:
    """Everything the page shows for the range of `tables` (JSON-able)."""
    passes = tables.passes_in_range
    shown = {}
    for entry in registry.all_reports("dashboard"):
        if entry.name in tables.unavailable:
            shown[entry.name] = {"state": "unavailable", "reason": tables.unavailable[entry.name]}
        elif not passes:
            shown[entry.name] = {"state": "empty"}
        else:
            shown[entry.name] = section(entry, tables)
    return {"format": SCREEN_FORMAT, "passes": passes, "tiles": tiles(tables), "findings": findings(tables),
            "sections": shown}


def findings(tables) -> dict | None:
    """The range's findings (passkit.findings): {"items": [{severity, title, text}], "summary": its sentence, which
    says the range looks steady when there are none}; None for a range without passes."""
    from . import findings as rules

    if not tables.passes_in_range or rules.NAME in tables.unavailable:
        return None
    table = tables.get(rules.NAME)
    return {"items": table[["severity", "title", "text"]].to_dict("records"),
            "summary": registry.get(rules.NAME).sentence(table)}


def section(entry, tables) -> dict:
    table = tables.get(entry.name)
    found = {"state": "shown", "summary": entry.sentence(table), "rows_total": len(table)}
    if entry.kind == "graph" and entry.chart is not None:
        drawn = drawn_table(entry, table)
        found["spec"] = screen_spec(entry, drawn, found["summary"])
        found["pick"] = [c for c in ("school", "student_id") if c in drawn] if "student_id" in drawn else []
        if len(drawn) < len(table):
            found["sampled"] = (f"Showing {len(drawn):,} of {len(table):,} students: every outlier and an even "
                                "sample of the others. The table and the downloads have them all.")
        if entry.explain:
            found["explain"] = entry.explain(table)
    else:
        found.update(table_view(entry, table))
    return found


def drawn_table(entry, table: pd.DataFrame) -> pd.DataFrame:
    """The rows a report's chart draws: every row, or the sample it declares (a district's students)."""
    return entry.sample(table) if entry.sample else table


def screen_spec(entry, drawn: pd.DataFrame, description: str) -> dict:
    """The chart as the page draws it: as wide as its box (static/chart.js measures it), no title (the
    section's heading says it), and its summary sentence as the accessible description."""
    spec = charts.spec(entry.name, drawn)
    spec.pop("title", None)
    if not any(key in spec for key in ("hconcat", "vconcat", "concat", "facet", "repeat")):
        spec["width"] = "container"
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["description"] = description
    return spec


# ---- tables as the page shows them -----------------------------------------------------------------

def table_view(entry, table: pd.DataFrame) -> dict:
    """A report as the page's sortable table: labelled columns, rows of plain values, and which cell
    opens a drill-down (a student's name, a room)."""
    shown = for_screen(entry, table)
    labels, names = entry.labels, list(table.columns)
    pick, pick_column, key_columns = "", None, []
    for kind, key, label in (("student", "student_id", "student_name"), ("room", "room", "room")):
        if key in names:
            pick, pick_column = kind, names.index(label if label in names else key)
            key_columns = [names.index("school") if "school" in names else None, names.index(key)]
            break
    return {"columns": [{"name": labels.get(name, name), "numeric": _numeric(table[name])} for name in names],
            "rows": json.loads(shown.to_json(orient="values")), "pick": pick, "pick_column": pick_column,
            "key_columns": key_columns}


def for_download(table: pd.DataFrame) -> pd.DataFrame:
    """A table's values as the page shows them, keeping their types: yes/no for true/false."""
    flags = [name for name in table.columns if pd.api.types.is_bool_dtype(table[name])]
    return table.assign(**{name: table[name].map({True: "yes", False: "no"}) for name in flags}) if flags else table


def for_screen(entry, table: pd.DataFrame) -> pd.DataFrame:
    """`for_download`, with dates as YYYY-MM-DD and minutes to a tenth: the text the page shows."""
    shown = for_download(table).copy()
    kinds = {column.name: column.kind for column in (registry.SCHOOL, *entry.columns)}
    for name in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[name]):
            shown[name] = shown[name].dt.strftime("%Y-%m-%d %H:%M" if kinds.get(name) == "datetime" else "%Y-%m-%d")
        elif kinds.get(name) == "minutes":
            shown[name] = shown[name].round(1)
    return shown


def _numeric(values: pd.Series) -> bool:
    """Numbers, to format and sort as such: a numeric column, or a mixed one holding only numbers (a comparison)."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    present = values.dropna()
    return values.dtype == object and len(present) > 0 and all(
        isinstance(value, (int, float)) and not isinstance(value, bool) for value in present)


def checked_view(view, columns: list) -> dict | None:
    """The table view the page sent with a request, or None when it is malformed (the request is refused).

    {"column": None or a column index, "descending": bool, "filter": text}."""
    if not isinstance(view, dict) or set(view) - {"column", "descending", "filter"}:
        return None
    column, descending, text = view.get("column"), view.get("descending", False), view.get("filter", "")
    if column is not None and (type(column) is not int or not 0 <= column < len(columns)):
        return None
    if type(descending) is not bool or not isinstance(text, str) or len(text) > MAX_FILTER:
        return None
    return {"column": column, "descending": descending, "filter": text}


def arrange(columns: list, rows: list, view: dict) -> list[int]:
    """The indexes of `rows` the page shows, in its order (static/table.js does the same):

    - a row is kept when any cell's text, as shown, contains the filter, ignoring case;
    - then rows are sorted by the chosen column: numbers by value, text in natural order (digit runs
      compare as numbers, the rest by character, ignoring case); blank cells last in either
      direction; ties keep the report's order.
    """
    numeric = [column["numeric"] for column in columns]
    needle = view["filter"].lower()
    order = [index for index, row in enumerate(rows)
             if not needle or needle in "\0".join(map(shown_text, row, numeric)).lower()]
    if view["column"] is None:
        return order
    at = view["column"]
    blank = [index for index in order if rows[index][at] is None or rows[index][at] == ""]
    filled = [index for index in order if not (rows[index][at] is None or rows[index][at] == "")]
    key = (lambda index: rows[index][at]) if numeric[at] else (lambda index: natural_key(str(rows[index][at])))
    return sorted(filled, key=key, reverse=view["descending"]) + blank  # sorted() is stable, also reversed


def shown_text(value, numeric: bool) -> str:
    if value is None:
        return ""
    if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def format_number(value) -> str:
    """As the page's Intl.NumberFormat('en-US', {maximumFractionDigits: 2}): 1,234.5 / 12 / 0.33."""
    exact = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP) if isinstance(value, float) else Decimal(value)
    text = f"{exact:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def natural_key(text: str) -> list:
    """'Room 10' after 'Room 9'; letters by UTF-16 code unit (as JavaScript compares strings), ignoring case."""
    parts = re.split(r"(\d+)", text.lower())
    return [int(part) if odd else part.encode("utf-16-be") for odd, part in zip([0, 1] * len(parts), parts)]


def view_words(columns: list, view: dict | None) -> str:
    """'rows containing "restroom", sorted by Passes to this room, largest first' ('' for no view)."""
    if not view:
        return ""
    words = [f'rows containing "{view["filter"]}"'] if view["filter"] else []
    if view["column"] is not None:
        column = columns[view["column"]]
        way = (("largest first", "smallest first") if column["numeric"] else ("Z to A", "A to Z"))[
            0 if view["descending"] else 1]
        words.append(f"sorted by {column['name']}, {way}")
    return ", ".join(words)


# ---- tiles and words ---------------------------------------------------------------------------------

def tiles(tables) -> list[dict]:
    """The figures at the top of the page: {key, label, value (as shown), number, detail, change}.

    Every figure comes from the audit summary's headline, so it equals `passkit report`'s
    audit_summary.csv; the pass lengths (passkit.timing's definitions) only when the exports have end
    times. `change` says how the figure moved from the prior period (passkit.compare), None when it cannot be
    compared.
    """
    from . import compare

    figures = dict(summary.headline(tables).itertuples(index=False))
    moved = compare.changes(tables.get(compare.NAME))
    days, outliers = int(figures["Days with passes"]), int(figures["Students marked as outliers"])
    found = [_tile("passes", "Passes", figures["Passes"], f"on {days:,} school day{'s' * (days != 1)} with passes"),
             _tile("per_day", "Passes per school day", figures["Passes per day (average)"],
                   "the average over days with passes", figure="Passes per day (average)"),
             _tile("students", "Students with a pass", figures["Students with a pass"],
                   f"{outliers:,} outlier{'s' * (outliers != 1)} in their grade")]
    if has_end_times(tables.data) and "Long passes" in figures:  # no end times, no lengths: no tiles for them
        timed = int(tables.get("pass_length").iloc[0]["timed_passes"])
        found.append(_tile("average_length", "Average pass length", figures.get("Average pass length (minutes)"),
                           f"over {timed:,} passes that ended" if timed else "no pass in this range ended",
                           unit=" min", figure="Average pass length (minutes)"))
        share = f" ({summary.tenth(figures['Long passes'] * 100, timed):g}% of ended)" if timed else ""
        found.append(_tile("long", "Long passes", figures["Long passes"],
                           f"over their destination's limit{share}"))
    for tile in found:
        tile["change"] = moved.get(tile.pop("figure")) or None
    return found


def has_end_times(data) -> bool:
    """Whether the exports say when passes ended (a column, and at least one pass that did)."""
    loaded = getattr(data, "summary", None) or {}
    never = loaded.get("passes_never_ended")
    return "end_time" not in registry.missing_columns(data) and not (never and never == loaded.get("passes_kept"))


def _tile(key, label, number, detail, unit="", figure=None) -> dict:
    """A card; `figure` is the headline figure it shows (default: its label), whose change it carries."""
    value = "–" if number is None else (f"{number:,}" if isinstance(number, int) else f"{number:,.1f}") + unit
    return {"key": key, "label": label, "value": value, "number": number, "detail": detail,
            "figure": figure or label}


# ---- drill-downs -----------------------------------------------------------------------------------

def student_detail(tables, school: str, student_id: str) -> dict | None:
    """One student's passes in the range, with two small charts; None when they have none there."""
    passes = collect(tables.passes.filter((nw.col("school") == school) & (nw.col("student_id") == student_id))
                     .select("student_name", "grade", "date", "start_time", "end_time", "origin", "destination",
                             "minutes").sort("start_time"))
    if passes.empty:
        return None
    first = passes.iloc[0]
    ended = passes["minutes"].dropna()
    name = first["student_name"] if isinstance(first["student_name"], str) and first["student_name"] else student_id
    where = f" · {school}" if school else ""
    to = passes["destination"].value_counts()
    text = (f"{len(passes):,} pass{'es' * (len(passes) != 1)}, {ended.sum():,.1f} minutes out of class over "
            f"{len(ended):,} that ended; most often to {to.index[0]} ({int(to.iloc[0]):,}).")
    rows = [[_day(row.date), f"{row.start_time:%H:%M}", "" if pd.isna(row.end_time) else f"{row.end_time:%H:%M}",
             row.origin, row.destination,
             None if pd.isna(row.minutes) else summary.tenth(round(row.minutes * 60_000), 60_000)]
            for row in passes.itertuples(index=False)]
    hours = passes["start_time"].dt.hour.value_counts().sort_index()
    return {"kind": "student", "title": f"{name} · grade {first['grade']}{where}", "subtitle": f"Student ID {student_id}",
            "summary": text,
            "charts": [_bars("When they leave", [{"hour": f"{h:02d}:00", "passes": int(n)} for h, n in hours.items()],
                             "hour", "Hour of the day", "Passes by the hour they started"),
                       _bars("Where they go", [{"room": r, "passes": int(n)} for r, n in to.head(8).items()],
                             "room", "Destination", "Passes by destination, the eight most visited", horizontal=True)],
            "columns": [{"name": "Date", "numeric": False}, {"name": "Left at", "numeric": False},
                        {"name": "Back at", "numeric": False}, {"name": "From", "numeric": False},
                        {"name": "To", "numeric": False}, {"name": "Minutes", "numeric": True}],
            "rows": rows, "pick": "", "pick_column": None, "keys": []}


def room_detail(tables, school: str, room: str) -> dict | None:
    """A room's busiest times (weekday x hour) and the students whose passes leave it or go to it."""
    passes = collect(tables.passes.filter((nw.col("school") == school)
                                          & ((nw.col("origin") == room) | (nw.col("destination") == room)))
                     .select("student_id", "student_name", "grade", "start_time", "origin", "destination", "minutes"))
    if passes.empty:
        return None
    passes = passes.assign(leaving=passes["origin"] == room, arriving=passes["destination"] == room,
                           weekday=passes["start_time"].dt.day_of_week, hour=passes["start_time"].dt.hour)
    busy = passes.groupby(["weekday", "hour"]).size()
    (weekday, hour), most = busy.idxmax(), int(busy.max())
    where = f" · {school}" if school else ""
    text = (f"{int(passes['leaving'].sum()):,} passes from this room and {int(passes['arriving'].sum()):,} to it; "
            f"the busiest hour is {hour:02d}:00–{hour + 1:02d}:00 on {WEEKDAYS[weekday]}s ({most:,} passes).")
    heat = [{"weekday": WEEKDAYS[d], "hour": f"{h:02d}:00", "passes": int(n)} for (d, h), n in busy.items()]
    by_hour = [{"hour": f"{h:02d}:00", "way": way, "passes": int(n)}
               for way, column in (("From this room", "leaving"), ("To this room", "arriving"))
               for h, n in passes[passes[column]].groupby("hour").size().items()]
    students = (passes.assign(ms=(passes["minutes"] * 60_000).round(0))
                .groupby(["student_id"], sort=False)
                .agg(name=("student_name", "first"), grade=("grade", "first"), leaving=("leaving", "sum"),
                     arriving=("arriving", "sum"), ms=("ms", "sum"), ended=("minutes", "count")).reset_index())
    students = students.assign(total=students["leaving"] + students["arriving"]).sort_values(
        ["total", "student_id"], ascending=[False, True], kind="stable")
    rows = [[row.name if isinstance(row.name, str) and row.name else row.student_id, row.student_id, row.grade,
             int(row.leaving), int(row.arriving), summary.tenth(row.ms, 60_000) if row.ended else None]
            for row in students.itertuples(index=False)]
    return {"kind": "room", "title": f"{room}{where}", "subtitle": "Room", "summary": text,
            "charts": [_heatmap(heat), _stacked_hours(by_hour)],
            "columns": [{"name": "Student", "numeric": False}, {"name": "Student ID", "numeric": False},
                        {"name": "Grade", "numeric": False}, {"name": "Passes from this room", "numeric": True},
                        {"name": "Passes to this room", "numeric": True}, {"name": "Minutes out", "numeric": True}],
            "rows": rows, "pick": "student", "pick_column": 0,
            "keys": [[school, student_id] for student_id in students["student_id"]]}


def _day(value) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def _small(spec: dict, title: str, description: str) -> dict:
    spec.update({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": "container",
                 "autosize": {"type": "fit-x", "contains": "padding"}, "description": description})
    return {"title": title, "summary": description, "spec": spec}


def _bars(title, values, field, label, description, horizontal=False) -> dict:
    category = {"field": field, "type": "nominal", "title": None if horizontal else label, "sort": None}
    count = {"field": "passes", "type": "quantitative", "title": "Passes", "axis": {"tickMinStep": 1, "format": ",d"}}
    spec = {"data": {"values": values}, "mark": {"type": "bar", "color": charts.NEUTRAL},
            "encoding": {"x": count if horizontal else {**category, "axis": {"labelAngle": 0}},
                         "y": category if horizontal else count,
                         "tooltip": [{"field": field, "title": label}, {"field": "passes", "title": "Passes"}]},
            "height": 18 * max(len(values), 1) if horizontal else 140}
    return _small(spec, title, description)


def _heatmap(values) -> dict:
    days = [day for day in WEEKDAYS if any(v["weekday"] == day for v in values)]
    spec = {"data": {"values": values}, "mark": "rect", "height": 24 * len(days),
            "encoding": {"x": {"field": "hour", "type": "ordinal", "title": "Hour of the day", "axis": {"labelAngle": 0}},
                         "y": {"field": "weekday", "type": "ordinal", "title": None, "sort": days},
                         "color": {"field": "passes", "type": "quantitative", "title": "Passes",
                                   "scale": {"scheme": "blues"}},
                         "tooltip": [{"field": "weekday", "title": "Day"}, {"field": "hour", "title": "Hour"},
                                     {"field": "passes", "title": "Passes"}]}}
    return _small(spec, "Busiest times", "Passes from or to this room by weekday and the hour they started; "
                                         "darker is busier")


def _stacked_hours(values) -> dict:
    spec = {"data": {"values": values}, "mark": "bar", "height": 140,
            "encoding": {"x": {"field": "hour", "type": "ordinal", "title": "Hour of the day", "axis": {"labelAngle": 0}},
                         "y": {"field": "passes", "type": "quantitative", "title": "Passes", "stack": "zero",
                               "axis": {"tickMinStep": 1, "format": ",d"}},
                         "color": {"field": "way", "type": "nominal", "title": None,
                                   "scale": {"range": [charts.NEUTRAL, "#f58518"]}, "legend": {"orient": "top"}},
                         "tooltip": [{"field": "hour", "title": "Hour"}, {"field": "way", "title": "Direction"},
                                     {"field": "passes", "title": "Passes"}]}}
    return _small(spec, "Leaving and arriving", "Passes from this room and to it by the hour they started")


# ---- downloads -------------------------------------------------------------------------------------

def render_file(entry, table: pd.DataFrame, fmt: str, *, heading: str) -> bytes:
    """The bytes of one download of report `entry`: `table` (already filtered and sorted as on screen)
    with the page's column labels and values; `heading` (what, where, when) titles the sheet and picture."""
    shown = for_download(table)
    columns = exports.sheet(entry, table).columns
    if fmt == "csv":
        return exports.csv_bytes(shown, columns, labels=True)
    if fmt == "xlsx":
        with tempfile.TemporaryDirectory(prefix="passkit-download-") as folder:
            path = Path(folder) / "download.xlsx"
            exports.write_xlsx([exports.Sheet(entry.title, shown, columns, heading=heading)], path)
            return path.read_bytes()
    return charts.png_bytes(picture_spec(entry, table, heading))


def picture_spec(entry, table: pd.DataFrame, heading: str) -> dict:
    """A report's chart for a PNG: titled with what it is, and where and when (a slide keeps its period)."""
    spec = charts.spec(entry.name, drawn_table(entry, table))
    what, _, rest = heading.partition(" · ")
    spec["title"] = {"text": what, "subtitle": rest, "anchor": "start"}
    return spec


def detail_file(detail: dict, fmt: str, heading: str, view: dict | None) -> bytes:
    """A drill-down's table as CSV or XLSX, as shown: its labels, its filter and sort."""
    columns, rows = detail["columns"], detail["rows"]
    order = arrange(columns, rows, view) if view else range(len(rows))
    table = pd.DataFrame([rows[index] for index in order], columns=[column["name"] for column in columns])
    if fmt == "csv":
        return exports.csv_bytes(table)
    with tempfile.TemporaryDirectory(prefix="passkit-download-") as folder:
        path = Path(folder) / "download.xlsx"
        exports.write_xlsx([exports.Sheet(detail["title"][:31], table, heading=heading)], path)
        return path.read_bytes()
