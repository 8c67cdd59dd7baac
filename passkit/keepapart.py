"""keep_apart.csv: the students each no-contact (keep-apart) order keeps apart.

    group,student_id            # one row per student of an order; a group is one order
    order-1,S100234
    order-1,S100877

An optional `school` column ties a row to one school of a district; a row without one applies in every
school (as a roster row does). The file is read with the exports when the cache is built, so changing
it re-parses them, as changing rooms.csv does, and it lives in the cache as keep_apart.parquet, which
every engine reads. A row with a blank group or student_id stops the load with one line naming it.
"""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import PasskitError
from .readers import LINE, read_table

FILE = "keep_apart.csv"
CACHED = "keep_apart.parquet"
REQUIRED, OPTIONAL = ("group", "student_id"), ("school",)


def read(path, column_map=None) -> pa.Table:
    """The file's rows as (school, group, student_id), '' for no school, each distinct row once."""
    table, malformed = read_table(path, REQUIRED, OPTIONAL, column_map.rename if column_map else None)
    if malformed:
        raise PasskitError("the row has the wrong number of fields", file=path, line=malformed[0])
    for column in REQUIRED:
        blank = pc.is_null(table[column])
        if pc.any(blank).as_py():
            line = pc.filter(table[LINE], blank)[0].as_py()
            raise PasskitError("is blank (every row names a group and a student)", file=path, line=line,
                               column=column)
    school = table["school"].fill_null("") if "school" in table.column_names else pa.repeat("", table.num_rows)
    rows = pa.table({"school": school, "group": table["group"], "student_id": table["student_id"]})
    return rows.group_by(["school", "group", "student_id"], use_threads=False).aggregate([]).sort_by(
        [("school", "ascending"), ("group", "ascending"), ("student_id", "ascending")])


def write(path, column_map, cache: Path):
    """Store the file in a cache being built (nothing when the data folder has none)."""
    if path:
        pq.write_table(read(path, column_map), cache / CACHED)


def load(cache) -> pd.DataFrame | None:
    """The cached keep-apart rows (school, group, student_id), or None when the data folder had no file."""
    path = Path(cache) / CACHED
    return pd.read_parquet(path) if path.is_file() else None
