"""The input format: which files passkit reads and which columns each must have."""

PASS_FILES = ("passes*.csv", "passes*.xlsx")

# Columns of the passes export. A missing required column stops the load.
PASS_REQUIRED = ("pass_id", "student_id", "origin", "destination", "created_by", "pass_type", "start_time")
PASS_OPTIONAL = ("school", "student_name", "grade", "issuer", "kiosk_mode", "end_time")
PASS_COLUMNS = PASS_REQUIRED[:2] + ("student_name", "grade") + PASS_REQUIRED[2:5] + (
    "issuer", "kiosk_mode", "pass_type", "start_time", "end_time")

CREATED_BY = ("student", "teacher", "kiosk")
PASS_TYPES = ("now", "scheduled")
TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")

# Optional side files: (required columns, optional columns).
ROOMS = (("room",), ("school", "folder", "max_passes_from", "max_passes_to", "max_minutes"))
STAFF = (("issuer",), ("school", "name"))
ROSTER = (("student_id",), ("school", "grade", "student_name"))
# OneRoster 1.1 users.csv as Clever and ClassLink export it.
ONEROSTER_USERS = (("sourcedid",), ("role", "grades", "givenname", "familyname", "orgsourcedids"))

# The typed table every report reads (the Parquet cache), one row per kept pass.
CACHE_COLUMNS = (
    "school", "pass_id", "student_id", "student_name", "grade", "origin", "destination",
    "created_by", "issuer", "kiosk_mode", "pass_type", "start_time", "end_time",
    "date", "minutes", "ended_before_start", "grade_from_roster", "source_file", "source_line",
)
