"""``python -m piggyback timeline``: months to go-live by a new RFP and by piggybacking.

The same model as the Timeline page (same phases, same order, same seed, same numbers):

    python -m piggyback timeline --agency "Guelph, ON" --start 2027-01-01 --seed 7 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from piggyback import cli
from piggyback.core import fmt
from piggyback.analyses.timeline import analyse_timeline
from piggyback.core.errors import PiggybackError
from piggyback.engines.timeline import (
    METHODS,
    MIN_DRAWS,
    ROUTE_LABELS,
    ROUTES,
    TimelineError,
    apply_overrides,
    check_range,
    first_of_next_month,
    phases_from_assumptions,
)

MAX_DRAWS = 5_000_000
MAX_PHASE_MONTHS = 120  # ten years for one phase: anything longer is a typing mistake

_draws = cli.whole_number(MIN_DRAWS, MAX_DRAWS, "a whole number of draws")
MAX_SEED = 2**31 - 1  # the Timeline page's seed box allows the same
_seed = cli.whole_number(0, MAX_SEED)


def _override(text: str) -> tuple[str, dict[str, float]]:
    pid, sep, values = text.partition("=")
    parts = [v.strip() for v in values.split(",")]
    if not sep or len(parts) != 3 or len(pid) > cli.MAX_TEXT:
        raise argparse.ArgumentTypeError(
            f"{text[:cli.MAX_TEXT]!r}: write PHASE_ID=LOW,LIKELY,HIGH in months, e.g. tl.rfp.needs=3,5,10")
    pid = pid.strip()
    try:
        values = check_range(pid, *parts)
    except TimelineError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if values["high"] > MAX_PHASE_MONTHS:
        raise argparse.ArgumentTypeError(
            f"{pid}: a phase lasts 0 to {MAX_PHASE_MONTHS} months; high {values['high']:g} is too long")
    return pid, values


def _correlation(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number; give 0 to 0.9") from None
    if not 0.0 <= value <= 0.9:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range; give 0 (independent) to 0.9")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an amount; give a number such as 750000") from None
    if not (0 < value < 1e12):
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: give an amount above 0")
    return value


def settings_from_args(args, overrides: dict[str, dict[str, float]], start: dt.date) -> dict[str, Any]:
    """The same plain settings dict the Timeline page keeps (so a saved scenario gives the same)."""
    return {"start": start.isoformat(), "seed": args.seed, "draws": args.draws, "method": args.method,
            "correlation": args.correlation, "overrides": overrides,
            "calibrate": None if args.calibrate is None else args.calibrate.replace("-", "_"),
            "contract_value": args.value, "delegated_authority": args.authority}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "timeline", help="months to go-live: new RFP vs piggyback (Monte Carlo ranges)",
        description="Monte Carlo of both routes to go-live from the timeline assumptions. "
                    "The same seed gives the same numbers, on the page and here.")
    cli.add_agency_args(p)
    p.add_argument("--peer", type=cli.text_up_to(), default=None,
                   help="candidate peer to adopt from (id or name): its actual dates are shown "
                        "beside the model")
    p.add_argument("--start", type=cli.iso_date, default=None,
                   help=f"decision date, YYYY-MM-DD, {cli.FIRST_DATE} to {cli.LAST_DATE} "
                        "(default: the first day of next month)")
    p.add_argument("--seed", type=_seed, default=0, help=f"random seed, 0 to {MAX_SEED:,} (default 0): same "
                                                         "seed, same numbers")
    p.add_argument("--draws", type=_draws, default=MIN_DRAWS,
                   help=f"Monte Carlo draws, {MIN_DRAWS:,} (the default) to {MAX_DRAWS:,}")
    p.add_argument("--method", choices=METHODS, default="pert",
                   help="phase distribution: pert (default; weights the most likely value) or "
                        "triangular (wider spread)")
    p.add_argument("--set", dest="overrides", type=_override, action="append", default=[],
                   metavar="PHASE=LOW,LIKELY,HIGH",
                   help=f"replace a phase's range in months, 0 to {MAX_PHASE_MONTHS} with low ≤ likely ≤ "
                        "high (repeatable), e.g. tl.rfp.needs=3,5,10")
    p.add_argument("--calibrate", nargs="?", const="peers", choices=("peers", "track-record"), default=None,
                   help="set implementation from the most similar peers' contract-award to go-live times "
                        "(peers, the default) or from the recorded go-lives (track-record), as the page's "
                        "buttons do")
    p.add_argument("--correlation", type=_correlation, default=None,
                   help="how much the phases of a route move together, 0 (independent) to 0.9 "
                        "(default: the tl.sim.correlation assumption, 0.5)")
    p.add_argument("--value", type=_positive, default=None,
                   help="the contract's value in the agency's currency (default: estimated from the "
                        "population, tl.adj.value_per_resident)")
    p.add_argument("--authority", type=_positive, default=None,
                   help="the largest award staff may sign without council, in the agency's currency "
                        "(default: data/compliance/delegated_authority.csv, else a council cycle)")
    p.add_argument("--json", action="store_true", help="print JSON (deterministic)")
    p.set_defaults(func=run)


def build_report(store, profile, *, peer_id: str | None, settings: dict[str, Any],
                 today: dt.date | None = None) -> dict[str, Any]:
    """Everything the command prints, as plain data: the timeline analysis's ``to_dict()``."""
    seeded = phases_from_assumptions(store.assumptions("timeline"))
    apply_overrides(seeded, settings.get("overrides") or {})  # an unknown phase id: say so
    result = analyse_timeline(store, profile, peer_id, settings, today=today or dt.date.today())
    return result.to_dict()


