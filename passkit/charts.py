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
OUTLIER_COLORS = alt.Scale(domain=[False, True], range=["#7f8c9d", "#d62728"])
WIDTH, HEIGHT = 640, 280
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
    """Students by grade, jittered, outliers marked; hovering names the student and count."""
    shown = _label_grades(table).assign(jitter=table["student_id"].map(_jitter))
    return alt.Chart(alt.Data(values=_records(shown)), title="Total Passes by Student").mark_circle(size=45).encode(
        x=alt.X("grade:N", title="Grade", sort=_grade_order(table), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1.2, 1.2])),
        y=alt.Y("passes:Q", title="Passes", axis=COUNT_AXIS),
        color=alt.Color("outlier:N", title="Outlier", scale=OUTLIER_COLORS),
        tooltip=[alt.Tooltip("student_name:N", title="Student"), alt.Tooltip("student_id:N", title="ID"),
                 alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("passes:Q", title="Passes")],
    ).properties(width=WIDTH, height=HEIGHT)


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
    """Passes of the most frequent flyers, with minutes out in the tooltip."""
    return alt.Chart(alt.Data(values=_records(table)), title="Frequent Flyers").mark_bar(color="#d62728").encode(
        x=alt.X("passes:Q", title="Passes"),
        y=alt.Y("student_name:N", title=None, sort=table["student_name"].tolist()),
        tooltip=[alt.Tooltip("student_name:N", title="Student"), alt.Tooltip("student_id:N", title="ID"),
                 alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("passes:Q", title="Passes"),
                 alt.Tooltip("minutes_out:Q", title="Minutes out", format=",.1f")],
    ).properties(width=WIDTH - 200, height=20 * max(len(table), 1))


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


def chart(name: str, table: pd.DataFrame):
    """The chart of report `name` (as the registry declares it)."""
    from . import registry

    return registry.get(name).draw(table)


def spec(name: str, table: pd.DataFrame) -> dict:
    """The Vega-Lite dict of `chart(name, table)`, fast enough to redraw on every filter change."""
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
    result["datasets"] = {**result.get("datasets", {}), **datasets}
    return result


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

def _label_grades(table: pd.DataFrame) -> pd.DataFrame:
    """With no grade data at all, the one Unknown grade reads 'All students'."""
    if "grade" in table and set(table["grade"]) == {grades.UNKNOWN}:
        return table.assign(grade=ALL_STUDENTS)
    return table


def _grade_order(table: pd.DataFrame) -> list[str]:
    present = set(_label_grades(table)["grade"]) if len(table) else set()
    return [g for g in [*grades.ORDER, ALL_STUDENTS] if g in present]


def _jitter(key: str) -> float:
    """A stable horizontal offset in [-1, 1) per student, so re-runs draw the same picture."""
    return int(hashlib.md5(str(key).encode()).hexdigest()[:8], 16) / 0x80000000 - 1.0


def _records(table: pd.DataFrame) -> list[dict]:
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d")
    return json.loads(shown.to_json(orient="records"))
