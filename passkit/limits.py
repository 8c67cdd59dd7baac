"""Pass limits: how many passes are out at once from and to each room, and the limit the range suggests.

rooms.csv may set `max_passes_from` (passes out at once from a room) and `max_passes_to` (to it). The
definitions (README "Pass Limits"):

- Only **timed** passes count: ended, and not before they started (the cache's `minutes`). A pass is
  **out** from its start (included) to its end (excluded): a pass ending at 9:05 and one starting at 9:05
  are never out together, and a pass of zero minutes is never out. Times are real instants (a pass's
  start read in the school's time zone, then its minutes), as Encounters compares them.
- **Replay:** the passes of one room (as origin for "from", as destination for "to"; in a district, of
  one school) in start order, ties by end, then pass_id. The passes **out before** a pass are the earlier
  ones in that order that have not ended at its start. Under a limit N a pass **waits** when N or more
  are out before it. The simplification: a waiting pass is still taken to leave at its recorded time,
  and every recorded pass counts as out, so one held pass does not push back the others. (The counts
  and minutes below do not depend on how passes with the same start and end are ordered.)
- **peak_out_from / peak_out_to:** the most passes out at one moment from / to the room in the range.
- **busy_days_from / busy_days_to:** the days on which the room's current limit was reached: at some
  moment, at least that many passes from / to it were out (the day is the local date of the pass that
  started then; a pass across midnight belongs to the day it started). Blank when rooms.csv gives the
  room no limit (or one below 1); 0 when the limit was never reached.
- **recommended_from / recommended_to:** the smallest limit N of at least 1 under which at most
  MAX_HELD_PERCENT (2%) of the room's timed passes from / to it would have waited, counted in whole
  passes (2 of 100, 1 of 99). Blank for a room without timed passes in that direction.
- **held_from / held_to:** the passes of the range that would have waited under the recommended limit
  (blank with it).
- **What-if** (`what_if`, `passkit report --what-if "ROOM=N"`): the passes from and to ROOM that would
  have waited under a limit of N, and the minutes they would have waited: until enough of the passes out
  before them had ended that fewer than N remained (with exactly N out, until the first of them ends).
- Rows: every room of rooms.csv (its current limits and folder) and every origin and destination of the
  range's passes (one seen only on untimed passes too, with nothing counted), busiest first: peak_out_to
  (most first), then room, then school. Limits and folders of rooms missing from rooms.csv are blank.

Speed: everything after one scan is numpy. Each text column is hashed once (Arrow) into room codes; each
direction is then one sort of the timed passes by (room, start) and one binary search of each start among
the room's sorted ends: the passes out before the i-th pass of a room are i less the room's passes ended
by its start. The recommendation is one more sort, of (room, out-before). Measured on a 40-school demo
district year (8.6 M passes, 3,040 rooms, a shared 2-core machine): about 4 s warm, 7.5 s cold.
"""

import re
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from .encounters import _micros, _real, _timezone  # the same real instants Encounters compares
from .errors import PasskitError
from .registry import Column, report
from .tables import collect as _collect_pandas, listed as _listed

MAX_HELD_PERCENT = 2  # a recommended limit holds at most this share (percent) of a room's passes
MS_US, MINUTE_MS, DAY_US = 1_000, 60_000, 86_400_000_000
DAY_TABLE = 1 << 26  # busy days are counted with a (room, day) table up to this many cells, else by sorting
DIRECTIONS = {"from": "origin", "to": "destination"}
WHAT_IF_HELP = ('a room and a limit, "ROOM=N": print how many passes from and to ROOM would have waited under a '
                "limit of N, and for how long")
WHAT_IF_FORM = re.compile(r"^(?P<room>.*\S)\s*=\s*(?P<limit>\d+)\s*$")


def _int_column(name, label):
    return Column(name, label, "int")  # blank where it does not apply


