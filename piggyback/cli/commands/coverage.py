"""``coverage`` (what do we know about each peer?) and ``ask`` (what should we ask a peer for?).

    python -m piggyback coverage [--peer ottawa-on] [--json]
    python -m piggyback ask --agency "Guelph, ON" --peer ottawa-on [--json]

Both call the functions the Data & sources and Compliance pages call (``piggyback.analyses.coverage``,
``piggyback.analyses.ask``).
"""

from __future__ import annotations


from piggyback import cli
from piggyback.analyses.coverage import FACTS, coverage_of_store

_text = cli.text_up_to()
_MARK = {"known": "yes", "partial": "part", "missing": "-"}


def register(subparsers) -> None:
    p = subparsers.add_parser("coverage", help="which decision facts are known for each peer, with totals",
                              description="For each peer deployment, which of the decision facts are on file "
                                          "(vendor, product, modules live, vehicle, lead agency, cooperative "
                                          "clause, advertised, award, term/expiry, value, price lines, go-live), "
                                          "with the counts over all peers.")
    p.add_argument("--peer", type=_text, default=None, help="one peer: its id (ottawa-on) or name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_coverage)

    p = subparsers.add_parser("ask", help="the missing facts to ask a peer for, ranked, with the request text",
                              description="For an agency and a peer, the facts still missing that block the "
                                          "compliance verdict or widen the cost and timeline ranges most, "
                                          "ranked, each with why it matters, plus a request to the peer's clerk "
                                          "or purchasing office and a public-records request.")
    cli.add_agency_args(p)
    p.add_argument("--peer", type=_text, required=True, help="the peer: its id (ottawa-on) or name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_ask)


def run_coverage(args, store) -> int:
    peer = store.resolve_peer(args.peer) if args.peer else None
    result = coverage_of_store(store, peer)
    if args.json:
        cli.print_json(result)
        return 0
    keys = list(FACTS)
    width = 34
    print(f"Decision facts on file for {result['n_peers']} peer(s) (yes = known, part = a fact on file that "
          "does not settle it, - = missing):")
    header = " ".join(f"{k[:6]:>6}" for k in keys)
    print(f"{'peer':<{width}} {header}  known")
    for p in result["peers"]:
        cells = " ".join(f"{_MARK[p['facts'][k]]:>6}" for k in keys)
        name = f"{p['jurisdiction']}, {p['region']}"
        name = name if len(name) <= width else name[:width - 5] + "…, " + str(p["region"])
        print(f"{name:<{width}} {cells}  {p['known']:>2}/{len(keys)}")
    if result["n_peers"] > 1:
        print()
        print("Known across all peers:")
        for key, label in FACTS.items():
            t = result["totals"][key]
            print(f"  {label:<24} {t['known']:>3} known, {t['partial']:>3} partly, {t['missing']:>3} missing")
    if result["conflicts"]:
        print()
        print(f"{len(result['conflicts'])} research fact(s) contradict what was on file (both are kept):")
        for c in result["conflicts"]:
            print(f"  {c['deployment_id']}: {c['fact']} = {c['value']} (vs {c['conflicts_with']})")
    return 0


def run_ask(args, store) -> int:
    from piggyback.analyses.ask import ask_for

    agency = cli.agency_from_args(store, args)
    peer = store.resolve_peer(args.peer)
    result = ask_for(store, agency, peer)
    if args.json:
        cli.print_json(result)
        return 0
    if not result["missing"]:
        print(f"Nothing to ask {result['peer']['jurisdiction']} for: every decision fact is on file.")
        return 0
    print(f"What to ask {result['peer']['jurisdiction']} for, most important first "
          f"(for {agency.name}):")
    print(f"Compliance verdict now: {result['verdict']['text']}.")
    for i, item in enumerate(result["missing"], start=1):
        print(f"{i:>2}. {item['label']} [{item['impact']}]: {item['why']}")
    print()
    print(result["request"]["subject"])
    print()
    print(result["request"]["body"])
    print()
    print(result["records_request"]["subject"])
    print()
    print(result["records_request"]["body"])
    return 0
