"""Findings: each rule on a generated case that triggers it and one just short of it."""

import datetime as dt

import pytest

from passkit import findings, registry
from passkit.tables import Tables

from .conftest import pass_row

MONDAY = dt.date(2026, 1, 5)
KEEP_APART = ["group", "student_id"]


def day(weeks=0, weekday=0) -> dt.date:
    return MONDAY + dt.timedelta(weeks=weeks, days=weekday)


def passes_on(date, count, *, start_id=0, destination="Restroom A", origin="Room 101", minutes=5, student=None,
              issuer="", created_by="student", hour=9):
    """`count` passes on `date`, a minute apart from `hour`:00, each `minutes` long, each by its own student."""
    rows = []
    for n in range(count):
        begin = dt.datetime.combine(date, dt.time(hour)) + dt.timedelta(minutes=n)
        rows.append(pass_row(f"{date:%m%d}-{start_id + n}", student or f"S{start_id + n}", begin.isoformat(),
                             (begin + dt.timedelta(minutes=minutes)).isoformat(), destination=destination,
                             origin=origin, issuer=issuer, created_by=created_by))
    return rows


def weeks_of(per_day: list[int], **options) -> list:
    """Each week's passes a day, Monday to Friday, week after week from MONDAY."""
    rows = []
    for week, count in enumerate(per_day):
        for weekday in range(5):
            rows += passes_on(day(week, weekday), count, **options)
    return rows


def kinds(data, start, end, **keywords) -> list[str]:
    return Tables(data, start, end, **keywords).get("findings")["kind"].tolist()


def found(data, start, end, kind, **keywords) -> list[dict]:
    table = Tables(data, start, end, **keywords).get("findings")
    return table[table["kind"] == kind].to_dict("records")


# ---- decline ---------------------------------------------------------------------------------------

def test_a_decline_of_a_fifth_is_found(folder):
    data = folder(weeks_of([10, 10, 9, 8, 8]))  # last two 8 a day against 10: 20% fewer, trend down
    [finding] = found(data, day(0), day(4, 4), "decline")
    assert finding["severity"] == "high" and finding["title"] == "Passes per day fell 20% over the range."
    assert "first two weeks 10.0 a day; last two weeks 8.0 a day (-20.0%)" in finding["evidence"]


def test_a_smaller_fall_is_not_a_decline(folder):
    data = folder(weeks_of([10, 10, 9, 9, 9]))  # 10% fewer
    assert "decline" not in kinds(data, day(0), day(4, 4))


def test_three_weeks_are_too_few_for_a_trend(folder):
    data = folder(weeks_of([10, 5, 2]))
    assert "decline" not in kinds(data, day(0), day(2, 4))


# ---- spike ------------------------------------------------------------------------------------------

def spiky_mondays(busiest: int) -> list:
    rows = []
    for week in range(5):
        rows += passes_on(day(week), 2, start_id=0)
    rows += passes_on(day(2), busiest - 2, start_id=100, destination="Nurse", origin="Room 105")
    return rows


def test_a_day_with_over_twice_its_weekday_median_is_a_spike_naming_where_the_extra_went(folder):
    data = folder(spiky_mondays(10))  # Mondays 2, 2, 10, 2, 2: median 2
    [finding] = found(data, day(0), day(4, 6), "spike")
    assert finding["title"] == "Mon 2026-01-19 had 5.0 times the passes of a usual Monday."
    assert "went to Nurse (8 more than usual) and came from Room 105 (8 more)" in finding["text"]


def test_twice_the_median_is_not_a_spike(folder):
    data = folder(spiky_mondays(4))  # 4 is twice the median of 2, not more
    assert "spike" not in kinds(data, day(0), day(4, 6))


# ---- grade drift ------------------------------------------------------------------------------------

def graded(week: int, nines: int, tens: int) -> list:
    rows = []
    for n in range(nines + tens):
        begin = dt.datetime.combine(day(week), dt.time(9)) + dt.timedelta(minutes=n)
        rows.append(pass_row(f"{week}-{n}", f"S{week}-{n}", begin.isoformat(), (begin + dt.timedelta(minutes=3)).isoformat(),
                             grade="9" if n < nines else "10"))
    return rows


