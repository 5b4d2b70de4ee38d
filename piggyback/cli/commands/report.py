"""``python -m piggyback report`` (the business case as PDF or Excel) and ``scenarios`` (saved analyses)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from piggyback.cli import add_agency_args, agency_from_args, output_file, print_json, text_up_to
from piggyback.core import settings
from piggyback.core.errors import PiggybackError
from piggyback.data.scenarios import open_scenario_store, payload_from_profile, profile_from_payload, snapshot_for

FORMATS = {".pdf": "PDF", ".xlsx": "Excel"}


def app_url() -> str:
    return (settings.get("PIGGYBACK_APP_URL") or "http://localhost:8501").rstrip("/")


def register(sub) -> None:
    p = sub.add_parser("report", help="write the business case as a PDF or an Excel workbook")
    add_agency_args(p, required=False)
    p.add_argument("--peer", type=text_up_to(), default=None,
                   help="the peer whose contract would be adopted (name, part of it, or id)")
    p.add_argument("--scenario", type=text_up_to(), default=None,
                   help="a saved scenario (its name or id): its agency, peer and settings")
    p.add_argument("--out", type=output_file(*FORMATS), required=True,
                   help="FILE.pdf or FILE.xlsx (the extension decides the format; its folder must exist)")
    p.add_argument("--no-charts", action="store_true", help="PDF without charts (no browser needed)")
    p.set_defaults(func=run)

    s = sub.add_parser("scenarios", help="list, show, save, rename, duplicate or delete saved scenarios")
    ss = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = ss.add_parser("list", help="every saved scenario, most recent first")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run_list)
    a = ss.add_parser("show", help="one scenario's saved content")
    a.add_argument("name", type=text_up_to(), help="its name or id")
    a.set_defaults(func=run_show)
    a = ss.add_parser("save", help="save an agency and peer as a new scenario")
    a.add_argument("name")
    add_agency_args(a)
    a.add_argument("--peer", type=text_up_to(), default=None)
    a.set_defaults(func=run_save, writes=True)
    a = ss.add_parser("rename", help="rename a scenario")
    a.add_argument("name", type=text_up_to())
    a.add_argument("new_name")
    a.set_defaults(func=run_rename, writes=True)
    a = ss.add_parser("duplicate", help="copy a scenario under a new name")
    a.add_argument("name", type=text_up_to())
    a.add_argument("new_name")
    a.set_defaults(func=run_duplicate, writes=True)
    a = ss.add_parser("delete", help="delete a scenario")
    a.add_argument("name", type=text_up_to())
    a.set_defaults(func=run_delete, writes=True)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".piggyback-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args, store) -> int:
    from piggyback.analyses.business_case import build_business_case

    started = time.perf_counter()
    out = Path(args.out)  # checked when the command line was read (output_file)
    kind = FORMATS[out.suffix.lower()]
    scenario = open_scenario_store(store).resolve(args.scenario) if args.scenario else None
    if args.agency:
        profile = agency_from_args(store, args)
    elif scenario is not None:
        profile = profile_from_payload(store, scenario.payload)
        changes = {k: v for k, v in {"permit_volume": args.permits, "staff_users": args.users,
                                     "modules_needed": args.modules, "current_system": args.system}.items()
                   if v is not None}
        if changes:
            profile = profile.model_validate({**profile.model_dump(), **changes})
    else:
        raise PiggybackError("Say which agency: --agency 'Guelph, ON', or --scenario NAME for a saved analysis.")
    if args.peer:
        peer = store.resolve_peer(args.peer)
    else:
        peer = scenario.peer if scenario is not None else None
    settings = scenario.payload.get("settings") if scenario is not None else {}
    snapshot = scenario.payload.get("snapshot") if scenario is not None else None
    case = build_business_case(store, profile, peer, settings, snapshot=snapshot)
    info: dict = {}
    if kind == "PDF":
        from piggyback.reports.report_pdf import render_pdf

        data = render_pdf(case, charts=not args.no_charts, report=info)
    else:
        from piggyback.reports.report_xlsx import render_xlsx

        data = render_xlsx(case)
    _write_atomic(out, data)
    seconds = time.perf_counter() - started
    pages = f", {info['pages']} pages" if info.get("pages") else ""
    source = f" from scenario {scenario.name!r}" if scenario is not None else ""
    print(f"Wrote the business case for {profile.name}{source} to {out} ({kind}{pages}, "
          f"{len(data) / 1024:,.0f} KB) in {seconds:.1f} s.")
    for name, why in (info.get("chart_errors") or {}).items():
        if not args.no_charts:
            print(f"note: the {name} chart could not be rendered ({why}); the PDF says so in its place.",
                  file=sys.stderr)
    return 0


def _row(s) -> dict:
    agency = (s.payload.get("agency") or {})
    return {"id": s.id, "name": s.name, "agency": agency.get("name"), "agency_id": agency.get("geo_id"),
            "peer": s.peer, "version": s.version, "updated_at": s.updated_at.isoformat(timespec="seconds"),
            "link": f"{app_url()}/business-case{s.link()}"}


def run_list(args, store) -> int:
    rows = [_row(s) for s in open_scenario_store(store).list()]
    if args.json:
        print_json(rows)
    elif not rows:
        print("No scenario is saved yet: save one on the Business case page or with `scenarios save`.")
    else:
        for r in rows:
            print(f"{r['name']:<40} {r['agency'] or '—':<28} {r['peer'] or '—':<22} v{r['version']:<3} "
                  f"{r['updated_at']}  {r['link']}")
    return 0


def run_show(args, store) -> int:
    s = open_scenario_store(store).resolve(args.name)
    print_json({**_row(s), "created_at": s.created_at.isoformat(timespec="seconds"), "payload": s.payload})
    return 0


def run_save(args, store) -> int:
    profile = agency_from_args(store, args)
    peer = store.resolve_peer(args.peer) if args.peer else None
    payload = payload_from_profile(profile, peer=peer, snapshot=snapshot_for(store, profile.geo_id, peer))
    s = open_scenario_store(store).save(args.name, payload)
    print(f"Saved scenario {s.name!r} (id {s.id}): {_row(s)['link']}")
    return 0


def run_rename(args, store) -> int:
    ss = open_scenario_store(store)
    s = ss.resolve(args.name)
    s = ss.rename(s.id, args.new_name, expected_version=s.version)
    print(f"Renamed to {s.name!r} (id {s.id}).")
    return 0


def run_duplicate(args, store) -> int:
    ss = open_scenario_store(store)
    s = ss.duplicate(ss.resolve(args.name).id, args.new_name)
    print(f"Copied to {s.name!r} (id {s.id}): {_row(s)['link']}")
    return 0


def run_delete(args, store) -> int:
    ss = open_scenario_store(store)
    s = ss.resolve(args.name)
    ss.delete(s.id, expected_version=s.version)
    print(f"Deleted scenario {s.name!r}.")
    return 0
