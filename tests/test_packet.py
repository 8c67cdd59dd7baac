"""`passkit packet`: a folder a teacher may receive names no student, hides small counts, and keeps its key apart."""

import csv
import random
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import passkit
from passkit import cli, packet

from .conftest import HEADER, pass_row, write_csv

Q3 = ["--start", "2026-01-05", "--end", "2026-03-27"]


def run(*args) -> int:
    return cli.main(["packet", *map(str, args)])


@pytest.fixture(scope="module")
def packets(demo_folder, tmp_path_factory):
    """A teacher's, a room's and a grade's packet of the demo school's third quarter."""
    root, cache = tmp_path_factory.mktemp("packets"), tmp_path_factory.mktemp("packet-cache")
    data = passkit.load(demo_folder, cache_dir=cache)
    passes = data.passes.collect("pandas").to_native()
    teacher = passes[passes["created_by"] == "teacher"]["issuer"].mode()[0]
    room = passes["origin"].mode()[0]
    made = {}
    for option, value in (("--issuer", teacher), ("--room", room), ("--grade", "9")):
        out = root / option.strip("-")
        assert run("--data", demo_folder, *Q3, option, value, "--out", out, "--cache", cache) == 0
        made[option.strip("-")] = out
    return made, data


def texts_of(path: Path) -> list[str]:
    """Every piece of text a file carries: a text file itself, each part of a workbook (a zip of XML), the
    text chunks of a PNG (and its raw bytes, decoded loosely)."""
    raw = path.read_bytes()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return [book.read(name).decode("utf-8") for name in book.namelist()]
    if path.suffix == ".png":
        found, at = [raw.decode("latin-1")], 8
        while at < len(raw):
            length, kind = struct.unpack(">I4s", raw[at:at + 8])
            body = raw[at + 8:at + 8 + length]
            if kind in (b"tEXt", b"iTXt"):
                found.append(body.decode("latin-1"))
            elif kind == b"zTXt":
                found.append(zlib.decompress(body.split(b"\0", 1)[1][1:]).decode("latin-1"))
            at += 12 + length
        return found
    return [raw.decode("utf-8")]


def test_no_file_of_a_packet_names_a_student(packets):
    made, data = packets
    students = data.students.collect("pandas").to_native()
    ids, names = set(students["student_id"]), set(students["student_name"])
    assert len(ids) > 100 and len(names) > 100
    for kind, folder in made.items():
        files = [path for path in folder.rglob("*") if path.is_file()]
        assert {path.suffix for path in files} >= {".html", ".csv", ".xlsx", ".png"}, kind
        for path in files:
            for text in texts_of(path):
                lowered = text.lower()
                leaked = [value for value in ids | names if value.lower() in lowered]
                assert not leaked, (kind, path.name, leaked[:3])
                if path.suffix in (".csv", ".html"):
                    assert not re.search(r"\b\d{1,2}:\d{2}\b", text), (kind, path.name, "a time of day")
                assert "@" not in text or path.suffix in (".html", ".png"), "no email address"
        assert not list(folder.glob("*key*")), "the key never goes inside the packet"


def test_every_student_is_a_pseudonym_the_key_maps(packets):
    made, data = packets
    folder = made["issuer"]
    students = pd.read_csv(folder / "students.csv", dtype=str)
    key = pd.read_csv(folder.parent / packet.KEYS_FOLDER / f"{folder.name}.key.csv", dtype=str)
    assert students["student"].str.fullmatch(r"Student \d{3}").all() and students["student"].is_unique
    assert sorted(students["student"]) == sorted(key["student"])
    mapped = key.set_index("student")
    for _, row in students.iterrows():
        exact = int(mapped.loc[row["student"], "passes"])
        assert row["passes"] == (str(exact) if exact >= 5 else "<5")
    everyone = data.students.collect("pandas").to_native()
    known = dict(zip(everyone["student_id"], everyone["student_name"]))
    assert all(known[i] == n for i, n in zip(key["student_id"], key["student_name"]))


def test_the_key_is_outside_the_packet_and_private(packets, demo_folder, tmp_path):
    made, _ = packets
    for folder in made.values():
        key = folder.parent / packet.KEYS_FOLDER / f"{folder.name}.key.csv"
        assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    out = tmp_path / "p"
    assert run("--data", demo_folder, *Q3, "--grade", "10", "--out", out, "--key", out / "key.csv",
               "--cache", tmp_path / "c") == 2
    assert not out.exists()


def test_pseudonyms_are_drawn_afresh_for_each_packet(packets, demo_folder, tmp_path):
    made, _ = packets
    first = made["room"]
    again = tmp_path / "again"
    room = pd.read_csv(first / "room_usage.csv")["room"][pd.read_csv(first / "room_usage.csv")["passes_from"]
                                                          .astype(str) != "0"].iloc[0]
    assert run("--data", demo_folder, *Q3, "--room", room, "--out", again, "--cache", tmp_path / "c") == 0
    keys = [pd.read_csv(folder.parent / packet.KEYS_FOLDER / f"{folder.name}.key.csv", dtype=str)
            .set_index("student_id")["student"] for folder in (first, again)]
    assert set(keys[0].index) == set(keys[1].index)
    assert (keys[0] != keys[1].loc[keys[0].index]).any(), "two packets cannot be linked by their pseudonyms"
    assert packet.pseudonyms(3, random.Random(1)) == packet.pseudonyms(3, random.Random(1))
    assert sorted(packet.pseudonyms(1200)) == [f"Student {n:04d}" for n in range(1, 1201)]


