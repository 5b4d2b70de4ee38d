"""``python -m piggyback …``: the same work as the app, headless.

Mistakes (unknown agency, ambiguous name, bad dates, bad files) print a clear message and exit
non-zero; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
from pathlib import Path

from . import commands
from .errors import ImportRejected, PiggybackError
from .models import MODULES
from .store import Store, build, default_db_path


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def module_list(text: str) -> list[str]:
    mods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in mods if m not in MODULES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown module(s) {', '.join(bad)}; known: {', '.join(MODULES)}")
    return mods


def add_agency_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--agency plus the inputs the census lacks, shared by every command that takes an agency."""
    parser.add_argument("--agency", required=required,
                        help="name with province/state ('Guelph, ON'), StatCan code or id")
    parser.add_argument("--modules", type=module_list, default=None,
                        help=f"modules needed, comma-separated ({','.join(MODULES)})")
    parser.add_argument("--permits", type=int, default=None, help="annual permit volume")
    parser.add_argument("--users", type=int, default=None, help="staff users of the system")
    parser.add_argument("--system", default=None, help="current (legacy) system")


def agency_from_args(store: Store, args):
    from .profile import profile_for

    return profile_for(store, args.agency, permit_volume=args.permits, staff_users=args.users,
                       modules_needed=args.modules, current_system=args.system)


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def _cmd_build(args, _store) -> int:
    def progress(fraction, message):
        if not args.quiet:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    report = build(args.db, force=args.force, progress=progress)
    print(report.summary())
    return 0


def _cmd_import(args, store) -> int:
    detail = import_file_cmd(store, args.file)
    print(f"Imported {detail['rows']} row(s) from {detail['file']}: {detail['inserted']} new, "
          f"{detail['updated']} updated.")
    return 0


def import_file_cmd(store, path):
    from .interchange import import_file

    return import_file(store, path)


def _cmd_export(args, store) -> int:
    from .interchange import export_file

    n = export_file(store, args.file)
    print(f"Exported {n} deployment(s) to {args.file}.")
    return 0


def _cmd_agencies(args, store) -> int:
    import pandas as pd

    from .lookup import find_agencies

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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m piggyback",
                                     description="Piggyback: peers, timeline, cost and compliance of adopting a peer's contract.")
    parser.add_argument("--db", default=None, help=f"DuckDB file (default: $PIGGYBACK_DB or {default_db_path()})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="(re)build the database from data/")
    p.add_argument("--force", action="store_true", help="replace a damaged database file")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_build, needs_store=False)

    p = sub.add_parser("import", help="import deployments from a steward's CSV or XLSX (all or nothing)")
    p.add_argument("file")
    p.set_defaults(func=_cmd_import, writes=True)

    p = sub.add_parser("export", help="export deployments to CSV or XLSX")
    p.add_argument("file")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("agencies", help="find jurisdictions by name, code or id")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=20)
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
    args = parser.parse_args(argv)
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
