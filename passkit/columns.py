"""Layouts: how an export's headers and values become passkit's columns, written as data.

Every vendor layout passkit knows is a YAML file in `passkit/layouts/`; a column map given with
`--columns` has the same format and replaces detection. A file holding only `header: column`
pairs is read as the `columns` section.

    title: SmartPass pass search      # what `passkit check` calls it
    columns:                          # their header: passkit column
      Pass start time: start_time
    detect: [Pass start time, ...]    # the headers that identify the layout (default: every header in columns)
    blank: ["-"]                      # values that mean "no value"
    fill:                             # a blank passkit column takes another column's value
      student_id: student_email
      destination: {from: custom_destination, when: [Other]}
    times: ["%m/%d %I:%M %p"]         # time formats besides ISO 8601 (DuckDB strptime). A format
                                      # without a year takes it from the school year.
    values:                           # their value -> passkit value, per column
      created_by: {Staff: teacher}
    synonyms:                         # the generic layout: passkit column -> headers it may have
      start_time: [Time Out, Out Time]
    passthrough: false                # read only the headers above (default: headers that are passkit
                                      # column names, such as 'start_time', are read as those too)

A header row is the first of a file's first 20 rows with a student (id or email), a room (origin or
destination) and a start time under one layout. Layouts are tried most specific first; the generic
synonyms come last. Headers compare case- and space-insensitively ("Time Out" = "time_out").
"""

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .errors import PasskitError
from .schema import CACHE_COLUMNS, READ_COLUMNS, REQUIRED

# Side-file columns a column map may also rename.
SIDE_COLUMNS = ("room", "folder", "name", "max_passes_from", "max_passes_to", "sourcedid", "role", "grades",
                "givenname", "familyname", "orgsourcedids")


