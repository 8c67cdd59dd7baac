"""`passkit packet`: one folder a teacher may receive, and a key to it for the admin alone.

    passkit packet --data DIR --start S --end E --issuer "Mrs. Howard"     (or --room ROOM, or --grade G)

A packet holds the passes of one teacher (the passes naming them as issuer, students' own passes
included), one room (passes from it or to it) or one grade:

    index.html                      the page (offline: no script, its charts are the PNGs beside it)
    overview.csv                    passes, students with a pass, days and weeks with passes, busiest week
    passes_by_week.csv              week (its Monday), passes
    passes_by_grade.csv             grade, passes
    room_usage.csv                  rooms with a pass in the packet: passes from it, passes to it
    students.csv                    student (a pseudonym), grade, passes
    packet-<start>-to-<end>.xlsx    the same tables, one sheet each
    passes_by_week.png, passes_by_grade.png, room_usage.png

It never holds a student's id, name or email, a time of day (weeks at most), minutes out, outlier
flags, or a count from 1 to 4: those cells read "<5". Exempt students (exempt.csv) count in the
totals but are not in its list of students. A student is "Student 014", numbered at random
for this packet alone, so two packets cannot be linked. Frequent Flyers and Total Passes by Student
(minutes and flags that single a student out) stay in the admin's audit. The key mapping pseudonyms
to students is written outside the packet folder, in packet-keys/ beside it, readable by its owner only.
"""

import datetime as dt
import difflib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import narwhals as nw
import pandas as pd

from . import folders, grades as grade_levels
from .errors import PasskitError
from .registry import Column

SMALL = 5  # counts from 1 to SMALL - 1 are hidden
HIDDEN = "<5"
KEYS_FOLDER = "packet-keys"
KINDS = {"issuer": "teacher", "room": "room", "grade": "grade"}  # scope -> the word in folder names
PASSES = Column("passes", "Passes", "mixed")  # a count, or "<5"


@dataclass(frozen=True)
class Scope:
    """What a packet is about: kind ("issuer", "room" or "grade") and its value."""

    kind: str
    value: str

    @property
    def title(self) -> str:
        return {"issuer": f"Passes issued by {self.value}", "room": f"Passes from or to {self.value}",
                "grade": f"Grade {self.value}"}[self.kind]

    def where(self):
        """The narwhals filter of its passes (a grade goes through Tables' own grade filter)."""
        if self.kind == "issuer":
            return nw.col("issuer") == self.value
        if self.kind == "room":
            return (nw.col("origin") == self.value) | (nw.col("destination") == self.value)
        return None


@dataclass
class Section:
    """One table of a packet: file name, title, typed columns, and its chart (or None)."""

    name: str
    title: str
    table: pd.DataFrame
    columns: tuple
    chart: object = None
    note: str = ""


@dataclass
class Packet:
    folder: Path
    key: Path
    passes: int
    students: int


def scope_from(issuer=None, room=None, grade=None) -> Scope:
    given = [Scope(kind, str(value).strip()) for kind, value in (("issuer", issuer), ("room", room),
                                                                   ("grade", grade)) if value is not None]
    if len(given) != 1:
        raise PasskitError("a packet is for one teacher, room or grade: give exactly one of --issuer, --room, --grade")
    scope = given[0]
    if scope.kind == "grade":
        scope = Scope("grade", grade_levels.normalise(scope.value))
        if scope.value == grade_levels.UNKNOWN:
            raise PasskitError(f"'{grade}' is not a grade (PK, K, 1 to 12)")
    return scope


def write(settings, data, scope: Scope, *, out=None, key=None) -> Packet:
    """Write the packet of `scope` for `settings.period` into `out` and its key to `key` (both checked)."""
    from .tables import Tables

    schools = _school_of(scope, data, settings.schools)
    folder = folders.check_output(out or Path("outputs") / "packets" / _name(settings, scope), settings.data)
    key = _key_path(key, folder, settings.data)
    period = settings.period
    tables = Tables(data, period.start, period.end, [scope.value] if scope.kind == "grade" else None, schools,
                    settings.options, where=scope.where())
    if tables.passes_in_range == 0:
        raise PasskitError(f"{scope.title}: no passes from {period.start} to {period.end}; nothing to put in a packet")
    everyone = tables.get("passes_by_student")
    # A packet's list of students, most passes first, singles them out: exempt students count in the
    # totals but are not in it (nor in the key)
    students, key_table = pseudonymised(tables.without_exempt(everyone))
    sections = _sections(tables, students, len(everyone), exempt=data.exempt is not None)
    _write_key(key_table, key)  # first: a packet is never out without its key
    _publish(folder, sections, settings, scope)
    return Packet(folder, key, tables.passes_in_range, len(everyone))


# ---- the tables: pseudonyms and small counts ------------------------------------------------------

def hidden(value):
    """A count as shown in a packet: 1 to 4 become "<5" (0 stays: no student is behind it)."""
    value = int(value)
    return HIDDEN if 0 < value < SMALL else value


