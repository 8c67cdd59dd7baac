"""Column-mapping files: rename another vendor's headers and values to passkit's, without code.

    # map.yaml
    columns:            # their header: passkit column
      Pass Number: pass_id
      From: origin
    values:             # optional: their value -> passkit value, per column
      created_by: {Staff: teacher, Self: student}

A file holding only `header: column` pairs is read as the `columns` section.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .errors import PasskitError
from .readers import canonical
from .schema import CACHE_COLUMNS, PASS_COLUMNS


@dataclass(frozen=True)
class ColumnMap:
    rename: dict = field(default_factory=dict)  # canonical vendor header -> passkit column
    values: dict = field(default_factory=dict)  # passkit column -> {lowercased value: passkit value}
    text: str = ""  # the file's content, part of the cache key

    def apply_values(self, table: pa.Table) -> pa.Table:
        for column, mapping in self.values.items():
            if column in table.column_names:
                index = table.column_names.index(column)
                table = table.set_column(index, column, _replace(table.column(index), mapping))
        return table


def _replace(column, mapping):
    keys, targets = pa.array(list(mapping), pa.string()), pa.array(list(mapping.values()), pa.string())
    found = pc.index_in(pc.utf8_lower(column), value_set=keys)
    return pc.coalesce(pc.take(targets, found), column)


def load_column_map(path) -> ColumnMap:
    if path is None:
        return ColumnMap()
    import yaml  # only for a column map: opening the cache stays quick

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        spec = yaml.safe_load(text) or {}
    except OSError as exc:
        raise PasskitError(f"cannot read the column map ({exc.strerror})", file=path) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise PasskitError("is not valid YAML", file=path, line=None if line is None else line + 1) from None
    if not isinstance(spec, dict):
        raise PasskitError("must be a mapping of 'their header: passkit column'", file=path)
    columns = spec.get("columns", {} if "values" in spec else spec)
    known = set(PASS_COLUMNS) | set(CACHE_COLUMNS) | {"school", "room", "folder", "name", "max_passes_from",
                                                      "max_passes_to"}
    rename = {}
    for theirs, ours in (columns or {}).items():
        if canonical(ours) not in known:
            raise PasskitError(f"maps '{theirs}' to unknown passkit column '{ours}'", file=path)
        rename[canonical(theirs)] = canonical(ours)
    values = {canonical(col): {str(k).strip().lower(): str(v).strip() for k, v in (pairs or {}).items()}
              for col, pairs in (spec.get("values") or {}).items()}
    return ColumnMap(rename, values, text)
