"""``python -m piggyback check``: the due-diligence checklist of an agency for a peer's contract.

Exit codes follow the verdict (``compliance.VerdictState``): 0 *Allowed* or *Allowed, with items to
document*; 1 *Blocked* (a blocker fails); 4 *Not shown to be allowed* (no blocker fails, but some
lack facts or evidence); 2 usage or input error; 3 unexpected error. Evidence recorded for the
agency and peer (on the Compliance page) is applied.
"""

from __future__ import annotations

import datetime as dt

from piggyback import cli

from piggyback.core import fmt
from piggyback.analyses.compliance import analyse_compliance, settings_from_args
from piggyback.engines.compliance import CATEGORY_LABELS, VERIFY_THRESHOLD

SEVERITY_HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "For information"}
STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "needs_evidence": "NEEDS EVIDENCE"}


MAX_VALUE = 10_000_000_000  # ten billion: far above any permitting-system purchase
_amount = cli.decimal_number(0, MAX_VALUE, "(an amount such as 250000)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="compliance checklist: may the agency buy under the peer's contract?",
        description="Test every rule that applies to the agency (its country and province/state) against the "
                    "peer's contract record, the peer's deployment facts and the evidence recorded for the two. "
                    "The verdict is one of: Blocked, Not shown to be allowed, Allowed with items to document, "
                    "Allowed. Exit code 0: allowed (with or without items to document); 1: blocked (a blocker "
                    "fails); 4: not shown to be allowed (no blocker fails, but some lack facts or evidence); "
                    "2: usage or input error; 3: unexpected error.")
    cli.add_agency_args(p)
    p.add_argument("--peer", type=cli.text_up_to(), required=True, help="the peer deployment whose contract to adopt (id or name)")
    p.add_argument("--value", type=_amount, default=None,
                   help=f"estimated total purchase value (every year, option and service), 0 to "
                        f"{MAX_VALUE:,}; omit if unknown")
    p.add_argument("--currency", choices=("CAD", "USD"), type=str.upper, default=None,
                   help="currency of --value (default: the agency's national currency)")
    p.add_argument("--federal-funds", action="store_true",
                   help="federal grant money pays for part of it (US agencies: adds the 2 CFR 200 rules)")
    p.add_argument("--date", type=cli.iso_date, default=None,
                   help=f"decision date, YYYY-MM-DD, {cli.FIRST_DATE} to {cli.LAST_DATE} (default: today)")
    p.add_argument("--golive", type=cli.iso_date, default=None,
                   help="planned go-live, YYYY-MM-DD (default: an assumption, decision date + "
                        "compliance.golive_months, 18 months as shipped)")
    p.add_argument("--json", action="store_true", help="print JSON: agency, peer, inputs, verdict, rules")
    p.set_defaults(func=run)


def run(args, store) -> int:
    profile = cli.agency_from_args(store, args)
    peer = store.resolve_peer(args.peer)
    result = analyse_compliance(store, profile, peer, settings_from_args(args), today=dt.date.today(),
                                with_ask=False)
    data = report(store, result)
    if args.json:
        cli.print_json(data)
    else:
        print(render_text(data))
    return result.verdict["exit_code"]


def report(store, result) -> dict:
    """The analysis (``ComplianceResult``) as plain JSON-able data (deterministic for the same
    inputs and store)."""
    profile = result.agency
    peers = store.peers()
    peer_row = peers[peers["deployment_id"] == result.peer].iloc[0]
    contract = result.contract or {}
    on_record = result.contract_on_record
    return {
        "agency": {"geo_id": profile.geo_id, "name": profile.name, "country": profile.country,
                   "region": profile.region, "modules_needed": list(profile.modules_needed)},
        "peer": {"deployment_id": result.peer, "jurisdiction": peer_row["jurisdiction"],
                 "contract_on_record": bool(on_record),
                 "contract": {k: v for k, v in contract.items() if k != "on_record"} if on_record else None},
        "inputs": result.inputs(),
        "verdict": result.verdict,
        "rules": [r.model_dump() for r in result.results],
        "thresholds": result.thresholds,
        "evidence_scope": result.scope,
    }


def render_text(data: dict) -> str:
    agency, peer, inputs, verdict = data["agency"], data["peer"], data["inputs"], data["verdict"]
    lines = [f"Compliance checklist: {agency['name']} adopting the contract of {peer['jurisdiction']} "
             f"({peer['deployment_id']})"]
    value = (fmt.money(inputs["value"], inputs["currency"]) + (" (currency assumed: the agency's own)"
                                                              if inputs["currency_assumed"] else "")
             if inputs["value"] is not None else "unknown")
    golive = inputs["planned_golive"] + (f" (assumption: decision date + {inputs['golive_assumption_months']} months)"
                                         if inputs["planned_golive_assumed"] else "")
    lines.append(f"Decision date {inputs['decision_date']}, planned go-live {golive}, estimated value {value}, "
                 f"federal funds {'yes' if inputs['federal_funds'] else 'no'}.")
    if not peer["contract_on_record"]:
        lines.append("No contract record for this peer: only the facts of its deployment row are known.")
    lines.append("")
    lines.append(f"VERDICT: {verdict['text']}.")
    lines.append(f"({verdict['pass']} passed, {verdict['fail']} failed, {verdict['needs_evidence']} need evidence, "
                 f"of {verdict['total']} rules.) {verdict['coverage']}")
    if verdict["missing_region"]:
        lines.append(verdict["missing_region"])
    for item in verdict["failing"]:
        lines.append(f"  fails: {item['rule_id']}: {item['reason']} ({item['citation']} <{item['source_url']}>)")
    for route in verdict["alternatives"]:
        lines.append(f"  instead: {route}")
    if verdict["open_blockers"]:
        lines.append("  blockers lacking facts or evidence:")
        for item in verdict["open_blockers"]:
            lines.append(f"    {item['rule_id']}: missing {'; '.join(item['missing'])}")
    severity = None
    for rule in data["rules"]:
        if rule["severity"] != severity:
            severity = rule["severity"]
            lines += ["", f"== {SEVERITY_HEADINGS.get(severity, severity)} =="]
        subject = CATEGORY_LABELS.get(rule["category"], rule["category"])
        lines.append(f"[{STATUS_WORDS[rule['status']]}] {rule['rule_id']} ({subject}): {rule['reason']}")
        lines.append(f"    requirement: {rule['requirement']}")
        if rule["status"] != "pass":
            lines.append(f"    to verify: {rule['how_to_verify']}")
        if rule["threshold"]:
            lines.append(f"    threshold: {rule['threshold']}")
        lines.append(f"    source: {rule['citation']} <{rule['source_url']}> (confidence {rule['confidence']})")
    if data["thresholds"]:
        lines += ["", f"== Thresholds in force on {inputs['decision_date']} =="]
        for t in data["thresholds"]:
            amount = fmt.money(t["amount"], t["currency"]) if t["amount"] is not None else VERIFY_THRESHOLD
            lines.append(f"{t['agreement']} {t['entity_class']} {t['category'] or ''}: {amount}; {t['period']}"
                         + (f" <{t['source_url']}>" if t["source_url"] else ""))
    return "\n".join(lines)

