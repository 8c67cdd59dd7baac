import pytest

from passkit import grades


@pytest.mark.parametrize("raw, grade", [
    ("9", "9"), ("09", "9"), ("Grade 9", "9"), ("9th", "9"), ("grade 10", "10"), ("1st", "1"), ("12", "12"),
    ("K", "K"), ("KG", "K"), ("Kindergarten", "K"), ("TK", "K"), ("PK", "PK"), ("PreK", "PK"), ("Pre-K", "PK"),
    ("", "Unknown"), (None, "Unknown"), ("13", "Unknown"), ("UG", "Unknown"), ("Other", "Unknown"),
    (" 11 ", "11"), ("Gr. 3", "3"), ("3rd grade", "3"),
    ("Freshman", "9"), ("sophomore", "10"), ("JUNIOR", "11"), ("Senior", "12"), ("10.0", "10"), ("9.00", "9"),
    ("10.5", "Unknown"),
])
def test_normalise(raw, grade):
    assert grades.normalise(raw) == grade


def test_order_is_school_order():
    shuffled = ["Unknown", "12", "K", "1", "PK", "10", "2"]
    assert sorted(shuffled, key=grades.sort_key) == ["PK", "K", "1", "2", "10", "12", "Unknown"]
