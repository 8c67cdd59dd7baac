"""Pass Limits: passes out at once from and to each room, against hand-computed tables."""

import numpy as np
import pandas as pd
import pytest

import passkit
from passkit import findings, limits, notebook, registry
from passkit.cli import main
from passkit.errors import PasskitError
from passkit.limits import room_limits
from passkit.tables import Tables

from .conftest import HEADER, pass_row, write_csv

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (f"2026-01-0{day}" for day in range(5, 10))
COLUMNS = ["room", "folder", "max_passes_from", "max_passes_to", "peak_out_from", "peak_out_to", "busy_days_from",
           "busy_days_to", "recommended_from", "recommended_to", "held_from", "held_to"]
ROOMS = (["room", "folder", "max_passes_from", "max_passes_to"],
         [["Restroom A", "Restrooms", "", "2"], ["Room 101", "Science", "1", ""], ["Nurse", "Health", "", ""]])
NA = None


def at(day, hhmm):
    return f"{day}T{hhmm}:00"


def trip(pass_id, start, end, origin="Room 101", destination="Restroom A", day=MONDAY, student="S1"):
    return pass_row(pass_id, student, at(day, start), at(day, end) if end else "", origin=origin,
                    destination=destination)


# Monday, all to Restroom A. Out before each (to): p1 0, p2 1, p3 1 (p2 ended at 9:05 as p3 left), p4 2.
SMALL = [
    trip(1, "09:00", "09:10"),
    trip(2, "09:02", "09:05", origin="Room 102"),
    trip(3, "09:05", "09:08"),  # touches p2's end: not out together
    trip(4, "09:06", "09:07", origin="Room 103"),  # p1, p3 and p4 out: the peak, 3
    trip(5, "09:20", ""),  # never ended: not counted
    pass_row(6, "S1", at(MONDAY, "09:30"), at(MONDAY, "09:20")),  # ended before it started: not counted
]


def plain(table):
    """The table as lists, blanks as None."""
    return table.astype(object).where(table.notna(), None).values.tolist()


@pytest.fixture
def small(folder):
    return folder(SMALL, rooms=ROOMS)


def test_room_limits_by_hand(small):
    table = room_limits(small, MONDAY, MONDAY)
    assert list(table.columns) == COLUMNS
    assert plain(table) == [
        # n=4 to Restroom A: 2% of 4 is no pass, so the limit lets all through: one more than the most out before (2)
        ["Restroom A", "Restrooms", NA, 2, 0, 3, NA, 1, NA, 3, NA, 0],
        ["Nurse", "Health", NA, NA, 0, 0, NA, NA, NA, NA, NA, NA],  # listed, no passes: blank
        ["Room 101", "Science", 1, NA, 2, 0, 1, NA, 2, NA, 0, NA],  # p1 and p3 out together from it
        ["Room 102", "", NA, NA, 1, 0, NA, NA, 1, NA, 0, NA],
        ["Room 103", "", NA, NA, 1, 0, NA, NA, 1, NA, 0, NA]]
    assert str(table["peak_out_to"].dtype) == "Int64" and table["folder"].dtype == "str"


def test_touching_passes_are_not_out_together(folder):
    data = folder([trip(1, "09:00", "09:05"), trip(2, "09:05", "09:10"), trip(3, "09:10", "09:15")])
    row = room_limits(data, MONDAY, MONDAY).iloc[0]
    assert (row["room"], row["peak_out_to"], row["recommended_to"], row["held_to"]) == ("Restroom A", 1, 1, 0)


def test_untimed_passes_count_in_no_figure_but_their_rooms_are_rows(folder):
    data = folder([trip(1, "09:00", ""), trip(2, "09:01", "", destination="Library"),
                   pass_row(3, "S1", at(MONDAY, "09:30"), at(MONDAY, "09:20"))])
    table = room_limits(data, MONDAY, MONDAY)
    assert plain(table[["room", "peak_out_from", "peak_out_to", "recommended_from", "recommended_to"]]) == [
        ["Library", 0, 0, NA, NA], ["Restroom A", 0, 0, NA, NA], ["Room 101", 0, 0, NA, NA]]


def test_zero_minute_passes_are_never_out(folder):
    data = folder([trip(1, "09:00", "09:00"), trip(2, "09:00", "09:00"), trip(3, "09:00", "09:04"),
                   trip(4, "09:00", "09:00"), trip(5, "09:02", "09:03")])
    row = room_limits(data, MONDAY, MONDAY).set_index("room").loc["Restroom A"]
    assert (row["peak_out_to"], row["recommended_to"]) == (2, 2)  # only p3 and p5 are ever out, p5 while p3 is
    waits = limits.what_if(Tables(data, MONDAY, MONDAY), "Restroom A", 1)
    assert waits["to"] == (1, 2.0), "p3 sorts after the zero-minute passes of its start: only p5 waits, to 9:04"


