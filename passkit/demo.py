"""Seeded, realistic hall-pass exports for a demo school or district, in passkit's input format.

    generate("demo")                  # passes.csv, rooms.csv, roster.csv, staff.csv (no school column)
    generate("district", schools=40)  # passes-<slug>.csv per school; rooms/roster/staff with a school column
    generate("sp", layout="smartpass")  # SmartPass-PassSearch.csv, rooms.csv, roster.csv: the same school as
                                        # SmartPass would export it (ended passes only, no pass id or creator)

Every pass attribute is drawn with numpy for a whole school at once and written with pyarrow, one
school at a time, so a 40-school district (~8.5 M passes) is quick and needs little memory.
The same arguments always give byte-identical files.
"""

import re
import sys
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from tqdm import tqdm

# --- The school day -----------------------------------------------------------------------------

# 7 class periods and a lunch block, 50 minutes each with 5-minute passing times, 07:45-15:00.
BELL_SCHEDULE = (
    ("Period 1", "07:45", "08:35"), ("Period 2", "08:40", "09:30"), ("Period 3", "09:35", "10:25"),
    ("Period 4", "10:30", "11:20"), ("Lunch", "11:25", "12:15"), ("Period 5", "12:20", "13:10"),
    ("Period 6", "13:15", "14:05"), ("Period 7", "14:10", "15:00"),
)
# Wednesdays start late (staff meetings): the same blocks, 40-minute classes, from 08:55.
LATE_START = (
    ("Period 1", "08:55", "09:35"), ("Period 2", "09:40", "10:20"), ("Period 3", "10:25", "11:05"),
    ("Period 4", "11:10", "11:50"), ("Lunch", "11:55", "12:45"), ("Period 5", "12:50", "13:30"),
    ("Period 6", "13:35", "14:15"), ("Period 7", "14:20", "15:00"),
)
LATE_START_DAY = 2  # Wednesday (Monday is 0)
LUNCH = 4  # index of the lunch block; students are in the cafeteria, not a classroom
QUIET_MINUTES = 10  # teachers rarely let anyone out in a period's first and last 10 minutes
BLOCK_WEIGHT = np.array([0.85, 1.0, 1.0, 1.05, 1.4, 1.1, 1.0, 0.95])  # lunch is busiest

# --- Volume ---------------------------------------------------------------------------------------

# Passes per student per school day before staff fidelity slips; with the slip and the post-break level this
# gives about 212,000 passes a year for 1,500 students (~1,250 a day until mid-February) on the default calendar.
PASSES_PER_STUDENT_DAY = 0.846
# Staff fidelity slips from about mid-February: fewer and fewer passes get logged, a linear ramp (by calendar
# day) from full use on FIDELITY_SLIP_FROM (month, day of the spring term's year) down to AFTER_SPRING_BREAK on
# spring break's Monday, where it stays for the rest of the year. The third quarter's weekly trend falls, and its
# last weeks log ~30% fewer passes a day than its first.
FIDELITY_SLIP_FROM = (2, 15)
AFTER_SPRING_BREAK = 0.65  # share of passes still logged once staff stopped using the system with fidelity
# A stomach bug on one school day (month, day of the spring term's year; Thursday 2026-02-05 on the default
# calendar, skipped where that is no school day): OUTBREAK_EXTRA times an ordinary day's passes on top, for
# students who use passes at all, OUTBREAK_NURSE of them to the Nurse and the rest to the restrooms. The Nurse
# only checks each student and sends them home or back (OUTBREAK_NURSE_MINUTES), so that the day does not
# swamp Encounters (students out together, quadratic in how many are out at once: ~3x a usual week).
OUTBREAK_DAY = (2, 5)
OUTBREAK_EXTRA = 2.0
OUTBREAK_NURSE = 0.7
OUTBREAK_NURSE_MINUTES = 4  # median minutes of an outbreak visit to the Nurse (usually 20)
WEEKDAY_FACTOR = np.array([0.92, 1.0, 1.0, 1.0, 1.1])  # quieter Mondays, restless Fridays
GRADE_SHARE = np.array([0.27, 0.26, 0.24, 0.23])  # grades 9..12
GRADE_RATE = np.array([1.3, 1.05, 0.95, 0.8])  # 9th graders use more passes
FREQUENT_FLYERS = 0.01  # share of students with 5-10x the typical rate
IDLE_STUDENTS_PER_1500 = 20  # roster students with no passes at all
FRIENDS = 3  # pairs of friends per school who often take restroom passes at the same time (Encounters)

# --- Rooms ------------------------------------------------------------------------------------------

