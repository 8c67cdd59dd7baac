"""Altair charts for the reports, and offline rendering (no CDN: student data stays on the machine).

Each chart function takes the DataFrame its report returns. Data is embedded as plain values
(dates as ISO strings), so a chart's spec is deterministic and has no row limit.
"""

import hashlib
import json
import uuid

import altair as alt
import pandas as pd

from . import grades

ALL_STUDENTS = "All students"  # how charts name the single Unknown grade when a school has no grade data
TYPICAL, OUTLIER = "Typical", "Outlier"  # the legend's words for a student inside / above their grade's fence
OUTLIER_COLORS = alt.Scale(domain=[TYPICAL, OUTLIER], range=["#7f8c9d", "#d62728"])
NEUTRAL = "#4c78a8"  # bars that need no alarm
WIDTH, HEIGHT = 640, 280
MAX_DOTS = 3000  # students drawn in a scatter; a district's 60,000 would take seconds to send and draw
COUNT_AXIS = alt.Axis(tickMinStep=1, format=",d")  # passes are whole numbers


def daily_passes(table: pd.DataFrame) -> alt.Chart:
    """A line per grade by day."""
    values = _records(_label_grades(table))
    return alt.Chart(alt.Data(values=values), title="Daily Passes").mark_line(point=True).encode(
        x=alt.X("date:T", title="Date", axis=alt.Axis(format="%b %d")),
        y=alt.Y("passes:Q", title="Passes", axis=COUNT_AXIS),
        color=alt.Color("grade:N", title="Grade", sort=_grade_order(table)),
        tooltip=[alt.Tooltip("date:T", title="Date", format="%a %b %d, %Y"), alt.Tooltip("grade:N", title="Grade"),
                 alt.Tooltip("passes:Q", title="Passes")],
    ).properties(width=WIDTH, height=HEIGHT)


def passes_by_grade(table: pd.DataFrame) -> alt.Chart:
    """Bars by grade."""
    values = _records(_label_grades(table))
    return alt.Chart(alt.Data(values=values), title="Total Passes by Grade").mark_bar().encode(
        x=alt.X("grade:N", title="Grade", sort=_grade_order(table), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("passes:Q", title="Passes", axis=COUNT_AXIS),
        tooltip=[alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("passes:Q", title="Passes", format=",")],
    ).properties(width=WIDTH, height=HEIGHT)


def passes_by_student(table: pd.DataFrame) -> alt.Chart:
    """Students by grade, jittered, outliers marked; hovering names the student and count.

    A district draws every outlier and an even sample of the others (`plotted_students`)."""
    table = plotted_students(table)
    shown = _label_grades(table).assign(jitter=table["student_id"].map(_jitter), status=_status(table))
    return alt.Chart(alt.Data(values=_records(shown)), title="Total Passes by Student").mark_circle(size=45).encode(
        x=alt.X("grade:N", title="Grade", sort=_grade_order(table), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1.2, 1.2])),
        y=alt.Y("passes:Q", title="Passes", axis=COUNT_AXIS),
        color=alt.Color("status:N", title="In their grade", scale=OUTLIER_COLORS),
        tooltip=[alt.Tooltip("student_name:N", title="Student"), alt.Tooltip("student_id:N", title="ID"),
                 alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("passes:Q", title="Passes")],
    ).properties(width=WIDTH, height=HEIGHT)


def plotted_students(table: pd.DataFrame, limit: int = MAX_DOTS) -> pd.DataFrame:
    """At most `limit` students for the scatter: every outlier (the busiest first) and an even sample of
    the others across the range of pass counts, so the picture keeps its shape."""
    if len(table) <= limit:
        return table
    outliers = table[table["outlier"]].nlargest(limit, "passes", keep="first")
    others = table[~table["outlier"]].sort_values("passes", kind="stable")
    room = limit - len(outliers)
    step = (len(others) - 1) / max(room - 1, 1)
    picks = others.iloc[[round(i * step) for i in range(room)]]
    return table.loc[table.index.isin(outliers.index.union(picks.index))]


