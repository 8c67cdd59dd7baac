"""bells.csv: read and checked once; the period of a start time, with its edges."""

import numpy as np
import pytest

from passkit import bells
from passkit.cli import main
from passkit.errors import PasskitError

from .conftest import pass_row, write_csv

HEADER = ["period", "start", "end", "days"]
# A usual day and a late-start Wednesday (a small version of the demo school's).
SCHEDULE = [["Period 1", "07:45", "08:35", "Mon,Tue,Thu,Fri"], ["Period 2", "08:40", "09:30", "Mon,Tue,Thu,Fri"],
            ["Lunch", "11:25", "12:15", "Mon,Tue,Thu,Fri"],
            ["Period 1", "08:55", "09:35", "Wed"], ["Period 2", "09:40", "10:20", "Wed"],
            ["Lunch", "11:55", "12:45", "Wed"]]


def written(tmp_path, rows, header=HEADER):
    return write_csv(tmp_path / "bells.csv", rows, header)


def period_at(schedule, weekday, hhmm, school=""):
    hours, minutes = map(int, hhmm.split(":"))
    code = schedule.labels(np.array([school]), np.array([weekday]), np.array([hours * 60 + minutes]))[0]
    return schedule.order[code]


def test_periods_in_bell_order_with_the_day_around_them(tmp_path):
    schedule = bells.read(written(tmp_path, SCHEDULE))
    assert schedule.periods == ["Period 1", "Period 2", "Lunch"]
    assert schedule.order == ["before school", "Period 1", "Period 2", "Lunch", "between periods", "after school",
                              "no bell schedule"]
    monday = {hhmm: period_at(schedule, 1, hhmm) for hhmm in
              ("00:00", "07:44", "07:45", "08:34", "08:35", "08:39", "08:40", "09:29", "09:30", "12:14", "12:15",
               "23:59")}
    assert monday == {"00:00": "before school", "07:44": "before school", "07:45": "Period 1", "08:34": "Period 1",
                      "08:35": "between periods", "08:39": "between periods", "08:40": "Period 2",
                      "09:29": "Period 2", "09:30": "between periods", "12:14": "Lunch", "12:15": "after school",
                      "23:59": "after school"}, "a period includes its start and excludes its end"


def test_a_late_start_day_has_its_own_bells(tmp_path):
    schedule = bells.read(written(tmp_path, SCHEDULE))
    assert period_at(schedule, 3, "08:00") == "before school"  # Period 1 on any other day
    assert period_at(schedule, 3, "08:55") == "Period 1" and period_at(schedule, 3, "09:35") == "between periods"
    assert period_at(schedule, 3, "12:30") == "Lunch" and period_at(schedule, 4, "12:30") == "after school"
    assert period_at(schedule, 6, "09:00") == "no bell schedule", "Saturday has no bells at all"


def test_days_are_names_prefixes_ranges_or_blank_for_every_day(tmp_path):
    rows = [["A", "08:00", "09:00", "mon-wed"], ["B", "09:00", "10:00", "Thursday, fri"], ["C", "10:00", "11:00", ""],
            ["D", "11:00", "12:00", "Tues,Sat-Sun"]]
    schedule = bells.read(written(tmp_path, rows))
    days = {period: sorted(b.weekday for b in schedule.bells if b.period == period) for period in "ABCD"}
    assert days == {"A": [1, 2, 3], "B": [4, 5], "C": [1, 2, 3, 4, 5, 6, 7], "D": [2, 6, 7]}
    without_days = bells.read(written(tmp_path, [["A", "8:05", "9:00"]], ["period", "start", "end"]))
    assert [(b.weekday, b.start) for b in without_days.bells] == [(day, 8 * 60 + 5) for day in range(1, 8)]


def test_periods_that_touch_do_not_overlap(tmp_path):
    schedule = bells.read(written(tmp_path, [["A", "08:00", "09:00", "Mon"], ["B", "09:00", "10:00", "Mon"]]))
    assert period_at(schedule, 1, "09:00") == "B"