def test_a_limit_reached_on_three_days(folder):
    rows = []
    for number, day in enumerate((MONDAY, TUESDAY, WEDNESDAY)):  # two out at once: the limit of 2 reached
        rows += [trip(10 * number + 1, "10:00", "10:10", day=day), trip(10 * number + 2, "10:05", "10:12", day=day)]
    rows += [trip(41, "10:00", "10:05", day=THURSDAY), trip(42, "10:05", "10:10", day=THURSDAY),  # touching
             trip(51, "10:00", "10:10", day=FRIDAY)]
    data = folder(rows, rooms=ROOMS)
    row = room_limits(data, MONDAY, FRIDAY).set_index("room").loc["Restroom A"]
    assert (row["max_passes_to"], row["busy_days_to"], row["peak_out_to"]) == (2, 3, 2)
    assert room_limits(data, THURSDAY, FRIDAY).set_index("room").loc["Restroom A", "busy_days_to"] == 0
    from_101 = room_limits(data, MONDAY, FRIDAY).set_index("room").loc["Room 101"]
    assert (from_101["max_passes_from"], from_101["busy_days_from"]) == (1, 5), "a limit of 1 is reached by any pass"
    hot = [finding for finding in findings.hot_spot(Tables(data, MONDAY, FRIDAY)) if "limit" in finding["title"]]
    assert [finding["title"] for finding in hot] == [  # what Findings reads of the table
        "Restroom A reached its limit of 2 passes to it on 3 days.",
        "Room 101 reached its limit of 1 pass from it on 5 days."]


def test_a_pass_across_midnight_reaches_the_limit_on_the_day_it_started(folder):
    data = folder([pass_row(1, "S1", at(MONDAY, "23:50"), at(TUESDAY, "00:30")),
                   pass_row(2, "S2", at(TUESDAY, "00:10"), at(TUESDAY, "00:20"))], rooms=ROOMS)
    row = room_limits(data, MONDAY, TUESDAY).set_index("room").loc["Restroom A"]
    assert (row["peak_out_to"], row["busy_days_to"]) == (2, 1)
    assert room_limits(data, MONDAY, MONDAY).set_index("room").loc["Restroom A", "peak_out_to"] == 1


def test_passes_overlap_in_real_time_across_the_spring_forward_change(folder):
    # America/Chicago, 2026-03-08: 01:50 to 03:10 on the wall is 20 real minutes; 03:00 is 10 minutes before its end
    day = "2026-03-08"
    data = folder([pass_row(1, "S1", at(day, "01:50"), at(day, "03:10")),
                   pass_row(2, "S2", at(day, "03:00"), at(day, "03:05"))])
    assert room_limits(data, day, day).set_index("room").loc["Restroom A", "peak_out_to"] == 2


def recommendation_rows(isolated, cluster=4):
    """`isolated` passes to Restroom A on Monday, none out together, and on Tuesday `cluster` passes leaving a
    minute apart and all back at 10:30: out before them 0, 1, 2, 3."""
    rows = [pass_row(number, f"S{number}", at(MONDAY, f"{8 + number * 6 // 60:02d}:{number * 6 % 60:02d}"),
                     at(MONDAY, f"{8 + (number * 6 + 5) // 60:02d}:{(number * 6 + 5) % 60:02d}"))
            for number in range(isolated)]
    return rows + [pass_row(1000 + k, f"T{k}", at(TUESDAY, f"10:0{k}"), at(TUESDAY, "10:30")) for k in range(cluster)]


def test_the_recommendation_holds_at_most_two_percent_of_the_passes(folder):
    assert limits.MAX_HELD_PERCENT == 2
    data = folder(recommendation_rows(96))  # 100 passes: 2 may wait. Under 2: the 3rd and 4th of the cluster wait
    row = room_limits(data, MONDAY, TUESDAY).set_index("room").loc["Restroom A"]
    assert (row["peak_out_to"], row["recommended_to"], row["held_to"]) == (4, 2, 2)
    fewer = folder(recommendation_rows(95))  # 99 passes: only 1 may wait, so 3 (only the 4th waits)
    row = room_limits(fewer, MONDAY, TUESDAY).set_index("room").loc["Restroom A"]
    assert (row["recommended_to"], row["held_to"]) == (3, 1)