def _text(rep: dict[str, Any]) -> str:
    d = rep["display"]
    lines = [f"{rep['agency']['name']}"
             + (f" on {rep['peer']['jurisdiction']}'s contract" if rep["peer"] else "")
             + f": decision on {rep['start']}, {rep['draws']:,} draws, {rep['method']}, seed {rep['seed']}, "
             f"phases correlated {rep['correlation']:g}"]
    for route in ROUTES:
        lines.append(f"  {ROUTE_LABELS[route]:<10} go-live {d[f'golive_{route}']} ({d[f'golive_{route}_range']})")
    lines.append(f"  Months saved: {d['months_saved']} ({d['months_saved_range']}); piggyback sooner in "
                 f"{d['prob_faster']} of draws")
    for adj in rep["adjustments"]:
        lines.append(f"  {adj['phase_id']} ({adj['key']}): {adj['reason']}")
    if rep["calibration"]:
        cal = rep["calibration"]
        lines.append(f"  Implementation calibrated from {cal['n_peers']} {'observation' if cal.get('basis') == 'track record' else 'peer'}(s) "
                     f"({', '.join(cal['peer_ids'])}; {cal['basis']})")
    lines.append(f"  Track record: {d['track_record']}")
    for flag in rep["flags"]:
        lines.append(f"  Risk ({flag['topic']}): {flag['text']}")
    if rep["peer"]:
        p = rep["peer"]
        span = p.get("award_to_golive_months")
        lines.append(f"  Peer {p['deployment_id']}: contract award {p['contract_award'] or 'unknown'}, "
                     f"go-live {p['go_live'] or 'unknown'}; award to go-live "
                     + (fmt.months(span) if span is not None else "unknown"))
    for c in rep["vendor_claims"]:
        lines.append(f"  Vendor-stated ({ROUTE_LABELS[c['route']]}): {c['claimed_value']}")
    return "\n".join(lines)


def run(args, store) -> int:
    profile = cli.agency_from_args(store, args)
    peer_id = store.resolve_peer(args.peer) if args.peer else None
    overrides: dict[str, dict[str, float]] = {}
    for pid, values in args.overrides:
        if pid in overrides:
            raise PiggybackError(f"--set {pid} is given twice; give each phase once")
        overrides[pid] = values
    start = args.start or first_of_next_month(dt.date.today())
    rep = build_report(store, profile, peer_id=peer_id, settings=settings_from_args(args, overrides, start))
    if args.json:
        cli.print_json(rep)
    else:
        print(_text(rep))
    return 0