CLASSROOMS = [f"Room {wing}{n:02d}" for wing in (1, 2, 3) for n in range(1, 21)]
WINGS = {"1": "Science", "2": "Humanities", "3": "Math"}
DEDICATED_KIOSKS = ("Library", "Gym", "Cafeteria")  # kiosks with their own login, not a teacher's
ORIGINS = CLASSROOMS + list(DEDICATED_KIOSKS)  # rooms a pass can start from; Cafeteria is last
CAFETERIA = len(ORIGINS) - 1  # only used at lunch, supervised by a classroom teacher on duty
ANOTHER_CLASSROOM = "(another classroom)"
# destination: (share in class, share at lunch, median minutes, log-sd of the duration)
DESTINATIONS = {
    "Restroom A": (0.16, 0.22, 6, 0.45),
    "Restroom B": (0.14, 0.20, 6, 0.45),
    "Restroom C": (0.10, 0.14, 6, 0.45),
    "Boys Restroom 1": (0.10, 0.12, 6, 0.45),
    "Girls Restroom 1": (0.10, 0.12, 6, 0.45),
    "Water Fountain": (0.08, 0.05, 3, 0.4),
    "Locker": (0.06, 0.04, 4, 0.4),
    "Nurse": (0.06, 0.04, 20, 0.5),
    "Main Office": (0.05, 0.03, 15, 0.5),
    "Counselor": (0.05, 0.02, 22, 0.5),
    "Library": (0.06, 0.02, 18, 0.5),
    ANOTHER_CLASSROOM: (0.04, 0.0, 12, 0.5),
}
UNUSED_ROOMS = ("Room 299 (storage)", "Portable 1", "Boiler Room")  # in rooms.csv, never in passes
FOLDERS = {"Library": "Common areas", "Gym": "Common areas", "Cafeteria": "Common areas", "Nurse": "Health",
           "Main Office": "Offices", "Counselor": "Offices", "Water Fountain": "Hallway", "Locker": "Hallway"}
MAX_PASSES_TO = {"Nurse": 4, "Counselor": 2, "Main Office": 5}  # restrooms get 3, others blank
# Long-pass limits of the rooms where visits take longer; the others use --long-minutes (15).
MAX_MINUTES = {"Nurse": 40, "Counselor": 45, "Library": 40, "Main Office": 30}

# --- Staff ------------------------------------------------------------------------------------------

# Teacher i teaches in origin room i (classrooms, library, gym); the other ~10% never issue a pass.
TEACHERS = 70
KIOSK_MODE_TEACHERS = 8  # teachers who run a kiosk in their classroom under their own login

# --- Rows that exercise passkit's validation ----------------------------------------------------------

BAD_KINDS = ("no student_id", "no destination", "not a time", "garbled time", "robot", "later", "duplicate")
BAD_SHARE = 0.0002
BAD_TIMES = {"not a time": "not a time", "garbled time": "13/45/2026 25:00"}
NEVER_ENDED = 0.015
CLOCK_GLITCH = 0.0005  # end_time before start_time
VERY_LONG = 0.003  # over an hour
GRADE_VARIANTS = ("09", "Grade 10", "11th", "12th grade")  # for grades 9..12
GRADE_BLANK = 0.10  # students whose passes carry no grade (it is in roster.csv only)

# --- Names ------------------------------------------------------------------------------------------

SCHOOL_NAMES = (
    "Lincoln High", "Roosevelt High", "Jefferson High", "Washington High", "Kennedy High", "Madison High",
    "Franklin High", "Hamilton High", "Riverside High", "Westview High", "Eastwood High", "Northridge High",
    "Southgate High", "Oak Park High", "Cedar Valley High", "Maple Grove High", "Pine Ridge High",
    "Lakeside High", "Hillcrest High", "Central High", "Summit High", "Meadowbrook High", "Fairview High",
    "Brookside High",
)
FEMALE = (
    "Ana", "Maria", "Emily", "Sophia", "Olivia", "Emma", "Ava", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Ella", "Grace", "Chloe", "Camila", "Aaliyah", "Zoe", "Nora", "Lily", "Hannah", "Layla", "Riley",
    "Victoria", "Madison", "Aria", "Scarlett", "Natalie", "Leah", "Savannah", "Brooklyn", "Jasmine", "Valeria",
    "Ximena", "Fatima", "Priya", "Mei", "Keisha", "Imani",
)
MALE = (
    "James", "Liam", "Noah", "Oliver", "Elijah", "William", "Benjamin", "Lucas", "Henry", "Alexander", "Mason",
    "Michael", "Ethan", "Daniel", "Jacob", "Logan", "Jackson", "Sebastian", "Jack", "Aiden", "Owen", "Samuel",
    "Matthew", "Joseph", "Levi", "Mateo", "David", "John", "Wyatt", "Carter", "Julian", "Luke", "Isaiah", "Diego",
    "Jose", "Carlos", "Andre", "Malik", "Hiroshi", "Omar",
)
LAST = (
    "Rivera", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard",
    "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray",
    "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross",
    "Foster", "Jimenez", "Chen", "Okafor", "Nakamura", "Kowalski", "Haddad", "Schmidt", "O'Brien", "Singh",
)

