"""Totals agree across reports for any data (hypothesis), and the demo school's reports are consistent."""

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passkit import grades, reports

DAY0 = dt.datetime(2026, 1, 5, 7, 0)


@st.composite
def pass_frames(draw):
    """A frame shaped like the Parquet cache, with a few students, rooms, staff and days."""
    n = draw(st.integers(min_value=0, max_value=60))
    students = draw(st.lists(st.sampled_from(grades.ORDER), min_size=1, max_size=6))
    rows = []
    for i in range(n):
        student = draw(st.integers(min_value=0, max_value=len(students) - 1))
        start = DAY0 + dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 9)))
        minutes = draw(st.one_of(st.none(), st.floats(min_value=-5, max_value=90, allow_nan=False)))
        rows.append({
            "school": "", "pass_id": f"P{i}", "student_id": f"S{student}", "student_name": f"Student {student}",
            "grade": students[student],
            "origin": draw(st.sampled_from(["Room 1", "Room 2", "Library"])),
            "destination": draw(st.sampled_from(["Restroom", "Nurse", "Room 1"])),
            "created_by": draw(st.sampled_from(["student", "teacher", "kiosk"])),
            "issuer": draw(st.sampled_from(["Ms. A", "Mr. B", "Kiosk"])),
            "kiosk_mode": draw(st.booleans()),
            "pass_type": draw(st.sampled_from(["now", "scheduled"])),
            "start_time": start, "date": pd.Timestamp(start.date()),
            "minutes": None if minutes is None or minutes < 0 else round(minutes, 2),
        })
    columns = ["school", "pass_id", "student_id", "student_name", "grade", "origin", "destination", "created_by",
               "issuer", "kiosk_mode", "pass_type", "start_time", "date", "minutes"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"kiosk_mode": bool, "minutes": float, "date": "datetime64[us]",
                         "start_time": "datetime64[us]"})


dates = st.dates(min_value=dt.date(2026, 1, 4), max_value=dt.date(2026, 1, 16))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=pass_frames(), start=dates, length=st.integers(min_value=0, max_value=12))
def test_totals_agree_across_reports(frame, start, length):
    end = start + dt.timedelta(days=length)
    tables = reports.all_reports(frame, start, end)
    in_range = int(frame["date"].between(pd.Timestamp(start), pd.Timestamp(end)).sum())

    assert tables["passes_by_grade"]["passes"].sum() == in_range
    assert tables["daily_passes"]["passes"].sum() == in_range
    assert tables["passes_by_student"]["passes"].sum() == in_range
    assert tables["room_usage"]["passes_from"].sum() == in_range
    assert tables["room_usage"]["passes_to"].sum() == in_range
    staff = tables["staff_usage"]
    assert (staff["total_passes"] == staff["now_passes"] + staff["scheduled_passes"]).all()
    assert len(tables["frequent_flyers"]) == min(20, len(tables["passes_by_student"]))
    # grades in school order, every grade present x every date present
    daily = tables["daily_passes"]
    assert len(daily) == daily["date"].nunique() * daily["grade"].nunique()
    assert list(tables["passes_by_grade"]["grade"]) == sorted(tables["passes_by_grade"]["grade"], key=grades.sort_key)


def test_demo_school_reports_are_consistent(demo_data):
    tables = reports.all_reports(demo_data, "2026-01-05", "2026-03-27")
    total = tables["passes_by_grade"]["passes"].sum()
    assert total > 0
    for name, column in [("daily_passes", "passes"), ("passes_by_student", "passes"), ("room_usage", "passes_from"),
                         ("room_usage", "passes_to")]:
        assert tables[name][column].sum() == total, (name, column)
    staff = tables["staff_usage"]
    assert (staff["total_passes"] == staff["now_passes"] + staff["scheduled_passes"]).all()
    assert (staff["total_passes"] == 0).any(), "teachers who never use the system are listed with zeros"
    flyers = tables["frequent_flyers"]
    assert len(flyers) == 20 and flyers["passes"].is_monotonic_decreasing
    assert tables["passes_by_student"]["outlier"].any()
    summary = demo_data.summary
    assert summary["passes_kept"] + summary["duplicates_dropped"] + summary["rows_rejected"] == summary["rows_read"]
