"""What to ask a peer for: the missing facts that block the compliance verdict or widen the ranges
most, ranked, each with why it matters, and the request text (issue #14).

``ask_for(store, agency, peer)`` reads what the store knows about the peer (``piggyback.analyses.coverage``)
and takes the compliance verdict for the agency and that peer (``piggyback.analyses.compliance``,
which calls ``ask_with_verdict`` itself, so the page, ``check`` and ``ask`` share one chain):
a fact that an open blocker rule is waiting for ranks first; the others rank by how much they
widen the cost and timeline ranges (the weights below, a judgement stated here, not a measure).
Once the answer comes back and a steward imports it, the fact is known and leaves the list.

Two texts come with the list: a request to the peer's clerk or purchasing office, and a
public-records (US) or access-to-information (Canada) request naming the documents.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piggyback.engines import compliance
from piggyback.analyses.coverage import FACTS, peer_coverage
from piggyback.core.models import is_blank

#: Label shown for each fact when asking (the coverage labels, with the price lines named as the
#: document that holds them).
ASK_LABELS: dict[str, str] = {**FACTS, "price_lines": "Price schedule", "term_expiry": "Term and expiry date"}

#: How much a missing fact widens the ranges when no rule is waiting for it (a stated judgement:
#: cost first, then the contract's life, then the timeline, then the route's details).
RANGE_WEIGHT: dict[str, int] = {
    "price_lines": 40, "value": 35, "award": 30, "term_expiry": 30, "go_live": 25, "vehicle": 20,
    "coop_clause": 15, "lead_agency": 15, "advertised": 10, "modules": 10, "vendor": 5, "product": 5,
}
BLOCKER_WEIGHT = 100

WHY: dict[str, str] = {
    "price_lines": "Without the peer's price schedule the cost of the piggyback route cannot be scaled from "
                   "its contract, so the cost range rests on assumptions.",
    "value": "The contract value checks the price schedule and places the purchase against the thresholds "
             "that decide whether the piggyback route is open.",
    "award": "The award date, with the term, tells whether the contract is still open to join, and it "
             "anchors the timeline from award to go-live.",
    "term_expiry": "The contract must stay in force through your go-live; without its term or expiry date "
                   "that cannot be shown.",
    "go_live": "The peer's go-live date, with its award date, measures how long implementation took; "
               "without it the timeline range stays wide.",
    "vehicle": "How the peer bought (own tender, cooperative contract, interlocal agreement, sole source) "
               "decides whether there is a contract you may join at all.",
    "coop_clause": "Only a contract whose terms let other public bodies buy under it can be joined; this "
                   "is the first thing a purchasing officer checks.",
    "lead_agency": "The lead agency must be a public body, and its location decides which trade-agreement "
                   "and provincial or state rules apply.",
    "advertised": "Joining another body's contract is usually allowed only when its original solicitation "
                  "was publicly advertised.",
    "modules": "The contract's scope must cover the modules you need.",
    "vendor": "The vendor is the first fact to confirm.",
    "product": "The product decides which modules and prices apply.",
}
QUESTION: dict[str, str] = {
    "price_lines": "the price schedule (licence or subscription per year, implementation, data migration, "
                   "training, hosting and support, with the price year)",
    "value": "the contract's total value and currency",
    "award": "the date council (or the board) awarded the contract",
    "term_expiry": "the contract's term, its renewal options and its expiry date",
    "go_live": "the date the system went live (and which modules went live when)",
    "vehicle": "how the contract was procured (your own tender, a cooperative contract, an interlocal or "
               "shared-services agreement, or a sole-source award)",
    "coop_clause": "whether the contract lets other public bodies buy under it (a cooperative-use or "
                   "piggyback clause), and its wording",
    "lead_agency": "which public body holds the contract (the lead agency)",
    "advertised": "whether the original solicitation was publicly advertised, where and when",
    "modules": "which modules are live and which are in the contract's scope",
    "vendor": "the vendor's name",
    "product": "the product's name and version",
}
#: Which compliance facts (``compliance.FACT_LABELS`` keys) each decision fact answers.
_FROM_RULE_FACT: dict[str, tuple[str, ...]] = {
    "contract": ("vehicle", "award", "value", "term_expiry", "coop_clause", "price_lines"),
    "lead_is_public": ("lead_agency",), "lead_region": ("lead_agency",),
    "publicly_advertised": ("advertised",), "coop_clause": ("coop_clause",),
    "expiry_date": ("term_expiry", "award"), "scope_document": ("price_lines", "modules"),
}
DOCUMENTS = [
    ("contract", "the signed contract or agreement, with every amendment and renewal"),
    ("coop_clause", "the clause of that contract (or of its solicitation) that lets other public bodies buy under it"),
    ("solicitation", "the solicitation (RFP, tender or quote request) and its public advertisement or posting notice"),
    ("price_schedule", "the price schedule or cost proposal attached to the contract"),
    ("go_live", "the staff or council report on the system's go-live (or the project close-out report)"),
]


def _label_to_fact() -> dict[str, str]:
    return {label: key for key, label in compliance.FACT_LABELS.items()}


def missing_facts(states: dict[str, str], open_blockers: list[dict]) -> list[dict[str, Any]]:
    """The facts not known (``states`` from ``coverage.peer_coverage``), ranked: those an open
    blocker rule waits for first (more rules first), then by ``RANGE_WEIGHT``."""
    by_label = _label_to_fact()
    waiting: dict[str, list[str]] = {}
    for rule in open_blockers:
        for label in rule.get("missing") or []:
            for key in _FROM_RULE_FACT.get(by_label.get(label, ""), ()):
                waiting.setdefault(key, []).append(rule["rule_id"])
    out = []
    for key in FACTS:
        if states.get(key) == "known":
            continue
        rules = list(dict.fromkeys(waiting.get(key, [])))
        score = RANGE_WEIGHT[key] + (BLOCKER_WEIGHT + 10 * len(rules) if rules else 0)
        impact = ("blocks the verdict" if rules else
                  "widens the cost range" if key in ("price_lines", "value") else
                  "widens the timeline range" if key in ("award", "go_live") else "narrows the route")
        why = WHY[key]
        if rules:
            why = f"Rule(s) {', '.join(rules)} cannot pass without it. " + why
        if states.get(key) == "partial":
            why += " A research note bears on it but does not settle it."
        out.append({"fact": key, "label": ASK_LABELS[key], "state": states.get(key, "missing"), "impact": impact,
                    "rules": rules, "score": score, "why": why, "question": QUESTION[key]})
    out.sort(key=lambda item: (-item["score"], list(FACTS).index(item["fact"])))
    for rank, item in enumerate(out, start=1):
        item["rank"] = rank
    return out


def _office(peer: dict, contacts) -> tuple[str, str | None]:
    """Who to write to: the peer's recorded contact office, else its clerk or purchasing office."""
    name = str(peer.get("jurisdiction") or peer.get("deployment_id"))
    if contacts is not None and not contacts.empty:
        rows = contacts[contacts["deployment_id"] == peer["deployment_id"]]
        for r in rows.to_dict("records"):
            if not is_blank(r.get("department")):
                return f"Clerk or Purchasing office, {name} (or {r['department']})", r.get("value")
    return f"Clerk or Purchasing office, {name}", None