CREATED_BY = ("student", "teacher", "kiosk", "robot")
PASS_TYPE = ("now", "scheduled", "later")


def generate(out_dir, *, schools: int = 1, students_per_school: int = 1500, seed: int = 2025,
             year_start: date = date(2025, 8, 18), year_end: date = date(2026, 5, 29),
             timezone: str = "America/Chicago", progress: bool = False, layout: str = "passkit") -> dict:
    """Write demo exports into `out_dir` and return {"schools", "passes_rows", "students", "files"}.

    One school writes passes.csv, rooms.csv, roster.csv and staff.csv without a school column; a
    district writes passes-<slug>.csv per school and combined side files whose first column is `school`.
    Times are school-local in `timezone` except a couple of rows written as UTC instants.
    With layout="smartpass" (one school), the passes are SmartPass-PassSearch.csv as `smartpass_table` writes them.
    """
    if layout == "smartpass":
        return _generate_smartpass(Path(out_dir), students_per_school, seed, year_start, year_end, timezone)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(timezone)
    days = school_days(year_start, year_end)
    if not days:
        raise ValueError(f"no school days between {year_start} and {year_end}")
    district = schools > 1
    side = {"rooms": [], "roster": [], "staff": [], "keep_apart": []}
    files, rows = [], 0
    for index in tqdm(range(schools), desc="schools", unit="school", file=sys.stderr, disable=not progress):
        name = school_name(index)
        rng = np.random.default_rng([seed, index])
        tables = _school(rng, students_per_school, days, tz)
        if district:
            tables = {key: _with_school(table, name) for key, table in tables.items()}
        passes_file = f"passes-{slug(name)}.csv" if district else "passes.csv"
        passes = tables.pop("passes")
        _write_csv(passes, out / passes_file)
        files.append(passes_file)
        rows += passes.num_rows
        for key in side:
            side[key].append(tables[key])
    for key, parts in side.items():
        _write_csv(pa.concat_tables(parts), out / f"{key}.csv")
        files.append(f"{key}.csv")
    _write_bells(out / "bells.csv")  # one schedule, no school column: every school of a district keeps it
    files.append("bells.csv")
    students = sum(table.num_rows for table in side["roster"])
    return {"schools": schools, "passes_rows": rows, "students": students, "files": files}


def school_name(index: int) -> str:
    """'Lincoln High', 'Roosevelt High', ...; names are reused with a number once the list runs out."""
    base = SCHOOL_NAMES[index % len(SCHOOL_NAMES)]
    return base if index < len(SCHOOL_NAMES) else f"{base} {index // len(SCHOOL_NAMES) + 1}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def school_days(year_start: date, year_end: date) -> list:
    """Weekdays from year_start to year_end (inclusive) that are not holidays or breaks."""
    closed = set()
    for year in range(year_start.year - 1, year_end.year + 1):
        closed |= closed_days(year)
    span = (year_end - year_start).days + 1
    every = (year_start + timedelta(n) for n in range(span))
    return [day for day in every if day.weekday() < 5 and day not in closed]


def closed_days(year: int) -> set:
    """Holidays and breaks falling in `year`'s school calendar (winter break runs into January)."""
    closed = {_nth_weekday(year, 9, 0, 1), _nth_weekday(year, 1, 0, 3), _nth_weekday(year, 2, 0, 3),
              _last_weekday(year, 5, 0)}  # Labor Day, MLK Day, Presidents Day, Memorial Day
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    closed |= {thanksgiving, thanksgiving + timedelta(1)}
    closed |= {date(year, 12, 22) + timedelta(n) for n in range(12)}  # Dec 22 - Jan 2
    closed |= set(spring_break(year))
    return closed


def spring_break(year: int) -> list:
    """The Monday-Friday week of March's third Monday (Mar 16-20 in 2026)."""
    monday = _nth_weekday(year, 3, 0, 3)
    return [monday + timedelta(n) for n in range(5)]


def _nth_weekday(year, month, weekday, n):
    first = date(year, month, 1)
    return first + timedelta((weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year, month, weekday):
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(1)
    return last - timedelta((last.weekday() - weekday) % 7)


# --- One school --------------------------------------------------------------------------------------


def _school(rng, n_students, days, tz) -> dict:
    rooms = _rooms()
    staff = _staff(rng)
    students = _students(rng, n_students)
    passes = _passes(rng, students, staff, rooms, days)
    friends = _meet_ups(np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]), passes, students, rooms)
    return {"passes": _pass_table(rng, passes, students, staff, rooms, tz), "rooms": _rooms_table(rooms),
            "roster": _roster_table(rng, students), "staff": _staff_table(staff),
            "keep_apart": _keep_apart_table(friends, students)}