@report(
    title="Pass Limits",
    description="Passes out at once from and to each room, against its limits in rooms.csv, and a suggested limit.",
    columns=[Column("room", "Room", "text"), Column("folder", "Room folder", "text"),
             _int_column("max_passes_from", "Max passes from (now)"),
             _int_column("max_passes_to", "Max passes to (now)"),
             _int_column("peak_out_from", "Most out at once from"), _int_column("peak_out_to", "Most out at once to"),
             _int_column("busy_days_from", "Days the from limit was reached"),
             _int_column("busy_days_to", "Days the to limit was reached"),
             _int_column("recommended_from", "Recommended max from"),
             _int_column("recommended_to", "Recommended max to"),
             _int_column("held_from", "Passes held from (recommended)"),
             _int_column("held_to", "Passes held to (recommended)")],
    kind="table", needs=("end_time",),
    guidance=f"""\
- **Days the limit was reached** counts the days on which a room had as many passes out at once as its current
  limit (`max_passes_from` / `max_passes_to` in rooms.csv). A limit reached on most days is tight: students queue for
  the restroom, or the limit is worked around with passes to other rooms.
- **Recommended** is the smallest limit that would have held at most {MAX_HELD_PERCENT}% of the room's passes; *held* says
  how many. Compare it with the current limit: a current limit far above it is not limiting anything, one below it holds
  many passes.
- **Most out at once** is the busiest moment of the range. A restroom with a high peak but a low recommendation is busy
  now and then (the end of lunch), not all day.
- Try a limit before setting it: `passkit report --what-if "Restroom A=2"` prints how many passes would have waited,
  and how many minutes in all.""",
    words=lambda table: _sentence(table))
def room_limits(tables) -> pd.DataFrame:
    """One row per room of rooms.csv or of the range's passes, busiest first (see the module's definitions)."""
    passes = tables.once(_passes)
    listed = _listed_limits(tables)
    keys = sorted(set(passes.room_keys) | set(listed.index))
    table = listed.reindex(pd.MultiIndex.from_tuples(keys, names=["school", "room"]) if keys else listed.index)
    known = {key: code for code, key in enumerate(passes.room_keys)}
    code = np.array([known.get(key, -1) for key in keys], np.int64)
    for direction in DIRECTIONS:
        limit = table[f"max_passes_{direction}"].fillna(0).to_numpy(np.int64)
        figures = _figures(passes, direction, _by_code(code, limit, len(known)))
        timed = _by_row(code, figures.pop("passes")) > 0
        for name, values in figures.items():
            column = pd.array(_by_row(code, values), dtype="Int64")
            if name in ("recommended", "held"):
                column[~timed] = pd.NA
            elif name == "busy_days":
                column[limit < 1] = pd.NA
            table[f"{name}_{direction}"] = column
    return _arranged(table.reset_index())


NAME = room_limits.report.name  # the findings and --what-if find it by this


def what_if(tables, room: str, limit: int) -> dict:
    """{"from": Waits, "to": Waits}: the timed passes from / to `room` (in each chosen school) that would have
    waited under a limit of `limit` passes out at once, and the minutes they would have waited in all."""
    if int(limit) < 1:
        raise PasskitError(f"a limit is at least 1 pass, not {limit}")
    passes = tables.once(_passes)
    rooms = [code for code, (_, name) in enumerate(passes.room_keys) if name == room]
    return {direction: _waits(passes, direction, rooms, int(limit)) for direction in DIRECTIONS}


def parse_what_if(text: str) -> tuple[str, int]:
    """'Restroom A=2' -> ('Restroom A', 2); anything else is a one-line PasskitError."""
    match = WHAT_IF_FORM.match(str(text).strip())
    if not match or int(match["limit"]) < 1:
        raise PasskitError(f'--what-if takes ROOM=N, a room and a limit of at least 1, like "Restroom A=2", '
                           f"not {str(text)!r}")
    return match["room"].strip(), int(match["limit"])


def what_if_lines(tables, text: str) -> list[str]:
    """What `passkit report --what-if ROOM=N` prints: a line per direction, passes to the room first."""
    room, limit = parse_what_if(text)
    found = what_if(tables, room, limit)
    lines = []
    for direction, word in (("to", "to it"), ("from", "from it")):
        passes, minutes = found[direction]
        spent = f", {_number(minutes)} minutes in all" if passes else ""
        lines.append(f"{room} under a limit of {limit}: {passes:,} pass{'es' * (passes != 1)} {word} would have "
                     f"waited{spent}.")
    return lines


