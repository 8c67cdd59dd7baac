"""Read one export file (CSV or XLSX) into a table of trimmed strings with canonical column names.

Nothing is typed here: validation decides what a value means, so that a bad value becomes a
rejected row with a reason instead of a parser error.
"""

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import PasskitError

LINE = "_line"  # the row's line in its file, counting the header as line 1


def canonical(header: str) -> str:
    """'  Student ID ' -> 'student_id'."""
    text = str(header).replace("\ufeff", "").replace("ï»¿", "")  # byte-order marks, decoded or not
    return "_".join(text.strip().lower().replace("-", " ").split())


def read_table(path: Path, required=(), optional=(), rename=None) -> tuple[pa.Table, list[int]]:
    """Return (table of the known columns as strings plus `_line`, line numbers of malformed rows).

    `rename` maps canonical vendor headers to passkit names (the column-mapping YAML).
    """
    path = Path(path)
    if not path.is_file():
        raise PasskitError("file not found", file=path)
    try:
        table, bad_lines = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    except PasskitError:
        raise
    except Exception as exc:  # the parser's own message may quote student data: keep only its kind
        raise PasskitError(f"cannot be read as {path.suffix.lstrip('.').upper() or 'CSV'} ({type(exc).__name__})",
                           file=path) from None
    return _select(table, path, required, optional, rename or {}), bad_lines


def _select(table, path, required, optional, rename):
    names = [rename.get(canonical(n), canonical(n)) for n in table.column_names]
    table = table.rename_columns(names)
    for column in required:
        if column not in names:
            raise PasskitError("required column is missing", file=path, column=column)
    wanted = [c for c in (*required, *optional) if c in names]
    columns = {c: _clean(table.column(names.index(c))) for c in wanted}
    columns[LINE] = table.column(LINE)
    return pa.table(columns)


def _clean(column):
    """Trim spaces; blank -> null."""
    column = pc.utf8_trim_whitespace(column.cast(pa.string()))
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _read_csv(path: Path):
    try:
        return _read_csv_as(path, "utf8")
    except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
        if isinstance(exc, pa.ArrowInvalid) and "UTF8" not in str(exc):
            raise
        return _read_csv_as(path, "cp1252")  # how Excel on Windows saves "CSV"


def _read_csv_as(path: Path, encoding: str):
    with open(path, newline="", encoding="utf-8-sig" if encoding == "utf8" else encoding) as handle:
        header = next(csv.reader(handle), [])
    if not header:
        raise PasskitError("the file is empty (no header row)", file=path)
    bad = []

    def skip(row):  # a row with too few or too many fields is rejected, not fatal
        bad.append(row.number)
        return "skip"

    def read(threads):
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=threads, encoding=encoding),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )

    table = read(True)
    if bad:  # only a single-threaded read reports the line numbers of malformed rows
        bad.clear()
        table = read(False)
    lines = _kept_lines(table.num_rows, bad)
    return table.append_column(LINE, pa.array(lines, pa.int64())), bad


def _kept_lines(rows: int, bad_lines: list[int]):
    """Line numbers of the rows the parser kept, given the lines it skipped."""
    lines = np.arange(2, rows + len(bad_lines) + 2, dtype=np.int64)
    return np.setdiff1d(lines, np.asarray(bad_lines, dtype=np.int64), assume_unique=True) if bad_lines else lines


def _read_xlsx(path: Path):
    import openpyxl  # only needed for spreadsheet exports

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise PasskitError("the first sheet is empty (no header row)", file=path)
        header = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        values = [[_cell_text(v) for v in row] for row in rows]
    finally:
        book.close()
    columns = {name: pa.array([row[i] if i < len(row) else None for row in values], pa.string())
               for i, name in enumerate(header)}
    columns[LINE] = pa.array(range(2, len(values) + 2), pa.int64())
    return pa.table(columns), []


def _cell_text(value):
    """Spreadsheet cells as the text an export would carry; datetimes as ISO 8601."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