def _rooms() -> list:
    """Every room name passkit will see: origins, destinations, and a few unused ones."""
    named = [room for room in DESTINATIONS if room != ANOTHER_CLASSROOM]
    return ORIGINS + [room for room in named if room not in ORIGINS] + list(UNUSED_ROOMS)


def _staff(rng) -> dict:
    """Teachers and how each uses the system."""
    last = rng.choice(LAST, TEACHERS, replace=False)  # distinct, so issuer names are unique
    female = rng.random(TEACHERS) < 0.6
    first = np.where(female, rng.choice(FEMALE, TEACHERS), rng.choice(MALE, TEACHERS))
    title = np.where(female, np.where(rng.random(TEACHERS) < 0.25, "Mrs.", "Ms."), "Mr.")
    title[rng.random(TEACHERS) < 0.05] = "Dr."
    # Scheduled-pass habits: some never schedule, most sometimes, a few schedule most of theirs.
    habit = rng.choice(3, TEACHERS, p=[0.2, 0.65, 0.15])
    scheduled = np.choose(habit, [np.zeros(TEACHERS), rng.beta(3, 4, TEACHERS), np.full(TEACHERS, 0.9)])
    kiosk_mode = np.zeros(TEACHERS, bool)
    kiosk_mode[rng.choice(len(CLASSROOMS), KIOSK_MODE_TEACHERS, replace=False)] = True
    return {"issuer": [f"{t} {n}" for t, n in zip(title, last)],
            "name": [f"{f} {n}" for f, n in zip(first, last)],
            "scheduled": scheduled, "kiosk_mode": kiosk_mode}


def _students(rng, n) -> dict:
    grade = rng.choice(4, n, p=GRADE_SHARE)  # 0..3 for grades 9..12
    rate = rng.gamma(2.0, 0.5, n) * GRADE_RATE[grade]  # gamma-Poisson: negative-binomial counts
    order = rng.permutation(n)
    idle = round(n * IDLE_STUDENTS_PER_1500 / 1500)
    flyers = order[idle:idle + max(1, round(n * FREQUENT_FLYERS))]
    rate[flyers] = rng.uniform(5, 10, len(flyers)) * np.median(rate)
    rate[order[:idle]] = 0
    rate /= rate.mean()
    numbers = 100001 + np.sort(rng.choice(3 * n, n, replace=False))  # ids overlap between schools
    names = [f"{f} {l}" for f, l in zip(rng.choice(FEMALE + MALE, n), rng.choice(LAST, n))]
    # Each student's room in each of the 7 class periods (classrooms, library or gym).
    schedule = rng.integers(0, CAFETERIA, (n, len(BELL_SCHEDULE) - 1))
    return {"id": [f"S{k}" for k in numbers], "name": names, "grade": grade, "rate": rate,
            "grade_blank": rng.random(n) < GRADE_BLANK, "schedule": schedule}


def _day_factors(rng, days) -> np.ndarray:
    weekday = np.array([day.weekday() for day in days], dtype=int)
    noise = rng.lognormal(-0.1 ** 2 / 2, 0.1, len(days))
    return WEEKDAY_FACTOR[weekday] * fidelity(days) * noise


def fidelity(days) -> np.ndarray:
    """Share of each day's passes that staff log: 1 until FIDELITY_SLIP_FROM, then a straight ramp down to
    AFTER_SPRING_BREAK on spring break's Monday, that level afterwards (see FIDELITY_SLIP_FROM)."""
    year = days[-1].year
    slip, low = date(year, *FIDELITY_SLIP_FROM), spring_break(year)[0]
    done = np.array([(day - slip).days / (low - slip).days for day in days]).clip(0, 1)
    return 1 - (1 - AFTER_SPRING_BREAK) * done


def _outbreak(rng, students, days) -> tuple:
    """The extra passes of OUTBREAK_DAY as (student, day) index arrays; empty when it is no school day."""
    outbreak = date(days[-1].year, *OUTBREAK_DAY)
    if outbreak not in days:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    users = np.flatnonzero(students["rate"] > 0)  # idle students stay without passes
    n = round(OUTBREAK_EXTRA * PASSES_PER_STUDENT_DAY * len(students["rate"]))
    return rng.choice(users, n), np.full(n, days.index(outbreak))


