"""The `passkit` command. Every failure a user can cause ends in one line and exit status 2."""

import argparse
import sys
from pathlib import Path

from .errors import PasskitError

EXAMPLES = """examples:
  passkit demo-data demo/
  passkit check demo/
  passkit report --data demo/ --start 2026-01-05 --end 2026-03-27 --out out/q3
"""


def main(argv=None) -> int:
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
    _dashboard_command(commands)
    return parser


def add_data_options(parser, required=True):
    """The options every command that reads exports shares (not required when a parameters file may give them)."""
    parser.add_argument("--data", metavar="DIR", type=Path, required=required,
                        help="folder of pass exports (any .csv/.xlsx) and optional rooms.csv, roster.csv or "
                             "users.csv, staff.csv")
    _timezone_option(parser, required)
    add_parse_options(parser)
    add_reading_options(parser)


def _timezone_option(parser, default=True):
    parser.add_argument("--timezone", default="America/Chicago" if default else None,
                        help="the school's IANA time zone (default: America/Chicago)")


def add_parse_options(parser):
    """How exports are parsed and cached: shared by every command that reads them."""
    parser.add_argument("--columns", metavar="MAP.yaml", type=Path,
                        help="column-mapping file for another vendor's export headers")
    parser.add_argument("--cache", metavar="DIR", type=Path,
                        help="where the parsed Parquet cache lives (default: $PASSKIT_CACHE or ~/.cache/passkit)")
    parser.add_argument("--refresh", action="store_true", help="re-parse the exports even if they did not change")


def add_reading_options(parser):
    """How rows of exports without a year or a pass id are read (report, check, dashboard)."""
    parser.add_argument("--year-starts", metavar="YYYY-MM-DD",
                        help="first day of the school year that times written without a year (SmartPass) fall in "
                             "(default: the school year, from August 1, containing --start)")
    parser.add_argument("--drop-identical", action="store_true",
                        help="drop rows identical in every column to an earlier row (exports without a pass id); "
                             "by default they are kept and listed as possible duplicates")


def load_data(args, quiet=False):
    from .data import load, school_year_start

    year_starts = getattr(args, "year_starts", None)
    if not year_starts and getattr(args, "start", None):
        from .reports import as_date

        year_starts = school_year_start(as_date(args.start, "start"))
    return load(args.data, args.timezone, columns=args.columns, cache_dir=args.cache, refresh=args.refresh,
                progress=not quiet, year_starts=year_starts, drop_identical=getattr(args, "drop_identical", False))


def _check_command(commands):
    parser = commands.add_parser(
        "check", help="show what passkit reads in a data folder, before any report",
        description="Read a data folder and print each file with its detected layout and how each column was "
                    "mapped, its rows and dates, the reports the columns allow (and why others cannot be made), "
                    "and the first rejected rows. Exit status 0 when the folder can be reported on, 2 otherwise.")
    parser.add_argument("data", metavar="DIR", type=Path, help="the folder of exports")
    _timezone_option(parser)
    add_parse_options(parser)
    add_reading_options(parser)
    parser.set_defaults(run=run_check)


def run_check(args):
    from . import check

    data = load_data(args, quiet=True)
    lines, ok = check.describe(data)
    print("\n".join(lines))
    return 0 if ok else 2


def _report_command(commands):
    parser = commands.add_parser(
        "report", help="compute the six reports for a date range",
        description="Compute the six reports for one date range (both ends included) and write them to "
                    "--out as CSV files, one XLSX workbook, rejected.csv and load_summary.json.")
    add_data_options(parser)
    parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD (included)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("report"), help="output folder (default: %(default)s)")
    parser.add_argument("--grade", action="append", metavar="GRADE", help="only these grades (repeatable)")
    parser.add_argument("--school", action="append", metavar="NAME", help="only these schools (repeatable)")
    parser.add_argument("--each-school", action="store_true",
                        help="also one folder per school (OUT/schools/<school>/); OUT holds the district roll-up")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="where the aggregations run: DuckDB in this process (default) or Apache Spark "
                             "(needs pip install 'passkit[spark]'; $PASSKIT_SPARK_MASTER, default local[*])")
    parser.set_defaults(run=run_report)


def run_report(args):
    from . import reports

    data = load_data(args)
    data.check_schools(args.school, args.each_school, args.data)
    source = _engine(args.engine, data)
    tables = reports.all_reports(source, args.start, args.end, args.grade, args.school)
    _write_report(data, tables, args.out, args.start, args.end, args.school)
    if args.each_school:
        from .params import slug

        for school in args.school or [s for s in data.schools if s]:
            _write_report(data, reports.all_reports(source, args.start, args.end, args.grade, [school]),
                          args.out / "schools" / slug(school), args.start, args.end, [school])
    summary = data.summary
    print(f"Read {summary['rows_read']:,} rows from {len(summary['files'])} file(s): kept {summary['passes_kept']:,} "
          f"passes, dropped {summary['duplicates_dropped']:,} duplicates, rejected {summary['rows_rejected']:,} rows.")
    in_range = int(tables["passes_by_grade"]["passes"].sum())
    print(f"{in_range:,} passes from {args.start} to {args.end}. Reports written to {args.out}/")


def _engine(engine, data):
    """What the reports read: the DuckDB-backed data itself, or Spark frames over its Parquet cache."""
    if engine != "spark":
        return data
    import os

    from . import spark

    return spark.load(data.cache, spark.session(os.environ.get("PASSKIT_SPARK_MASTER", "local[*]")))