def test_a_grade_share_moving_five_points_is_found(folder):
    data = folder(graded(0, 10, 10) + graded(1, 11, 9) + graded(2, 11, 9))  # 50% -> 55%: drift; 55% -> 55%: none
    found_drift = found(data, day(1), day(1, 6), "grade drift")
    assert [item["title"] for item in found_drift] == ["Grade 9's share of passes rose 5.0 points.",
                                                       "Grade 10's share of passes fell 5.0 points."]
    assert "grade drift" not in kinds(data, day(2), day(2, 6))


def test_no_drift_without_the_prior_period_in_the_exports(folder):
    data = folder(graded(1, 20, 0))
    assert "grade drift" not in kinds(data, day(1), day(1, 6))


# ---- hot spot (a destination's share) ----------------------------------------------------------------

def test_a_destination_with_a_quarter_of_all_passes_is_a_hot_spot(folder):
    rows = passes_on(day(0), 2, destination="Library") + passes_on(day(0), 6, start_id=10, destination="Nurse",
                                                                   hour=10)
    [nurse, library] = found(folder(rows), day(0), day(0), "hot spot")  # busiest first; 25% is enough
    assert (library["title"], nurse["title"]) == ("Library took 25% of all passes.", "Nurse took 75% of all passes.")
    rows = [row for n, place in enumerate(["Library", "Nurse", "Gym", "Office", "Restroom A"])
            for row in passes_on(day(0), 4, start_id=10 * n, destination=place, hour=9 + n)]  # 20% each
    assert "hot spot" not in kinds(folder(rows), day(0), day(0))


# ---- staff fidelity -----------------------------------------------------------------------------------

STAFF = (["issuer"], [["Ms. Busy"], ["Mr. Idle"]])


def test_listed_staff_with_no_passes_are_named(folder):
    data = folder(passes_on(day(0), 3, issuer="Ms. Busy", created_by="teacher"), staff=STAFF)
    [finding] = found(data, day(0), day(0), "staff fidelity")
    assert finding["title"] == "1 listed staff created no passes." and finding["text"].startswith("Mr. Idle are")


def test_staff_whose_passes_a_day_halved_are_named(folder):
    rows = passes_on(day(0), 10, issuer="Ms. Busy", created_by="teacher")  # prior week: 10 on one day
    rows += passes_on(day(1), 5, issuer="Ms. Busy", created_by="teacher")  # this week: 5 on one day
    rows += passes_on(day(1, 1), 9, issuer="Mr. Idle", created_by="teacher")
    staff = (["issuer"], [["Ms. Busy"], ["Mr. Idle"]])
    [finding] = found(folder(rows, staff=staff), day(1), day(1, 6), "staff fidelity")
    assert finding["evidence"] == "Ms. Busy 10.0 -> 2.5 a day"  # 5 passes on 2 days with passes


def test_a_fall_by_less_than_half_is_not_named(folder):
    rows = passes_on(day(0), 10, issuer="Ms. Busy", created_by="teacher")
    rows += passes_on(day(1), 6, issuer="Ms. Busy", created_by="teacher")
    assert "staff fidelity" not in kinds(folder(rows), day(1), day(1, 6))


# ---- long passes --------------------------------------------------------------------------------------

def test_a_destination_whose_median_is_over_its_limit(folder):
    rooms = (["room", "max_minutes"], [["Nurse", "20"]])
    slow = passes_on(day(0), 20, destination="Nurse", minutes=21)
    [finding] = found(folder(slow, rooms=rooms), day(0), day(0), "long passes")
    assert finding["title"] == "Half the passes to Nurse last longer than its 20-minute limit."
    fewer = passes_on(day(0), 19, destination="Nurse", minutes=21)  # too few passes to judge
    assert "long passes" not in kinds(folder(fewer, rooms=rooms), day(0), day(0))


def test_long_passes_up_by_half_a_day(folder):
    rows = passes_on(day(0), 10, minutes=20) + passes_on(day(0), 10, start_id=50, hour=11)  # 10 long before
    rows += passes_on(day(1), 15, minutes=20, start_id=100)  # 15 long: up by half, on one day each
    [finding] = found(folder(rows), day(1), day(1, 6), "long passes")
    assert finding["title"] == "Long passes per day rose 50% on the prior period."
    rows[-1:] = []  # 14: up 40%
    assert "long passes" not in kinds(folder(rows), day(1), day(1, 6))