def room_usage(table: pd.DataFrame, top: int = 10) -> alt.HConcatChart:
    """The busiest destinations and origins, side by side."""
    def bars(column, title, color):
        busiest = table[table[column] > 0].nlargest(top, column, keep="first")
        return alt.Chart(alt.Data(values=_records(busiest)), title=title).mark_bar(color=color).encode(
            x=alt.X(f"{column}:Q", title="Passes", axis=COUNT_AXIS),
            y=alt.Y("room:N", title=None, sort="-x"),
            tooltip=[alt.Tooltip("room:N", title="Room"), alt.Tooltip("folder:N", title="Folder"),
                     alt.Tooltip(f"{column}:Q", title="Passes", format=",")],
        ).properties(width=WIDTH // 2 - 60, height=22 * min(top, max(len(busiest), 1)))
    return alt.hconcat(bars("passes_to", "Busiest destinations", "#4c78a8"),
                       bars("passes_from", "Rooms students leave most", "#f58518"))


def staff_usage(table: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Now and scheduled passes of the staff who create the most."""
    busiest = table.nlargest(top, "total_passes", keep="first")
    long = busiest.melt(id_vars=["issuer"], value_vars=["now_passes", "scheduled_passes"], var_name="kind",
                        value_name="passes").replace({"kind": {"now_passes": "Now", "scheduled_passes": "Scheduled"}})
    return alt.Chart(alt.Data(values=_records(long)), title="Staff creating the most passes").mark_bar().encode(
        x=alt.X("passes:Q", title="Passes", stack="zero"),
        y=alt.Y("issuer:N", title=None, sort=busiest["issuer"].tolist()),
        color=alt.Color("kind:N", title="Pass type"),
        tooltip=[alt.Tooltip("issuer:N", title="Staff"), alt.Tooltip("kind:N", title="Type"),
                 alt.Tooltip("passes:Q", title="Passes")],
    ).properties(width=WIDTH - 200, height=20 * max(len(busiest), 1))


def frequent_flyers(table: pd.DataFrame) -> alt.Chart:
    """Passes of the most frequent flyers, with minutes out in the tooltip. One calm colour: the list is a
    starting point for conversations, not an alarm (the top students are nearly all outliers anyway)."""
    return alt.Chart(alt.Data(values=_records(table)), title="Frequent Flyers").mark_bar(color=NEUTRAL).encode(
        x=alt.X("passes:Q", title="Passes"),
        y=alt.Y("student_name:N", title=None, sort=table["student_name"].tolist()),
        tooltip=[alt.Tooltip("student_name:N", title="Student"), alt.Tooltip("student_id:N", title="ID"),
                 alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("passes:Q", title="Passes"),
                 alt.Tooltip("minutes_out:Q", title="Minutes out", format=",.1f")],
    ).properties(width=WIDTH - 200, height=20 * max(len(table), 1))


def pass_length(table: pd.DataFrame, top: int = 15) -> alt.LayerChart:
    """Median and 90th percentile minutes of the destinations with the most timed passes, a dot each, joined."""
    rows = table[(table["by"] == "destination") & (table["timed_passes"] > 0)]
    rows = rows.nlargest(top, "timed_passes", keep="first").sort_values("minutes_median", ascending=False,
                                                                         kind="stable")
    shown = rows.assign(place=_place(rows, "key"))
    order = shown["place"].tolist()
    both = shown.melt(id_vars=["place", "passes", "timed_passes"], value_vars=["minutes_median", "minutes_p90"],
                      var_name="measure", value_name="minutes").replace(
        {"measure": {"minutes_median": "Median", "minutes_p90": "90th percentile"}})
    spread = alt.Chart(alt.Data(values=_records(shown))).mark_rule(color="#b8c0c8", strokeWidth=3).encode(
        x=alt.X("minutes_median:Q"), x2="minutes_p90:Q", y=alt.Y("place:N", sort=order))
    dots = alt.Chart(alt.Data(values=_records(both))).mark_circle(size=90, opacity=1).encode(
        x=alt.X("minutes:Q", title="Minutes"),
        y=alt.Y("place:N", title=None, sort=order),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(domain=["Median", "90th percentile"],
                                                                 range=["#4c78a8", "#d62728"])),
        tooltip=[alt.Tooltip("place:N", title="Destination"), alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("minutes:Q", title="Minutes", format=",.1f"),
                 alt.Tooltip("timed_passes:Q", title="Timed passes", format=",")])
    return alt.layer(spread, dots, title="How long passes last, by destination").properties(
        width=WIDTH - 200, height=22 * max(len(shown), 1))


def encounters(table: pd.DataFrame, top: int = 20) -> alt.Chart:
    """The pairs who meet most (the table is sorted that way), with their minutes and places in the tooltip."""
    shown = table.head(top).assign(pair=lambda t: t["student_a_name"] + " & " + t["student_b_name"]
                                   + " (" + t["student_a"] + ", " + t["student_b"] + ")")
    return alt.Chart(alt.Data(values=_records(shown)), title="Pairs who meet most").mark_bar(color="#9467bd").encode(
        x=alt.X("encounters:Q", title="Encounters", axis=COUNT_AXIS),
        y=alt.Y("pair:N", title=None, sort=shown["pair"].tolist(), axis=alt.Axis(labelLimit=360)),  # ids: two
        # students may share a name
        tooltip=[alt.Tooltip("student_a_name:N", title="Student A"), alt.Tooltip("student_b_name:N", title="Student B"),
                 alt.Tooltip("encounters:Q", title="Encounters"),
                 alt.Tooltip("minutes_together:Q", title="Minutes together", format=",.1f"),
                 alt.Tooltip("destinations:N", title="Where they met")],
    ).properties(width=WIDTH - 340, height=20 * max(len(shown), 1))


def encounters_by_week(table: pd.DataFrame) -> alt.Chart:
    """Meetings of the listed pairs per week."""
    return alt.Chart(alt.Data(values=_records(table)), title="Encounters per Week").mark_bar(color="#9467bd").encode(
        x=alt.X("yearmonthdate(week):O", title="Week of", axis=alt.Axis(format="%b %d", labelAngle=0)),
        y=alt.Y("encounters:Q", title="Encounters", axis=COUNT_AXIS),
        tooltip=[alt.Tooltip("week:T", title="Week of", format="%a %b %d, %Y"),
                 alt.Tooltip("encounters:Q", title="Encounters", format=","), alt.Tooltip("pairs:Q", title="Pairs")],
    ).properties(width=WIDTH, height=HEIGHT)


def long_passes(table: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Long and never-ended passes of the destinations with the most of them."""
    kinds = table.assign(kind=table["reason"].where(table["reason"] == "never ended", "over the limit"),
                         place=_place(table, "destination"))
    counts = kinds.groupby(["place", "kind"], sort=False).size().rename("passes").reset_index()
    order = counts.groupby("place", sort=False)["passes"].sum().sort_values(ascending=False, kind="stable")
    counts = counts[counts["place"].isin(order.index[:top])]
    return alt.Chart(alt.Data(values=_records(counts)), title="Long passes by destination").mark_bar().encode(
        x=alt.X("passes:Q", title="Passes", stack="zero", axis=COUNT_AXIS),
        y=alt.Y("place:N", title=None, sort=order.index[:top].tolist()),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["over the limit", "never ended"],
                                                              range=["#f58518", "#7f8c9d"])),
        tooltip=[alt.Tooltip("place:N", title="Destination"), alt.Tooltip("kind:N", title="Why listed"),
                 alt.Tooltip("passes:Q", title="Passes", format=",")],
    ).properties(width=WIDTH - 200, height=22 * max(min(len(order), top), 1))