def _records_law(country: str | None, region: str | None) -> str:
    if country == "CA":
        if region == "ON":
            return "the Municipal Freedom of Information and Protection of Privacy Act (MFIPPA)"
        return "the province's access-to-information law for municipalities"
    return "the state's public records law"


def request_texts(agency: Any, peer: dict, items: list[dict], contacts=None, today: dt.date | None = None) -> dict:
    """The request to the peer's office and the public-records / access-to-information request."""
    today = today or dt.date.today()
    name = getattr(agency, "name", None) or (agency.get("name") if isinstance(agency, dict) else "our agency")
    region = getattr(agency, "region", None) or (agency.get("region") if isinstance(agency, dict) else "")
    if region and not str(name).endswith(f", {region}"):
        name = f"{name}, {region}"
    office, channel = _office(peer, contacts)
    system = " ".join(str(v) for v in (peer.get("vendor"), peer.get("product")) if not is_blank(v)) or "permitting system"
    questions = "\n".join(f"{i}. {item['question'][0].upper()}{item['question'][1:]}." for i, item in enumerate(items, 1))
    docs = "\n".join(f"- {text[0].upper()}{text[1:]}" for _, text in DOCUMENTS)
    subject = f"Request for information: your {system} contract ({name})"
    body = (f"To: {office}\n"
            f"Date: {today.isoformat()}\n\n"
            f"Hello,\n\n"
            f"{name} is considering a permitting and licensing system and may ask to join an existing public "
            f"contract rather than run its own procurement. {peer.get('jurisdiction')} uses {system}, and we "
            f"would be grateful for the following facts about that contract:\n\n"
            f"{questions if questions else '(nothing is missing)'}\n\n"
            f"Copies of these documents would answer most of it:\n{docs}\n\n"
            f"Public documents or links are enough. Thank you for your help.\n\n"
            f"[Your name, title and contact details]\n{name}")
    law = _records_law(peer.get("country"), peer.get("region"))
    kind = "access-to-information request" if peer.get("country") == "CA" else "public records request"
    records_subject = f"{kind[0].upper()}{kind[1:]}: {system} contract records, {peer.get('jurisdiction')}"
    records_body = (f"To: the records officer (Clerk's office), {peer.get('jurisdiction')}\n"
                    f"Date: {today.isoformat()}\n\n"
                    f"Under {law}, I request copies of the following records about the contract for {system}:\n\n"
                    f"{docs}\n\n"
                    f"Electronic copies are preferred. If any record is withheld in whole or in part, please "
                    f"say which part and the reason, and release the rest.\n\n"
                    f"[Your name, title and contact details]\n{name}")
    return {"request": {"to": office, "channel": channel, "subject": subject, "body": body},
            "records_request": {"kind": kind, "law": law, "subject": records_subject, "body": records_body,
                                "documents": [text for _, text in DOCUMENTS]}}