def test_a_district_school_may_have_its_own_schedule(tmp_path):
    rows = [["Lincoln High", "Block 1", "09:00", "10:30", ""], ["", "Period 1", "08:00", "09:00", ""],
            ["Lincoln High", "Block 2", "10:30", "12:00", ""]]
    schedule = bells.read(written(tmp_path, rows, ["school", "period", "start", "end", "days"]))
    assert period_at(schedule, 1, "08:30", "Lincoln High") == "before school"
    assert period_at(schedule, 1, "08:30", "Roosevelt High") == "Period 1", "schools without rows use the shared ones"
    assert period_at(schedule, 1, "10:30", "Lincoln High") == "Block 2"
    assert schedule.periods == ["Period 1", "Block 1", "Block 2"]


@pytest.mark.parametrize("rows, message", [
    ([["P1", "08:00", "09:00", "Mon-Fri"], ["P2", "08:50", "09:40", "Wed"]],
     r"bells.csv, line 3: P2 \(08:50-09:40\) overlaps P1 \(08:00-09:00, line 2\) on Wednesday"),
    ([["P1", "09:00", "08:00", ""]], r"bells.csv, line 2, column 'end': end 08:00 is not after start 09:00"),
    ([["P1", "09:00", "09:00", ""]], r"line 2, column 'end': end 09:00 is not after start 09:00"),
    ([["P1", "08:00", "09:00", "Mon"], ["P2", "09:00", "10:00", "Mon,Weds"]],
     r"bells.csv, line 3, column 'days': unknown day 'Weds' \(use Mon, Tue"),
    ([["P1", "08:00", "09:00", "Fri-Mon"]], r"line 2, column 'days': the day range 'Fri-Mon' runs backwards"),
    ([["P1", "8 am", "09:00", ""]], r"line 2, column 'start': start '8 am' is not a time like 08:05"),
    ([["P1", "08:00", "24:00", ""]], r"line 2, column 'end': end '24:00' is not a time like 08:05"),
    ([["P1", "08:00", "", ""]], r"line 2, column 'end': end '' is not a time like 08:05"),
    ([["", "08:00", "09:00", ""]], r"line 2, column 'period': missing period"),
    ([["P1", "08:00", "09:00", "Mon", "extra"]], r"bells.csv, line 2: the row has the wrong number of fields"),
    ([], r"bells.csv: no periods listed"),
])
def test_a_malformed_bells_file_is_one_line_naming_the_line(tmp_path, rows, message):
    with pytest.raises(PasskitError, match=message) as raised:
        bells.read(written(tmp_path, rows))
    assert "\n" not in str(raised.value)


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(PasskitError, match=r"bells.csv, column 'end': required column is missing"):
        bells.read(written(tmp_path, [["P1", "08:00"]], ["period", "start"]))


def test_the_cache_keeps_the_schedule(tmp_path):
    schedule = bells.read(written(tmp_path, SCHEDULE))
    bells.write_cache(schedule, tmp_path)
    again = bells.from_cache(tmp_path)
    assert again.bells == schedule.bells and again.order == schedule.order
    assert bells.from_cache(tmp_path / "nowhere") is None


def test_data_has_bells_only_with_a_bells_file(folder, tmp_path):
    data = folder([pass_row(1)])
    assert data.bells is None
    data = folder([pass_row(1)], bells=(HEADER, SCHEDULE))
    assert data.bells.periods == ["Period 1", "Period 2", "Lunch"]
    write_csv(tmp_path / "data" / "bells.csv", SCHEDULE[:1], HEADER)  # an edited schedule is read again
    import passkit

    assert passkit.load(tmp_path / "data", cache_dir=tmp_path / "cache").bells.periods == ["Period 1"]


def test_a_malformed_bells_file_stops_the_command_with_exit_2(folder, tmp_path, capsys):
    folder([pass_row(1)])
    written(tmp_path / "data", [["P1", "08:00", "09:00", "Mon"], ["P2", "08:30", "09:30", "Mon"]])
    code = main(["report", "--data", str(tmp_path / "data"), "--start", "2026-01-05", "--end", "2026-01-05",
                 "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith("passkit: ") and "bells.csv, line 3: P2 (08:30-09:30) overlaps P1" in error