def suppressed(table: pd.DataFrame, columns) -> pd.DataFrame:
    """`table` with every count in `columns` shown as `hidden` does (object columns: numbers and "<5")."""
    return table.assign(**{column: pd.Series([hidden(v) for v in table[column]], index=table.index, dtype=object)
                           for column in columns})


def pseudonyms(count: int, rng=None) -> list[str]:
    """`count` names "Student 001"... in a random order (a packet's numbers say nothing about its students)."""
    numbers = list(range(1, count + 1))
    (rng or secrets.SystemRandom()).shuffle(numbers)
    width = max(3, len(str(count)))
    return [f"Student {number:0{width}d}" for number in numbers]


def pseudonymised(per_student: pd.DataFrame, rng=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(student, grade, passes) with pseudonyms and hidden small counts; and the key: pseudonym -> student."""
    names = pseudonyms(len(per_student), rng)
    key = pd.DataFrame({"student": names, **{column: per_student[column].tolist() for column in
                                               ("school", "student_id", "student_name", "grade", "passes")
                                               if column in per_student}})
    shown = suppressed(key[["student", "grade", "passes"]], ["passes"])
    # Larger shown counts first, then by pseudonym: the order reveals no more than the "<5" cells do.
    counts, names = [0 if value == HIDDEN else value for value in shown["passes"]], shown["student"].tolist()
    order = sorted(range(len(shown)), key=lambda i: (-counts[i], names[i]))
    return shown.take(order).reset_index(drop=True), key.sort_values("student", ignore_index=True)


def _sections(tables, students: pd.DataFrame, with_a_pass: int, exempt: bool) -> list[Section]:
    weekly = _weekly(tables.get("daily_passes"))
    by_grade = tables.get("passes_by_grade")
    rooms = tables.get("room_usage")
    rooms = rooms[(rooms["passes_from"] > 0) | (rooms["passes_to"] > 0)].drop(columns="folder").reset_index(drop=True)
    room_columns = (Column("room", "Room", "text"), Column("passes_from", "Passes from this room", "mixed"),
                    Column("passes_to", "Passes to this room", "mixed"))
    if "school" in rooms:
        room_columns = (Column("school", "School", "text"), *room_columns)
    return [
        Section("overview", "Overview", _overview(tables, weekly, with_a_pass),
                (Column("figure", "Figure", "text"), Column("value", "Value", "mixed"))),
        Section("passes_by_week", "Passes by Week", suppressed(weekly, ["passes"]),
                (Column("week", "Week of", "date"), PASSES), chart=("week", "Week of")),
        Section("passes_by_grade", "Passes by Grade", suppressed(by_grade, ["passes"]),
                (Column("grade", "Grade", "text"), PASSES), chart=("grade", "Grade")),
        Section("room_usage", "Rooms", suppressed(rooms, ["passes_from", "passes_to"]), room_columns,
                chart=("room", "Busiest destinations"), note="Rooms with at least one pass in this packet."),
        Section("students", "Students", students,
                (Column("student", "Student", "text"), Column("grade", "Grade", "text"), PASSES),
                note="Each student appears under a pseudonym used only in this packet; the school office can "
                     "say who it is." + (" Students with an accommodation plan count in every total but are not "
                                         "listed." if exempt else "")),
    ]


def _weekly(daily: pd.DataFrame) -> pd.DataFrame:
    per_day = daily.groupby("date")["passes"].sum()
    days = pd.to_datetime(per_day.index)
    weeks = per_day.groupby(days - pd.to_timedelta(days.day_of_week, unit="D")).sum()
    return pd.DataFrame({"week": weeks.index.astype("datetime64[us]"), "passes": weeks.to_numpy(dtype="int64")})


def _overview(tables, weekly: pd.DataFrame, students: int) -> pd.DataFrame:
    days = tables.get("daily_passes").groupby("date")["passes"].sum()
    total = int(days.sum())
    rows = [("Passes", hidden(total)), ("Students with a pass", hidden(students)),
            ("Days with passes", int((days > 0).sum())), ("Weeks with passes", int((weekly["passes"] > 0).sum()))]
    if len(weekly):
        busiest = weekly.loc[weekly["passes"].idxmax()]
        rows.append(("Busiest week", f"week of {busiest['week']:%Y-%m-%d} ({hidden(busiest['passes'])} passes)"))
    return pd.DataFrame({"figure": [row[0] for row in rows], "value": pd.Series([row[1] for row in rows],
                                                                                dtype=object)})


# ---- the files --------------------------------------------------------------------------------------

def _publish(folder: Path, sections: list[Section], settings, scope: Scope):
    """Write every file into a staging folder beside `folder`, then swap it into place."""
    from .exports import Sheet, write_csv, write_xlsx

    staging = folders.staging(folder)
    try:
        folders.mark(staging)
        caption = f"{settings.label} · {scope.title} · {settings.period.start} to {settings.period.end}"
        for section in sections:
            columns = {column.name: column for column in section.columns}
            write_csv(section.table, staging / f"{section.name}.csv", columns)
            if section.chart:
                _save_chart(section, staging / f"{section.name}.png")
        workbook = f"packet-{settings.period.start}-to-{settings.period.end}.xlsx"
        write_xlsx([Sheet(s.title, s.table, {c.name: c for c in s.columns}) for s in sections], staging / workbook,
                   caption=caption, paper=settings.paper)
        _page(staging, sections, settings, scope, workbook)
        folders.swap_in(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _page(staging: Path, sections, settings, scope, workbook: str):
    from .exports import write_text
    from .htmlreport import _css, _environment
    from .notebook import table_html

    shown = [{"title": s.title, "note": s.note, "image": f"{s.name}.png" if s.chart else "",
              "table": table_html(s.table.rename(columns={c.name: c.label for c in s.columns}), rows=10_000),
              "csv": f"{s.name}.csv"} for s in sections]
    html = _environment().get_template("packet.html.j2").render(
        school=settings.label, scope=scope.title, span=f"{settings.period.start} to {settings.period.end}",
        sections=shown, workbook=workbook, css=_css(), footer=f"Made by passkit on {dt.date.today()}")
    write_text(staging / "index.html", html)


def _save_chart(section: Section, path: Path):
    """A section's bar chart as PNG: exact counts as bars, a hidden one as "<5" above the axis."""
    import altair as alt

    from . import charts

    column, title = section.chart
    value = "passes_to" if column == "room" else "passes"
    table = section.table
    if column == "room":  # the ten busiest destinations
        table = table.assign(_n=[0 if v == HIDDEN else v for v in table[value]]).nlargest(10, "_n", keep="first")
    rows = [{"label": f"{row[column]:%b %d}" if column == "week" else str(row[column]),
             "passes": 0 if row[value] == HIDDEN else int(row[value]), "hidden": HIDDEN if row[value] == HIDDEN else ""}
            for _, row in table.iterrows()]
    base = alt.Chart(alt.Data(values=rows), title=title if column == "room" else section.title)
    x = alt.X("label:N", title=None if column == "room" else title, sort=[row["label"] for row in rows],
              axis=alt.Axis(labelAngle=0 if len(rows) < 8 else -45))
    bars = base.mark_bar(color="#4c78a8").encode(x=x, y=alt.Y("passes:Q", title="Passes", axis=charts.COUNT_AXIS))
    labels = base.mark_text(dy=-8, color="#52606d").encode(x=x, y=alt.datum(0), text="hidden:N")
    charts.to_png(alt.layer(bars, labels).properties(width=charts.WIDTH, height=charts.HEIGHT), path)


def _write_key(key_table: pd.DataFrame, path: Path):
    from .exports import write_csv

    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    write_csv(key_table, path)
    path.chmod(0o600)


# ---- where things go --------------------------------------------------------------------------------

def _name(settings, scope: Scope) -> str:
    return f"{settings.folder_name()}-{KINDS[scope.kind]}-{folders.slug(scope.value)}"


def _key_path(key, folder: Path, data_dir) -> Path:
    """The key's file: given, or packet-keys/<packet>.key.csv beside the packet; never inside it or the data."""
    path = Path(key).expanduser().resolve() if key else folder.parent / KEYS_FOLDER / f"{folder.name}.key.csv"
    data = Path(data_dir).expanduser().resolve()
    if path == folder or folder in path.parents:
        raise PasskitError("is inside the packet folder: the key must never travel with the packet; choose "
                           "another --key", file=path)
    if data in path.parents:
        raise PasskitError("is inside the data folder; passkit never writes among the exports: choose another --key",
                           file=path)
    if path.is_dir():
        raise PasskitError("is a folder; give --key a file name", file=path)
    return path


def _school_of(scope: Scope, data, schools) -> list | None:
    """The schools the packet covers; refuses a teacher or room the data does not know, or that several
    schools share (the same name is then several people or rooms: choose one with --school)."""
    if scope.kind == "grade":
        return list(schools) or None
    passes = data.passes.filter(nw.col("school").is_in(list(schools))) if schools else data.passes
    if scope.kind == "issuer":
        found = passes.select("school", "issuer").unique().collect("pandas").to_native()
        matching = found[found["issuer"] == scope.value]
        known = passes.filter(nw.col("created_by") != "student").select("issuer").unique()
    else:
        rooms = [passes.select("school", nw.col(column).alias("room")) for column in ("origin", "destination")]
        found = nw.concat(rooms).unique().collect("pandas").to_native()
        matching = found[found["room"] == scope.value]
        known = nw.concat(rooms).select("room").unique()
    if matching.empty:
        close = difflib.get_close_matches(scope.value, known.collect("pandas").to_native().iloc[:, 0].tolist(), n=3)
        hint = f" (did you mean {', '.join(repr(name) for name in close)}?)" if close else ""
        raise PasskitError(f"no passes name the {KINDS[scope.kind]} '{scope.value}'{hint}")
    named = sorted(set(matching["school"]))
    if len(named) > 1 and not schools:
        raise PasskitError(f"the {KINDS[scope.kind]} '{scope.value}' is in {len(named)} schools "
                           f"({', '.join(named)}): choose one with --school")
    return list(schools) or ([named[0]] if named[0] else None)