def test_what_if_counts_waiting_passes_and_minutes(small):
    tables = Tables(small, MONDAY, MONDAY)
    # limit 2: p4 (9:06) waits until the 2nd latest end before it (p3's 9:08): 2 minutes
    assert limits.what_if(tables, "Restroom A", 2) == {"from": (0, 0.0), "to": (1, 2.0)}
    # limit 1: p2, p3, p4 wait for p1's 9:10: 8 + 5 + 4 minutes
    assert limits.what_if(tables, "Restroom A", 1)["to"] == (3, 17.0)
    assert limits.what_if(tables, "Room 101", 1) == {"from": (1, 5.0), "to": (0, 0.0)}
    assert limits.what_if(tables, "Nowhere", 1) == {"from": (0, 0.0), "to": (0, 0.0)}
    assert limits.what_if_lines(tables, "Restroom A = 1") == [
        "Restroom A under a limit of 1: 3 passes to it would have waited, 17 minutes in all.",
        "Restroom A under a limit of 1: 0 passes from it would have waited."]


def test_what_if_agrees_with_the_table_on_a_demo_school(demo_data):
    tables = Tables(demo_data, "2026-01-05", "2026-03-27")
    table = tables.get("room_limits").set_index("room")
    for room in ("Restroom A", "Nurse"):
        for direction in ("to", "from"):
            recommended = table.loc[room, f"recommended_{direction}"]
            if pd.notna(recommended):
                waits = limits.what_if(tables, room, int(recommended))[direction]
                assert waits.passes == table.loc[room, f"held_{direction}"]
                assert (waits.passes == 0) == (waits.minutes == 0)


@pytest.mark.parametrize("text", ["Restroom A", "=2", "Restroom A=0", "Restroom A=two", "Restroom A=-1", ""])
def test_what_if_parse_errors_name_the_form(text):
    with pytest.raises(PasskitError, match=r'^--what-if takes ROOM=N, a room and a limit of at least 1, like '
                                           r'"Restroom A=2", not ') as caught:
        limits.parse_what_if(text)
    assert "\n" not in str(caught.value)