# ---- meetings ------------------------------------------------------------------------------------------

def meeting_days(count: int) -> list:
    rows = []
    for n in range(count):
        date = day(0, n % 5) + dt.timedelta(weeks=n // 5)
        rows += passes_on(date, 1, student="A", start_id=0) + passes_on(date, 1, student="B", start_id=1)
    return rows


def test_a_pair_meeting_once_a_week_is_a_repeat_meetup(folder):
    data = folder(meeting_days(5))  # one week with passes: 5 meetings needed
    [finding] = found(data, day(0), day(0, 6), "repeat meet-ups")
    assert finding["title"] == "1 pair of students met on passes about once a week or more."
    assert "repeat meet-ups" not in kinds(folder(meeting_days(4)), day(0), day(0, 6))


def test_keep_apart_meetings_are_high(folder):
    groups = [["order-1", "A"], ["order-1", "B"]]
    data = folder(meeting_days(1), keep_apart=(KEEP_APART, groups))
    [finding] = found(data, day(0), day(0), "keep-apart meetings")
    assert finding["severity"] == "high" and finding["title"] == "Students who are to be kept apart met 1 time on passes."
    apart = folder(passes_on(day(0), 1, student="A") + passes_on(day(0), 1, student="B", hour=11),
                   keep_apart=(KEEP_APART, groups))
    assert "keep-apart meetings" not in kinds(apart, day(0), day(0))


# ---- together ----------------------------------------------------------------------------------------

def test_a_steady_range_says_so(folder):
    rows = [row for n, place in enumerate(["Library", "Nurse", "Gym", "Office", "Restroom A"])
            for row in passes_on(day(0), 2, start_id=10 * n, destination=place, hour=9 + n)]
    table = Tables(folder(rows), day(0), day(0)).get("findings")
    assert table.empty and list(table.columns) == ["kind", "severity", "title", "text", "evidence"]
    assert registry.get("findings").sentence(table) == findings.STEADY


def test_most_severe_first(folder):
    rows = weeks_of([10, 10, 8, 7, 7])
    table = Tables(folder(rows), day(0), day(4, 4)).get("findings")
    assert table["severity"].map(findings.SEVERITY).is_monotonic_increasing


def test_no_finding_names_a_student(demo_data):
    table = Tables(demo_data, "2026-01-05", "2026-03-27").get("findings")
    names = set(demo_data.students.collect("pandas").to_native()["student_name"].dropna())
    text = " ".join(table[["title", "text", "evidence"]].to_numpy().ravel())
    assert not [name for name in names if name in text]


@pytest.mark.parametrize("rule", findings.RULES, ids=lambda rule: rule.__name__)
def test_every_rule_is_quiet_on_an_empty_range(folder, rule):
    data = folder(passes_on(day(0), 3))
    assert rule(Tables(data, day(3), day(3, 4))) == []


# ---- where they are shown ---------------------------------------------------------------------------

def test_the_dashboard_shows_the_most_severe_three_and_the_rest_folded(folder):
    from passkit import dashboard, dashboard_data

    rows = weeks_of([10, 10, 8, 7, 7])
    screen = dashboard_data.screen(Tables(folder(rows, staff=STAFF), day(0), day(4, 4)))
    items = screen["findings"]["items"]
    assert [item["severity"] for item in items][:1] == ["high"]
    shown = dashboard.findings_html({"items": items * 2, "summary": ""})
    assert shown.count("<li") == 2 * len(items) and f"{2 * len(items) - 3} more findings</summary>" in shown
    hostile = dashboard.findings_html({"items": [{"severity": "x", "title": "<script>alert(1)</script>", "text": ""}],
                                       "summary": ""})
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    steady = dashboard.findings_html({"items": [], "summary": findings.STEADY})
    assert findings.STEADY in steady and "<details>" not in steady
    assert dashboard.findings_html(None) == ""


def test_no_findings_for_a_range_without_passes(folder):
    from passkit import dashboard_data

    data = folder(passes_on(day(0), 3), staff=STAFF)
    assert dashboard_data.screen(Tables(data, day(3), day(3, 4)))["findings"] is None
    assert Tables(data, day(3), day(3, 4)).get("findings").empty
