"""Write report tables as CSV and as one XLSX workbook, safely: no value becomes a formula, no half-written file.

- Every file is written under a temporary name and renamed into place, so a full disk or an
  interruption never leaves a truncated file that looks finished.
- Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
  return) is written in CSVs with a leading apostrophe (OWASP's advice for CSV injection); in
  XLSX every text cell is a text cell, never a formula.
- Identical tables give byte-identical files.
"""

import contextlib
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PasskitError
from .registry import Column

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_ROWS = 1_048_576  # rows in an Excel sheet, the header and title rows included
CREATED = dt.datetime(2000, 1, 1)  # the workbook's fixed creation time: re-runs are byte-identical
MARKER = ".passkit-output"  # in every folder passkit writes, so it never replaces anyone else's
PAPER_CODES = {"letter": 1, "a4": 9}  # XlsxWriter's set_paper numbers


@dataclass
class Sheet:
    """One table of a workbook: its sheet title and its columns (names, labels, types)."""

    title: str
    table: pd.DataFrame
    columns: dict = field(default_factory=dict)  # column name -> registry.Column; others inferred
    heading: str = ""  # the title row, when it says more than the caption and title (the dashboard's filters)

    def column(self, name) -> Column:
        return self.columns.get(name) or Column(name, name, _kind(self.table[name]))


# ---- CSV -------------------------------------------------------------------------------------------

def write_csv(table: pd.DataFrame, path, columns=None, *, labels=False) -> Path:
    """UTF-8, ISO dates, no index, '\\n' line ends; minutes to a tenth; formula-like text neutralised.

    `columns` maps names to registry Columns (types); `labels` writes their labels as the header
    (the dashboard's downloads) instead of the machine names (`passkit report`).
    """
    with atomic(path) as partial:
        partial.write_bytes(csv_bytes(table, columns, labels=labels))
    return Path(path)


def csv_bytes(table: pd.DataFrame, columns=None, *, labels=False) -> bytes:
    sheet = Sheet("", table, dict(columns or {}))
    shown = pd.DataFrame({name: _csv_values(sheet.column(name), table[name]) for name in table.columns})
    if labels:
        shown.columns = [neutralise(sheet.column(name).label) for name in table.columns]
    return shown.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d").encode()


def _csv_values(column: Column, values: pd.Series) -> pd.Series:
    if column.kind == "minutes":
        return values.round(1)
    if column.kind == "datetime":  # the file's date format would drop the time of day
        return values.dt.strftime("%Y-%m-%d %H:%M:%S")
    if column.kind in ("text", "mixed") and not pd.api.types.is_numeric_dtype(values):
        return _neutralised(values)
    return values


def _neutralised(values: pd.Series) -> pd.Series:
    """`neutralise` over a column: vectorised for text (a district's 1.8 million encounters), value by value for a
    mixed column of numbers and text, kept as objects (so that 6 stays 6, not 6.0)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        risky = values.str.startswith(FORMULA_START, na=False).to_numpy()
        if not risky.any():
            return values
        values = values.astype(object)
        values[risky] = "'" + values[risky]
        return values
    return pd.Series([neutralise(value) for value in values], index=values.index, dtype=object)


def neutralise(value):
    """'=HYPERLINK(...)' -> "'=HYPERLINK(...)": a spreadsheet shows the text instead of running it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# ---- XLSX ------------------------------------------------------------------------------------------

