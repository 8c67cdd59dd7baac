"""Compared with the prior period: the prior range, coverage, and the comparison's figures by hand."""

import datetime as dt
import json

import pandas as pd
import pytest

from passkit import compare, dashboard, dashboard_data, params, summary
from passkit.cli import main
from passkit.params import Period, prior_range
from passkit.tables import Tables

from .conftest import pass_row

D = dt.date
QUARTERS = (Period("Q1", D(2025, 8, 18), D(2025, 10, 17)), Period("Q2", D(2025, 10, 20), D(2025, 12, 19)),
            Period("Q3", D(2026, 1, 5), D(2026, 3, 27)))


def test_the_prior_period_is_the_quarter_before():
    assert prior_range(D(2026, 1, 5), D(2026, 3, 27), QUARTERS) == (D(2025, 10, 20), D(2025, 12, 19))
    assert prior_range(D(2025, 10, 20), D(2025, 12, 19), [(q.start, q.end) for q in QUARTERS]) == (
        D(2025, 8, 18), D(2025, 10, 17)), "pairs do as well as Periods"


def test_otherwise_as_many_calendar_days_just_before():
    assert prior_range(D(2026, 1, 5), D(2026, 1, 9)) == (D(2025, 12, 31), D(2026, 1, 4))  # 5 days, over new year
    assert prior_range("2026-01-05", "2026-01-09", [("2025-12-01", "2026-01-04")]) == (D(2025, 12, 31), D(2026, 1, 4))
    assert prior_range(D(2026, 3, 1), D(2026, 3, 1)) == (D(2026, 2, 28), D(2026, 2, 28)), "one day: the day before"
    assert prior_range(D(2024, 3, 1), D(2024, 3, 31)) == (D(2024, 1, 30), D(2024, 2, 29)), "31 days, a leap February"
    first = QUARTERS[0]
    assert prior_range(first.start, first.end, QUARTERS) == (D(2025, 6, 18), D(2025, 8, 17)), "Q1: days before"
    assert prior_range(D(2026, 1, 5), D(2026, 3, 20), QUARTERS) == (D(2025, 10, 22), D(2026, 1, 4)), "not a quarter: 75 days"


def test_settings_give_each_quarter_its_prior(tmp_path):
    settings = params.build(data=tmp_path, start="2026-01-05", end="2026-03-27", quarters=QUARTERS)
    assert settings.prior() == (D(2025, 10, 20), D(2025, 12, 19))
    assert settings.prior(QUARTERS[1]) == (QUARTERS[0].start, QUARTERS[0].end)


# Week of Mon 2026-01-12 (the range) and the week before (the prior period: Mon 2026-01-05 to Sun 2026-01-11).
PRIOR = [pass_row(1, "S1", "2026-01-05T09:00:00", "2026-01-05T09:10:00"),
         pass_row(2, "S2", "2026-01-06T09:00:00", "2026-01-06T09:20:00", grade="10"),
         pass_row(3, "S1", "2026-01-06T10:00:00", "2026-01-06T10:04:00"),
         pass_row(4, "S1", "2026-01-07T10:00:00", "2026-01-07T10:06:00")]
RANGE = [pass_row(11, "S1", "2026-01-12T09:00:00", "2026-01-12T09:05:00"),
         pass_row(12, "S2", "2026-01-12T09:30:00", "2026-01-12T09:45:00", grade="10"),
         pass_row(13, "S3", "2026-01-13T09:00:00", "2026-01-13T09:30:00", grade="10"),
         pass_row(14, "S3", "2026-01-13T11:00:00", "2026-01-13T11:10:00", grade="10"),
         pass_row(15, "S2", "2026-01-14T09:00:00", "2026-01-14T09:10:00", grade="10"),
         pass_row(16, "S1", "2026-01-16T23:59:00", "2026-01-17T00:09:00")]  # Friday, ends after midnight


def figures(table):
    return table.set_index("metric")[["current", "prior", "change", "change_pct"]].to_dict("index")