def _passes(rng, students, staff, rooms, days) -> dict:
    """Draw every pass of the year as parallel arrays (room and staff values are indices)."""
    expected = PASSES_PER_STUDENT_DAY * students["rate"][:, None] * _day_factors(rng, days)[None, :]
    counts = rng.poisson(expected)
    student, day = np.divmod(np.repeat(np.arange(counts.size), counts.ravel()), len(days))
    sick_student, sick_day = _outbreak(rng, students, days)
    sick = np.concatenate([np.zeros(len(student), bool), np.ones(len(sick_student), bool)])
    student, day = np.concatenate([student, sick_student]), np.concatenate([day, sick_day])
    n = len(student)

    block = rng.choice(len(BELL_SCHEDULE), n, p=BLOCK_WEIGHT / BLOCK_WEIGHT.sum())
    lunch = block == LUNCH
    # [schedule, block] bells in minutes: row 0 the usual day, row 1 the late start
    begins, ends = (np.array([[_minutes(bell[column]) for bell in schedule]
                              for schedule in (BELL_SCHEDULE, LATE_START)]) for column in (1, 2))
    late = np.array([d.weekday() == LATE_START_DAY for d in days], dtype=np.int64)[day]
    # Beta(2.5, 2.5) piles passes up mid-period and keeps them out of the quiet first/last minutes.
    usable = (ends[late, block] - begins[late, block] - 2 * QUIET_MINUTES) * 60
    offset = QUIET_MINUTES * 60 + (rng.beta(2.5, 2.5, n) * usable).astype(np.int64)
    day_seconds = np.array(days, dtype="datetime64[D]").astype("datetime64[s]").astype(np.int64)
    start = day_seconds[day] + begins[late, block] * 60 + offset

    period = block - (block > LUNCH)  # class period 0..6 (the lunch block's value is unused)
    origin = np.where(lunch, CAFETERIA, students["schedule"][student, period])
    on_duty = rng.integers(0, len(CLASSROOMS), len(days))  # lunch duty rotates daily
    teacher = np.where(lunch, on_duty[day], origin)
    destination, target = _destinations(rng, lunch, origin, rooms, sick)

    median = np.array([v[2] for v in DESTINATIONS.values()])[target] * 60.0
    median[sick & (target == list(DESTINATIONS).index("Nurse"))] = OUTBREAK_NURSE_MINUTES * 60.0
    spread = np.array([v[3] for v in DESTINATIONS.values()])[target]
    duration = median * np.exp(spread * rng.standard_normal(n))
    long = rng.random(n) < VERY_LONG
    duration[long] = rng.uniform(61, 180, long.sum()) * 60
    glitch = rng.random(n) < CLOCK_GLITCH
    duration[glitch] = -rng.uniform(1, 30, glitch.sum()) * 60
    end = start + duration.astype(np.int64)

    created_by, issuer, kiosk_mode = _issuers(rng, origin, teacher, staff)
    habit = staff["scheduled"][teacher]
    p_scheduled = np.select([created_by == 1, created_by == 0], [habit, 0.06 * (habit > 0)], 0.0)
    pass_type = (rng.random(n) < p_scheduled).astype(np.int64)

    order = np.argsort(start, kind="stable")
    columns = {"student": student, "origin": origin, "destination": destination, "created_by": created_by,
               "issuer": issuer, "kiosk_mode": kiosk_mode, "pass_type": pass_type, "start": start, "end": end}
    passes = {key: value[order] for key, value in columns.items()}
    passes["ended"] = rng.random(n) >= NEVER_ENDED
    return passes


