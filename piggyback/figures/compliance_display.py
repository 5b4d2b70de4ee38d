"""What the Compliance page shows of a ``ComplianceResult`` (``piggyback.analyses.compliance``):
the verdict's words, the rule cards' lines, the tables. Plain strings and frames, no streamlit:
the page only lays them out. Dynamic text is escaped for Markdown here (``fmt.md_escape``)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pandas as pd

from piggyback.core import fmt
from piggyback.engines.compliance import CATEGORY_LABELS, VERIFY_THRESHOLD
from piggyback.data.evidence import contract_facts_table
from piggyback.core.models import MODULES

STATUS = {"pass": "✅ pass", "fail": "❌ fail", "needs_evidence": "❓ needs evidence"}
SEVERITY_HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "For information"}
VERDICT_ICON = {"blocked": "⛔", "not_shown": "⚠️", "allowed_with_items": "📝", "allowed": "✅"}
PAGE_CAPTION = ("May we buy under this peer's contract instead of running our own solicitation? The rules on file "
                "for your country and your province or state (the verdict names them, and says when your province "
                "or state has none), tested against what the sources say about the contract. Unknown facts never "
                "pass: they need evidence, which you record here once checked.")


def verdict_markdown(verdict: dict) -> str:
    """The verdict box: the headline as a heading, then the rest of the verdict line."""
    detail = verdict["text"][len(verdict["headline"]):].lstrip(": ")
    detail = detail[:1].upper() + detail[1:]
    return f"### {verdict['headline']}\n\n{fmt.md_escape(detail)}"


def inputs_summary(result) -> str:
    """One line: the value, the decision date, the go-live (and whether assumed), federal funds."""
    value = fmt.money(result.value, result.currency) if result.value is not None else "unknown"
    return (f"value {value} · decision {result.decision_date.isoformat()}"
            f" · go-live {result.planned_golive.isoformat()}{' (assumption)' if result.golive_assumed else ''}"
            f"{' · federal funds' if result.federal_funds else ''}")


def golive_caption(result) -> str:
    if result.golive_assumed:
        return (f"Assumption: decision date + {result.golive_months} months (compliance.golive_months, see "
                "Data & sources). Edit it to your plan.")
    return (f"Your date. The assumption would be {result.golive_assumption.isoformat()} "
            f"(decision date + {result.golive_months} months).")


def short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def what_blocks(verdict: dict) -> list[str]:
    """What blocks (the failing blockers and why) and the routes to use instead, one line each."""
    lines = ["**What blocks:** " + "; ".join(f"{f['rule_id']}: {fmt.md_escape(f['reason'])}"
                                             for f in verdict["failing"])] if verdict["failing"] else []
    return lines + [f"**Instead:** {fmt.md_escape(route)}" for route in verdict["alternatives"]]


def thresholds_caption(result) -> str:
    return (f"The trade-agreement and grant thresholds the rules for {fmt.md_escape(result.agency.region)} compare "
            f"against, in force on the decision date {result.decision_date.isoformat()}. A blank amount is not "
            "confirmed for the period: verify the current threshold; nothing is estimated.")


def what_is_missing(verdict: dict) -> str:
    return "\n".join(f"- **{o['rule_id']}**: {fmt.md_escape('; '.join(o['missing']))}"
                     for o in verdict["open_blockers"])


def rule_label(r) -> str:
    return (f"{STATUS[r.status]} · {r.severity} · {r.rule_id}: "
            f"{fmt.md_escape(short(CATEGORY_LABELS.get(r.category, r.category) + ': ' + r.requirement))}")


def rule_lines(r, decision_date) -> list[str]:
    """The Markdown lines of one rule's card, before its evidence."""
    lines = [f"**{STATUS[r.status]}** ({r.severity}): {fmt.md_escape(r.reason)}"]
    if r.missing:
        lines.append(f"**Missing:** {fmt.md_escape('; '.join(r.missing))}")
    if r.alternative:
        lines.append(f"**Instead:** {fmt.md_escape(r.alternative)}")
    lines.append(f"**Requirement:** {fmt.md_escape(r.requirement)}")
    lines.append(f"**How to verify:** {fmt.md_escape(r.how_to_verify)}")
    if r.check == "value_vs_threshold":
        shown = r.threshold if r.threshold_amount is not None else VERIFY_THRESHOLD
        lines.append(f"**Threshold in force on {decision_date.isoformat()}:** {fmt.md_escape(shown)}")
    lines.append(f"**Source:** [{fmt.md_escape(r.citation)}](<{r.source_url}>)")
    return lines


def evidence_line(item: dict) -> str:
    """One piece of recorded evidence: who, when, the note, document and link."""
    parts = [fmt.md_escape(item[k]) for k in ("note", "document") if item[k]]
    if item["link"]:
        href = urllib.parse.quote(item["link"], safe=":/?#@!$&*+,;=%-._~")  # no ( ) [ ] in the target
        parts.append(f"[{fmt.md_escape(short(item['link'], 60))}](<{href}>)")
    when = item["ts"].strftime("%Y-%m-%d %H:%M") if item["ts"] else fmt.BLANK
    who = fmt.md_escape(item.get("who_label") or item["who"])
    return f"📎 **Evidence recorded** by {who}, {when}: " + " · ".join(parts)


def checklist_table(results) -> pd.DataFrame:
    return pd.DataFrame([{
        "status": STATUS[r.status], "severity": r.severity, "rule": r.rule_id,
        "category": CATEGORY_LABELS.get(r.category, r.category), "requirement": r.requirement, "reason": r.reason,
        "threshold": r.threshold, "evidence": r.evidence, "confidence": fmt.confidence(r.confidence),
        "citation": r.citation, "source": r.source_url} for r in results])


def thresholds_table(thresholds: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "agreement": t["agreement"], "applies to": t["entity_class"], "category": t["category"],
        "amount": fmt.money(t["amount"], t["currency"]) if t["amount"] is not None else VERIFY_THRESHOLD,
        "period": t["period"], "compared by": ", ".join(t["rules"]),
        "confidence": fmt.confidence(t["confidence"]), "source": t["source_url"], "note": t["note"]}
        for t in thresholds])


def contract_facts(result) -> pd.DataFrame:
    facts = contract_facts_table(result.facts)
    facts["value"] = facts["value"].map(lambda v: fmt.BLANK if fmt.missing(v) else str(v))
    return facts


def contract_caption(result) -> str:
    needed = ", ".join(MODULES[m] for m in result.agency.modules_needed) or fmt.BLANK
    taken = ", ".join((result.facts or {}).get("from_deployment") or [])
    return (f"A dash is unknown: the sources say nothing, and nothing is guessed. Modules you need: {needed}. "
            "Whether the lead agency is a public body is read from its name (a city, county …) when the "
            "record does not say. An expiry date not on record is worked out from the award date and term."
            + (f" Taken from the peer's deployment row: {fmt.md_escape(taken)}." if taken else ""))


def contract_sources(sources: pd.DataFrame, contract: dict) -> pd.DataFrame:
    """The contract record's sources with their kind (``sources``: the store's sources table)."""
    kinds = dict(zip(sources["url"], sources["kind"]))
    out = pd.DataFrame({"source": contract.get("source_urls") or []})
    out["kind"] = out["source"].map(lambda u: fmt.kind(kinds.get(u)))
    return out


def ask_table(ask: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"#": m["rank"], "fact": m["label"], "impact": m["impact"], "why it matters": m["why"]}
                         for m in ask["missing"]])
