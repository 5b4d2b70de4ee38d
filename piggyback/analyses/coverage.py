"""What we know about each peer: the decision facts on file, per peer and counted over all peers.

A pure function over the store's frames (deployments, contracts, price_items, contract_facts),
so the CLI (``python -m piggyback coverage``) and the Data & sources page show the same counts.

Each fact of each peer is one of:
* ``known``: the store holds a value (blank stays blank: nothing is inferred);
* ``partial``: only a research fact that does not settle it is on file (for example a board's
  delegation cited where the contract's cooperative-use clause itself was never read);
* ``missing``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from piggyback.core.models import is_blank

#: The decision facts, in the order a steward reads them, with their labels.
FACTS: dict[str, str] = {
    "vendor": "Vendor",
    "product": "Product",
    "modules": "Modules live",
    "vehicle": "Contract vehicle",
    "lead_agency": "Lead agency",
    "coop_clause": "Cooperative-use clause",
    "advertised": "Publicly advertised",
    "award": "Award date",
    "term_expiry": "Term or expiry",
    "value": "Contract value",
    "price_lines": "Price lines",
    "go_live": "Go-live",
}
#: Research fact types (contract_facts.fact) that bear on each decision fact.
_FACT_TYPES: dict[str, tuple[str, ...]] = {
    "vendor": ("vendor",), "product": ("product",), "modules": ("modules",), "vehicle": ("vehicle",),
    "lead_agency": ("lead_agency",), "coop_clause": ("coop_clause",), "advertised": ("advertised", "solicitation_no"),
    "award": ("award",), "term_expiry": ("term_years", "expiry"), "value": ("contract_value",),
    "price_lines": ("price_line",), "go_live": ("go_live",),
}
STATES = ("known", "partial", "missing")


def _known(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    if hasattr(value, "tolist") and not isinstance(value, str):
        return len(value.tolist()) > 0
    return not is_blank(value)


def _first(rows: list[dict], column: str) -> Any:
    for row in rows:
        if _known(row.get(column)):
            return row[column]
    return None


def peer_coverage(dep: dict, contracts: pd.DataFrame | None, prices: pd.DataFrame | None,
                  facts: pd.DataFrame | None) -> dict[str, str]:
    """{fact: known | partial | missing} for one deployment (a dict of its deployments row)."""
    dep_id = dep["deployment_id"]
    c = [] if contracts is None or contracts.empty else \
        contracts[contracts["deployment_id"] == dep_id].to_dict("records")
    priced = bool(prices is not None and not prices.empty and (prices["deployment_id"] == dep_id).any())
    on_file = set()
    if facts is not None and not facts.empty:
        on_file = set(facts.loc[facts["deployment_id"] == dep_id, "fact"])
    return _states(dep, c, priced, on_file)


def _states(dep: dict, c: list[dict], priced: bool, on_file: set[str]) -> dict[str, str]:
    """The states of one deployment from its contract rows (dicts), whether it has price lines,
    and the research fact types on file for it."""
    vehicle_c = _first([r for r in c if r.get("vehicle") != "unknown"], "vehicle")
    values = {
        "vendor": dep.get("vendor"),
        "product": dep.get("product"),
        "modules": dep.get("module_codes"),
        "vehicle": dep.get("vehicle") if dep.get("vehicle") not in (None, "unknown") else vehicle_c,
        "lead_agency": _first(c, "lead_agency"),
        "coop_clause": _first(c, "coop_clause"),
        "advertised": _first(c, "publicly_advertised"),
        "award": dep.get("contract_award") if _known(dep.get("contract_award")) else _first(c, "award_date"),
        "term_expiry": next((v for v in (_first(c, "expiry_date"), _first(c, "term_years"),
                                         dep.get("contract_term_years")) if _known(v)), None),
        "value": dep.get("contract_value") if _known(dep.get("contract_value")) else _first(c, "value"),
        "price_lines": priced or None,
        "go_live": dep.get("go_live"),
    }
    out = {}
    for key in FACTS:
        if _known(values[key]):
            out[key] = "known"
        elif on_file & set(_FACT_TYPES[key]):
            out[key] = "partial"
        else:
            out[key] = "missing"
    return out


def coverage(deployments: pd.DataFrame, contracts: pd.DataFrame | None = None,
             prices: pd.DataFrame | None = None, facts: pd.DataFrame | None = None,
             peer: str | None = None) -> dict[str, Any]:
    """Per peer, which decision facts are known, and the counts over all peers (or one peer).

    Returns ``{"facts": {key: label}, "peers": [...], "totals": {key: {known, partial, missing}},
    "n_peers": n, "conflicts": [...]}``; each peer has ``deployment_id``, ``jurisdiction``,
    ``region``, ``facts`` ({key: state}), ``known`` (count) and ``missing`` (labels).
    """
    rows = deployments.to_dict("records")
    if peer is not None:
        rows = [r for r in rows if r["deployment_id"] == peer]
    peers = []
    totals = {key: {s: 0 for s in STATES} for key in FACTS}
    # grouped once: a peer's rows are looked up, not filtered out of each table per peer
    by_dep: dict[str, list[dict]] = {}
    if contracts is not None and not contracts.empty:
        for row in contracts.to_dict("records"):
            by_dep.setdefault(row["deployment_id"], []).append(row)
    priced = set() if prices is None or prices.empty else set(prices["deployment_id"])
    on_file: dict[str, set[str]] = {}
    if facts is not None and not facts.empty:
        for dep_id, fact in zip(facts["deployment_id"], facts["fact"]):
            on_file.setdefault(dep_id, set()).add(fact)
    for dep in sorted(rows, key=lambda r: str(r.get("jurisdiction") or "")):
        dep_id = dep["deployment_id"]
        states = _states(dep, by_dep.get(dep_id, []), dep_id in priced, on_file.get(dep_id, set()))
        for key, state in states.items():
            totals[key][state] += 1
        peers.append({
            "deployment_id": dep["deployment_id"], "jurisdiction": dep.get("jurisdiction"), "region": dep.get("region"),
            "facts": states, "known": sum(s == "known" for s in states.values()),
            "missing": [FACTS[k] for k, s in states.items() if s != "known"],
        })
    conflicts = []
    if facts is not None and not facts.empty and "conflicts_with" in facts:
        hit = facts[facts["conflicts_with"].map(_known)]
        if peer is not None:
            hit = hit[hit["deployment_id"] == peer]
        conflicts = [{"fact_id": r["fact_id"], "deployment_id": r["deployment_id"], "fact": r["fact"],
                      "value": r["value"], "date": None if is_blank(r.get("fact_date")) else r.get("fact_date"),
                      "conflicts_with": r["conflicts_with"], "source_url": r["source_url"]}
                     for r in hit.to_dict("records")]
    return {"facts": dict(FACTS), "peers": peers, "totals": totals, "n_peers": len(peers), "conflicts": conflicts}


def coverage_of_store(store, peer: str | None = None) -> dict[str, Any]:
    """``coverage`` over the store's tables (missing tables count as empty)."""
    tables = set(store.tables())

    def table(name):
        return store.table(name) if name in tables else None

    return coverage(store.peers(), table("contracts"), table("price_items"), table("contract_facts"), peer=peer)


def coverage_table(result: dict[str, Any]) -> pd.DataFrame:
    """One row per peer, one column per fact ("✓" known, "~" partial, "" missing), for display."""
    mark = {"known": "✓", "partial": "~", "missing": ""}
    rows = []
    for p in result["peers"]:
        rows.append({"Peer": p["jurisdiction"], "Region": p["region"],
                     **{label: mark[p["facts"][key]] for key, label in FACTS.items()},
                     "Known": f"{p['known']} of {len(FACTS)}"})
    return pd.DataFrame(rows)


def totals_table(result: dict[str, Any]) -> pd.DataFrame:
    """One row per fact: how many peers have it known, partly, or not at all."""
    n = result["n_peers"]
    return pd.DataFrame([{"Fact": label, "Known": result["totals"][key]["known"],
                          "Partly": result["totals"][key]["partial"], "Missing": result["totals"][key]["missing"],
                          "Known share": f"{result['totals'][key]['known'] / n:.0%}" if n else "—"}
                         for key, label in FACTS.items()])