def _write_report(data, tables, out, start, end, schools):
    from .exports import write_csv, write_report_folder

    write_report_folder(data, tables, out, start=start, end=end)
    if schools:  # a school's folder holds only its own rejected rows: they name students
        write_csv(data.rejected(schools), out / "rejected.csv")


def _demo_command(commands):
    parser = commands.add_parser(
        "demo-data", help="generate a realistic demo school (or district) of exports",
        description="Write a seeded, realistic school year of hall-pass exports (passes, rooms, roster, staff) "
                    "to OUT_DIR, including a few deliberately bad rows.")
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
                    "with the login token. The page is read-only; Ctrl-C stops the server. A parameters file\n"
                    "gives the data folder, time zone and the school's quarters (its 'quarters:' list).",
        epilog="examples:\n"
               "  passkit dashboard parameters/2025-26.yaml\n"
               "  passkit dashboard --data demo-data --quarters 2025-08-18,2025-10-20,2026-01-05,2026-03-30")
    parser.add_argument("parameters", nargs="?", metavar="PARAMETERS.yaml", type=Path,
                        help="parameters file (see parameters/); options given here override it")
    add_data_options(parser, required=False)
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--token", help="login token (default: a new random one each start)")
    parser.add_argument("--password", action="store_true",
                        help="also allow logging in with a password, asked for now")
    parser.add_argument("--quarters", metavar="D1,D2,D3,D4",
                        help="first days of the school's quarters, YYYY-MM-DD (default: the parameters file's "
                             "quarters, else the year's days with passes split into four equal runs)")
    parser.set_defaults(run=run_dashboard)


def run_dashboard(args):
    from . import params, serve
    from .dashboard import parse_quarters
    from .reports import as_date

    if not 1 <= args.port <= 65535:
        raise PasskitError(f"--port must be between 1 and 65535, not {args.port}")
    settings = params.read_file(args.parameters) if args.parameters else {}
    for name in ("data", "timezone", "columns", "cache"):
        if getattr(args, name) is None:
            setattr(args, name, settings.get(name))
    if args.data is None:
        raise PasskitError("no data folder: give --data or a parameters file with 'data:'")
    args.timezone = str(args.timezone or params.DEFAULT_TIMEZONE)
    if args.quarters:
        quarters = [(as_date(start, "quarter start"), None) for start, _ in parse_quarters(args.quarters)]
    else:
        quarters = [(q.start, q.end) for q in settings.get("quarters", ())]
    hashed = _ask_password() if args.password else ""
    data = load_data(args)
    serve.serve(data, port=args.port, token=args.token, quarters=quarters, hashed_password=hashed)


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
        description="Run the report notebooks with papermill for one date range (or each quarter of a year)\n"
                    "and write outputs/<school>-<range>/: index.html and an offline HTML page per report, every\n"
                    "table as CSV and in reports.xlsx, every chart as PNG, the executed notebooks, manifest.json.\n\n"
                    "Options given here override the parameters file. A failed notebook is kept with its error,\n"
                    "the others finish, and the command exits with status 1.",
        epilog="examples:\n"
               "  passkit audit parameters/2025-26-q3.yaml\n"
               "  passkit audit parameters/2025-26.yaml --all-quarters\n"
               "  passkit audit --data demo-data --start 2026-01-05 --end 2026-03-27 --out q3-audit")
    parser.add_argument("parameters", nargs="?", metavar="PARAMETERS.yaml", type=Path,
                        help="parameters file (see parameters/); relative paths in it are relative to its folder")
    parser.add_argument("--data", metavar="DIR", type=Path,
                        help="folder of exports (any .csv/.xlsx; see passkit check)")
    parser.add_argument("--start", help="first day, YYYY-MM-DD")
    parser.add_argument("--end", help="last day, YYYY-MM-DD (included)")
    parser.add_argument("--timezone", help="the school's IANA time zone (default: America/Chicago)")
    parser.add_argument("--all-quarters", action="store_true",
                        help="one audit per entry of the parameters file's 'quarters:' list")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="the audit folder (default: outputs/<school>-<range>); with --all-quarters, the "
                             "folder the quarters' folders go in")
    parser.add_argument("--school", action="append", metavar="NAME", help="only this school (repeatable)")
    parser.add_argument("--each-school", action="store_true",
                        help="also a folder per school (schools/<school>/), under the district's audit")
    parser.add_argument("--jobs", type=int, metavar="N", help="notebooks run at once (default: one per core)")
    parser.add_argument("--notebooks", metavar="DIR", type=Path,
                        help="folder of the report notebooks, one per report (default: the ones passkit ships)")
    add_parse_options(parser)
    parser.set_defaults(run=run_audit)


def run_audit(args):
    from . import audit, params

    if args.jobs is not None and args.jobs < 1:
        raise PasskitError(f"--jobs must be at least 1, not {args.jobs}")
    settings = params.build(args.parameters, data=args.data, start=args.start, end=args.end,
                            timezone=args.timezone, schools=args.school, columns=args.columns, cache=args.cache)
    audits = audit.run(settings, out=args.out, all_quarters=args.all_quarters, each_school=args.each_school,
                       jobs=args.jobs, notebooks=args.notebooks, refresh=args.refresh)
    for done in audits:
        print(f"{done.params.label}, {done.period.name}: open {done.folder / 'index.html'}")
    failed = [(done, run) for done in audits for run in done.failed]
    for done, run in failed:
        print(f"passkit: {run.name} failed in {done.folder}: {run.error}", file=sys.stderr)
    if failed:
        print(f"passkit: {len(failed)} of {sum(len(d.all_runs()) for d in audits)} notebooks failed; "
              "their pages show the error", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