def time_of_day(table: pd.DataFrame) -> alt.Chart:
    """A weekday x 15-minute-slot heatmap of passes."""
    days = [day for day in WEEKDAYS if day in set(table["weekday"])]
    return alt.Chart(alt.Data(values=_records(table)), title="When passes start").mark_rect().encode(
        x=alt.X("slot:O", title="Time of day (15-minute slots)", sort=sorted(set(table["slot"])),
                axis=alt.Axis(labelAngle=-90)),
        y=alt.Y("weekday:O", title=None, sort=days),
        color=alt.Color("passes:Q", title="Passes", scale=alt.Scale(scheme="blues")),
        tooltip=[alt.Tooltip("weekday:N", title="Weekday"), alt.Tooltip("slot:N", title="Slot starting"),
                 alt.Tooltip("passes:Q", title="Passes", format=",")],
    ).properties(width=WIDTH, height=30 * max(len(days), 1))


def passes_by_period(table: pd.DataFrame) -> alt.Chart:
    """A period x weekday heatmap of passes per school day, periods in bell order.

    A district's schools are added up: passes per school per day.
    """
    if "school" in table:
        table = table.groupby(["period", "weekday"], sort=False)[["passes", "school_days"]].sum().reset_index()
        table = table.assign(passes_per_day=table["passes"] / table["school_days"])
    periods = list(dict.fromkeys(table["period"]))  # the table lists them in bell order
    days = [day for day in WEEKDAYS if day in set(table["weekday"])]
    tooltip = [alt.Tooltip("period:N", title="Period"), alt.Tooltip("weekday:N", title="Weekday"),
               alt.Tooltip("passes:Q", title="Passes", format=","),
               alt.Tooltip("school_days:Q", title="School days", format=","),
               alt.Tooltip("passes_per_day:Q", title="Passes per day", format=",.1f")]
    if "minutes_mean" in table:
        tooltip.append(alt.Tooltip("minutes_mean:Q", title="Average minutes", format=",.1f"))
    return alt.Chart(alt.Data(values=_records(table)), title="Passes per day in each period").mark_rect().encode(
        x=alt.X("weekday:O", title=None, sort=days, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("period:O", title=None, sort=periods),
        color=alt.Color("passes_per_day:Q", title="Passes per day", scale=alt.Scale(scheme="blues")),
        tooltip=tooltip,
    ).properties(width=90 * max(len(days), 1), height=26 * max(len(periods), 1))


def chart(what, table: pd.DataFrame | None = None, **encoding):
    """The chart of report `what` (a name, as the registry declares it): `chart("daily_passes", table)`.

    Given a table instead, any table drawn in passkit's style (see `plot`):
    `chart(table, x="weekday", y="passes", color="grade")`.
    """
    if isinstance(what, str):
        from . import registry

        return registry.get(what).draw(table)
    return plot(what, **encoding)


def plot(table: pd.DataFrame, *, x: str, y: str, color: str | None = None, mark: str | None = None,
         title: str | None = None) -> alt.Chart:
    """Any table as a chart in passkit's style: the reports' sizes, labels, number formats and orders.

    The mark follows the columns unless given (`bar`, `line`, `point`, `rect`): dates on x draw lines, a
    category against a number bars, two categories with a number `color` a heatmap, two numbers dots.
    Grades sort PK, K, 1..12, weekdays Monday first; column labels come from the reports' declarations.
    """
    from . import registry
    from .errors import PasskitError

    used = [column for column in dict.fromkeys((x, y, color)) if column]
    missing = [column for column in used if column not in table]
    if missing:
        raise PasskitError(f"the table has no column '{missing[0]}' (columns: {', '.join(map(str, table.columns))})")
    labels = registry.labels()
    kinds = {column: _kind(table[column]) for column in used}
    mark = mark or _mark(kinds[x], kinds[y], kinds.get(color))
    channels = {"x": alt.X, "y": alt.Y, "color": alt.Color}
    encoding = {channel: channels[channel](**_field(table, column, kinds[column], labels, channel, mark))
                for channel, column in (("x", x), ("y", y), ("color", color)) if column}
    tooltip = [alt.Tooltip(f"{column}:{kinds[column]}", title=labels.get(column, column),
                           **({"format": _format(table[column])} if kinds[column] == "Q" else {})) for column in used]
    marks = {"bar": "mark_bar", "line": "mark_line", "point": "mark_circle", "rect": "mark_rect"}
    if mark not in marks:
        raise PasskitError(f"unknown mark '{mark}' (marks: {', '.join(marks)})")
    drawn = alt.Chart(alt.Data(values=_records(_label_grades(table[used]))),
                      title=title or f"{labels.get(y, y)} by {labels.get(x, x)}")
    drawn = getattr(drawn, marks[mark])(**({"point": True} if mark == "line" else {}))
    return drawn.encode(**encoding, tooltip=tooltip).properties(width=WIDTH, height=HEIGHT)


def spec(name: str, table: pd.DataFrame) -> dict:
    """The Vega-Lite dict of `chart(name, table)`, fast enough to redraw on every filter change: the chart is
    built without Altair checking every data row against the schema (seconds for a school's students)."""
    from altair.utils.schemapi import debug_mode

    with debug_mode(False):
        return as_spec(chart(name, table))


def as_spec(built) -> dict:
    """A chart's Vega-Lite dict (a dict is returned as it is).

    Altair checks and walks every inline data row (about 0.5 s for a school's students); here the
    rows skip that and move to top-level named `datasets`, which Vega-Lite reads the same way.
    """
    from altair.utils.schemapi import debug_mode

    if isinstance(built, dict):
        return built
    with debug_mode(False):
        built = built.copy(deep=False)
        datasets = {}
        for part in _parts(built):
            if isinstance(part.data, alt.Data) and part.data.values is not alt.Undefined:
                datasets[f"data-{len(datasets)}"] = part.data.values
                part.data = alt.NamedData(name=f"data-{len(datasets) - 1}")
        result = built.to_dict(validate=False)
    result["datasets"] = {name: [_printable(row) for row in rows]
                          for name, rows in {**result.get("datasets", {}), **datasets}.items()}
    return result


# Characters XML cannot hold: one in a name made vl-convert fail, and then panic in the next chart.
_CONTROL = {code: "\ufffd" for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def _printable(row):
    if isinstance(row, dict):
        return {key: value.translate(_CONTROL) if isinstance(value, str) else value for key, value in row.items()}
    return row


def _parts(chart) -> list:
    """`chart` and its sub-charts (the views of a concat or layer), each a shallow copy set on its parent."""
    parts = [chart]
    for key in ("hconcat", "vconcat", "concat", "layer"):
        children = getattr(chart, key, alt.Undefined)
        if children is not alt.Undefined:
            copies = [child.copy(deep=False) for child in children]
            setattr(chart, key, copies)
            parts += [p for child in copies for p in _parts(child)]
    return parts


# ---- rendering without a network ------------------------------------------------------------------

def png_bytes(chart, scale: float = 2.0) -> bytes:
    """A PNG of a chart or Vega-Lite dict through vl-convert: no browser, no network."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(as_spec(chart), scale=scale)


def to_png(chart, path, scale: float = 2.0):
    from .exports import atomic

    with atomic(path) as partial:
        partial.write_bytes(png_bytes(chart, scale))
    return path


def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script defining window.vegaEmbed (from vl-convert).

    Building it takes seconds, and every notebook kernel needs it, so it is kept on disk in the
    cache folder (assets/vega-<version>.js), once per vl-convert version.
    """
    import os

    import vl_convert as vlc

    from .data import _cache_root

    path = _cache_root(None) / "assets" / f"vega-{vlc.__version__}.js"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    bundle = vlc.javascript_bundle()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # concurrent kernels never read half a file
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only cache only costs time
    return bundle


def embed_html(chart, *, with_bundle: bool) -> str:
    """A div and a script drawing a chart (or Vega-Lite dict) with the page's vegaEmbed; optionally
    carrying the bundle."""
    spec = script_json(as_spec(chart))
    div = "passkit-chart-" + hashlib.sha1(spec.encode()).hexdigest()[:12] + "-" + uuid.uuid4().hex[:6]
    bundle = f"<script>{vega_bundle()}</script>\n" if with_bundle else ""
    return (f'{bundle}<div id="{div}" class="passkit-chart"></div>\n'
            f'<script>(function draw() {{ if (!window.vegaEmbed) {{ return setTimeout(draw, 50); }}\n'
            f'  vegaEmbed("#{div}", {spec}, {{"actions": false}}); }})();</script>')


def script_json(value) -> str:
    """JSON safe inside a <script> block: no value from the data can close it or open a comment."""
    text = json.dumps(value, sort_keys=True)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # ensure_ascii did U+2028
        text = text.replace(raw, escaped)
    return text


def mimebundle(spec: dict, *, png: bytes | None = None, with_bundle: bool = False) -> dict:
    """What a notebook displays for a chart: HTML drawing it with the page's Vega (carrying the bundle
    when `with_bundle`), the PNG when there is one (a notebook viewer that runs no script still
    shows it), and a plain-text line."""
    import base64

    title = spec.get("title", "")
    bundle = {"text/html": embed_html(spec, with_bundle=with_bundle),
              "text/plain": f"<chart: {title.get('text', '') if isinstance(title, dict) else title}>"}
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    return bundle


# ---- helpers ----------------------------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _place(table: pd.DataFrame, column: str) -> pd.Series:
    """A room's name, with its school in a district ('Nurse · Lincoln High')."""
    if "school" in table and len(table) and (table["school"] != "").any():
        return table[column].astype(str) + " · " + table["school"].astype(str)
    return table[column].astype(str)


def _kind(values: pd.Series) -> str:
    """The Vega-Lite type of a column: T dates, Q numbers, O ordered text (grades, weekdays, times), N text."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return "T"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "Q"
    if values.name in ("grade", "weekday", "slot"):
        return "O"
    return "N"


def _mark(x: str, y: str, color: str | None) -> str:
    if x == "T":
        return "line"
    if x in "NO" and y in "NO":
        return "rect"
    return "point" if x == y == "Q" else "bar"


def _field(table, column, kind, labels, channel, mark) -> dict:
    if channel == "color" and kind == "O":
        kind = "N"  # grades or weekdays in colour: one hue each, as the reports draw grades
    spec = {"field": column, "type": {"T": "temporal", "Q": "quantitative", "O": "ordinal", "N": "nominal"}[kind],
            "title": labels.get(column, column)}
    if column == "grade":
        spec["sort"] = _grade_order(table)
    elif column == "weekday":
        spec["sort"] = [day for day in WEEKDAYS if day in set(table[column])]
    elif kind == "O":
        spec["sort"] = "ascending"  # 'HH:MM' slots and the like
    if kind == "Q" and pd.api.types.is_integer_dtype(table[column]) and channel != "color":
        spec["axis"] = COUNT_AXIS
    if kind == "T":
        spec["axis"] = alt.Axis(format="%b %d")
    if channel == "color" and kind == "Q":
        spec["scale"] = alt.Scale(scheme="blues")
    if channel == "x" and kind in "NO" and mark == "bar":  # level labels when they fit side by side (~7 px a letter)
        names = table[column].astype(str)
        spec["axis"] = alt.Axis(labelAngle=0 if names.nunique() * (names.str.len().max() + 2) * 7 <= WIDTH else -45)
    return spec


def _format(values: pd.Series) -> str:
    return ",d" if pd.api.types.is_integer_dtype(values) else ",.1f"

def _label_grades(table: pd.DataFrame) -> pd.DataFrame:
    """With no grade data at all, the one Unknown grade reads 'All students'."""
    if "grade" in table and set(table["grade"]) == {grades.UNKNOWN}:
        return table.assign(grade=ALL_STUDENTS)
    return table


def _grade_order(table: pd.DataFrame) -> list[str]:
    present = set(_label_grades(table)["grade"]) if len(table) else set()
    return [g for g in [*grades.ORDER, ALL_STUDENTS] if g in present]


def _status(table: pd.DataFrame) -> pd.Series:
    """'Outlier' or 'Typical' for each student: the legend says what the colour means."""
    return table["outlier"].map({True: OUTLIER, False: TYPICAL})


def _jitter(key: str) -> float:
    """A stable horizontal offset in [-1, 1) per student, so re-runs draw the same picture."""
    return int(hashlib.md5(str(key).encode()).hexdigest()[:8], 16) / 0x80000000 - 1.0


def _records(table: pd.DataFrame) -> list[dict]:
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d")
    return json.loads(shown.to_json(orient="records"))
