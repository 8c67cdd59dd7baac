"""`passkit check DIR`: what passkit reads in a data folder, before any report is made.

It names each file's layout and column mapping, its rows and dates, the reports the columns
allow, and the first rejected rows by file, line and reason (never a student's name or id).
"""

from . import registry
from .data import PassData

REJECTED_SHOWN = 10


def describe(data: PassData) -> tuple[list[str], bool]:
    """The lines `passkit check` prints, and whether the folder can be reported on (a pass was kept)."""
    summary = data.summary
    lines = ["Files"]
    spans = _spans(data)
    for index, entry in enumerate(summary["files"]):
        lines += _file_lines(entry, spans.get(index))
    lines += [f"  {name}: {what}" for name, what in summary.get("other_files", ())]
    lines += _passes_lines(summary)
    unavailable = registry.unavailable(data)
    lines += ["Reports", "  available: " + ", ".join(r for r in registry.names() if r not in unavailable)]
    lines += [f"  unavailable: {name} ({reason})" for name, reason in unavailable.items()]
    lines += _identical_lines(data, summary)
    lines += _rejected_lines(data, summary["rows_rejected"] + summary["duplicates_dropped"])
    ok = summary["passes_kept"] > 0
    if not ok:
        lines.append("No pass could be read: the folder cannot be reported on (see the rejected rows above).")
    return lines, ok


def _spans(data):
    rows = data.con.execute("SELECT source_file, count(*), CAST(min(date) AS VARCHAR), CAST(max(date) AS VARCHAR) "
                            "FROM passes GROUP BY source_file").fetchall()
    return {index: (kept, first, last) for index, kept, first, last in rows}


def _file_lines(entry, span):
    kept, first, last = span or (0, None, None)
    dates = f", {first} to {last}" if first else ""
    lines = [f"  {entry['file']}: {entry.get('layout_title', entry.get('layout', ''))}; {entry['rows']:,} rows, "
             f"{kept:,} passes kept{dates}"]
    # a header that already is the column's name is shown once
    mapping = ", ".join(ours if theirs == ours else f"{theirs} -> {ours}"
                        for theirs, ours in entry.get("columns", {}).items())
    lines.append(f"    columns: {mapping}")
    how = []
    if entry.get("header_line", 1) != 1:
        how.append(f"header on line {entry['header_line']}")
    if entry.get("delimiter", "comma") != "comma":
        how.append(f"{entry['delimiter']}-delimited")
    if entry.get("encoding") not in (None, "utf-8", "xlsx"):
        how.append(f"encoded as {entry['encoding'].upper()}")
    for key, words in (("blank_rows", "blank, skipped"),
                       ("rows_repaired_from_windows_1252", "not UTF-8, read as Windows-1252"),
                       ("control_character_rows", "with control characters, replaced by spaces")):
        if entry.get(key):
            how.append(f"{_rows(entry[key])} {words}")
    if entry.get("sheets_ignored"):
        how.append("sheets without a passes header, not read: " + ", ".join(entry["sheets_ignored"]))
    if entry.get("year_less_rows"):
        chosen = ("this file's modification time" if entry.get("year_from_modification_time")
                  else "--year-starts or the requested range")
        how.append(f"{entry['year_less_rows']:,} times without a year, read in the school year from "
                   f"{entry['school_year_starts']} (chosen by {chosen})")
    lines += [f"    {item}" for item in how]
    return lines


def _passes_lines(summary):
    lines = [f"Passes: {summary['rows_read']:,} rows read: {summary['passes_kept']:,} kept, "
             f"{summary['duplicates_dropped']:,} duplicates dropped, {summary['rows_rejected']:,} rejected"]
    missing = summary.get("columns_missing", [])
    if missing:
        lines.append("  columns no export has: " + ", ".join(missing))
    derived = []
    if "pass_id" in missing:
        derived.append("pass ids from each row's content")
    if any("duration" in entry.get("columns", {}).values() for entry in summary["files"]):
        derived.append("end times from start plus duration where there is no end time")
    if derived:
        lines.append("  derived: " + "; ".join(derived))
    if summary.get("possible_duplicates"):
        what = "dropped (--drop-identical)" if summary.get("possible_duplicates_dropped") else \
            "kept; --drop-identical drops them"
        lines.append(f"  {_rows(summary['possible_duplicates'])} identical in every column to an earlier row "
                     f"(possibly one pass exported twice): {what}")
    return lines


def _rows(count):
    return f"{count:,} row" + ("" if count == 1 else "s")


def _identical_lines(data, summary):
    if not summary.get("possible_duplicates") or summary.get("possible_duplicates_dropped"):
        return []
    rows = data.possible_duplicates().head(REJECTED_SHOWN)
    lines = [f"Possible duplicates (the first {len(rows)} of {summary['possible_duplicates']:,}), kept"]
    lines += [f"  {row.file} line {row.line}: identical to {row.first_file} line {row.first_line}"
              for row in rows.itertuples()]
    return lines


def _rejected_lines(data, count):
    if not count:
        return []
    rows = data.rejected().head(REJECTED_SHOWN)
    lines = [f"Rejected rows (the first {len(rows)} of {count:,}; `passkit report` writes all to rejected.csv)"]
    lines += [f"  {row.file} line {row.line}: {row.reason}" for row in rows.itertuples()]
    return lines
