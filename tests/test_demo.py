"""The demo generator writes realistic, deterministic exports in passkit's input format."""

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from passkit import bells, demo

PASS_COLUMNS = ["pass_id", "student_id", "student_name", "grade", "origin", "destination", "created_by", "issuer",
                "kiosk_mode", "pass_type", "start_time", "end_time"]
SIDE_COLUMNS = {"rooms.csv": ["room", "folder", "max_passes_from", "max_passes_to", "max_minutes"],
                "roster.csv": ["student_id", "grade", "student_name"],
                "staff.csv": ["issuer", "name"],
                "keep_apart.csv": ["group", "student_id"]}
LOCAL = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"
SHORT = {"year_start": date(2025, 8, 18), "year_end": date(2025, 9, 30)}


def read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def local_starts(passes):
    """Start times of the rows written as plain local ISO times, parsed."""
    return pd.to_datetime(passes.loc[passes.start_time.str.match(LOCAL), "start_time"])


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A small school over the whole default year."""
    out = tmp_path_factory.mktemp("school")
    summary = demo.generate(out, students_per_school=120)
    return out, summary, read(out / "passes.csv")


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    out = tmp_path_factory.mktemp("district")
    return out, demo.generate(out, schools=3, students_per_school=60, **SHORT)


def test_same_arguments_give_identical_files(tmp_path):
    first = demo.generate(tmp_path / "a", students_per_school=60, **SHORT)
    second = demo.generate(tmp_path / "b", students_per_school=60, **SHORT)
    demo.generate(tmp_path / "c", students_per_school=60, seed=7, **SHORT)
    assert first == second
    for name in first["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "passes.csv").read_bytes() != (tmp_path / "c" / "passes.csv").read_bytes()
    starts = [read(tmp_path / run / "passes.csv").start_time.tolist() for run in ("a", "c")]
    assert starts[0] != starts[1]  # another seed draws other passes (their count may coincide)


def test_single_school_files_and_columns(school):
    out, summary, passes = school
    assert summary["files"] == ["passes.csv", "rooms.csv", "roster.csv", "staff.csv", "keep_apart.csv", "bells.csv"]
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["files"])
    assert list(passes.columns) == PASS_COLUMNS
    assert summary["passes_rows"] == len(passes)
    assert summary["students"] == 120 and summary["schools"] == 1
    for name, columns in SIDE_COLUMNS.items():
        assert list(read(out / name).columns) == columns


def test_district_has_school_column_and_a_passes_file_per_school(district):
    out, summary = district
    names = [demo.school_name(i) for i in range(3)]
    passes_files = [f"passes-{demo.slug(name)}.csv" for name in names]
    assert summary["files"] == passes_files + ["rooms.csv", "roster.csv", "staff.csv", "keep_apart.csv", "bells.csv"]
    assert passes_files[0] == "passes-lincoln-high.csv"
    rows = 0
    for name, file in zip(names, passes_files):
        passes = read(out / file)
        assert list(passes.columns) == ["school"] + PASS_COLUMNS
        assert set(passes.school) == {name}
        rows += len(passes)
    assert rows == summary["passes_rows"]
    for file, columns in SIDE_COLUMNS.items():
        table = read(out / file)
        assert list(table.columns) == ["school"] + columns
        assert sorted(table.school.unique()) == sorted(names)
    roster = read(out / "roster.csv")
    assert not roster.duplicated(["school", "student_id"]).any()
    assert len(roster) == summary["students"] == 180
    rooms = read(out / "rooms.csv")
    assert (rooms.room == "Restroom A").sum() == 3  # the same room name in every school


def test_school_names_are_distinct_for_large_districts():
    names = [demo.school_name(i) for i in range(60)]
    assert len(set(names)) == 60
    assert len({demo.slug(name) for name in names}) == 60


def test_generate_overwrites_only_its_own_files(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "passes.csv").write_text("stale")
    demo.generate(tmp_path, students_per_school=30, **SHORT)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "passes.csv").read_text().startswith("pass_id,")


def test_passes_fall_on_school_days_only(school):
    _, _, passes = school
    days = set(local_starts(passes).dt.date)
    assert all(day.weekday() < 5 for day in days)
    closed = {date(2025, 9, 1), date(2025, 11, 27), date(2025, 11, 28), date(2026, 1, 19), date(2026, 2, 16),
              date(2026, 5, 25)}
    closed |= {date(2025, 12, 22) + timedelta(n) for n in range(12)}
    closed |= {date(2026, 3, 16) + timedelta(n) for n in range(5)}
    assert not days & closed
    assert min(days) == date(2025, 8, 18) and max(days) == date(2026, 5, 29)
    assert days == set(demo.school_days(date(2025, 8, 18), date(2026, 5, 29)))


def test_passes_start_inside_periods_away_from_the_bells(school):
    _, _, passes = school
    starts = local_starts(passes)
    minute = starts.dt.hour * 60 + starts.dt.minute + starts.dt.second / 60
    late = starts.dt.day_of_week == demo.LATE_START_DAY
    inside = pd.Series(False, index=minute.index)
    for schedule, days in ((demo.BELL_SCHEDULE, ~late), (demo.LATE_START, late)):
        for _, begin, end in schedule:
            begin, end = (pd.Timestamp(f"2000-01-01 {hhmm}") for hhmm in (begin, end))
            first = begin.hour * 60 + begin.minute + demo.QUIET_MINUTES
            last = end.hour * 60 + end.minute - demo.QUIET_MINUTES
            inside |= days & minute.between(first, last)
    assert inside.all()
    assert (minute[late] >= 8 * 60 + 55).all() and (minute[~late] < 8 * 60 + 55).any(), "Wednesdays start late"


def test_the_bells_are_the_generators_schedule(school):
    """bells.csv reads back as the schedule the passes were drawn from, Wednesdays late."""
    out, _, _ = school
    schedule = bells.read(out / "bells.csv")
    assert schedule.periods == [name for name, _, _ in demo.BELL_SCHEDULE]
    for weekday, rows in ((1, demo.BELL_SCHEDULE), (3, demo.LATE_START), (5, demo.BELL_SCHEDULE)):
        day = [(b.period, b.start, b.end) for b in schedule.bells if b.weekday == weekday]
        assert day == [(name, demo._minutes(start), demo._minutes(end)) for name, start, end in rows]
    assert not [b for b in schedule.bells if b.weekday > 5]


def test_pass_ids_are_unique_apart_from_exact_duplicates(school):
    _, _, passes = school
    repeated = passes[passes.pass_id.duplicated(keep=False)]
    assert len(repeated) >= 4
    assert repeated.duplicated(keep=False).all()  # whole rows repeat, not just ids
    assert passes.pass_id.str.match(r"^P\d{7}$").all()


def test_every_kind_of_bad_row_is_present_but_rare(school):
    _, _, passes = school
    bad = {
        "no student_id": passes.student_id == "",
        "no destination": passes.destination == "",
        "not a time": passes.start_time == "not a time",
        "garbled time": passes.start_time == "13/45/2026 25:00",
        "robot": passes.created_by == "robot",
        "later": passes.pass_type == "later",
        "duplicate": passes.duplicated(),
    }
    for kind, rows in bad.items():
        assert rows.sum() >= 2, kind
    assert sum(rows.sum() for rows in bad.values()) < 0.005 * len(passes)
    assert set(passes.created_by) == {"student", "teacher", "kiosk", "robot"}
    assert set(passes.pass_type) == {"now", "scheduled", "later"}


def test_offset_rows_are_the_right_instants(school):
    _, _, passes = school
    offset = passes[passes.start_time.str.endswith(("Z", "+00:00"))]
    assert len(offset) == 2
    local = pd.to_datetime(offset.start_time, utc=True).dt.tz_convert("America/Chicago")
    minute = local.dt.hour * 60 + local.dt.minute
    assert minute.between(7 * 60 + 55, 14 * 60 + 50).all()  # a school-hours instant once converted


def test_grades_kiosk_mode_and_issuers_are_consistent(school):
    _, _, passes = school
    assert set(passes.grade) <= {"9", "10", "11", "12", "", *demo.GRADE_VARIANTS}
    blank = passes.groupby("student_id").grade.apply(lambda g: (g == "").all())
    assert 0.02 < blank.mean() < 0.25  # ~10% of students never carry a grade in passes
    valid = passes[passes.created_by != "robot"]
    kiosk = valid.created_by == "kiosk"
    assert set(valid.kiosk_mode[kiosk]) == {"true", "false"}
    assert (valid.kiosk_mode[~kiosk] == "").all()
    dedicated = kiosk & (valid.kiosk_mode == "false")
    assert valid.issuer[dedicated].str.startswith("Kiosk - ").all()
    assert not valid.issuer[~dedicated].str.startswith("Kiosk").any()


def test_roster_covers_every_student_in_passes(school):
    out, _, passes = school
    roster = read(out / "roster.csv")
    assert roster.student_id.is_unique
    ids = set(passes.student_id) - {""}
    assert ids <= set(roster.student_id)
    assert len(set(roster.student_id) - ids) >= 1  # some students never take a pass
    assert set(roster.grade) <= {"9", "10", "11", "12", "09"}


def test_staff_lists_teachers_without_passes_and_every_issuer(school):
    out, _, passes = school
    staff = read(out / "staff.csv")
    assert staff.issuer.is_unique
    assert set(passes.issuer) - {""} <= set(staff.issuer)
    idle = set(staff.issuer) - set(passes.issuer)
    assert len(idle) >= 5 and not any(name.startswith("Kiosk") for name in idle)
    assert {"Kiosk - Library", "Kiosk - Cafeteria"} <= set(staff.issuer)


def test_rooms_cover_every_room_used_and_some_unused(school):
    out, _, passes = school
    rooms = read(out / "rooms.csv")
    used = set(passes.origin) | set(passes.destination) - {""}
    assert used <= set(rooms.room)
    assert "Room 299 (storage)" in set(rooms.room) - used
    numbers = pd.concat([rooms.max_passes_from, rooms.max_passes_to, rooms.max_minutes])
    assert numbers.str.fullmatch(r"\d*").all()
    limits = rooms.set_index("room").max_minutes
    assert limits["Nurse"] == "40" and limits["Counselor"] == "45" and limits["Restroom A"] == ""


def test_full_size_school_volume_and_mix(tmp_path):
    summary = demo.generate(tmp_path, seed=11)
    passes = read(tmp_path / "passes.csv")
    days = demo.school_days(date(2025, 8, 18), date(2026, 5, 29))
    assert 200_000 < summary["passes_rows"] < 232_000  # ~216,000 for 1,500 students
    assert 0.7 < len(passes) / (1500 * len(days)) < 0.9
    shares = passes.created_by.value_counts(normalize=True)
    assert shares["student"] == pytest.approx(0.65, abs=0.04)
    assert shares["teacher"] == pytest.approx(0.25, abs=0.03)
    assert shares["kiosk"] == pytest.approx(0.10, abs=0.03)
    assert 0.10 < (passes.pass_type == "scheduled").mean() < 0.20
    assert 0.01 < (passes.end_time == "").mean() < 0.02

    starts = local_starts(passes)
    per_day = starts.dt.date.value_counts()
    after = per_day[per_day.index > date(2026, 3, 20)].mean() / per_day[per_day.index < date(2026, 3, 16)].mean()
    assert 0.6 < after < 0.8  # use drops ~30% after spring break

    timed = passes.start_time.str.match(LOCAL) & passes.end_time.str.match(LOCAL)
    minutes = (pd.to_datetime(passes.end_time[timed]) - pd.to_datetime(passes.start_time[timed])).dt.total_seconds() / 60
    restroom = passes.destination[timed].str.contains("Restroom")
    assert 4 < minutes[restroom].median() < 8
    assert 12 < minutes[passes.destination[timed] == "Nurse"].median() < 28
    assert minutes[passes.destination[timed] == "Counselor"].median() > 2 * minutes[restroom].median()
    assert (minutes > 60).sum() > 100
    assert 20 < (minutes < 0).sum() < 300  # clock glitches are kept

    per_student = passes.student_id.value_counts()
    assert per_student.max() > 5 * per_student.median()  # frequent flyers


# ---- SmartPass's layout ------------------------------------------------------------------------------

def test_smartpass_demo_gives_the_same_reports_as_passkit_format(tmp_path):
    """The demo school written as SmartPass exports it reads to the same reports as the same passes in passkit's
    format, restricted to those SmartPass lists (ended ones), except Staff Usage, which the export cannot give."""
    import csv

    import passkit
    from passkit import registry, reports

    demo.generate(tmp_path / "passkit", students_per_school=150)
    demo.generate(tmp_path / "smartpass", students_per_school=150, layout="smartpass")
    ended = tmp_path / "ended"
    ended.mkdir()
    with open(tmp_path / "passkit" / "passes.csv", newline="") as source, \
            open(ended / "passes.csv", "w", newline="") as target:
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, rows.fieldnames)
        writer.writeheader()
        # SmartPass lists ended passes only, and one that ended before it started as 0 minutes long
        writer.writerows({**row, "end_time": max(row["end_time"], row["start_time"])} for row in rows if row["end_time"])
    for name in ("rooms.csv", "roster.csv", "bells.csv", "keep_apart.csv"):
        (ended / name).write_bytes((tmp_path / "passkit" / name).read_bytes())
    own = passkit.load(ended, cache_dir=tmp_path / "c")
    smartpass = passkit.load(tmp_path / "smartpass", cache_dir=tmp_path / "c", year_starts="2025-08-01")
    assert [f["layout"] for f in smartpass.summary["files"]] == ["smartpass"]
    assert registry.unavailable(smartpass) == {"staff_usage": "the export has no creator or issuer column",
                                                    "staff_changes": "the export has no creator or issuer column",
                                                    "keep_apart_meetings": "the data folder has no keep_apart.csv"}
    assert smartpass.summary["passes_kept"] == own.summary["passes_kept"]
    for start, end in (("2025-08-18", "2026-05-29"), ("2026-01-05", "2026-03-27")):
        expected = reports.all_reports(own, start, end)
        tables = reports.all_reports(smartpass, start, end)
        assert set(expected) - set(tables) == {"staff_usage", "staff_changes", "keep_apart_meetings"}
        for name in tables:
            if name == "pass_length":  # SmartPass names no issuer: its lengths have no per-issuer rows
                ours = expected[name][expected[name]["by"] != "issuer"].reset_index(drop=True)
                pd.testing.assert_frame_equal(tables[name], ours, obj=name)
            elif name == "long_passes":  # the same passes; SmartPass derives pass ids and writes times to the minute
                def passes(table):
                    rest = table.drop(columns=["pass_id", "start_time", "end_time"])
                    return rest.sort_values(list(rest.columns), kind="stable").reset_index(drop=True)
                pd.testing.assert_frame_equal(passes(tables[name]), passes(expected[name]), obj=name)
            elif name in ("encounters", "encounters_by_week"):
                continue  # SmartPass writes start times to the minute: overlaps by the second differ
            elif name == "room_limits":  # the same rooms and limits; passes out at once differ by the second too
                def rooms(table):
                    shown = table[["room", "folder", "max_passes_from", "max_passes_to"]]
                    return shown.sort_values("room").reset_index(drop=True)
                pd.testing.assert_frame_equal(rooms(tables[name]), rooms(expected[name]), obj=name)
            elif name not in ("audit_summary", "comparison", "findings"):  # their figures follow each export's
                # columns (no staff figures without a creator), and the summary's data quality its own files
                pd.testing.assert_frame_equal(tables[name], expected[name], obj=name)


def test_smartpass_demo_files(tmp_path, capsys):
    from passkit.cli import main

    assert main(["demo-data", str(tmp_path / "sp"), "--students", "60", "--layout", "smartpass"]) == 0
    assert sorted(p.name for p in (tmp_path / "sp").iterdir()) == ["SmartPass-PassSearch.csv", "bells.csv", "rooms.csv",
                                                                  "roster.csv"]
    passes = read(tmp_path / "sp" / "SmartPass-PassSearch.csv")
    assert list(passes.columns) == list(demo.SMARTPASS_COLUMNS)
    times = r"\d{1,2}/\d\d \d{1,2}:\d\d [AP]M|not a time|13/45/2026 25:00"  # and the demo's two bad times
    assert passes["Pass start time"].str.fullmatch(times).all()
    assert passes["Duration"].str.fullmatch(r"\d+(:\d\d)? min|-").all()
    assert main(["demo-data", str(tmp_path / "x"), "--schools", "2", "--layout", "smartpass"]) == 2
    assert "writes one school" in capsys.readouterr().err


# ---- What the demo audit finds: the third quarter of the full-size demo school ------------------------------
# Each property is computed here by hand from the written files, independently of passkit's reports.

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"


def quarter(name):
    """(start, end) of a parameters file's range, as Timestamps (both days inclusive)."""
    values = yaml.safe_load((PARAMETERS / name).read_text())
    return pd.Timestamp(values["start"]), pd.Timestamp(values["end"])


