"""``python -m piggyback cost``: the total cost of ownership of adopting a peer's contract.

The same analysis as the Cost page: the peer's price lines scaled to the agency, both routes (own
RFP vs piggyback), the low–high range, the scaled lines with their formulas and sources, and the
assumptions used. ``--json`` prints it deterministically (sorted keys, money rounded to cents).
"""

from __future__ import annotations

import datetime as dt

from piggyback import cli

from piggyback.core import fmt
from piggyback.analyses.cost import analyse_cost
from piggyback.engines.pricing import ROUTES, NoPriceScheduleError, PricingError


# The ranges the pricing engine accepts (piggyback.engines.pricing checks them again): checked here
# so that a value out of range is a usage error naming the option, before any work.
YEARS = (1, 50)
DISCOUNT_PCT = (-5, 50)
ESCALATION_PCT = (-10, 20)
INFLATION_PCT = (-5, 30)
FX_CAD_PER_USD = (0.2, 5)
ELASTICITY = (0, 1.5)
START_YEAR = (1970, 2100)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cost", help="ten-year cost of adopting a peer's contract vs an own RFP",
        description="Scale a peer's price schedule to the agency and cost both procurement routes over the "
                    "horizon. Unset options take the named pricing assumptions (listed in the output).")
    cli.add_agency_args(p)
    p.add_argument("--peer", type=cli.text_up_to(), required=True,
                   help="peer deployment id (e.g. fayetteville-ar) or its name")
    p.add_argument("--years", type=cli.whole_number(*YEARS, "a whole number of years"), default=None,
                   help="horizon in years, 1 to 50 (default: the assumption, 10)")
    p.add_argument("--currency", choices=["CAD", "USD"], default=None,
                   help="currency of the result (default: the agency's own)")
    p.add_argument("--discount", type=cli.decimal_number(*DISCOUNT_PCT, "%/yr"), default=None, metavar="PCT",
                   help="discount rate, %%/yr, -5 to 50 (default 5)")
    p.add_argument("--fx", type=cli.decimal_number(*FX_CAD_PER_USD, "CAD per USD"), default=None,
                   metavar="CAD_PER_USD", help="exchange rate, CAD per USD, 0.2 to 5 (default: the assumption)")
    p.add_argument("--escalation", type=cli.decimal_number(*ESCALATION_PCT, "%/yr"), default=None, metavar="PCT",
                   help="default escalation of recurring lines, %%/yr, -10 to 20")
    p.add_argument("--inflation", type=cli.decimal_number(*INFLATION_PCT, "%/yr"), default=None, metavar="PCT",
                   help="inflation bringing old prices to the analysis year, %%/yr, -5 to 30")
    p.add_argument("--elasticity", type=cli.decimal_number(*ELASTICITY), default=None,
                   help="size elasticity of fixed prices (0 to 1.5)")
    p.add_argument("--start-year", type=cli.whole_number(*START_YEAR, "a year"), default=None,
                   help="analysis year, 1970 to 2100 (default: this year)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=run)


def settings_from_args(args) -> dict:
    """The Cost page's scenario dict from the command's options (the same analysis follows)."""
    edits = {aid: value for aid, value in (
        ("pricing.horizon_years", args.years), ("pricing.discount_rate", args.discount),
        ("pricing.fx_cad_per_usd", args.fx), ("pricing.escalation_default", args.escalation),
        ("pricing.price_inflation", args.inflation), ("pricing.scale_elasticity", args.elasticity),
    ) if value is not None}
    return {"assumptions": edits, "currency": args.currency}


def analyse(store, args):
    """The analysis the command prints (also used by tests), as a JSON-ready dict."""
    agency = cli.agency_from_args(store, args)
    peer_id = store.resolve_peer(args.peer)
    today = dt.date(args.start_year, 1, 1) if args.start_year else dt.date.today()
    result = analyse_cost(store, agency, peer_id, settings_from_args(args), today=today)
    if result.status == "no_schedule":
        raise NoPriceScheduleError(result.message)
    if not result.ok:
        raise PricingError(result.message)
    return result.to_dict()


def run(args, store) -> int:
    out = analyse(store, args)
    if args.json:
        cli.print_json(out)
        return 0
    cur, h, shown = out["currency"], out["horizon_years"], out["display"]
    print(f"Cost of adopting {out['peer']}'s contract for {out['agency']['name']}: {h} years from "
          f"{out['start_year']}, {cur} (three significant figures)")
    for name in out["routes"]:
        d = shown[name]
        print(f"  {ROUTES[name]:<34} total {d['total']:>13}   NPV {d['npv']:>13}   range {d['range']}")
        print(f"      own cost of the route: {d['own_cost']} = {out['routes'][name]['procurement_source']['formula']}")
    print(f"  Piggyback minus own RFP: {shown['difference']}")
    print(f"  Cost per resident (piggyback): {shown['per_resident']}")
    print(f"  Peer population used for scaling: {out['peer_population']}")
    for w in out["warnings"]:
        print(f"  warning: {w}")
    spread = out.get("spread") or {}
    if spread.get("count", 0) >= 2 and spread["summary"] not in out["warnings"]:
        print(f"Across peers: {spread['summary']}")
    print("Lines (piggyback route):")
    for i in out["items"]:
        kind = i["kind"] + (f" from {i['derived_from']}" if i.get("derived_from") else "")
        print(f"  - {i['description']} [{kind}, {i['confidence']} confidence]: "
              f"{fmt.cost(i['total'], cur)} over {h} years")
        print(f"      {i['formula']}")
        if i["source_url"]:
            print(f"      source: {i['source_url']}")
        for flag in i["flags"]:
            print(f"      note: {flag}")
    print("Assumptions:")
    for a in out["assumptions"]:
        tag = "edited" if a["edited"] else a["kind"]
        print(f"  {a['name']}: {a['value']:g} {a['unit']} ({tag})")
    if out["quote"]:
        q = out["quote"]
        print(f"Your saved quote: total {fmt.cost(q['total'], cur)}, NPV {fmt.cost(q['npv'], cur)}")
    print(out["range_method"])
    return 0
