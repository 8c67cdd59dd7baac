"""Accommodations: the students listed in `exempt.csv` (an IEP, a 504 plan, a medical need).

    student_id,school,reason        school is optional (a row without one applies in every school);
    S1042,,bladder condition        reason is optional and never read: passkit only needs who

An exempt student still counts in every total, but is never singled out: never an outlier (nor in
the quartiles the outliers are measured against), never in Frequent Flyers, a long-pass list or a
finding about an individual. Reports get this through `Tables.without_exempt` / `Tables.is_exempt`
(see README "Adding a report"). The file is read once per load, beside the cache (it is small, and
editing it must not re-parse the exports); the `reason` column is never even selected.
"""

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from .readers import read_table

FILE = "exempt.csv"
COLUMNS = (("student_id",), ("school",))  # never "reason": it stays in the file


@dataclass(frozen=True)
class Exempt:
    keys: frozenset  # student_key (as in the cache) of every exempt student with a kept pass
    ids: frozenset  # the same students as (school, student_id); school is "" for one unnamed school
    rows: int  # rows of exempt.csv
    not_found: int  # rows naming no student with a kept pass (maybe a typo; maybe no pass yet)
    blank: int  # rows without a student_id

    def counts(self) -> dict:
        """What the load summary says about exempt.csv (numbers only)."""
        return {"rows": self.rows, "students": len(self.keys), "not_found": self.not_found,
                "without_student_id": self.blank}


def read(path: Path, data) -> Exempt:
    """The students `path` lists, matched to `data.students` (a PassData's): by school and id, or by
    id in every school when the row names no school."""
    table, _ = read_table(path, *COLUMNS)
    if "school" not in table.column_names:
        table = table.append_column("school", pa.nulls(table.num_rows, pa.string()))
    con = data.con.cursor()  # a cursor: the registered rows stay out of the PassData's own connection
    try:
        con.register("exempt_rows", table.select(["student_id", "school", "_line"]))
        matches = con.execute("""
            SELECT e._line, s.student_key, s.school, s.student_id
            FROM exempt_rows e JOIN students s
              ON s.student_id = e.student_id AND (e.school IS NULL OR s.school = e.school)
            WHERE e.student_id IS NOT NULL""").fetchall()
        blank = con.execute("SELECT count(*) FROM exempt_rows WHERE student_id IS NULL").fetchall()[0][0]
    finally:
        con.close()
    found_lines = {line for line, *_ in matches}
    return Exempt(keys=frozenset(key for _, key, _, _ in matches),
                  ids=frozenset((school, student_id) for _, _, school, student_id in matches),
                  rows=table.num_rows, not_found=table.num_rows - blank - len(found_lines), blank=blank)


def attach(data, path: Path | None):
    """Give `data` its exempt students (none without the file) and put their counts in its load summary."""
    if path is not None:
        data.exempt = read(path, data)
        data.summary = {**data.summary, "exempt": data.exempt.counts()}
    return data