def test_the_comparison_by_hand(folder):
    data = folder(PRIOR + RANGE)
    table = compare.comparison(data, "2026-01-12", "2026-01-18")
    assert list(table.columns) == ["metric", "current", "prior", "change", "change_pct"]
    got = figures(table)
    # 6 passes on 4 days against 4 on 3 days; per day 1.5 against 1.3 (4 / 3 to a tenth)
    assert got["Passes"] == dict(current=6, prior=4, change=2, change_pct=50.0)
    assert got["Days with passes"] == dict(current=4, prior=3, change=1, change_pct=33.3)
    assert got["Passes per day (average)"] == dict(current=1.5, prior=1.3, change=0.2, change_pct=15.4)
    assert got["Students with a pass"] == dict(current=3, prior=2, change=1, change_pct=50.0)
    # lengths: 5, 15, 30, 10, 10, 10 = 80 / 6 = 13.3; before 10, 20, 4, 6 = 40 / 4 = 10.0
    assert got["Average pass length (minutes)"] == dict(current=13.3, prior=10.0, change=3.3, change_pct=33.0)
    # grade 10: 4 of 6 passes (66.7%), 1.0 a day; before 1 of 4 (25.0%), 0.3 a day
    assert got["Grade 10: share of passes (%)"] == dict(current=66.7, prior=25.0, change=41.7, change_pct=166.8)
    assert got["Grade 10: passes per day"] == dict(current=1.0, prior=0.3, change=0.7, change_pct=233.3)
    assert got["Grade 9: share of passes (%)"]["change"] == -41.7
    assert isinstance(got["Passes"]["current"], int) and isinstance(got["Passes"]["change"], int), "counts stay whole"


def test_a_prior_period_with_no_passes_has_no_percent(folder):
    data = folder(RANGE + [pass_row(99, "S9", "2025-12-01T09:00:00", "2025-12-01T09:05:00")])  # exports cover it
    got = figures(compare.comparison(data, "2026-01-12", "2026-01-18"))
    assert got["Passes"]["prior"] == 0 and got["Passes"]["change"] == 6 and pd.isna(got["Passes"]["change_pct"])


def test_a_prior_period_the_exports_miss_is_said_not_shown_as_zero(folder):
    data = folder(RANGE)  # the exports start on 2026-01-12
    table = Tables(data, "2026-01-12", "2026-01-18").get("comparison")
    assert table["prior"].isna().all() and table["change"].isna().all() and table["change_pct"].isna().all()
    assert table["current"].notna().all()
    words = compare.comparison.report.sentence(table)
    assert "do not cover the prior period" in words and "Mon 2026-01-05 to Sun 2026-01-11" in words
    assert compare.changes(table) == {}


def test_the_grades_chosen_are_compared_with_the_same_grades(folder):
    data = folder(PRIOR + RANGE)
    got = figures(compare.comparison(data, "2026-01-12", "2026-01-18", grades=["10"]))
    assert got["Passes"] == dict(current=4, prior=1, change=3, change_pct=300.0)


def test_an_explicit_prior_range(folder):
    data = folder(PRIOR + RANGE)
    got = figures(compare.comparison(data, "2026-01-12", "2026-01-18", prior=("2026-01-06", "2026-01-06")))
    assert got["Passes"] == dict(current=6, prior=2, change=4, change_pct=200.0)


def test_the_summary_tiles_and_cards_carry_the_change(folder):
    data = folder(PRIOR + RANGE)
    tables = Tables(data, "2026-01-12", "2026-01-18")
    table = tables.get(summary.NAME)
    changes = dict(zip(table["figure"], table["change"]))
    assert changes["Passes"] == "up 50.0% on the prior period (4)"
    assert changes["Passes per day (average)"] == "up 15.4% on the prior period (1.3)"
    assert changes["Busiest day"] == "" and changes["Files read"] == ""
    cards = {card["label"]: card for card in summary.cards(table, summary.IN_RANGE)}
    assert cards["Passes"] == {"label": "Passes", "value": "6", "change": "up 50.0% on the prior period (4)"}
    tiles = {tile["key"]: tile for tile in dashboard_data.tiles(tables)}
    assert tiles["passes"]["change"] == "up 50.0% on the prior period (4)"
    assert tiles["per_day"]["change"] == "up 15.4% on the prior period (1.3)"
    assert "figure" not in tiles["passes"]


def test_change_words():
    assert compare.change_words(0, 0.0, 40) == "the same as the prior period (40)"
    assert compare.change_words(-3, float("nan"), 0) == "down 3 on the prior period (0)"
    assert compare.change_words(-12.0, -0.9, 1264.8) == "down 0.9% on the prior period (1,264.8)"
    assert compare.change_words(None, float("nan"), None) == ""


