"""``python -m piggyback …``: the same work as the app, headless.

Mistakes (unknown agency, ambiguous name, bad dates, bad files) print a clear message and exit
non-zero; no traceback reaches the user. Every option is checked when the command line is read
(the bounded types below), so a value out of range is a usage error (exit 2) naming the option
and the range, before any work starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Callable

from piggyback.cli import commands
from piggyback.core.errors import ImportRejected, PiggybackError
from piggyback.core.models import MODULES, AgencyProfile
from piggyback.data.store import Store, build, default_db_path

EXIT_CODES = """exit codes:
  0    done (for `check`: allowed, with or without items to document)
  1    a domain outcome: blocked, a blocker fails (`check`), nothing matches, a file's rows were rejected
  2    usage or input error: an option out of range, an unknown agency or peer, a bad file
  3    unexpected error (a bug: please report it with the command line)
  4    `check`: not shown to be allowed (no blocker fails, but some lack facts or evidence)
  130  interrupted"""

# Dates the models are meant for: decisions and go-lives of this generation of systems.
FIRST_DATE = dt.date(1990, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)
MAX_TEXT = 200  # names, queries and ids typed on the command line


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: --permits must be …`` (exit 2), no usage dump."""

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        # argparse says "argument --permits: <the type's message>"; the bounded types below say
        # "must be …", which reads as one sentence after the option's name.
        message = re.sub(r"^argument ([^:]+): must ", r"\1 must ", message)
        message = re.sub(r"^argument ", "", message).rstrip(".")
        hint = "" if re.match(r"^-", message) else f" (see `{self.prog} --help`)"
        self.exit(2, f"error: {message}{hint}.\n")


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _number_text(text: str) -> str:
    """The number as typed, without thousands separators (``10,000`` and ``10_000`` are 10000);
    a comma anywhere else (``1,5``, a decimal comma) is left in, so it is refused, not misread."""
    text = str(text).strip()
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    return text


def _fmt(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,g}"


