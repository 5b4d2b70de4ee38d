"""``similar`` (who is like our agency?) and ``prospects`` (which jurisdictions are like a peer?).

    python -m piggyback similar --agency "Guelph, ON" --top 5 --weights "procurement fit" --json
    python -m piggyback prospects --peer ottawa-on --region ON --min-pop 50000 --max-pop 200000

Both print the analyses the Peers and Prospects pages render (``piggyback.analyses.peers``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from piggyback.engines import availability

from piggyback import cli

from piggyback.core import fmt
from piggyback.analyses.peers import analyse_peers, analyse_prospects
from piggyback.core.errors import PiggybackError
from piggyback.core.models import VEHICLES
from piggyback.data.peers import MIN_KNOWN_DEFAULT, weights_from
from piggyback.engines.similarity import DIMENSION_LABELS, DIMENSIONS, PRESETS

MAX_TOP = 100_000  # more than every census jurisdiction (about 33,600)
MAX_POPULATION = 50_000_000  # above the largest US state
MAX_WEIGHT = 1_000

_top = cli.whole_number(1, MAX_TOP)
_population = cli.whole_number(0, MAX_POPULATION, "a population")
_min_known = cli.whole_number(1, len(DIMENSIONS), "a number of dimensions")
_text = cli.text_up_to()


def _weights(text: str) -> str:
    """A preset name or JSON weights, each from 0 to MAX_WEIGHT (checked now, used as typed)."""
    _text(text)
    try:
        weights_from(text)
    except PiggybackError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("Bad weights: ")) from None
    try:
        raw = json.loads(text)
    except ValueError:
        return text  # a preset
    for dim, value in raw.items():
        if value is not None and float(value) > MAX_WEIGHT:
            raise argparse.ArgumentTypeError(
                f"must give each weight from 0 to {MAX_WEIGHT:,} (only their ratios count), "
                f"not {value!r} for {dim!r}")
    return text


_WEIGHTS_HELP = (f"a preset ({', '.join(repr(p) for p in PRESETS)}) or JSON such as "
                 '\'{"size": 2, "legal": 1}\' (default: balanced)')


def register(subparsers) -> None:
    p = subparsers.add_parser("similar", help="rank the peer deployments by how alike they are to the agency",
                              description="Rank the peer deployments by similarity to the agency, with the "
                                          "contribution of each dimension and the reasons in plain words.")
    cli.add_agency_args(p)
    p.add_argument("--top", type=_top, default=10, help=f"how many peers to list (1 to {MAX_TOP:,}, default 10)")
    p.add_argument("--weights", type=_weights, default="balanced", help=_WEIGHTS_HELP)
    p.add_argument("--vendor", type=_text, action="append", default=None,
                   help="only peers of this vendor, any of its known names (e.g. Granicus finds "
                        "'CSDC (now Granicus)'; repeatable)")
    p.add_argument("--availability", choices=list(availability.STATES), action="append", default=None,
                   help="only peers whose contract is in this state on the decision date (repeatable)")
    p.add_argument("--decision-date", type=cli.iso_date, default=None,
                   help="the date contract availability is judged on (YYYY-MM-DD, default today)")
    p.add_argument("--json", action="store_true", help="print JSON (best first)")
    p.set_defaults(func=run_similar)

    p = subparsers.add_parser("prospects", help="rank census jurisdictions by how alike they are to a peer",
                              description="Rank every census jurisdiction (except the peer's own) by "
                                          "similarity to a peer deployment's jurisdiction.")
    p.add_argument("--peer", type=_text, required=True, help="the reference peer: its id (ottawa-on) or name")
    p.add_argument("--top", type=_top, default=50, help=f"how many to list (1 to {MAX_TOP:,}, default 50)")
    p.add_argument("--region", type=_text, action="append", default=None,
                   help="province/state code(s), e.g. ON or ON,QC (repeatable)")
    p.add_argument("--min-pop", type=_population, default=None,
                   help=f"smallest population to include (0 to {MAX_POPULATION:,})")
    p.add_argument("--max-pop", type=_population, default=None,
                   help=f"largest population to include (0 to {MAX_POPULATION:,})")
    p.add_argument("--type", dest="jtypes", type=_text, action="append", default=None,
                   help="census kind of government, e.g. City, Town, County (repeatable)")
    p.add_argument("--weights", type=_weights, default="balanced", help=_WEIGHTS_HELP)
    p.add_argument("--min-known", type=_min_known, default=MIN_KNOWN_DEFAULT,
                   help="leave out jurisdictions known on fewer weighted dimensions than this "
                        f"(1 to {len(DIMENSIONS)}, default {MIN_KNOWN_DEFAULT})")
    p.add_argument("--json", action="store_true", help="print JSON (best first)")
    p.set_defaults(func=run_prospects)


def _table(store, name: str):
    return store.table(name) if name in store.tables() else None


def run_similar(args, store) -> int:
    agency = cli.agency_from_args(store, args)
    settings = {"weights": args.weights, "vendor": args.vendor or [], "availability": args.availability or [],
                "decision_date": args.decision_date.isoformat() if args.decision_date else None}
    result = analyse_peers(store, agency, settings, today=dt.date.today())
    items = result.to_json(top=args.top)
    if args.json:
        cli.print_json(items)
        return 0
    if not items:
        print("No peer deployment matches the filters. Remove --vendor or --availability to see more peers.",
              file=sys.stderr)
        return 1
    print(f"Peers most like {agency.name} ({agency.region}), weights {args.weights}; "
          f"contracts judged on {result.decision_date.isoformat()}:")
    if result.left_out:
        print(f"Not in your profile, so left out for every peer: "
              f"{', '.join(DIMENSION_LABELS[d].lower() for d in result.left_out)}.")
    print(f"{'#':>3} {'score':>5} {'range':>11}  {'known':>6}  {'peer':<36} {'vendor':<32} {'contract':<13} vehicle")
    for item in items:
        score = "—" if item["score"] is None else f"{item['score']:.2f}"
        span = "—" if item["score"] is None else f"{item['score']:.2f}–{item['score_high']:.2f}"
        vehicle = VEHICLES.get(item["vehicle"] or "unknown", item["vehicle"])
        vendor = item["vendor_canonical"] or item["vendor"] or fmt.BLANK
        print(f"{item['rank']:>3} {score:>5} {span:>11}  {item['dims_used']:>2} of {result.n_weighted:<2} "
              f"{item['jurisdiction'][:36]:<36} {vendor[:32]:<32} {item['availability']['label']:<13} {vehicle}")
        if item["reasons"]:
            print(f"{'':>20}{'; '.join(item['reasons'][:3])}")
        print(f"{'':>20}Contract: {item['availability']['reasons'][0]['text']}")
    rob = result.robustness
    print(f"\nTop three {'stable' if rob['stable'] else 'fragile'} when any one weight moves ±20% "
          f"({len(rob['changes'])} of {rob['checked']} moves change it).")
    print("Scores rank on the lower bound: a dimension unknown for a peer counts 0, so a peer is never "
          "ranked up for what is not known; the range shows the score if every unknown matched fully. "
          "The scales are assumptions (see the Peers page).")
    return 0


def run_prospects(args, store) -> int:
    peer_id = store.resolve_peer(args.peer)
    result = analyse_prospects(store, peer_id, {
        "weights": args.weights, "regions": args.region or [], "pop_min": args.min_pop, "pop_max": args.max_pop,
        "jtypes": args.jtypes or [], "min_known": args.min_known, "top": args.top})
    items = result.items()
    if args.json:
        cli.print_json(items)
        return 0
    reference, scored, set_aside = result.reference, result.scored, result.set_aside
    print(f"Jurisdictions most like {reference['name']} ({reference['region']}) — {result.where_text}, "
          f"{result.band_text}: {len(scored):,} ranked"
          + (f", {set_aside:,} set aside (known on fewer than {result.min_known} dimensions)" if set_aside else ""))
    if not items:
        print("No jurisdiction matches the filters.", file=sys.stderr)
        return 1
    print(f"{'#':>4} {'score':>5}  {'jurisdiction':<42} {'type':<16} {'population':>11}  legal framework")
    for item in items:
        score = "—" if item["score"] is None else f"{item['score']:.2f}"
        print(f"{item['rank']:>4} {score:>5}  {item['jurisdiction'][:42]:<42} {(item['type'] or fmt.BLANK)[:16]:<16} "
              f"{fmt.integer(item['population']):>11}  {item['legal']}")
    return 0