def test_the_dashboard_compares_a_quarter_with_the_one_before():
    days = [D(2025, 8, 18), D(2025, 10, 20), D(2026, 1, 5), D(2026, 3, 27)]
    options = dashboard.presets(days, QUARTERS)
    assert dashboard.quarter_presets(options)[:3] == [(q.start, q.end) for q in QUARTERS]
    q3 = options["Quarter 3"]
    assert prior_range(*q3, dashboard.quarter_presets(options)) == (QUARTERS[1].start, QUARTERS[1].end)


def test_passkit_report_writes_the_comparison_and_findings(folder, tmp_path):
    folder(PRIOR + RANGE)
    out = tmp_path / "out"
    assert main(["report", "--data", str(tmp_path / "data"), "--start", "2026-01-12", "--end", "2026-01-18",
                 "--out", str(out), "--cache", str(tmp_path / "cache")]) == 0
    written = pd.read_csv(out / "comparison.csv", dtype=str, keep_default_na=False)
    row = written.set_index("metric").loc["Passes per day (average)"]
    assert (row["current"], row["prior"], row["change"], row["change_pct"]) == ("1.5", "1.3", "0.2", "15.4")
    assert written.set_index("metric").loc["Passes", "current"] == "6", "a count is written as a whole number"
    found = json.loads((out / "findings.json").read_text())
    assert isinstance(found, list) and all(set(item) == {"kind", "severity", "title", "text", "evidence"}
                                           for item in found)


def test_rooms_and_staff_beside_the_prior_period(folder):
    rows = [pass_row(1, "S1", "2026-01-05T09:00:00", "2026-01-05T09:05:00", issuer="Ms. A", created_by="teacher"),
            pass_row(2, "S1", "2026-01-06T09:00:00", "2026-01-06T09:05:00", issuer="Ms. A", created_by="teacher",
                     destination="Nurse"),
            pass_row(3, "S1", "2026-01-12T09:00:00", "2026-01-12T09:05:00", issuer="Mr. B", created_by="teacher")]
    data = folder(rows, staff=(["issuer"], [["Ms. A"], ["Mr. B"]]))
    tables = Tables(data, "2026-01-12", "2026-01-18")
    rooms = tables.get("room_changes").set_index("room")
    assert rooms.loc["Restroom A", ["passes_to", "passes_to_prior", "passes_to_change"]].tolist() == [1, 1, 0]
    assert rooms.loc["Nurse", ["passes_to", "passes_to_prior", "passes_to_change"]].tolist() == [0, 1, -1]
    assert rooms.loc["Room 101", ["passes_from", "passes_from_prior", "passes_from_change"]].tolist() == [1, 2, -1]
    listed = tables.get("room_usage")["room"].tolist()
    assert list(rooms.index) == listed + ["Nurse"], "Room Usage's rows in its order, then the prior period's others"
    staff = tables.get("staff_changes").set_index("issuer")
    assert staff.loc["Ms. A"].tolist() == [0, 2, -2] and staff.loc["Mr. B"].tolist() == [1, 0, 1]


def test_rooms_compared_are_blank_without_the_prior_period(folder):
    data = folder(RANGE)
    rooms = Tables(data, "2026-01-12", "2026-01-18").get("room_changes")
    assert rooms["passes_to_prior"].isna().all() and rooms["passes_to_change"].isna().all()
    assert rooms["passes_to"].sum() == 6


def test_a_computed_prior_period_is_reused_and_compares_the_same(folder):
    data = folder(PRIOR + RANGE)
    before = Tables(data, "2026-01-05", "2026-01-11")
    before.get(summary.NAME)
    kept = before.keeping(compare.PRIOR_TABLES)
    assert set(kept.computed()) == set(compare.PRIOR_TABLES) & set(before.computed())
    reused = Tables(data, "2026-01-12", "2026-01-18", prior=kept)
    fresh = Tables(data, "2026-01-12", "2026-01-18", prior=("2026-01-05", "2026-01-11"))
    pd.testing.assert_frame_equal(reused.get("comparison"), fresh.get("comparison"))
    pd.testing.assert_frame_equal(reused.get("findings"), fresh.get("findings"))
    assert reused.prior is kept and reused.prior.get("room_usage") is before.get("room_usage")