@pytest.fixture(scope="module")
def demo_school(tmp_path_factory):
    """The demo school exactly as `passkit demo-data` writes it (1,500 students, the default year and seed):
    its passes with a local start, their `day`, and its rooms."""
    out = tmp_path_factory.mktemp("demo-school")
    demo.generate(out)
    passes = read(out / "passes.csv")
    passes = passes[passes.start_time.str.match(LOCAL)].copy()
    passes["start"] = pd.to_datetime(passes.start_time)
    passes["day"] = passes.start.dt.normalize()
    return passes, read(out / "rooms.csv"), read(out / "staff.csv")


def in_q3(passes):
    start, end = quarter("2025-26-q3.yaml")
    return passes[passes.day.between(start, end)]


def weekly_rates(passes):
    """Passes per school day of each Monday-Sunday week (a week counts by its school days, those with passes)."""
    per_day = passes.groupby("day").size()
    monday = per_day.index - pd.to_timedelta(per_day.index.day_of_week, unit="D")
    weeks = per_day.groupby(monday).agg(["sum", "count"])
    return weeks["sum"] / weeks["count"], weeks


def test_q3_passes_decline(demo_school):
    """Staff fidelity slips from mid-February: a falling weekly trend, and the last two calendar weeks log at
    least 20% fewer passes a school day than the first two."""
    passes, _, _ = demo_school
    rates, weeks = weekly_rates(in_q3(passes))
    x = (rates.index - rates.index[0]).days / 7
    slope = np.polyfit(x, rates.to_numpy(), 1)[0]
    assert slope < 0
    start, end = quarter("2025-26-q3.yaml")
    monday = end - pd.Timedelta(days=end.day_of_week)
    first = weeks[weeks.index < start + pd.Timedelta(days=14 - start.day_of_week)]
    last = weeks[weeks.index >= monday - pd.Timedelta(days=7)]
    decline = 1 - (last["sum"].sum() / last["count"].sum()) / (first["sum"].sum() / first["count"].sum())
    assert 0.2 <= decline < 0.45