def test_frequent_flyers_and_minutes_stay_out_of_a_packet(packets):
    made, _ = packets
    for folder in made.values():
        names = {path.name for path in folder.iterdir()}
        assert not {"frequent_flyers.csv", "passes_by_student.csv"} & names
        book = openpyxl.load_workbook(next(folder.glob("packet-2026-01-05-to-2026-03-27.xlsx")))
        assert book.sheetnames == ["Overview", "Passes by Week", "Passes by Grade", "Rooms", "Students"]
        headers = {cell.value for sheet in book.worksheets for cell in sheet[2]}
        assert not {"Minutes out", "Outlier", "Student ID"} & headers


# ---- small counts, hand-computed ---------------------------------------------------------------------

@pytest.fixture
def small(tmp_path):
    """Mrs. Ray's passes: A 7 (grade 9), B 3 (grade 10), C 1 (grade 10); week of Jan 5: 8, of Jan 12: 3.
    Mr. Lee issues one pass for D, which is not in her packet. E (exempt) has 9 of her passes on Jan 5."""
    rows, number = [], 0
    for student, grade, days in (("A", "9", ["05", "05", "06", "06", "07", "12", "13"]), ("B", "10", ["08", "09", "14"]),
                                 ("C", "10", ["09"])):
        for day in days:
            number += 1
            rows.append(pass_row(number, student, f"2026-01-{day}T09:00:00", f"2026-01-{day}T09:04:00", grade=grade,
                                 created_by="teacher", issuer="Mrs. Ray", name=f"Pupil {student}"))
    rows.append(pass_row(99, "D", "2026-01-05T10:00:00", "2026-01-05T10:04:00", created_by="teacher", issuer="Mr. Lee"))
    rows += [pass_row(100 + n, "E", "2026-01-05T11:00:00", "2026-01-05T11:04:00", created_by="teacher",
                      issuer="Mrs. Ray", name="Pupil E") for n in range(9)]
    write_csv(tmp_path / "data" / "passes.csv", rows)
    write_csv(tmp_path / "data" / "exempt.csv", [["E", "a medical plan"]], ["student_id", "reason"])
    return tmp_path


def test_counts_below_five_read_less_than_five(small):
    out = small / "packet"
    assert run("--data", small / "data", "--start", "2026-01-05", "--end", "2026-01-16", "--issuer", "Mrs. Ray",
               "--out", out, "--cache", small / "cache") == 0
    students = list(csv.reader(open(out / "students.csv")))
    assert [row[1:] for row in students] == [["grade", "passes"], ["9", "7"], ["10", "<5"], ["10", "<5"]], \
        "E (exempt) counts in the totals but is not listed"
    assert list(csv.reader(open(out / "passes_by_week.csv"))) == [["week", "passes"], ["2026-01-05", "17"],
                                                                  ["2026-01-12", "<5"]]
    assert list(csv.reader(open(out / "passes_by_grade.csv"))) == [["grade", "passes"], ["9", "16"], ["10", "<5"]]
    rooms = list(csv.reader(open(out / "room_usage.csv")))
    assert rooms == [["room", "passes_from", "passes_to"], ["Restroom A", "0", "20"], ["Room 101", "20", "0"]]
    overview = dict(list(csv.reader(open(out / "overview.csv")))[1:])
    assert overview["Passes"] == "20" and overview["Students with a pass"] == "<5"
    assert overview["Busiest week"] == "week of 2026-01-05 (17 passes)"
    sheet = openpyxl.load_workbook(out / "packet-2026-01-05-to-2026-01-16.xlsx")["Students"]
    assert [[cell.value for cell in row][1:] for row in sheet.iter_rows(min_row=3)] == [[9, 7], [10, "<5"], [10, "<5"]]
    page = (out / "index.html").read_text()
    assert page.count("<td>&lt;5</td>") >= 4 and "Pupil" not in page and "Mr. Lee" not in page
    assert "accommodation plan count in every total but are not listed" in page and "medical" not in page
    key = pd.read_csv(small / "packet-keys" / "packet.key.csv", dtype=str)
    assert sorted(key["student_name"]) == ["Pupil A", "Pupil B", "Pupil C"], "D's pass was Mr. Lee's"
    assert packet.hidden(0) == 0 and packet.hidden(4) == "<5" and packet.hidden(5) == 5


def test_an_unknown_teacher_or_a_shared_name_is_one_line(small, capsys):
    base = ["--data", small / "data", "--start", "2026-01-05", "--end", "2026-01-16", "--cache", small / "cache",
            "--out", small / "p"]
    assert run(*base, "--issuer", "Mrs Ray") == 2
    assert capsys.readouterr().err.strip() == "passkit: no passes name the teacher 'Mrs Ray' (did you mean 'Mrs. Ray'?)"
    assert run(*base, "--issuer", "Mr. Lee", "--start", "2026-01-12") == 2
    assert "Passes issued by Mr. Lee: no passes from 2026-01-12 to 2026-01-16" in capsys.readouterr().err
    rows = [["North", *pass_row(1, issuer="Mr. Lee")], ["South", *pass_row(1, issuer="Mr. Lee")]]
    write_csv(small / "district" / "passes.csv", rows, ["school", *HEADER])
    district = ["--data", small / "district", "--start", "2026-01-05", "--end", "2026-01-05", "--cache", small / "c2"]
    assert run(*district, "--issuer", "Mr. Lee", "--out", small / "d") == 2
    assert "is in 2 schools (North, South): choose one with --school" in capsys.readouterr().err
    assert run(*district, "--issuer", "Mr. Lee", "--school", "South", "--out", small / "d") == 0
    assert run(*district, "--grade", "13", "--out", small / "d") == 2
    assert "'13' is not a grade" in capsys.readouterr().err