def _meet_ups(rng, passes, students, rooms) -> list:
    """A few pairs of busy friends who meet on passes: when both leave class in the same block of a day and the
    first goes to a restroom, the second's pass moves to within 90 s of it, to the same restroom (its origin and
    issuer, being the same block's, still hold). Returns the pairs (student indices), most meet-ups first.

    Drawn from its own generator, so every other pass stays as before; passes stay sorted by start.
    """
    busy = np.flatnonzero(students["rate"] > np.quantile(students["rate"], 0.9))
    pairs = rng.choice(busy, (FRIENDS, 2), replace=False) if len(busy) >= 2 * FRIENDS else np.zeros((0, 2), int)
    restroom = np.array(["Restroom" in room for room in rooms])
    start, end, day = passes["start"], passes["end"], passes["start"] // 86_400
    late = (day + 3) % 7 == LATE_START_DAY  # day 0, 1970-01-01, was a Thursday
    schedules = (BELL_SCHEDULE, LATE_START)
    begins = [[_minutes(begin) * 60 for _, begin, _ in schedule] for schedule in schedules]
    block = np.where(late, np.searchsorted(begins[1], start % 86_400, "right"),
                     np.searchsorted(begins[0], start % 86_400, "right")) - 1
    moved = []
    for first, second in pairs.tolist():
        moved.append(0)
        mine = {}  # (day, block) -> the first friend's first pass then
        for k in np.flatnonzero(passes["student"] == first).tolist():
            mine.setdefault((day[k], block[k]), k)
        for k in np.flatnonzero(passes["student"] == second).tolist():
            other = mine.pop((day[k], block[k]), None)
            if other is None or not restroom[passes["destination"][other]] or end[other] <= start[other]:
                continue
            _, begin, finish = schedules[int(late[k])][block[k]]  # Wednesdays keep their late-start bells
            window = (day[k] * 86_400 + (_minutes(begin) + QUIET_MINUTES) * 60,
                      day[k] * 86_400 + (_minutes(finish) - QUIET_MINUTES) * 60)
            start[k] = np.clip(start[other] + rng.integers(-90, 91), *window)
            end[k] = start[k] + max(120, end[other] - start[other] + int(rng.integers(-60, 61)))
            passes["destination"][k] = passes["destination"][other]
            passes["ended"][[k, other]] = True
            moved[-1] += 1
    order = np.argsort(start, kind="stable")
    for key, values in passes.items():
        passes[key] = values[order]
    return [pairs[k].tolist() for k in np.argsort(-np.array(moved, int), kind="stable")]


def _keep_apart_table(friends, students) -> pa.Table:
    """keep_apart.csv: the friends who met most under an order (so they show in Keep-apart meetings), and a
    second order keeping two other students apart."""
    ids = students["id"]
    rows = [("order-1", ids[k]) for k in friends[0]] if friends else []
    others = [k for k in range(len(ids)) if not any(k in pair for pair in friends)][:2]
    rows += [("order-2", ids[k]) for k in others]
    return pa.table({"group": [row[0] for row in rows], "student_id": [row[1] for row in rows]})


def _destinations(rng, lunch, origin, rooms, sick):
    """Each pass's destination as a room index and as an index into DESTINATIONS.

    Lunch sends more students to the restroom; the outbreak's (`sick`) passes go to the Nurse or a restroom.
    """
    index = {room: i for i, room in enumerate(rooms)}
    targets = list(DESTINATIONS)
    in_class = np.array([v[0] for v in DESTINATIONS.values()])
    at_lunch = np.array([v[1] for v in DESTINATIONS.values()])
    target = np.where(lunch, rng.choice(len(targets), len(lunch), p=at_lunch / at_lunch.sum()),
                      rng.choice(len(targets), len(lunch), p=in_class / in_class.sum()))
    room = np.array([index.get(name, -1) for name in targets])[target]
    other = room < 0
    room[other] = rng.integers(0, len(CLASSROOMS), other.sum())
    same = room == origin  # nobody gets a pass to the room they are in: send them to the restroom
    room[same], target[same] = index["Restroom A"], targets.index("Restroom A")
    restrooms = [k for k, name in enumerate(targets) if "Restroom" in name]
    share = in_class[restrooms] / in_class[restrooms].sum()
    ill = np.where(rng.random(sick.sum()) < OUTBREAK_NURSE, targets.index("Nurse"),
                   rng.choice(restrooms, sick.sum(), p=share))
    target[sick], room[sick] = ill, np.array([index[targets[k]] for k in ill], np.int64)
    return room, target


def _issuers(rng, origin, teacher, staff):
    """created_by (0 student, 1 teacher, 2 kiosk), issuer (staff index) and kiosk_mode (-1 blank, 0, 1)."""
    dedicated = origin >= len(CLASSROOMS)
    has_kiosk = dedicated | staff["kiosk_mode"][teacher]
    # Only rooms with a kiosk make kiosk passes; scale their share so ~10% of all passes are kiosk.
    kiosk_share = min(0.10 / max(has_kiosk.mean(), 1e-9), 0.75)
    u = rng.random(len(origin))
    created_by = np.where(u < 0.25, 1, np.where(has_kiosk & (u < 0.25 + kiosk_share), 2, 0))
    kiosk = created_by == 2
    # Dedicated kiosks follow the teachers in the issuer list.
    issuer = np.where(kiosk & dedicated, TEACHERS + origin - len(CLASSROOMS), teacher)
    kiosk_mode = np.where(kiosk, (~dedicated).astype(np.int64), -1)
    return created_by, issuer, kiosk_mode