class Waits(NamedTuple):
    passes: int  # timed passes that would have waited
    minutes: float  # the minutes they would have waited, in all


# ---- the passes, as arrays ------------------------------------------------------------------------

class Passes(NamedTuple):
    """The range's passes as arrays. `room_keys` are the (school, room) pairs any pass names (timed or not:
    each is a row); the other arrays are of the timed passes only: real start and end (milliseconds), local
    day of the start, and per direction the code of its room in `room_keys` (-1: the pass names none)."""
    room_keys: list
    start: np.ndarray
    end: np.ndarray
    day: np.ndarray
    room: dict  # "from" / "to" -> codes


def _passes(tables) -> Passes:
    """One scan of the range: school, origin, destination, start and minutes of every pass."""
    table = tables.passes.select("school", "origin", "destination", "start_time", "minutes").collect(
        backend="pyarrow").to_native()
    keys, codes = _room_codes(table)
    minutes = table["minutes"].combine_chunks()
    timed = minutes.is_valid().to_numpy(zero_copy_only=False)
    local = _micros(table["start_time"])[timed]
    day = local // DAY_US
    start = _real(local, day, _timezone(tables.data)) // MS_US
    end = start + np.rint(minutes.filter(pa.array(timed)).to_numpy(zero_copy_only=False) * MINUTE_MS).astype(np.int64)
    return Passes(keys, start, end, day, {direction: code[timed] for direction, code in codes.items()})


def _room_codes(table: pa.Table) -> tuple[list, dict]:
    """The (school, room) pairs the passes name in either direction, and each pass's code into them per
    direction (-1: the pass names no room that way). Each text column is hashed once, by Arrow; the rest is
    arithmetic on the codes."""
    schools, school = _names(table["school"].cast(pa.string()).fill_null(""))
    (origins, origin), (destinations, destination) = _names(table["origin"]), _names(table["destination"])
    rooms = sorted(set(origins) | set(destinations))
    width = max(len(rooms), 1)
    place = {name: index for index, name in enumerate(rooms)}
    pair = {}
    for direction, names, codes in (("from", origins, origin), ("to", destinations, destination)):
        onto = np.array([place[name] for name in names] + [-1], np.int64)  # a null's code, -1, takes the last
        room = onto[codes]
        pair[direction] = np.where(room >= 0, school * width + room, -1)
    used = np.flatnonzero(np.bincount(np.concatenate([pair["from"], pair["to"]]) + 1,
                                      minlength=len(schools) * width + 1)[1:])  # a few thousand pairs
    code = np.full(len(schools) * width + 1, -1, np.int64)  # the last stays -1: no room
    code[used] = np.arange(len(used))
    keys = [(schools[value // width], rooms[value % width]) for value in used.tolist()]
    return keys, {direction: code[values] for direction, values in pair.items()}


def _names(column) -> tuple[list, np.ndarray]:
    """(the distinct values, each row's index into them; -1 for null)."""
    encoded = column.cast(pa.string()).dictionary_encode()  # one dictionary for every chunk
    if isinstance(encoded, pa.ChunkedArray):
        dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], pa.string())
        indices = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in encoded.chunks]
        return dictionary.to_pylist(), np.concatenate(indices or [np.zeros(0, np.int32)]).astype(np.int64)
    return encoded.dictionary.to_pylist(), encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _listed_limits(tables) -> pd.DataFrame:
    """rooms.csv's folder and limits by (school, room); empty without a rooms.csv (a bare frame has none)."""
    columns = ["folder", "max_passes_from", "max_passes_to"]
    rooms = _listed(tables.data, "rooms", "room", tables.schools)
    if rooms is None:
        found = pd.DataFrame({"school": [], "room": [], **{name: [] for name in columns}})
    else:
        have = rooms.collect_schema().names()
        found = _collect_pandas(rooms.select("school", "room", *(name for name in columns if name in have)))
    found = found.reindex(columns=["school", "room", *columns])
    found["school"] = found["school"].fillna("").astype(str)
    found["room"] = found["room"].astype(str)
    found["folder"] = pd.array(found["folder"].where(found["folder"].notna(), None), dtype="str")
    for name in columns[1:]:
        found[name] = pd.array(pd.to_numeric(found[name], errors="coerce"), dtype="Int64")
    return found.drop_duplicates(["school", "room"]).set_index(["school", "room"])