def whole_number(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """argparse type: an int from ``low`` to ``high`` inclusive (``what`` "a year" prints the
    range without thousands separators)."""
    shown = (str(low), str(high)) if what == "a year" else (_fmt(low), _fmt(high))

    def parse(text: str) -> int:
        try:
            value = int(_number_text(text))
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be {what} from {shown[0]} to {shown[1]}, not {text!r}")
        return value
    parse.__name__ = "whole number"
    return parse


def decimal_number(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """argparse type: a finite float from ``low`` to ``high`` inclusive (``unit`` for the message)."""
    unit = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        try:
            value = float(_number_text(text))
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(
                f"must be a number from {_fmt(low)} to {_fmt(high)}{unit}, not {text!r}")
        return value
    parse.__name__ = "number"
    return parse


def date_between(first: dt.date = FIRST_DATE, last: dt.date = LAST_DATE) -> Callable[[str], dt.date]:
    """argparse type: an ISO date (YYYY-MM-DD) from ``first`` to ``last``."""
    def parse(text: str) -> dt.date:
        try:
            value = dt.date.fromisoformat(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
        if not first <= value <= last:
            raise argparse.ArgumentTypeError(
                f"must be a date from {first.isoformat()} to {last.isoformat()}, not {text!r}")
        return value
    parse.__name__ = "date"
    return parse


iso_date = date_between()


def text_up_to(limit: int = MAX_TEXT) -> Callable[[str], str]:
    """argparse type: text of at most ``limit`` characters."""
    def parse(text: str) -> str:
        if len(text) > limit:
            raise argparse.ArgumentTypeError(
                f"must be at most {limit:,} characters, not {len(text):,}")
        return text
    parse.__name__ = "text"
    return parse


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """argparse type: a file the command may write: ends in one of ``suffixes``, is not a
    directory, and its folder exists and is writable (checked before any work starts)."""
    wanted = " or ".join(suffixes)

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file name ending in {wanted}")
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"must end in {wanted} (got {path.name!r}): the extension decides the format")
        folder = path.parent
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(f"the folder {str(folder)!r} does not exist: create it first")
        if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise argparse.ArgumentTypeError(f"{text!r} cannot be written here: no permission")
        return path
    parse.__name__ = "file"
    return parse


def input_file(text: str) -> Path:
    """argparse type: a readable file that exists."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"No file at {text}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be read: no permission")
    return path


def _profile_bounds(field: str) -> dict:
    """The limits the agency profile model puts on a field (ge, le, max_length), one source."""
    out: dict = {}
    for rule in AgencyProfile.model_fields[field].metadata:
        for key in ("ge", "le", "max_length"):
            if getattr(rule, key, None) is not None:
                out[key] = getattr(rule, key)
    return out


_PERMITS, _USERS = _profile_bounds("permit_volume"), _profile_bounds("staff_users")


def module_list(text: str) -> list[str]:
    mods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in mods if m not in MODULES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown module(s) {', '.join(bad)}; known: {', '.join(MODULES)}")
    return mods


def add_agency_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--agency plus the inputs the census lacks, shared by every command that takes an agency."""
    parser.add_argument("--agency", required=required, type=text_up_to(),
                        help="name with province/state ('Guelph, ON'), StatCan code or id")
    parser.add_argument("--modules", type=module_list, default=None,
                        help=f"modules needed, comma-separated ({','.join(MODULES)})")
    parser.add_argument("--permits", type=whole_number(_PERMITS["ge"], _PERMITS["le"]), default=None,
                        help=f"annual permit volume ({_PERMITS['ge']} to {_PERMITS['le']:,})")
    parser.add_argument("--users", type=whole_number(_USERS["ge"], _USERS["le"]), default=None,
                        help=f"staff users of the system ({_USERS['ge']} to {_USERS['le']:,})")
    parser.add_argument("--system", type=text_up_to(_profile_bounds("current_system")["max_length"]),
                        default=None, help="current (legacy) system")


def agency_from_args(store: Store, args):
    from piggyback.data.profile import profile_for

    return profile_for(store, args.agency, permit_volume=args.permits, staff_users=args.users,
                       modules_needed=args.modules, current_system=args.system)


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def _cmd_build(args, _store) -> int:
    target = Path(args.db or default_db_path()).expanduser()
    if target.is_dir():
        raise PiggybackError(f"--db {str(target)!r} is a folder: give the database file's name.")

    def progress(fraction, message):
        if not args.quiet:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    report = build(args.db, force=args.force, progress=progress)
    print(report.summary())
    return 0


def _cmd_migrate(args, _store) -> int:
    from piggyback.core import settings
    from piggyback.data.record_postgres import migrate

    url = settings.get("PIGGYBACK_DATABASE_URL")
    if not url:
        raise PiggybackError("PIGGYBACK_DATABASE_URL is not set, so there is no shared database to migrate: "
                             "the embedded record (a DuckDB file) creates its own tables when it opens.")
    applied, version, where = migrate(url)
    done = f"applied {', '.join(map(str, applied))}" if applied else "already up to date"
    print(f"The users' record in the {where} is at schema version {version} ({done}).")
    return 0


def _cmd_import(args, store) -> int:
    detail = import_file_cmd(store, args.file)
    print(f"Imported {detail['rows']} row(s) from {detail['file']}: {detail['inserted']} new, "
          f"{detail['updated']} updated.")
    from piggyback.data.interchange import unknown_vendor_message

    if unknown_vendor_message(detail):
        print(unknown_vendor_message(detail))
    return 0


def import_file_cmd(store, path):
    from piggyback.data.interchange import import_file

    return import_file(store, path)


def _cmd_export(args, store) -> int:
    from piggyback.data.interchange import export_file

    n = export_file(store, args.file)
    print(f"Exported {n} deployment(s) to {args.file}.")
    return 0


def _cmd_agencies(args, store) -> int:
    import pandas as pd

    from piggyback.data.lookup import find_agencies

    hits = find_agencies(store.jurisdictions(), args.query, limit=args.limit)
    rows = [{"name": r.display_name, "region": r.region, "country": r.country, "id": r.geo_id,
             "type": r.jtype, "population": None if pd.isna(r.population) else int(r.population),
             "population_year": None if pd.isna(r.population_year) else int(r.population_year)}
            for r in hits.itertuples()]
    if args.json:
        print_json(rows)
    elif not rows:
        print(f"No jurisdiction matches {args.query!r}.", file=sys.stderr)
        return 1
    else:
        for r in rows:
            pop = "unknown" if r["population"] is None else f"{r['population']:,}"
            print(f"{r['name']:<50} {r['type'] or '':<22} {pop:>12}  {r['id']}")
    return 0


MAX_LIMIT = 10_000


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m piggyback",
                    description="Piggyback: peers, timeline, cost and compliance of adopting a peer's contract.",
                    epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, type=text_up_to(4096),
                        help=f"DuckDB file (default: $PIGGYBACK_DB or {default_db_path()})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="(re)build the database from data/")
    p.add_argument("--force", action="store_true", help="replace a damaged database file")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_build, needs_store=False)

    p = sub.add_parser("migrate", help="create or upgrade the tables of the shared PostgreSQL record "
                                       "($PIGGYBACK_DATABASE_URL); safe to run again")
    p.set_defaults(func=_cmd_migrate, needs_store=False)

    p = sub.add_parser("import", help="import deployments from a steward's CSV or XLSX (all or nothing)")
    p.add_argument("file", metavar="FILE", type=input_file, help="the .csv or .xlsx file")
    p.set_defaults(func=_cmd_import, writes=True)

    p = sub.add_parser("export", help="export deployments to CSV or XLSX")
    p.add_argument("file", metavar="FILE", type=output_file(".csv", ".xlsx"), help="FILE.csv or FILE.xlsx (its folder must exist)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("agencies", help="find jurisdictions by name, code or id")
    p.add_argument("query", type=text_up_to())
    p.add_argument("--limit", type=whole_number(1, MAX_LIMIT), default=20,
                   help=f"how many to list (1 to {MAX_LIMIT:,}, default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_agencies)

    for name in commands.MODULES:
        try:
            module = importlib.import_module(f"{commands.__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{commands.__name__}.{name}":
                continue  # a command group not written yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already explained on stderr)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    store = None
    try:
        if getattr(args, "needs_store", True):
            # Commands only read unless they say they write, so they can run beside the app.
            writes = getattr(args, "writes", False)
            store = Store.open(args.db, read_only=not writes, allow_read_only_fallback=not writes)
            if store.notice:
                print(f"note: {store.notice}", file=sys.stderr)
        return int(args.func(args, store) or 0)
    except ImportRejected as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except PiggybackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: a message, never a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    finally:
        if store is not None:
            store.close()