def _pass_table(rng, passes, students, staff, rooms, tz):
    """The passes as strings, with the deliberate bad, duplicated and UTC-offset rows."""
    n = len(passes["start"])
    per_kind = max(2, round(n * BAD_SHARE / len(BAD_KINDS)))
    picks = rng.choice(n, min(n, per_kind * len(BAD_KINDS) + 2), replace=False)
    bad = {kind: np.zeros(n, bool) for kind in BAD_KINDS}
    for i, kind in enumerate(BAD_KINDS):
        bad[kind][picks[i * per_kind:(i + 1) * per_kind]] = True
    utc_rows = picks[len(BAD_KINDS) * per_kind:]

    student = passes["student"]
    grade = students["grade"][student].copy()
    variant = rng.random(n) < 0.001
    grade[variant] += 4  # '09', 'Grade 10', ... instead of '9', '10', ...
    created_by = np.where(bad["robot"], 3, passes["created_by"])
    pass_type = np.where(bad["later"], 2, passes["pass_type"])
    start = _iso(passes["start"])
    for kind, text in BAD_TIMES.items():
        start = _with_values(start, bad[kind], [text] * bad[kind].sum())
    end = _iso(passes["end"], ~passes["ended"])
    for i, suffix in zip(utc_rows, ("Z", "+00:00")):
        start = _with_values(start, np.arange(n) == i, [_utc(passes["start"][i], tz, suffix)])
        if passes["ended"][i]:
            end = _with_values(end, np.arange(n) == i, [_utc(passes["end"][i], tz, suffix)])

    table = pa.table({
        "pass_id": _pass_ids(n),
        "student_id": _lookup(students["id"], student, bad["no student_id"]),
        "student_name": _lookup(students["name"], student),
        "grade": _lookup(["9", "10", "11", "12", *GRADE_VARIANTS], grade, students["grade_blank"][student]),
        "origin": _lookup(rooms, passes["origin"]),
        "destination": _lookup(rooms, passes["destination"], bad["no destination"]),
        "created_by": _lookup(CREATED_BY, created_by),
        "issuer": _lookup(staff["issuer"] + [f"Kiosk - {room}" for room in DEDICATED_KIOSKS], passes["issuer"]),
        "kiosk_mode": _lookup(["false", "true"], np.maximum(passes["kiosk_mode"], 0), passes["kiosk_mode"] < 0),
        "pass_type": _lookup(PASS_TYPE, pass_type),
        "start_time": start,
        "end_time": end,
    })
    # Each duplicate is an exact copy written right after the original row.
    rows = np.sort(np.concatenate([np.arange(n), np.flatnonzero(bad["duplicate"])]))
    return table.take(rows)


def _rooms_table(rooms) -> pa.Table:
    folders, max_from, max_to = [], [], []
    max_minutes = pa.array([MAX_MINUTES.get(room) for room in rooms], pa.int64())
    for room in rooms:
        if room in CLASSROOMS:
            folders.append(f"Classrooms - {WINGS[room[5]]} wing")
            max_from.append(1 if room[5] == "1" else 2)  # science labs let one student out at a time
        else:
            folders.append("Restrooms" if "Restroom" in room else FOLDERS.get(room, "Other"))
            max_from.append(None)
        max_to.append(3 if "Restroom" in room else MAX_PASSES_TO.get(room))
    return pa.table({"room": rooms, "folder": folders, "max_passes_from": pa.array(max_from, pa.int64()),
                     "max_passes_to": pa.array(max_to, pa.int64()), "max_minutes": max_minutes})


def _roster_table(rng, students) -> pa.Table:
    grade = [str(9 + g) for g in students["grade"]]
    zero_padded = (students["grade"] == 0) & (rng.random(len(grade)) < 0.05)
    for i in np.flatnonzero(zero_padded):
        grade[i] = "09"
    return pa.table({"student_id": students["id"], "grade": grade, "student_name": students["name"]})


def _staff_table(staff) -> pa.Table:
    kiosks = [f"Kiosk - {room}" for room in DEDICATED_KIOSKS]
    table = pa.table({"issuer": staff["issuer"] + kiosks,
                      "name": staff["name"] + [f"{room} kiosk" for room in DEDICATED_KIOSKS]})
    return table.sort_by("issuer")


# --- SmartPass's layout -----------------------------------------------------------------------------

SMARTPASS_FILE = "SmartPass-PassSearch.csv"
SMARTPASS_COLUMNS = ("Student Name", "Grade", "ID", "Origin", "Destination", "Pass start time", "Duration", "Email")


def _generate_smartpass(out, students_per_school, seed, year_start, year_end, timezone) -> dict:
    """The demo school as SmartPass would export it; rooms.csv and roster.csv as for passkit's format."""
    out.mkdir(parents=True, exist_ok=True)
    tables = _school(np.random.default_rng([seed, 0]), students_per_school, school_days(year_start, year_end),
                     ZoneInfo(timezone))
    passes = smartpass_table(tables["passes"], ZoneInfo(timezone))
    _write_csv(passes, out / SMARTPASS_FILE)
    for key in ("rooms", "roster"):
        _write_csv(tables[key], out / f"{key}.csv")
    _write_bells(out / "bells.csv")  # the school's own settings, whatever its pass system
    return {"schools": 1, "passes_rows": passes.num_rows, "students": tables["roster"].num_rows,
            "files": [SMARTPASS_FILE, "rooms.csv", "roster.csv", "bells.csv"]}