def test_fidelity_stays_low_after_spring_break(demo_school):
    """The slip ends at the post-break level: the fourth quarter does not jump back up."""
    passes, _, _ = demo_school
    days = demo.school_days(date(2025, 8, 18), date(2026, 5, 29))
    level = demo.fidelity(days)
    assert (np.diff(level) <= 0).all() and level[0] == 1 and level[-1] == demo.AFTER_SPRING_BREAK
    per_day = passes.groupby("day").size()
    q3_end = quarter("2025-26-q3.yaml")[1]
    late_q3 = per_day[per_day.index.to_series().between(q3_end - pd.Timedelta(days=4), q3_end)].mean()
    q4 = per_day[per_day.index > q3_end].mean()
    assert q4 == pytest.approx(late_q3, rel=0.1)
    assert q4 < 0.8 * per_day[per_day.index < pd.Timestamp("2026-02-01")].mean()


def test_q3_has_a_spike_day_mostly_to_one_destination(demo_school):
    """One day has over twice its weekday's median passes, and one destination takes over half the excess."""
    passes, _, _ = demo_school
    q3 = in_q3(passes)
    per_day = q3.groupby("day").size()
    median = per_day.groupby(per_day.index.day_of_week).transform("median")
    ratio = per_day / median
    spikes = ratio[ratio > 2]
    assert len(spikes) == 1
    day = spikes.index[0]
    assert day == pd.Timestamp(date(2026, *demo.OUTBREAK_DAY)) and day.day_name() == "Thursday"
    others = q3[(q3.day.dt.day_of_week == day.day_of_week) & (q3.day != day)]
    usual = others.destination.value_counts() / others.day.nunique()
    excess = q3[q3.day == day].destination.value_counts().sub(usual, fill_value=0)
    top = excess.idxmax()
    assert top == "Nurse" and excess[top] > 0.5 * (per_day[day] - median[day])