def canonical(header) -> str:
    """'  Student ID ' -> 'student_id'."""
    text = str(header).replace("\ufeff", "").replace("ï»¿", "")  # byte-order marks, decoded or not
    return "_".join(text.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class Layout:
    name: str = "column-map"
    title: str = "column map"
    rename: dict = field(default_factory=dict)  # canonical header -> passkit column
    values: dict = field(default_factory=dict)  # passkit column -> {lowercased value: passkit value}
    detect: tuple = ()  # canonical headers that must all be present
    blank: tuple = ()  # lowercased values that mean "no value"
    fill: dict = field(default_factory=dict)  # passkit column -> (source column, lowercased values replaced too)
    times: tuple = ()  # DuckDB strptime formats besides ISO 8601
    passthrough: bool = True  # headers that already are passkit column names are read as those
    ranks: dict = field(default_factory=dict)  # canonical header -> preference when two give one column
    text: str = ""  # the file's content: part of the cache key

    def columns_of(self, cells) -> dict:
        """{cell index: passkit column} for a header row. Two cells giving one column: the better
        synonym wins; the same header twice is an error (which of them holds the data is a guess)."""
        chosen = {}  # passkit column -> cell index
        for index, cell in enumerate(cells):
            name = canonical(cell)
            column = self.rename.get(name) or (name if self.passthrough and name in READ_COLUMNS else None)
            if column is None:
                continue
            if column in chosen:
                other = chosen[column]
                if canonical(cells[other]) == name:
                    raise DuplicateColumns(column, cells[other], other, cell, index)
                if self.ranks.get(name, 0) >= self.ranks.get(canonical(cells[other]), 0):
                    continue
            chosen[column] = index
        return {index: column for column, index in chosen.items()}

    def apply_values(self, table: pa.Table) -> pa.Table:
        for column, mapping in self.values.items():
            if column in table.column_names:
                index = table.column_names.index(column)
                table = table.set_column(index, column, _replace(table.column(index), mapping))
        return table

    def apply_fill(self, table: pa.Table) -> pa.Table:
        """Blank passkit columns (or ones saying e.g. 'Other') take their stand-in's value."""
        for column, (source, words) in self.fill.items():
            if source not in table.column_names:
                continue
            given = table.column(source)
            if column not in table.column_names:
                table = table.append_column(column, given)
                continue
            index = table.column_names.index(column)
            current = table.column(index)
            take = pc.is_null(current)
            if words:
                take = pc.or_kleene(take, pc.is_in(pc.utf8_lower(current), value_set=pa.array(words, pa.string())))
            table = table.set_column(index, column, pc.if_else(pc.and_(take, pc.is_valid(given)), given, current))
        return table

    @property
    def has_year_less_times(self) -> bool:
        return any(not has_year(f) for f in self.times)


class DuplicateColumns(Exception):
    """Two header cells with the same name give one passkit column (the reader names the file)."""

    def __init__(self, column, first, first_index, second, second_index):
        super().__init__(f"columns '{str(first).strip()}' (column {first_index + 1}) and '{str(second).strip()}' "
                         f"(column {second_index + 1}) both give {column}: remove or rename one")


@dataclass(frozen=True)
class Match:
    """A header row read under a layout."""
    layout: Layout
    columns: dict  # cell index -> passkit column
    headers: dict  # cell index -> the header as written

    def mapping(self) -> dict:
        """{their header: passkit column}, in the file's order."""
        return {self.headers[i]: self.columns[i] for i in sorted(self.columns)}


def has_year(time_format: str) -> bool:
    return "%Y" in time_format or "%y" in time_format


def missing_required(columns) -> list:
    """The required groups a set of passkit columns lacks, e.g. [('origin', 'destination')]."""
    present = set(columns)
    return [group for group in REQUIRED if not present & set(group)]


def detect(cells, column_map: Layout | None = None) -> Match | None:
    """The layout a header row is written in, or None when no layout finds the required columns."""
    if not any(str(c).strip() for c in cells if c is not None):
        return None
    names = {canonical(c) for c in cells}
    for layout in [column_map] if column_map else layouts():
        if not set(layout.detect) <= names:
            continue
        columns = layout.columns_of(cells)
        if not missing_required(columns.values()):
            return Match(layout, columns, {i: str(cells[i]).strip() for i in columns})
    return None


@cache
def layouts() -> tuple:
    """The layouts passkit ships, most specific first (most detect headers); the generic one last."""
    found = []
    for entry in resources.files("passkit").joinpath("layouts").iterdir():
        if entry.name.endswith(".yaml"):
            found.append(_layout(_yaml(entry.read_text(encoding="utf-8"), entry.name), entry.read_text(),
                                 entry.name[:-5], entry.name))
    return tuple(sorted(found, key=lambda layout: (not layout.detect, -len(layout.detect), layout.name)))


def layout_named(name: str) -> Layout:
    return next(layout for layout in layouts() if layout.name == name)


def load_column_map(path) -> Layout | None:
    if path is None:
        return None
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PasskitError(f"cannot read the column map ({getattr(exc, 'strerror', None) or 'not UTF-8 text'})",
                           file=path) from None
    spec = _yaml(text, path)
    if not isinstance(spec, dict):
        raise PasskitError("must be a mapping of 'their header: passkit column'", file=path)
    known = {"columns", "values", "blank", "fill", "times", "detect", "title"}
    if not set(spec) & known:
        spec = {"columns": spec}
    return _layout(spec, text, "column-map", path, default_title=f"column map {path.name}")


def _yaml(text, source):
    import yaml  # only when exports are parsed or a column map is read: opening a cache stays quick

    try:  # libyaml's loader when installed: the layouts are read on every parse
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise PasskitError("is not valid YAML", file=source, line=None if line is None else line + 1) from None


def _layout(spec, text, name, source, default_title=None) -> Layout:
    known = set(READ_COLUMNS) | set(CACHE_COLUMNS) | set(SIDE_COLUMNS)

    def column(value, where):
        if canonical(value) not in known:
            raise PasskitError(f"{where} names unknown passkit column '{value}'", file=source)
        return canonical(value)

    rename, ranks = {}, {}
    for theirs, ours in (spec.get("columns") or {}).items():
        rename[canonical(theirs)] = column(ours, f"'{theirs}'")
    for ours, spellings in (spec.get("synonyms") or {}).items():
        for rank, theirs in enumerate(spellings or []):
            rename.setdefault(canonical(theirs), column(ours, "synonyms"))
            ranks.setdefault(canonical(theirs), rank)
    fill = {}
    for ours, rule in (spec.get("fill") or {}).items():
        rule = rule if isinstance(rule, dict) else {"from": rule}
        fill[column(ours, "fill")] = (column(rule.get("from"), f"fill for {ours}"),
                                      tuple(str(w).strip().lower() for w in rule.get("when") or ()))
    return Layout(
        name=name, title=str(spec.get("title") or default_title or name), rename=rename,
        values={column(col, "values"): {str(k).strip().lower(): str(v).strip() for k, v in (pairs or {}).items()}
                for col, pairs in (spec.get("values") or {}).items()},
        detect=tuple(canonical(h) for h in spec.get("detect") or ()), blank=tuple(
            str(b).strip().lower() for b in spec.get("blank") or ()),
        fill=fill, times=tuple(str(f) for f in spec.get("times") or ()),
        passthrough=bool(spec.get("passthrough", True)), ranks=ranks, text=text)


def _replace(column, mapping):
    keys, targets = pa.array(list(mapping), pa.string()), pa.array(list(mapping.values()), pa.string())
    found = pc.index_in(pc.utf8_lower(column), value_set=keys)
    return pc.coalesce(pc.take(targets, found), column)