def smartpass_table(passes: pa.Table, tz) -> pa.Table:
    """passkit-format demo passes (strings) as SmartPass's pass search lists them.

    SmartPass lists ended passes, once each, with values it can hold: the passkit rows with an
    invalid creator or pass type and the duplicated copies have no SmartPass counterpart. Times are
    local 'M/DD h:mm AM' without a year; a duration is whole minutes and seconds ('5:07 min'), and a
    negative one is written 0 as SmartPass's page does. '-' means no value.
    """
    rows = passes.to_pydict()
    copy = [i > 0 and rows["pass_id"][i] == rows["pass_id"][i - 1] for i in range(passes.num_rows)]
    keep = [rows["end_time"][i] is not None and rows["created_by"][i] in CREATED_BY[:3]
            and rows["pass_type"][i] in PASS_TYPE[:2] and not copy[i] for i in range(passes.num_rows)]
    columns = {name: [] for name in SMARTPASS_COLUMNS}
    for i in (i for i, k in enumerate(keep) if k):
        start, end = _local(rows["start_time"][i], tz), _local(rows["end_time"][i], tz)
        student = rows["student_id"][i]
        columns["Student Name"].append(rows["student_name"][i])
        columns["Grade"].append(rows["grade"][i] or "-")
        columns["ID"].append(student or "-")
        columns["Origin"].append(rows["origin"][i])
        columns["Destination"].append(rows["destination"][i] or "-")
        columns["Pass start time"].append(_smartpass_time(start) if start else rows["start_time"][i])
        columns["Duration"].append(_smartpass_minutes(max(0, int((end - start).total_seconds())))
                                   if start and end else "-")
        columns["Email"].append(f"{student.lower()}@students.example.org" if student else "-")
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _local(text, tz):
    """A demo time (school-local ISO, or UTC with Z/+00:00) as a naive local datetime; None if not a time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment.astimezone(tz).replace(tzinfo=None) if moment.tzinfo else moment


def _smartpass_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day:02d} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _smartpass_minutes(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min" if seconds == 0 else f"{minutes}:{seconds:02d} min"


# --- Writing ----------------------------------------------------------------------------------------


def _lookup(labels, codes, blank=None) -> pa.Array:
    """labels[codes] as an Arrow string array, null (written blank) where `blank` is set."""
    return pa.array(list(labels), pa.string()).take(pa.array(np.asarray(codes), mask=blank))


def _pass_ids(n) -> pa.Array:
    """'P0000001', 'P0000002', ... in row (chronological) order."""
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string())
    return pc.binary_join_element_wise("P", pc.utf8_lpad(numbers, width=7, padding="0"), "")


def _iso(seconds, blank=None) -> pa.Array:
    """Local wall-clock seconds since 1970-01-01 as 'YYYY-MM-DDTHH:MM:SS' strings."""
    text = pa.array(seconds.astype("datetime64[s]"), mask=blank).cast(pa.string())
    return pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")


def _utc(local_seconds, tz, suffix) -> str:
    """The same instant as a school-local time, written in UTC with an explicit offset."""
    local = datetime(1970, 1, 1) + timedelta(seconds=int(local_seconds))
    return local.replace(tzinfo=tz).astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + suffix


def _with_values(array, mask, values) -> pa.Array:
    return pc.replace_with_mask(array, pa.array(mask), pa.array(values, pa.string()))


def _with_school(table, name) -> pa.Table:
    return table.add_column(0, "school", pa.repeat(name, table.num_rows))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _write_bells(path) -> None:
    """bells.csv: the usual day on Mon, Tue, Thu and Fri, the late start on Wednesdays."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri")
    usual = ",".join(day for number, day in enumerate(days) if number != LATE_START_DAY)
    rows = [(period, start, end, f'"{usual}"') for period, start, end in BELL_SCHEDULE]
    rows += [(period, start, end, days[LATE_START_DAY]) for period, start, end in LATE_START]
    lines = [("period", "start", "end", "days"), *rows]
    path.write_text("".join(",".join(row) + "\n" for row in lines), encoding="utf-8", newline="")


def _write_csv(table, path) -> None:
    # The header is written by hand because pyarrow quotes header names even with quoting_style='none'.
    with open(path, "wb") as sink:
        sink.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