# ---- the replay, vectorised -----------------------------------------------------------------------

def _replayed(room: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An order of the passes by room and start, zero-minute passes first among a start's; for each pass in
    that order how many were out at its start before it; and whether it is ever out (not zero minutes).

    Out before a pass: its place in its room's run less the room's passes ended by its start. The ends are
    sorted once, packed with their room into one int64 key, and each start is found among them; the passes
    of earlier rooms come before it in both orders and cancel. A later zero-minute pass of the same start
    has ended by it without coming before it: `_zero_minute_later` adds those back. Which of the passes of
    one start comes first otherwise changes none of the report's figures (the what-if sorts by end too)."""
    if not len(start):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    base = int(start.min())
    span = int(end.max()) - base + 1  # ends are never before starts
    positive = end > start
    key = room * span + (start - base)
    order = np.argsort(key * 2 + positive)
    key = key[order]
    out = np.arange(len(key)) - np.searchsorted(np.sort(room * span + (end - base)), key, side="right")
    positive = positive[order]
    zero = np.flatnonzero(~positive)
    if len(zero):
        out[zero] += _zero_minute_later(zero, key[zero])
    return order, out, positive


def _zero_minute_later(zero: np.ndarray, key: np.ndarray) -> np.ndarray:
    """For each zero-minute pass (its place in the order, and its (room, start) key): it and the zero-minute
    passes of its room and start after it, which sort right after it."""
    new_run = np.r_[True, (np.diff(zero) != 1) | (np.diff(key) != 0)]
    last = np.r_[zero[np.flatnonzero(new_run)[1:] - 1], zero[-1]]
    return last[np.cumsum(new_run) - 1] - zero + 1


def _figures(passes: Passes, direction: str, limit: np.ndarray) -> dict:
    """Per room code: peak_out, busy_days (under `limit`, 0: none), recommended and held (0 without passes)."""
    rooms = len(passes.room_keys)
    room, start, end, day = passes.room[direction], passes.start, passes.end, passes.day
    if (room < 0).any():  # passes naming no room this way (an export without origins) are in no room's replay
        named = room >= 0
        room, start, end, day = room[named], start[named], end[named], day[named]
    order, out, positive = _replayed(room, start, end)
    room, day = room[order], day[order]
    out_now = out + positive  # out at its start with itself, unless it is zero minutes
    peak = np.zeros(rooms, np.int64)
    np.maximum.at(peak, room, out_now)
    count = np.bincount(room, minlength=rooms)
    recommended, held = _recommended(room, out, count)
    return {"peak_out": peak, "busy_days": _busy_days(room, day, out_now, limit), "recommended": recommended,
            "held": held, "passes": count}


def _recommended(room: np.ndarray, out: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per room, the smallest N >= 1 with at most MAX_HELD_PERCENT% of its passes having N or more out before
    them (one more than the (k+1)-th largest out-before, k the passes allowed to wait; 1 when k is all of
    them), and how many passes that N holds. One sort of (room, out) packed into an int64."""
    allowed = count * MAX_HELD_PERCENT // 100  # whole passes, in integers: 2% of 50 is exactly 1
    width = int(out.max()) + 2 if len(out) else 2
    keys = np.sort(room * width + out)
    last = np.cumsum(count)  # each room's keys end here
    inside = allowed < count
    found = np.ones(len(count), np.int64)
    found[inside] = keys[last[inside] - 1 - allowed[inside]] - np.flatnonzero(inside) * width + 1
    held = last - np.searchsorted(keys, np.arange(len(count)) * width + found, side="left")
    return found, held


def _busy_days(room, day, out_now, limit) -> np.ndarray:
    """Per room, the days on which as many passes as its limit (>= 1) were out at once."""
    reached = (limit[room] >= 1) & (out_now >= limit[room])
    if not reached.any():
        return np.zeros(len(limit), np.int64)
    first_day = int(day.min())
    days = int(day.max()) - first_day + 1
    pairs = room[reached] * days + (day[reached] - first_day)
    if len(limit) * days <= DAY_TABLE:  # a table of (room, day) beats sorting the pairs
        pairs = np.flatnonzero(np.bincount(pairs, minlength=len(limit) * days))
    else:
        pairs = np.unique(pairs)
    return np.bincount(pairs // days, minlength=len(limit))


def _waits(passes: Passes, direction: str, rooms: list, limit: int) -> Waits:
    """The passes of `rooms` (codes) that would have waited under `limit`, and for how long in all.

    A pass waits until fewer than `limit` of the passes before it are still out: until the limit-th latest end
    among the passes before it in its room. That running order statistic is `limit` running maxima:
    latest_k = running max of min(end, latest_(k-1) of the pass before), all in one int64 key per room so
    that no maximum crosses from one room to the next."""
    code = passes.room[direction]
    chosen = np.isin(code, rooms)
    room, start, end = code[chosen], passes.start[chosen], passes.end[chosen]
    if not len(start):
        return Waits(0, 0.0)
    order = np.lexsort((end, start, room))
    room, start, end = room[order], start[order], end[order]
    base, span = int(start.min()), int(end.max()) - int(start.min()) + 1
    start, end = room * span + (start - base), room * span + (end - base)
    latest = np.maximum.accumulate(end)
    for _ in range(limit - 1):
        latest = np.maximum.accumulate(np.minimum(end, np.r_[-1, latest[:-1]]))
    before = np.r_[-1, latest[:-1]]  # the limit-th latest end among the passes before each
    waiting = before > start
    return Waits(int(waiting.sum()), float((before[waiting] - start[waiting]).sum()) / MINUTE_MS)


# ---- the table ------------------------------------------------------------------------------------

def _by_code(code: np.ndarray, values: np.ndarray, rooms: int) -> np.ndarray:
    """Row values onto room codes (rows without passes dropped)."""
    found = np.zeros(rooms, values.dtype)
    found[code[code >= 0]] = values[code >= 0]
    return found


def _by_row(code: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A figure per room code onto the table's rows (0 for rows whose room no timed pass names)."""
    found = np.zeros(len(code), np.int64)
    found[code >= 0] = values[code[code >= 0]]
    return found


def _arranged(table: pd.DataFrame) -> pd.DataFrame:
    """The report's columns, busiest first (peak_out_to, then room, then school); no school column for one
    unnamed school."""
    table = table.assign(folder=pd.array(table["folder"].fillna(""), dtype="str"),
                         room=pd.array(table["room"], dtype="str"), school=pd.array(table["school"], dtype="str"))
    order = np.lexsort((table["school"].to_numpy(object), table["room"].to_numpy(object),
                        -table["peak_out_to"].to_numpy(np.int64)))
    table = table.take(order).reset_index(drop=True)
    columns = [column.name for column in room_limits.report.columns]
    return table[["school", *columns] if (table["school"] != "").any() else columns]


def _sentence(table: pd.DataFrame) -> str:
    """The chart's text alternative: the busiest destination and its limits."""
    top = table.iloc[0]
    now = top["max_passes_to"]
    current = f"; its limit now is {int(now)}" if pd.notna(now) else "; it has no limit now"
    suggested = (f", and a limit of {int(top['recommended_to'])} would have held {int(top['held_to']):,} of its passes"
                 if pd.notna(top["recommended_to"]) else "")
    return (f"{len(table):,} rooms. The most passes out at once to one room: {int(top['peak_out_to']):,} to "
            f"{top['room']}{current}{suggested}.")


def _number(value: float) -> str:
    """412.0 -> '412', 7.25 -> '7.3' (minutes to a tenth)."""
    return f"{value:,.1f}".removesuffix(".0")
