"""Write report tables as CSV and as one XLSX workbook that opens cleanly in a spreadsheet program."""

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
    """One sheet per table: typed cells, readable headers, widths set, header row frozen."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            sheet = TITLES.get(name, name)[:31]
            shown = table.rename(columns=lambda c: HEADERS.get(c, c))
            shown.to_excel(writer, sheet_name=sheet, index=False)
            _format(writer.sheets[sheet], shown)
    _fix_timestamps(path)
    return path


def _format(ws, table):
    ws.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        values = table[column].head(500).astype(str)
        width = max([len(str(column)), *(len(v) for v in values)] or [8])
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = min(max(width + 2, 8), 50)
        if pd.api.types.is_datetime64_any_dtype(table[column]) or column == HEADERS["date"]:
            for cell in ws.iter_cols(min_col=index, max_col=index, min_row=2):
                for c in cell:
                    c.number_format = "yyyy-mm-dd"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions


def _fix_timestamps(path):
    """openpyxl stamps the workbook with 'now'; a fixed time keeps re-runs byte-identical."""
    import datetime as dt
    import zipfile

    import openpyxl

    book = openpyxl.load_workbook(path)
    book.properties.created = book.properties.modified = dt.datetime(2000, 1, 1)
    book.save(path)
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, content in items:
            info.date_time = (2000, 1, 1, 0, 0, 0)
            target.writestr(info, content)


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