def write_xlsx(sheets, path, *, caption: str = "", paper: str = "letter", sheet_rows: int = EXCEL_ROWS) -> Path:
    """One sheet per table: a title row (`caption` and the sheet's title), the header row frozen and
    filtered, typed cells, widths, landscape print on `paper` fitted to the page width with the header
    row repeated and the caption and page numbers in the footer.

    `sheets` is a list of `Sheet`, or {title: DataFrame}. A table longer than a sheet (`sheet_rows`,
    Excel's limit, title and header rows included) continues on sheets titled "<title> (2)"...,
    each title row saying which rows it holds; XlsxWriter's constant-memory mode writes row by row.
    """
    import xlsxwriter

    if isinstance(sheets, dict):
        sheets = [Sheet(title, table) for title, table in sheets.items()]
    with atomic(path) as partial:
        book = xlsxwriter.Workbook(str(partial), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "nan_inf_to_errors": False})
        book.set_properties({"created": CREATED, "author": "passkit"})
        formats = _formats(book)
        used = set()
        for sheet in sheets:
            parts = list(_chunks(sheet.table, sheet_rows - 2))
            for number, rows in enumerate(parts, start=1):
                title = _sheet_title(sheet.title if number == 1 else f"{sheet.title} ({number})", used)
                heading = sheet.heading or (f"{caption} · {sheet.title}" if caption else sheet.title)
                if len(parts) > 1:
                    first = (number - 1) * (sheet_rows - 2) + 1
                    heading += (f" · rows {first:,}-{first + len(rows) - 1:,} of {len(sheet.table):,}"
                                + (" (continued on the next sheet)" if number < len(parts) else ""))
                _write_sheet(book.add_worksheet(title), sheet, rows, formats, heading, paper)
        book.close()
    return Path(path)


def _formats(book) -> dict:
    return {"title": book.add_format({"bold": True, "font_size": 13}),
            "header": book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "minutes": book.add_format({"num_format": "0.0"}),
            "float": book.add_format({"num_format": "0.0##"}),
            "int": book.add_format({"num_format": "#,##0"})}


def _chunks(table: pd.DataFrame, room: int):
    """The table in pieces of `room` rows (at least one piece, maybe empty)."""
    yield table.iloc[:room]
    for begin in range(room, len(table), room):
        yield table.iloc[begin:begin + room]


def _sheet_title(title: str, used: set) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique ignoring case."""
    base = re.sub(r"[\[\]:*?/\\]", "-", title).strip("'") or "Sheet"
    candidate, number = base[:31], 2
    while candidate.lower() in used:
        suffix = f" ({number})"
        candidate, number = base[:31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


def _write_sheet(sheet, spec: Sheet, table: pd.DataFrame, formats: dict, title: str, paper: str = "letter"):
    columns = [spec.column(name) for name in spec.table.columns]
    sheet.write_string(0, 0, title, formats["title"])
    for index, column in enumerate(columns):
        sheet.write_string(1, index, column.label, formats["header"])
        sheet.set_column(index, index, _width(column, spec.table[column.name]), formats.get(column.kind))
    cells = [_cells(sheet, column, table[column.name], formats) for column in columns]
    for offset, row in enumerate(zip(*(values for _, values in cells)), start=2):
        for index, ((write, fmt), value) in enumerate(zip((how for how, _ in cells), row)):
            if value is not None:
                write(offset, index, value, fmt)
    sheet.freeze_panes(2, 0)
    if columns:
        sheet.autofilter(1, 0, max(1, len(table) + 1), len(columns) - 1)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)
    sheet.set_paper(PAPER_CODES[paper])
    # "&" starts a field code in Excel's header and footer text: doubled, a school's name prints as written
    sheet.set_footer(f"&L{title.replace('&', '&&')[:200]}&RPage &P of &N")


def _cells(sheet, column: Column, values: pd.Series, formats: dict):
    """((write method, format), the column's values ready for it, None where the cell stays empty).

    Numbers as numbers, text always as text (never a formula); typed by column, not by cell: a
    district's per-student sheet has 400,000 cells."""
    kind, missing = column.kind, values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values):
        how, ready = (sheet.write_boolean, None), values.tolist()
    elif pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dt.to_pydatetime() if hasattr(values.dt, "to_pydatetime") else values.tolist()
        dated = kind == "date" or (kind != "datetime" and _kind(values) == "date")
        how, ready = (sheet.write_datetime, formats["date" if dated else "datetime"]), list(stamps)
    elif pd.api.types.is_numeric_dtype(values) and kind != "text":
        numbers = values.round(1) if kind == "minutes" else values
        how, ready = (sheet.write_number, formats.get(kind)), numbers.tolist()
    elif kind == "mixed":
        return (lambda row, col, value, fmt: _write_any(sheet, row, col, value), None), [
            None if gone else value for value, gone in zip(values.tolist(), missing)]
    elif column.name == "grade":  # grade 9 is a number; K and PK stay text
        return (lambda row, col, value, fmt: (sheet.write_number(row, col, int(value)) if value.isdigit()
                                              else sheet.write_string(row, col, value)), None), [
            None if gone else str(value) for value, gone in zip(values.tolist(), missing)]
    else:
        how, ready = (sheet.write_string, None), values.astype(str).tolist()
    if missing.any():
        ready = [None if gone else value for value, gone in zip(ready, missing)]
    return how, ready


