"""The input format: which files passkit reads and which columns each must have."""

EXPORT_SUFFIXES = (".csv", ".xlsx")
# Files of these names (any case, .csv or .xlsx) are never read as passes. The first four are read
# for what they hold; the others are reserved for school settings.
SIDE_FILES = ("rooms", "roster", "users", "staff", "bells", "keep_apart", "exempt")
READ_SIDE_FILES = SIDE_FILES[:6]  # read with the passes, into the cache (exempt.csv is read on every load)
# What `passkit report` writes: never passes, even when it lands in the data folder.
# What `passkit report` writes besides one CSV per registered report (`data.is_passkit_output`).
PASSKIT_OUTPUTS = ("rejected", "load_summary", "reports")
WORKBOOK = r"reports-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}"  # exports.workbook_name

# The passkit columns of a pass. Only a student, a room and a start time are required (REQUIRED);
# without the others some reports cannot be made (see `columns_missing` in the load summary).
PASS_COLUMNS = ("pass_id", "student_id", "student_name", "grade", "origin", "destination", "created_by", "issuer",
                "kiosk_mode", "pass_type", "start_time", "end_time")
# Read to fill or derive pass columns: an email stands in for a missing student id, a custom
# destination for 'Other', and a duration gives the end time.
HELPER_COLUMNS = ("student_email", "custom_destination", "duration")
READ_COLUMNS = ("school", *PASS_COLUMNS, *HELPER_COLUMNS)
# Each group needs one of its columns in every passes file.
REQUIRED = (("student_id", "student_email"), ("origin", "destination"), ("start_time",))

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

# The typed table every report reads (the Parquet cache), one row per kept pass. pass_id (derived
# when the export has none) is never null; created_by, issuer and pass_type are null when the
# exports lack them.
CACHE_COLUMNS = (
    "school", "pass_id", "student_id", "student_name", "grade", "origin", "destination",
    "created_by", "issuer", "kiosk_mode", "pass_type", "start_time", "end_time",
    "date", "minutes", "ended_before_start", "grade_from_roster", "source_file", "source_line",
)
