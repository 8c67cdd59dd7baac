"""The `passkit` command. Every failure a user can cause ends in one line and exit status 2."""

import argparse
import os
import sys
from pathlib import Path

from . import registry
from .errors import PasskitError

EXAMPLES = """examples:
  passkit demo-data demo/
  passkit check demo/
  passkit report --data demo/ --start 2026-01-05 --end 2026-03-27 --out out/q3
  passkit audit parameters/2025-26.yaml --all-quarters
  passkit packet parameters/2025-26-q3.yaml --issuer "Mrs. Howard"
  passkit dashboard parameters/2025-26.yaml
  passkit trace --data demo/ --student S100234 --start 2026-01-05 --end 2026-01-16 --degree 2
"""


def main(argv=None) -> int:
    from .kernel import skip_slow_optional_imports

    skip_slow_optional_imports()  # this process is passkit's own: no IRI checks anywhere in it
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except PasskitError as exc:
        print(f"passkit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("passkit: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passkit", description="Hall-pass analytics from your pass system's exports.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__
    parser.add_argument("--version", action="version", version=f"passkit {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _check_command(commands)
    _report_command(commands)
    _demo_command(commands)
    _audit_command(commands)
    _packet_command(commands)
    _dashboard_command(commands)
    _trace_command(commands)
    return parser


def add_settings(parser, *, need_range=True):
    """The options every command that reads exports shares; a parameters file may give any of them instead."""
    parser.add_argument("parameters", nargs="?", metavar="PARAMETERS.yaml", type=Path,
                        help="parameters file (see parameters/); options given here override it; relative paths "
                             "in it are relative to its own folder")
    parser.add_argument("--data", metavar="DIR", type=Path,
                        help="folder of pass exports (any .csv/.xlsx; see passkit check) and optional rooms.csv, "
                             "roster.csv or users.csv, staff.csv, bells.csv, exempt.csv")
    parser.add_argument("--timezone", help="the school's IANA time zone (default: America/Chicago)")
    if need_range:
        parser.add_argument("--start", help="first day, YYYY-MM-DD")
        parser.add_argument("--end", help="last day, YYYY-MM-DD (included)")
    parser.add_argument("--school", action="append", metavar="NAME", help="only these schools (repeatable)")
    parser.add_argument("--columns", metavar="MAP.yaml", type=Path,
                        help="column-mapping file for another vendor's export headers")
    parser.add_argument("--cache", metavar="DIR", type=Path,
                        help="where the parsed Parquet cache lives (default: $PASSKIT_CACHE or ~/.cache/passkit)")
    parser.add_argument("--refresh", action="store_true", help="re-parse the exports even if they did not change")
    add_reading_options(parser)
    options = parser.add_argument_group("report options")
    for option in registry.options().values():
        options.add_argument(option.flag, dest=f"option_{option.name}", type=type(option.default), metavar="N",
                             help=f"{option.help} (default: {option.default})")


def add_reading_options(parser):
    """How rows of exports without a year or a pass id are read."""
    parser.add_argument("--year-starts", metavar="YYYY-MM-DD",
                        help="first day of the school year that times written without a year (SmartPass) fall in "
                             "(default: the school year, from August 1, containing the range's start)")
    parser.add_argument("--drop-identical", action="store_true",
                        help="drop rows identical in every column to an earlier row (exports without a pass id); "
                             "by default they are kept and listed as possible duplicates")


def read_settings(args, *, need_range=True):
    """The command's settings: its parameters file, with the options given on the command line on top."""
    from . import params

    chosen = {name[len("option_"):]: value for name, value in vars(args).items()
              if name.startswith("option_") and value is not None}
    return params.build(getattr(args, "parameters", None), need_range=need_range, report_options=chosen,
                        data=args.data, timezone=args.timezone, start=getattr(args, "start", None),
                        end=getattr(args, "end", None), schools=getattr(args, "school", None),
                        grades=getattr(args, "grade", None), columns=args.columns, cache=args.cache,
                        quarters=getattr(args, "quarters", None), year_starts=args.year_starts,
                        drop_identical=args.drop_identical or None, paper=getattr(args, "paper", None))


def load_data(settings, refresh=False, quiet=False):
    from .data import load

    return load(settings.data, settings.timezone, columns=settings.columns, cache_dir=settings.cache,
                refresh=refresh, progress=not quiet, year_starts=settings.school_year_start,
                drop_identical=settings.drop_identical)


def _check_command(commands):
    parser = commands.add_parser(
        "check", help="show what passkit reads in a data folder, before any report",
        description="Read a data folder and print each file with its detected layout and how each column was "
                    "mapped, its rows and dates, the reports the columns allow (and why others cannot be made), "
                    "and the first rejected rows. Exit status 0 when the folder can be reported on, 2 otherwise.")
    parser.add_argument("data", metavar="DIR", type=Path, help="the folder of exports")
    parser.add_argument("--timezone", help="the school's IANA time zone (default: America/Chicago)")
    parser.add_argument("--columns", metavar="MAP.yaml", type=Path,
                        help="column-mapping file for another vendor's export headers")
    parser.add_argument("--cache", metavar="DIR", type=Path,
                        help="where the parsed Parquet cache lives (default: $PASSKIT_CACHE or ~/.cache/passkit)")
    parser.add_argument("--refresh", action="store_true", help="re-parse the exports even if they did not change")
    add_reading_options(parser)
    parser.set_defaults(run=run_check)


def run_check(args):
    from . import check

    data = load_data(read_settings(args, need_range=False), args.refresh, quiet=True)
    lines, ok = check.describe(data)
    print("\n".join(lines))
    return 0 if ok else 2


def _report_command(commands):
    parser = commands.add_parser(
        "report", help="compute every report for a date range and write its files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compute every report for one date range (both ends included) and write them to --out as\n"
                    "CSV files, one XLSX workbook, rejected.csv and load_summary.json. --out must be a new or\n"
                    "empty folder, or one passkit wrote before; never the data folder.",
        epilog="examples:\n"
               "  passkit report --data demo-data --start 2026-01-05 --end 2026-03-27 --out out/q3\n"
               "  passkit report parameters/2025-26-q3.yaml --out out/q3 --each-school")
    add_settings(parser)
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("report"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--grade", action="append", metavar="GRADE", help="only these grades (repeatable)")
    parser.add_argument("--each-school", action="store_true",
                        help="also one folder per school (OUT/schools/<school>/); OUT holds the district roll-up")
    _paper_option(parser, "the workbook's print setup")
    from .limits import WHAT_IF_HELP

    parser.add_argument("--what-if", metavar="ROOM=N", help=WHAT_IF_HELP)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="where the aggregations run: DuckDB in this process (default) or Apache Spark "
                             "(needs pip install 'passkit[spark]'; $PASSKIT_SPARK_MASTER, default local[*])")
    parser.set_defaults(run=run_report)


def run_report(args):
    from . import folders, limits
    from .exports import write_report_folder
    from .params import for_school
    from .tables import Tables

    settings = read_settings(args)
    if args.what_if:
        limits.parse_what_if(args.what_if)  # a mistyped --what-if stops here, before the data is read
    out = folders.check_output(args.out, settings.data)
    data = load_data(settings, args.refresh)
    data.check_schools(settings.schools, args.each_school, settings.data)
    source = _engine(args.engine, data)
    period = settings.period
    tables = Tables(source, period.start, period.end, settings.grades, settings.schools, settings.options,
                    prior=settings.prior(period))
    write_report_folder(tables, out, caption=settings.caption(), paper=settings.paper)
    if args.each_school:
        names = folders.unique_slugs(settings.schools or [s for s in data.schools if s])
        for school, folder in names.items():
            one = Tables(source, period.start, period.end, settings.grades, [school], settings.options,
                         prior=settings.prior(period))
            write_report_folder(one, out / "schools" / folder, caption=for_school(settings, school).caption(),
                                paper=settings.paper)
        if any(folder != folders.slug(school) for school, folder in names.items()):
            print("Schools whose names give the same folder name: "
                  + "; ".join(f"{school} -> schools/{folder}" for school, folder in names.items()))
    summary = data.summary
    print(f"Read {summary['rows_read']:,} rows from {len(summary['files'])} file(s): kept {summary['passes_kept']:,} "
          f"passes, dropped {summary['duplicates_dropped']:,} duplicates, rejected {summary['rows_rejected']:,} rows.")
    for name, reason in tables.unavailable.items():
        print(f"Not made: {registry.get(name).title}, because {reason}.")
    print(f"{tables.passes_in_range:,} passes from {period.start} to {period.end}. Reports written to {out}/")
    if args.what_if and limits.NAME not in tables.unavailable:
        print("\n".join(limits.what_if_lines(tables, args.what_if)))


def _engine(engine, data):
    """What the reports read: the DuckDB-backed data itself, or Spark frames over its Parquet cache."""
    if engine != "spark":
        return data
    from . import spark

    frames = spark.load(data.cache, spark.session(os.environ.get("PASSKIT_SPARK_MASTER", "local[*]")))
    frames.exempt = data.exempt  # read from the data folder at load, beside the cache Spark reads
    return frames


def _demo_command(commands):
    parser = commands.add_parser(
        "demo-data", help="generate a realistic demo school (or district) of exports",
        description="Write a seeded, realistic school year of hall-pass exports (passes, rooms, roster, staff) "
                    "and a bell schedule to OUT_DIR, including a few deliberately bad rows.")
    parser.add_argument("out", metavar="OUT_DIR", type=Path)
    parser.add_argument("--schools", type=int, default=1, help="number of schools (default: %(default)s)")
    parser.add_argument("--students", type=int, default=1500, help="students per school (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default: %(default)s)")
    parser.add_argument("--layout", choices=("passkit", "smartpass"), default="passkit",
                        help="write the passes in passkit's format (default) or as SmartPass's pass-search export "
                             "(one school)")
    parser.set_defaults(run=run_demo)


def run_demo(args):
    from .demo import generate

    if args.schools < 1 or args.students < 1:
        raise PasskitError("--schools and --students must be at least 1")
    if args.layout == "smartpass" and args.schools > 1:
        raise PasskitError("--layout smartpass writes one school (SmartPass exports have no school column)")
    result = generate(args.out, schools=args.schools, students_per_school=args.students, seed=args.seed,
                      progress=True, layout=args.layout)
    print(f"Wrote {result['passes_rows']:,} pass rows for {result['schools']} school(s) to {args.out}/")


def _dashboard_command(commands):
    parser = commands.add_parser(
        "dashboard", help="serve the admin dashboard (read-only, behind a login) on this machine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the admin dashboard for a data folder with Voila on 127.0.0.1 and print its URL\n"
                    "with the login token. The page is read-only; Ctrl-C stops it. A parameters file\n"
                    "gives the data folder, time zone and the school's quarters (its 'quarters:' list).",
        epilog="examples:\n"
               "  passkit dashboard parameters/2025-26.yaml\n"
               "  passkit dashboard --data demo-data --quarters 2025-08-18,2025-10-20,2026-01-05,2026-03-30")
    add_settings(parser, need_range=False)
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--token", help="login token, at least 16 letters, digits or . _ ~ - (default: "
                                        "$PASSKIT_DASHBOARD_TOKEN, else a new random one each start)")
    parser.add_argument("--password", action="store_true",
                        help="also allow logging in with a password, asked for now")
    parser.add_argument("--quarters", metavar="D1,D2,D3,D4",
                        help="the school's quarters: first days (each ends the day before the next), or "
                             "START..END pairs, YYYY-MM-DD, comma-separated (default: the parameters file's "
                             "quarters, else the year's days with passes split into four equal runs)")
    parser.add_argument("--max-kernels", type=int, metavar="N",
                        help="most kernels at once, the preheated one included: each open page holds one "
                             "(~60-300 MB); beyond it a page says the dashboard is busy (default: 24)")
    parser.add_argument("--unconnected-timeout", type=float, metavar="SECONDS",
                        help="stop a page's kernel when the page has not connected within this many seconds "
                             "(a reload, a closed tab, a script; default: 60)")
    parser.set_defaults(run=run_dashboard)


def run_dashboard(args):
    from . import serve

    if not 1 <= args.port <= 65535:
        raise PasskitError(f"--port must be between 1 and 65535, not {args.port}")
    settings = read_settings(args, need_range=False)
    if args.max_kernels is not None and args.max_kernels < 2:
        raise PasskitError("--max-kernels must be at least 2 (the preheated kernel and one page)")
    if args.unconnected_timeout is not None and args.unconnected_timeout <= 0:
        raise PasskitError("--unconnected-timeout must be more than 0 seconds")
    hashed = _ask_password() if args.password else ""
    data = load_data(settings, args.refresh)
    if not data.summary.get("passes_kept"):
        raise PasskitError(no_passes(settings.data, data.summary))
    from .dashboard_store import prepare

    prepare(data, settings.quarters)  # the preset ranges, computed once for every page's kernel
    serve.serve(data, port=args.port, token=args.token, quarters=settings.quarters, hashed_password=hashed,
                school=settings.label, max_kernels=args.max_kernels, unconnected_timeout=args.unconnected_timeout)


def no_passes(data_dir, summary) -> str:
    """Why there is nothing to show, in one line (the reasons are passkit's own words, never data)."""
    read, reasons = summary.get("rows_read", 0), summary.get("rejected_by_reason", {})
    if not read:
        return f"no passes could be read from {data_dir}: its pass files hold no rows"
    why = "; ".join(f"{count:,} {reason}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1])[:3])
    return (f"no passes could be read from {data_dir}; see the {summary.get('rows_rejected', 0):,} rejected rows "
            f"of {read:,} ({why}; `passkit report` lists each in rejected.csv)")


def _ask_password() -> str:
    import getpass

    from jupyter_server.auth import passwd

    first = getpass.getpass("Dashboard password: ")
    if len(first) < 8 or getpass.getpass("Again: ") != first:
        raise PasskitError("the password must be at least 8 characters and typed the same twice")
    return passwd(first)


def _audit_command(commands):
    parser = commands.add_parser(
        "audit", help="run every report notebook for a date range into a folder to hand to the principal",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compute every report once for one date range (or each quarter of a year), run the report\n"
                    "notebooks with papermill, and write outputs/<school>-<range>/: index.html and an offline HTML\n"
                    "page per report, report.pdf to print, every table as CSV and in reports-<start>-to-<end>.xlsx,\n"
                    "every chart as PNG, the executed notebooks, manifest.json.\n\n"
                    "Options given here override the parameters file. A failed notebook is kept with its error,\n"
                    "the others finish, and the command exits with status 1.",
        epilog="examples:\n"
               "  passkit audit parameters/2025-26-q3.yaml\n"
               "  passkit audit parameters/2025-26.yaml --all-quarters --each-school\n"
               "  passkit audit --data demo-data --start 2026-01-05 --end 2026-03-27 --out q3-audit")
    add_settings(parser)
    parser.add_argument("--all-quarters", action="store_true",
                        help="one audit per entry of the parameters file's 'quarters:' list, and a year overview")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="the audit folder (default: outputs/<school>-<range>); with --all-quarters, the "
                             "folder the quarters' folders go in")
    parser.add_argument("--each-school", action="store_true",
                        help="also a folder per school (schools/<school>/), under the district's audit")
    parser.add_argument("--jobs", type=int, metavar="N", help="kernels running notebooks at once (default: one per "
                                                             "core)")
    parser.add_argument("--notebooks", metavar="DIR", type=Path,
                        help="folder of the report notebooks, one per report (default: the ones passkit ships)")
    _paper_option(parser, "report.pdf and the workbook's print setup")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false",
                        help="skip report.pdf (about 0.8 s of CPU per audit folder, in a worker process)")
    parser.set_defaults(run=run_audit)


def _paper_option(parser, what):
    parser.add_argument("--paper", type=str.lower, choices=("letter", "a4"),
                        help=f"paper size of {what} (default: letter, or the parameters file's 'paper:')")


def run_audit(args):
    from . import audit

    if args.jobs is not None and args.jobs < 1:
        raise PasskitError(f"--jobs must be at least 1, not {args.jobs}")
    settings = read_settings(args)
    audits = audit.run(settings, out=args.out, all_quarters=args.all_quarters, each_school=args.each_school,
                       jobs=args.jobs, notebooks=args.notebooks, refresh=args.refresh, pdf=args.pdf)
    for done in audits:
        print(f"{done.params.label}, {done.period.name}: open {done.folder / 'index.html'}")
    failed = [(done, run) for done in audits for run in done.failed]
    for done, run in failed:
        print(f"passkit: {run.name} failed in {done.folder}: {run.error}", file=sys.stderr)
    if failed:
        print(f"passkit: {len(failed)} of {sum(len(d.all_runs()) for d in audits)} notebooks failed; "
              "their pages show the error", file=sys.stderr)
    unprinted = [failure for done in audits for failure in done.pdf_failures]
    for member, why in unprinted:
        print(f"passkit: report.pdf not made in {member.folder}: {why}", file=sys.stderr)
    return 1 if failed or unprinted else 0


def _packet_command(commands):
    parser = commands.add_parser(
        "packet", help="write one teacher's, room's or grade's reports with pseudonyms, safe to send",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a folder a teacher may receive: the passes one teacher issued, of one room (from or\n"
                    "to it) or of one grade, as CSV, XLSX, PNG and an offline HTML page. Students are pseudonyms\n"
                    "(Student 014) numbered afresh for each packet; no student id, name, time of day or minutes\n"
                    "out; counts from 1 to 4 read <5. The key from pseudonyms to students goes to a separate\n"
                    "file for the admin (default: packet-keys/ beside the packet folder), never into the packet.",
        epilog="examples:\n"
               "  passkit packet parameters/2025-26-q3.yaml --issuer \"Mrs. Howard\"\n"
               "  passkit packet --data demo-data --start 2026-01-05 --end 2026-03-27 --room \"Room 101\" --out room101")
    add_settings(parser)
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--issuer", metavar="NAME", help="the passes this staff member issued (as the exports name them)")
    scope.add_argument("--room", metavar="ROOM", help="the passes from or to this room")
    scope.add_argument("--grade", dest="packet_grade", metavar="GRADE", help="the passes of this grade")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="the packet folder (default: outputs/packets/<school>-<range>-<teacher|room|grade>)")
    parser.add_argument("--key", metavar="FILE", type=Path,
                        help="where the key goes (default: packet-keys/<packet>.key.csv beside the packet folder)")
    _paper_option(parser, "the packet workbook's print setup")
    parser.set_defaults(run=run_packet)


def run_packet(args):
    from . import packet

    settings = read_settings(args)
    scope = packet.scope_from(args.issuer, args.room, args.packet_grade)
    data = load_data(settings, args.refresh)
    data.check_schools(settings.schools, False, settings.data)
    made = packet.write(settings, data, scope, out=args.out, key=args.key)
    print(f"{scope.title}, {settings.period.start} to {settings.period.end}: {made.passes:,} passes, "
          f"{made.students:,} students.")
    print(f"Packet (safe to send): {made.folder}/")
    print(f"Key from pseudonyms to students (for the admin only; never send it): {made.key}")


def _trace_command(commands):
    parser = commands.add_parser(
        "trace", help="list the students who met one student on passes (contact tracing)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write contacts.csv to --out: every student whose pass met one of the student's passes in the\n"
                    "range (degree 1) and, with --degree 2, everyone who met one of those (see README,\n"
                    "'Encounters'). The file names students: it is for the admin. --out must be a new or empty\n"
                    "folder, or one passkit wrote before; never the data folder.",
        epilog="examples:\n"
               "  passkit trace --data demo-data --student S100234 --start 2026-01-05 --end 2026-01-16\n"
               "  passkit trace parameters/2025-26-q3.yaml --student S100234 --degree 2 --out trace-s100234")
    add_settings(parser)
    parser.add_argument("--student", required=True, metavar="ID", help="the student's id, as in the exports")
    parser.add_argument("--degree", type=int, choices=(1, 2), default=1,
                        help="1: who met the student; 2: also who met those (default: %(default)s)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("trace"),
                        help="output folder (default: %(default)s)")
    parser.set_defaults(run=run_trace)


def run_trace(args):
    from . import folders
    from .encounters import CONTACT_COLUMNS, MEET_MINUTES, contacts
    from .exports import write_csv

    settings = read_settings(args)
    out = folders.check_output(args.out, settings.data)
    if len(settings.schools) > 1:
        raise PasskitError("trace takes at most one --school: the school of the student")
    data = load_data(settings, args.refresh)
    data.check_schools(settings.schools, False, settings.data)
    period = settings.period
    table = contacts(data, args.student.strip(), period.start, period.end,
                     school=settings.schools[0] if settings.schools else None, degree=args.degree,
                     meet_minutes=settings.options.get("meet_minutes", MEET_MINUTES))
    out.mkdir(parents=True, exist_ok=True)
    folders.mark(out)
    write_csv(table, out / "contacts.csv", {column.name: column for column in CONTACT_COLUMNS})
    counts = table["degree"].value_counts()
    print(f"{counts.get(1, 0):,} students met the student from {period.start} to {period.end}"
          + (f", and {counts.get(2, 0):,} more met one of them" if args.degree == 2 else "")
          + f". Contacts written to {out / 'contacts.csv'}")


if __name__ == "__main__":
    sys.exit(main())
