"""Write report tables as CSV and as one XLSX workbook that opens cleanly in a spreadsheet program."""

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

# Headers a principal reads, for the workbook; CSVs keep the machine-friendly names.
HEADERS = {
    "school": "School", "date": "Date", "grade": "Grade", "passes": "Passes",
    "student_id": "Student ID", "student_name": "Student", "outlier": "Outlier",
    "room": "Room", "folder": "Room folder", "passes_from": "Passes from this room",
    "passes_to": "Passes to this room", "issuer": "Staff member / kiosk", "total_passes": "Total passes",
    "now_passes": "Now passes", "scheduled_passes": "Scheduled passes", "minutes_out": "Minutes out",
}
TITLES = {
    "daily_passes": "Daily Passes", "passes_by_grade": "Passes by Grade", "passes_by_student": "Passes by Student",
    "room_usage": "Room Usage", "staff_usage": "Staff Usage", "frequent_flyers": "Frequent Flyers",
    "rejected": "Rejected rows",
}


def write_csv(table: pd.DataFrame, path) -> Path:
    """UTF-8, ISO dates, no index, '\\n' line ends: byte-identical for identical tables."""
    path = Path(path)
    table.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return path


def write_xlsx(tables: dict[str, pd.DataFrame], path) -> Path:
    """One sheet per table: typed cells, readable headers, widths set, header row frozen.

    Written byte-identically for identical tables (fixed timestamps inside the zip).
    """
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, table in tables.items():
        sheet = book.create_sheet(TITLES.get(name, name)[:31])
        sheet.append([HEADERS.get(column, column) for column in table.columns])
        for row in table.itertuples(index=False):
            sheet.append([_cell(value) for value in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        _format(sheet, table)
    book.properties.creator = "passkit"
    book.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    path = Path(path)
    _write_stable_zip(buffer.getvalue(), path)
    return path


FIXED_TIME = dt.datetime(2000, 1, 1)


def _cell(value):
    """numpy and pandas scalars as the plain Python values openpyxl types correctly."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def _format(sheet, table):
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        shown = [HEADERS.get(column, column), *table[column].head(500).astype(str)]
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(max(max(map(len, shown)) + 2, 8), 50)
        if pd.api.types.is_datetime64_any_dtype(table[column]):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "yyyy-mm-dd"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def _write_stable_zip(content: bytes, path: Path):
    """openpyxl stamps entries and docProps with 'now'; fix both so re-runs are byte-identical."""
    stamp = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = stamp.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)


def write_report_folder(data, tables: dict[str, pd.DataFrame], out, *, start, end) -> Path:
    """What `passkit report` writes: one CSV per report, the workbook, rejected.csv, load_summary.json."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_csv(table, out / f"{name}.csv")
    write_xlsx(tables, out / "reports.xlsx")
    write_csv(data.rejected(), out / "rejected.csv")
    summary = {**data.summary, "range": {"start": str(start), "end": str(end)},
               "passes_in_range": int(tables["passes_by_grade"]["passes"].sum())}
    (out / "load_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out