def _write_any(sheet, row, col, value):
    """A cell of a mixed column: numbers and booleans as such, anything else as text."""
    if isinstance(value, (bool, np.bool_)):
        sheet.write_boolean(row, col, bool(value))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


def _width(column: Column, values: pd.Series) -> float:
    shown = [column.label, *values.head(500).astype(str).fillna("")]  # a blank time (NaT) reads as NaN
    return min(max(max(map(len, shown)) + 2, 8), 50)


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_integer_dtype(values):
        return "int"
    if pd.api.types.is_float_dtype(values):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date" if (values.dropna() == values.dropna().dt.normalize()).all() else "datetime"
    return "text"


# ---- files in place, atomically -------------------------------------------------------------------

@contextlib.contextmanager
def atomic(path):
    """Yield a temporary path beside `path`; rename it to `path` only if the block finished."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    except OSError as exc:
        raise PasskitError(f"cannot write the file ({exc.strerror or type(exc).__name__})", file=path) from None
    finally:
        partial.unlink(missing_ok=True)


def write_text(path, text: str) -> Path:
    with atomic(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, value) -> Path:
    return write_text(path, json.dumps(value, indent=2, default=str) + "\n")


# ---- one range's tables as files ------------------------------------------------------------------

def sheet(entry, table: pd.DataFrame, caption: str = "") -> Sheet:
    """A report's table as a workbook sheet, typed and labelled as the registry declares; its first
    `entry.sheet_rows` rows when it declares a limit (the title row says so and where the rest are)."""
    from .registry import SCHOOL

    columns = {column.name: column for column in (SCHOOL, *entry.columns)}
    if entry.sheet_rows is None or len(table) <= entry.sheet_rows:
        return Sheet(entry.title, table, columns)
    heading = " · ".join(filter(None, [caption, entry.title, f"the first {entry.sheet_rows:,} of {len(table):,} rows; "
                                                            f"all of them are in {entry.name}.csv"]))
    return Sheet(entry.title, table.head(entry.sheet_rows), columns, heading)


def workbook_name(start, end) -> str:
    """'reports-2026-01-05-to-2026-03-27.xlsx': the period travels with the file when it is sent on."""
    return f"reports-{start}-to-{end}.xlsx"


def write_report_folder(tables, out, *, caption: str = "", paper: str = "letter") -> Path:
    """What `passkit report` writes for one range (an audit adds its pages to the same files):
    one CSV per report, the workbook (`workbook_name`), rejected.csv and load_summary.json, into a
    checked folder."""
    from . import folders, registry

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders.mark(out)
    computed = tables.all()
    for entry in registry.all_reports("csv"):
        if entry.name in computed:
            write_csv(computed[entry.name], out / f"{entry.name}.csv", sheet(entry, computed[entry.name]).columns)
    for entry in registry.all_reports("json"):
        if entry.name in computed:
            write_json(out / f"{entry.name}.json", computed[entry.name].to_dict("records"))
    workbook = out / workbook_name(tables.start, tables.end)
    for old in [*out.glob("reports-*-to-*.xlsx"), out / "reports.xlsx"]:  # an earlier run's range, in our folder
        if old != workbook:
            old.unlink(missing_ok=True)
    write_xlsx([sheet(entry, computed[entry.name], caption) for entry in registry.all_reports("xlsx")
                if entry.name in computed], workbook, caption=caption, paper=paper)
    data = tables.data
    if hasattr(data, "rejected"):  # a school's folder holds only its own rejected rows: they name students
        write_csv(data.rejected(tables.schools), out / "rejected.csv")
    summary = {**getattr(data, "summary", {}), "range": {"start": str(tables.start), "end": str(tables.end)},
               "passes_in_range": tables.passes_in_range, "unavailable": tables.unavailable}
    write_json(out / "load_summary.json", summary)
    return out