def ask_for(store, agency, peer_id: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """The ranked missing facts for ``agency`` (an AgencyProfile) and the peer, the verdict they
    feed (the compliance analysis with its default settings), and the request texts."""
    from piggyback.analyses.compliance import analyse_compliance

    store.deployment(peer_id)  # an unknown peer raises UnknownPeer with the message
    return analyse_compliance(store, agency, peer_id, {}, today=today or dt.date.today()).ask


def ask_with_verdict(store, agency, peer_id: str, verdict: dict, *, today: dt.date | None = None) -> dict[str, Any]:
    """As ``ask_for``, for a verdict already worked out (the compliance analysis passes its own,
    with the user's value and dates)."""
    tables = set(store.tables())

    def table(name):
        return store.table(name) if name in tables else None

    peers = store.peers()
    row = peers[peers["deployment_id"] == peer_id]
    if row.empty:
        store.deployment(peer_id)  # raises UnknownPeer with the message
    peer = row.iloc[0].to_dict()
    peer["jurisdiction"] = peer.get("jurisdiction") or peer_id
    states = peer_coverage(peer, table("contracts"), table("price_items"), table("contract_facts"))
    items = missing_facts(states, verdict.get("open_blockers") or [])
    texts = request_texts(agency, peer, items, table("contacts"), today=today)
    return {
        "agency": {"name": agency.name, "region": agency.region, "geo_id": agency.geo_id},
        "peer": {"deployment_id": peer_id, "jurisdiction": peer.get("jurisdiction"), "region": peer.get("region")},
        "verdict": {"state": verdict["state"], "text": verdict["text"]},
        "known": [ASK_LABELS[k] for k, s in states.items() if s == "known"],
        "missing": items,
        **texts,
    }
