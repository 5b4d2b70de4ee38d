"""``python -m piggyback timeline``: months to go-live by a new RFP and by piggybacking.

The same model as the Timeline page (same phases, same order, same seed, same numbers):

    python -m piggyback timeline --agency "Guelph, ON" --start 2027-01-01 --seed 7 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from .. import cli
from ..errors import PiggybackError
from ..timeline import (
    METHODS,
    MIN_DRAWS,
    ROUTE_LABELS,
    ROUTES,
    SIMILAR_PEERS,
    TimelineError,
    apply_calibration,
    apply_overrides,
    calibrate_implementation,
    check_range,
    duration_claims,
    first_of_next_month,
    most_similar_peer_ids,
    ordered_phases,
    peer_actuals,
    peer_durations,
    phases_from_assumptions,
    simulate_timeline,
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
    p.add_argument("--calibrate", action="store_true",
                   help="set implementation from the most similar peers' contract-award to "
                        "go-live times (as the page's button does)")
    p.add_argument("--json", action="store_true", help="print JSON (deterministic)")
    p.set_defaults(func=run)


def build_report(store, profile, *, peer_id: str | None, start: dt.date, seed: int, draws: int,
                 method: str, overrides: dict[str, dict[str, float]],
                 calibrate: bool) -> dict[str, Any]:
    """Everything the command prints, as plain data."""
    phases = ordered_phases(phases_from_assumptions(store.assumptions("timeline")))
    peers = store.peers()
    durations = peer_durations(peers)
    calibration = None
    if calibrate:
        similar = most_similar_peer_ids(profile, peers, SIMILAR_PEERS)
        calibration = {**calibrate_implementation(durations, similar), "similar_ids": similar}
        phases = apply_calibration(phases, calibration)
    phases = apply_overrides(phases, overrides)
    result = simulate_timeline(phases, start, draws=draws, seed=seed, method=method).to_dict()

    routes = {}
    for route in ROUTES:
        data = result["routes"][route]
        routes[route] = {
            "label": ROUTE_LABELS[route],
            **{k: {"months": data["months"][k], "go_live": data["go_live"][k]}
               for k in ("p10", "p50", "p90")},
            "mean_months": data["months"]["mean"],
            "award_months": data["award_months"],
        }
    peer = None
    if peer_id:
        actual = peer_actuals(durations, peer_id)
        used = bool(calibration and peer_id in (calibration.get("peer_ids") or []))
        peer = {**actual, "used_in_calibration": used,
                "note": ("its contract-award to go-live time is one of the peers the "
                         "implementation range was calibrated from" if used else
                         "shown for comparison; the model does not use this peer's dates")}
    return {
        "agency": {"id": profile.geo_id, "name": profile.name},
        "start": result["start"],
        "seed": result["seed"],
        "draws": result["draws"],
        "method": result["method"],
        "days_per_month": result["days_per_month"],
        **routes,
        "implementation_months": result["implementation"],
        "months_saved": result["months_saved"],
        "prob_piggyback_faster": result["prob_piggyback_faster"],
        "assumptions": [
            {"id": p.id, "route": p.route, "name": p.name, "low": p.low, "likely": p.likely,
             "high": p.high, "kind": p.kind, "source": p.source_url}
            for p in phases],
        "overrides": overrides,
        "calibration": calibration,
        "peer": peer,
        "vendor_claims": duration_claims(store.table("claims")),
    }


def _text(rep: dict[str, Any]) -> str:
    saved = rep["months_saved"]
    lines = [f"{rep['agency']['name']}: decision on {rep['start']}, {rep['draws']:,} draws, "
             f"{rep['method']}, seed {rep['seed']}"]
    for route in ROUTES:
        r = rep[route]
        lines.append(f"  {r['label']:<10} go-live P50 {r['p50']['go_live']} ({r['p50']['months']:.1f} "
                     f"months); P10-P90 {r['p10']['go_live']} to {r['p90']['go_live']}")
    lines.append(f"  Months saved: median {saved['p50']:.1f} (P10-P90 {saved['p10']:.1f} to "
                 f"{saved['p90']:.1f}); piggyback sooner in "
                 f"{100 * rep['prob_piggyback_faster']:.1f}% of draws")
    if rep["calibration"]:
        cal = rep["calibration"]
        lines.append(f"  Implementation calibrated from {cal['n_peers']} peer(s) "
                     f"({', '.join(cal['peer_ids'])}; {cal['basis']})")
    if rep["peer"]:
        p = rep["peer"]
        span = p.get("award_to_golive_months")
        lines.append(f"  Peer {p['deployment_id']}: contract award {p['contract_award'] or 'unknown'}, "
                     f"go-live {p['go_live'] or 'unknown'}; award to go-live "
                     + (f"{span:.1f} months" if span is not None else "unknown"))
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
    rep = build_report(store, profile, peer_id=peer_id, start=start, seed=args.seed,
                       draws=args.draws, method=args.method, overrides=overrides,
                       calibrate=args.calibrate)
    if args.json:
        cli.print_json(rep)
    else:
        print(_text(rep))
    return 0