def test_a_restroom_is_at_its_limit_on_many_q3_days(demo_school):
    """Some restroom has as many timed passes out at once (from start inclusive to end exclusive) as its
    max_passes_to on at least 10 days of the third quarter."""
    passes, rooms, _ = demo_school
    q3 = in_q3(passes)
    timed = q3[q3.end_time.str.match(LOCAL)].assign(end=lambda t: pd.to_datetime(t.end_time))
    timed = timed[timed.end > timed.start]
    limits = rooms[rooms.room.str.contains("Restroom")].set_index("room").max_passes_to.astype(int)
    days_at_limit = {}
    for room, limit in limits.items():
        mine = timed[timed.destination == room]
        # an end sorts before a start at the same second: the ending pass is no longer out
        events = pd.concat([pd.DataFrame({"time": mine.start, "step": 1}),
                            pd.DataFrame({"time": mine.end, "step": -1})], ignore_index=True)
        events = events.sort_values(["time", "step"], kind="stable", ignore_index=True)
        out = events.step.cumsum()
        peak = out.groupby(events.time.dt.normalize()).max()
        days_at_limit[room] = int((peak >= limit).sum())
    assert max(days_at_limit.values()) >= 10


def test_prior_quarter_and_idle_staff_are_there_to_compare(demo_school):
    """Q3 can be compared with Q2 (passes on each of its school days), and some listed staff log no pass in Q3."""
    passes, _, staff = demo_school
    start, end = quarter("2025-26-q2.yaml")
    q2_days = set(passes.day[passes.day.between(start, end)].dt.date)
    assert q2_days == set(demo.school_days(start.date(), end.date())) and len(q2_days) > 35
    idle = set(staff.issuer) - set(in_q3(passes).issuer)
    assert len(idle) >= 5