def test_what_if_on_the_command_line(small, tmp_path, capsys):
    arguments = ["report", "--data", str(tmp_path / "data"), "--start", MONDAY, "--end", MONDAY,
                 "--cache", str(tmp_path / "cache")]
    assert main([*arguments, "--out", str(tmp_path / "out"), "--what-if", "Restroom A=2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2:] == ["Restroom A under a limit of 2: 1 pass to it would have waited, 2 minutes in all.",
                            "Restroom A under a limit of 2: 0 passes from it would have waited."]
    written = pd.read_csv(tmp_path / "out" / "room_limits.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == COLUMNS
    assert written.iloc[0].tolist() == ["Restroom A", "Restrooms", "", "2", "0", "3", "", "1", "", "3", "", "0"]
    assert main([*arguments, "--out", str(tmp_path / "other"), "--what-if", "Restroom A"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ROOM=N" in error
    assert not (tmp_path / "other").exists(), "refused before anything is read or written"


def test_no_rooms_csv_leaves_the_limits_blank(folder):
    table = room_limits(folder(SMALL), MONDAY, MONDAY)
    assert table["room"].tolist() == ["Restroom A", "Room 101", "Room 102", "Room 103"]
    assert table["folder"].tolist() == [""] * 4
    assert table[["max_passes_from", "max_passes_to", "busy_days_from", "busy_days_to"]].isna().all(axis=None)
    assert table["recommended_to"].tolist()[0] == 3


def test_a_bare_frame_has_no_rooms_csv(small):
    frame = small.passes.collect("pandas").to_native()
    table = room_limits(frame, MONDAY, MONDAY)
    assert table["room"].tolist() == ["Restroom A", "Room 101", "Room 102", "Room 103"]
    assert table["max_passes_to"].isna().all() and table["peak_out_to"].tolist() == [3, 0, 0, 0]


def test_an_empty_range_lists_the_rooms_of_rooms_csv(small):
    table = room_limits(small, "2026-02-02", "2026-02-06")
    assert table["room"].tolist() == ["Nurse", "Restroom A", "Room 101"]
    assert table["peak_out_to"].tolist() == [0, 0, 0] and table["recommended_to"].isna().all()
    assert table["busy_days_to"].tolist()[1] == 0, "a limit never reached"


def test_without_end_times_the_report_is_not_made_and_says_why(small, tmp_path):
    frame = small.passes.collect("pandas").to_native().drop(columns=["end_time"])
    tables = Tables(frame, MONDAY, MONDAY)
    assert tables.unavailable["room_limits"] == "the export has no end time column"
    with pytest.raises(PasskitError, match="^Pass Limits cannot be made: the export has no end time column$"):
        room_limits(frame, MONDAY, MONDAY)
    write_csv(tmp_path / "ended" / "passes.csv", [row[:-1] for row in SMALL], HEADER[:-1])
    data = passkit.load(tmp_path / "ended", cache_dir=tmp_path / "cache2")
    assert Tables(data, MONDAY, MONDAY).unavailable["room_limits"] == "the export has no end time column"


def test_a_district_keeps_each_schools_rooms_apart(tmp_path):
    def row(school, pass_id, start, end):
        return [school, *pass_row(pass_id, f"S{pass_id}", at(MONDAY, start), at(MONDAY, end))]
    # North: two out at once; South: one at a time, at the same moments as North's
    write_csv(tmp_path / "data" / "passes.csv", [
        row("North", 1, "09:00", "09:10"), row("North", 2, "09:05", "09:15"),
        row("South", 1, "09:00", "09:05"), row("South", 2, "09:05", "09:15")], ["school", *HEADER])
    write_csv(tmp_path / "data" / "rooms.csv", [["North", "Restroom A", "", "1"], ["", "Gym", "", ""]],
              ["school", "room", "folder", "max_passes_to"])
    data = passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache")
    table = room_limits(data, MONDAY, MONDAY)
    assert table.columns[0] == "school" and list(table.columns[1:]) == COLUMNS
    shown = table[["school", "room", "max_passes_to", "peak_out_to", "busy_days_to", "recommended_to"]]
    assert plain(shown) == [["North", "Restroom A", 1, 2, 1, 2], ["South", "Restroom A", NA, 1, NA, 1],
                            ["North", "Gym", NA, 0, NA, NA], ["South", "Gym", NA, 0, NA, NA],  # a row for every school
                            ["North", "Room 101", NA, 0, NA, NA], ["South", "Room 101", NA, 0, NA, NA]]
    alone = room_limits(data, MONDAY, MONDAY, schools=["South"])
    mine = table[table["school"] == "South"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone)
    waits = limits.what_if(Tables(data, MONDAY, MONDAY), "Restroom A", 1)
    assert waits["to"] == (1, 5.0), "North's second pass waits 5 minutes; South's never overlap"


def test_the_replay_matches_a_plain_python_one():
    """Random passes: out-before, peaks and what-if waits against the definitions written as loops."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        room, start = rng.integers(0, 3, n), rng.integers(0, 30, n)
        end = start + rng.integers(0, 6, n)
        order, out, _ = limits._replayed(room, start, end)
        listed = sorted(range(n), key=lambda i: (room[i], start[i], end[i], i))
        slow = {i: sum(end[j] > start[i] for j in listed[:place] if room[j] == room[i])
                for place, i in enumerate(listed)}
        assert sorted(zip(room[order], start[order], out)) == sorted((room[i], start[i], slow[i]) for i in range(n))
        passes = limits.Passes([(0, "a"), (0, "b"), (0, "c")], start, end, start // 10, {"from": room, "to": room})
        for limit in (1, 2, 3):
            waited = []
            for i in listed:
                ends = sorted((end[j] for j in listed[:listed.index(i)] if room[j] == room[i]), reverse=True)
                if len(ends) >= limit and ends[limit - 1] > start[i]:
                    waited.append(ends[limit - 1] - start[i])
            found = limits._waits(passes, "from", [0, 1, 2], limit)
            assert (found.passes, round(found.minutes * limits.MINUTE_MS)) == (len(waited), sum(waited))
            assert found.passes == sum(value >= limit for value in slow.values())


def test_the_page_shows_blanks_and_the_registry_lists_it(small):
    entry = registry.get("room_limits")
    assert entry.kind == "table" and entry.needs == ("end_time",) and entry.outputs == registry.DEFAULT_OUTPUTS
    assert registry.names().index("room_limits") > registry.names().index("keep_apart_meetings")
    shown = notebook.table_html(notebook.shown_table("room_limits", room_limits(small, MONDAY, MONDAY)))
    assert "<td>Nurse</td><td>Health</td>" + '<td class="num"></td>' * 2 in shown
    assert entry.sentence(room_limits(small, MONDAY, MONDAY)) == (
        "5 rooms. The most passes out at once to one room: 3 to Restroom A; its limit now is 2, and a limit of 3 "
        "would have held 0 of its passes.")
