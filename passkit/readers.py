"""Read one export file (CSV or XLSX) into tables of trimmed strings named by passkit's columns.

Nothing is typed here: validation decides what a value means, so that a bad value becomes a
rejected row with a reason instead of a parser error. Decided here: the file's encoding and
delimiter, which of its first 20 rows is the header and in which layout (`columns.detect`), the
physical line each row starts on, and which rows are blank, malformed or too long.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .columns import DuplicateColumns, Layout, Match, canonical, detect, missing_required
from .errors import PasskitError

LINE = "_line"  # the physical line (1 = the file's first) where the row starts; an XLSX row's number
HEADER_ROWS = 20  # the header is looked for in this many first rows
DELIMITERS = (",", ";", "\t", "|")
MAX_ROW_BYTES = 2 ** 20
MALFORMED = "the row has the wrong number of fields"
TOO_LONG = "the row is longer than 1 MB"
CONTROL = r"[\x00-\x1f\x7f-\x9f]+"  # control characters, which no name or room holds on purpose
# One pass over a file's bytes keeps these: control characters (line ends too), quotes, and the lead
# byte of U+0080-U+00BF in UTF-8 (where the C1 controls are).
_KEPT_BYTES = bytes(range(32)) + b'\x7f"\xc2'
_NOT_KEPT = bytes(b for b in range(256) if b not in _KEPT_BYTES)
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "s")
_TIME_COLUMNS = ("start_time", "end_time")


@dataclass
class Part:
    """The passes of one file (or one sheet of a workbook)."""
    label: str  # the file's name relative to the data folder, plus ' [sheet]' for a workbook's further sheets
    table: pa.Table  # passkit columns as strings (blank -> null) plus LINE
    layout: Layout
    columns: dict  # their header -> passkit column
    rejected: list = field(default_factory=list)  # (line, reason) of rows rejected while reading
    notes: dict = field(default_factory=dict)  # how the file was read, for the load summary


def read_passes(path: Path, column_map: Layout | None = None, label: str | None = None) -> list[Part]:
    """The passes in one export: one part, or one per sheet of a workbook whose header matches."""
    path = Path(path)
    label = label or path.name

    def find(cells):
        return detect(cells, column_map)

    sheets = _guarded(path, lambda: _read_xlsx(path, find) if _is_xlsx(path) else _read_csv(path, find))
    parts = []
    for sheet, (match, table, rejected, notes) in sheets:
        table = _clean(table, match.layout.blank)
        table, rejected, notes = _finish(table, rejected, notes)
        name = label if sheet is None or sheet == sheets[0][0] else f"{label} [{sheet}]"
        parts.append(Part(name, table, match.layout, match.mapping(), rejected, notes))
    return parts


def read_table(path: Path, required=(), optional=(), rename=None) -> tuple[pa.Table, list[int]]:
    """A side file (rooms, roster, users, staff): (its known columns as strings plus LINE, lines of malformed rows).

    `rename` maps canonical headers to passkit names (a column map's `columns`).
    """
    path, rename = Path(path), rename or {}
    wanted = (*required, *optional)

    def find(cells):
        columns = {}
        for index, cell in enumerate(cells):
            name = rename.get(canonical(cell), canonical(cell))
            if name in wanted:
                if name in columns.values():
                    first = next(i for i, c in columns.items() if c == name)
                    raise DuplicateColumns(name, cells[first], first, cell, index)
                columns[index] = name
        if set(required) <= set(columns.values()):
            return Match(Layout(name="side"), columns, {i: str(cells[i]).strip() for i in columns})
        return None

    def missing(cells):
        names = {rename.get(canonical(c), canonical(c)) for c in cells}
        return next(c for c in required if c not in names)

    sheets = _guarded(path, lambda: _read_xlsx(path, find, missing) if _is_xlsx(path)
                      else _read_csv(path, find, missing))
    _, (match, table, rejected, notes) = sheets[0]
    table, rejected, _ = _finish(_clean(table, ()), rejected, notes)
    return table, [line for line, _ in rejected]


def _guarded(path, read):
    if not path.is_file():
        raise PasskitError("file not found", file=path)
    try:
        return read()
    except PasskitError:
        raise
    except DuplicateColumns as exc:
        raise PasskitError(str(exc), file=path) from None
    except MemoryError:
        raise PasskitError("is too large to read in this machine's memory", file=path) from None
    except Exception as exc:  # the parser's own message may quote student data: keep only its kind
        kind = "XLSX" if _is_xlsx(path) else "CSV"
        raise PasskitError(f"cannot be read as {kind} ({type(exc).__name__})", file=path) from None


def _is_xlsx(path: Path) -> bool:
    return path.suffix.lower() == ".xlsx"


# ---- CSV -------------------------------------------------------------------------------------------

def _read_csv(path: Path, find, missing=None):
    """[(None, (match, table by passkit column, rejected, notes))] for one CSV file."""
    data = path.read_bytes()
    data, encoding = _as_utf8(data)
    if not data or data.isspace():
        raise PasskitError("the file is empty (no header row)", file=path)
    delimiter, (header_end, header), match = _find_header(data, find, path, missing)
    names = [f"c{i}" for i in range(len(header))]
    wanted = sorted(match.columns)
    kept = data.translate(None, _NOT_KEPT)  # small: mostly the line ends
    # Only a quote can put a line break inside a value; the parser is a quarter slower allowing for it.
    quoted, repaired = b'"' in kept, []
    columns = [names[i] for i in wanted]
    try:
        table, invalid = _arrow_read(data, delimiter, header_end, names, columns, quoted, threads=True), []
    except pa.ArrowInvalid:  # a malformed row, or text that is not UTF-8: read again, row by row
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data, repaired, encoding = _repaired(data)
        invalid = []
        table = _arrow_read(data, delimiter, header_end, names, columns, quoted, threads=False, invalid=invalid)
    table = table.rename_columns([match.columns[i] for i in wanted])
    lines = kept.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    rows = table.num_rows + len(invalid)
    starts, empty_lines = _row_starts(data, delimiter, header_end, rows, lines)
    if starts is None:
        raise PasskitError("its rows cannot be numbered (an unbalanced quote?)", file=path)
    if invalid:  # rows after the header, numbered from 1, that the parser skipped
        skipped = np.asarray([number - header_end for number, _ in invalid], np.int64)
        starts_kept = starts[np.setdiff1d(np.arange(1, len(starts) + 1), skipped, assume_unique=True) - 1]
    else:
        starts_kept = starts
    table = table.append_column(LINE, pa.array(starts_kept, pa.int64()))
    rejected, blank = [], empty_lines
    for number, text in invalid:
        if text.strip(" \t\r\n" + delimiter):
            rejected.append((int(starts[number - header_end - 1]), MALFORMED))
        else:  # whitespace or delimiters only: a blank row
            blank += 1
    # line breaks inside values (rows that are not one line each) are control characters too
    suspected = _control_characters_suspected(data, kept, delimiter) or rows + empty_lines != lines - header_end
    notes = {"encoding": encoding, "delimiter": {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter],
             "header_line": header_end, "blank_rows": blank, "_controls": suspected}
    if repaired:
        notes["rows_repaired"] = repaired
    return [(None, (match, table, rejected, notes))]


def _as_utf8(data: bytes) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 without a byte-order mark, and the encoding it was in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16", errors="replace").encode("utf-8"), "utf-16"
    head = data[:4096]
    if len(head) > 3 and head.count(b"\x00") > len(head) // 4:  # UTF-16 without a byte-order mark
        codec = "utf-16-le" if head[1::2].count(b"\x00") > head[0::2].count(b"\x00") else "utf-16-be"
        return data.decode(codec, errors="replace").encode("utf-8"), "utf-16"
    return data, "utf-8"


def _find_header(data: bytes, find, path, missing=None):
    """(delimiter, (the header's last physical line, its cells), match): the first of the first 20
    rows that `find` accepts, trying each delimiter in turn."""
    for size in (1 << 14, 1 << 20):  # 20 rows fit in 16 KB but for odd files
        found = _header_in(data, size, find)
        if found[0] or len(data) <= size:
            break
    match, text, first = found
    if match:
        return match
    raise _no_header(path, text, first, missing)


def _header_in(data, size, find):
    """((delimiter, (header's last line, cells), match) or None, the text searched, the first row)."""
    head = data[:size]
    if len(data) > len(head) and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("cp1252", errors="replace")
    first = None
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        seen = 0
        try:
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                first = first or cells
                match = find(cells)
                if match:
                    return (delimiter, (reader.line_num, cells), match), text, first
                seen += 1
                if seen == HEADER_ROWS:
                    break
        except csv.Error:
            continue
    return None, text, first


def _no_header(path, text, first, missing, where=f"the first {HEADER_ROWS} rows"):
    """Why no header row was found, as one error line (headers are not student data; values are never shown)."""
    if missing and first:
        return PasskitError("required column is missing", file=path, column=missing(first))
    known = _known_columns(first or [])
    if known:  # the first row is a header, short of a required column
        group = (missing_required(known) or [("student_id", "start_time")])[0]
        return PasskitError(f"required column is missing (a passes export needs {' or '.join(group)}; the header "
                            f"has {', '.join(sorted(known))})", file=path, column=group[0])
    if "\x00" in text:
        return PasskitError("looks like a binary file, not a CSV export", file=path)
    return PasskitError(f"no header row with a student, a room and a start time in {where} (is the export "
                        "delimited by commas, semicolons or tabs, and are its columns named?)", file=path)


def _known_columns(cells):
    """The passkit columns of the layout that finds the most in a header row."""
    from .columns import layouts

    best = set()
    for layout in layouts():
        try:
            found = set(layout.columns_of(cells).values())
        except DuplicateColumns:
            continue
        if len(found) > len(best):
            best = found
    return best


def _arrow_read(data, delimiter, skip_lines, names, wanted, quoted, threads, invalid=None):
    """The wanted columns as text. Without `invalid`, a malformed row raises ArrowInvalid; with it,
    it is skipped and (row number, text) appended (only a single-threaded read numbers rows)."""
    def skip(row):  # a row with too few or too many fields is rejected, not fatal
        invalid.append((row.number, row.text))
        return "skip"

    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(use_threads=threads, skip_rows=skip_lines, column_names=names),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted,
                                         invalid_row_handler=skip if invalid is not None else None),
        convert_options=pacsv.ConvertOptions(include_columns=wanted, column_types={n: pa.string() for n in wanted},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))


def _repaired(data: bytes) -> tuple[bytes, list, str]:
    """The bytes with each line that is not UTF-8 read as Windows-1252 (a byte Excel wrote for 'ë' in
    an otherwise UTF-8 file, or a whole file Excel saved on Windows); the repaired lines; the encoding."""
    lines, repaired, foreign = data.split(b"\n"), [], 0
    for number, line in enumerate(lines):
        if line.isascii():
            continue
        foreign += 1
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines[number] = line.decode("cp1252", errors="replace").encode("utf-8")
            repaired.append(number + 1)
    return b"\n".join(lines), repaired, "windows-1252" if len(repaired) == foreign else "utf-8"


def _row_starts(data: bytes, delimiter, skip_lines, rows, lines):
    """(The physical line each non-empty row after the header starts on, as the parser counts rows;
    the number of empty lines after the header), given the file's number of lines."""
    if lines - skip_lines == rows:  # no blank lines and no line breaks inside values: a row is a line
        return np.arange(skip_lines + 1, skip_lines + rows + 1, dtype=np.int64), 0
    # Otherwise csv (as the parser, quote-aware) tells where each row starts. Latin-1 keeps one
    # character per byte, and line breaks are the same in every encoding read here.
    reader = csv.reader(io.StringIO(data.decode("latin-1"), newline=""), delimiter=delimiter)
    limit = csv.field_size_limit()
    csv.field_size_limit(2 ** 31 - 1)  # a row over 1 MB is rejected later, with its line
    starts, empty, line = [], 0, 0
    try:
        for cells in reader:
            if reader.line_num > skip_lines:
                if cells:
                    starts.append(line + 1)
                else:
                    empty += 1
            line = reader.line_num
    finally:
        csv.field_size_limit(limit)
    if len(starts) != rows:  # the two parsers disagree (never seen): better no numbers than wrong ones
        return None, 0
    return np.asarray(starts, dtype=np.int64), empty


def _control_characters_suspected(data: bytes, kept: bytes, delimiter) -> bool:
    """True when the bytes hold control characters other than line ends (and the tab delimiter),
    judged from `kept` (see _KEPT_BYTES): cheap for every file; the per-value work runs only then."""
    lf, cr = kept.count(b"\n"), kept.count(b"\r")
    expected = lf + cr + kept.count(b'"') + kept.count(b"\xc2") + (kept.count(b"\t") if delimiter == "\t" else 0)
    if len(kept) != expected or cr not in (0, lf):  # another control character, or a CR that ends no line
        return True
    return b"\xc2" in kept and re.search(rb"\xc2[\x80-\x9f]", data) is not None


# ---- XLSX ------------------------------------------------------------------------------------------

def _read_xlsx(path: Path, find, missing=None):
    """[(sheet name, (match, table, rejected, notes))] for every sheet whose header matches."""
    import openpyxl  # only needed for spreadsheet exports

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    found, ignored, first = [], [], None
    try:
        for sheet in book.worksheets:
            rows = enumerate(sheet.iter_rows(min_row=1), start=1)  # (row number, cells); gaps come as empty rows
            match, header_row, seen = None, 0, 0
            for header_row, cells in rows:
                values = [_cell_text(c, None) for c in cells]
                if not any(v for v in values):
                    continue
                first = first or values
                match = find([v or "" for v in values])
                seen += 1
                if match or seen == HEADER_ROWS:
                    break
            if not match:
                ignored.append(sheet.title)
                continue
            found.append((sheet.title, _sheet_table(rows, match, header_row)))
    finally:
        book.close()
    if not found:
        raise _no_header(path, "", first, missing, f"the first {HEADER_ROWS} rows of any sheet")
    for _, (_, _, _, notes) in found:
        notes["sheets_ignored"] = ignored
    return found


def _sheet_table(rows, match, header_row):
    """The rows after a sheet's header (`rows` yields (row number, cells)) as a table of passkit columns."""
    wanted = sorted(match.columns)
    values = {i: [] for i in wanted}
    lines, blank = [], 0
    for number, cells in rows:
        texts = [_cell_text(cells[i], match.columns[i]) if i < len(cells) else None for i in wanted]
        if not any(t and t.strip() for t in texts):
            blank += 1
            continue
        for i, text in zip(wanted, texts):
            values[i].append(text)
        lines.append(number)
    table = pa.table({match.columns[i]: pa.array(values[i], pa.string()) for i in wanted})
    table = table.append_column(LINE, pa.array(lines, pa.int64()))
    notes = {"encoding": "xlsx", "header_line": header_row, "blank_rows": blank, "_controls": True}
    return match, table, [], notes


def _cell_text(cell, column):
    """A cell as the text an export would carry: date-times as ISO 8601, a date cell without a time
    as a date alone (rejected as having no time), Excel serial numbers in a time column as date-times."""
    import datetime as dt

    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and not _has_time_format(cell):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if column in _TIME_COLUMNS and 1 <= value < 2958466:  # days since 1899-12-30 (Excel's epoch)
            moment = _EXCEL_EPOCH + np.timedelta64(round(value * 86400), "s")
            text = str(moment)
            return text[:10] if float(value).is_integer() else text
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value)


def _has_time_format(cell) -> bool:
    number_format = str(getattr(cell, "number_format", "") or "").lower()
    return any(code in number_format for code in ("h", "s", "am/pm"))


# ---- shared ----------------------------------------------------------------------------------------

def _clean(table: pa.Table, blank_words) -> pa.Table:
    """Trim spaces; blank (or a layout's word for blank, such as '-') -> null."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if name != LINE:
            column = pc.utf8_trim_whitespace(column.cast(pa.string()))
            empty = pc.equal(column, "")
            if blank_words:
                empty = pc.or_(empty, pc.is_in(pc.utf8_lower(column), value_set=pa.array(blank_words, pa.string())))
            column = pc.if_else(empty, pa.scalar(None, pa.string()), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _finish(table, rejected, notes):
    """Control characters replaced, rows over 1 MB rejected, blank rows dropped (counted in notes)."""
    values = [n for n in table.column_names if n != LINE]
    if notes.pop("_controls", False) and values:
        touched = None
        for name in values:
            column = table.column(name)
            hit = pc.fill_null(pc.match_substring_regex(column, CONTROL), False)
            if pc.any(hit).as_py():
                cleaned = pc.utf8_trim_whitespace(pc.replace_substring_regex(column, CONTROL, " "))
                table = table.set_column(table.column_names.index(name), name,
                                         pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, pa.string()), cleaned))
                touched = hit if touched is None else pc.or_(touched, hit)
        if touched is not None:
            notes["control_character_rows"] = int(pc.sum(touched).as_py())
    if sum(pc.max(pc.binary_length(table.column(n))).as_py() or 0 for n in values) > MAX_ROW_BYTES:
        total = pa.scalar(0, pa.int32())
        for name in values:
            total = pc.add(total, pc.fill_null(pc.binary_length(table.column(name)), 0))
        long = pc.greater(total, MAX_ROW_BYTES)
        rejected = rejected + [(line, TOO_LONG) for line in table.column(LINE).filter(long).to_pylist()]
        table = table.filter(pc.invert(long))
    # a blank row has no start time: look at the others only when some start time is missing
    first = "start_time" if "start_time" in values else (values[0] if values else None)
    if first and table.column(first).null_count:
        empty = pc.is_null(table.column(first))
        for name in values:
            empty = pc.and_(empty, pc.is_null(table.column(name)))
        blank = int(pc.sum(empty).as_py() or 0)
        if blank:
            notes["blank_rows"] = notes.get("blank_rows", 0) + blank
            table = table.filter(pc.invert(empty))
    return table, sorted(rejected), notes
