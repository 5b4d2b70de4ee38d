"""Tables the Cost and Business case pages show, as plain pandas frames (no Streamlit here).

Each builder takes an analysis result (or the business case dict) and returns the rows with their
display wording, so the pages only lay them out and a test can read the same rows.
"""

from __future__ import annotations

import pandas as pd

from piggyback.core import fmt
from piggyback.engines.pricing import BASES, COST_LINES

RECURRENCE_LABEL = {"one_time": "once", "recurring": "every year"}


def kind_label(kind: str | None, derived_from: str | None = None) -> str:
    """A cost line's or an assumption's kind, in the words the Cost page uses."""
    if kind == "derived" and derived_from:
        return f"derived from {derived_from}"
    if kind in ("primary", "secondary", "vendor-stated"):
        return f"peer-sourced ({fmt.kind(kind)})"
    return {"user-entered": "user-entered", "assumption": "assumption", "derived": "derived"}.get(kind, fmt.kind(kind))


def assumption_help(a) -> str:
    """The tooltip of an editable assumption: its kind, note, default, range and source."""
    rng = f"range {a.low:g}–{a.high:g}" if a.low is not None and a.high is not None else "no range"
    source = f"Source: {a.source_url}" if a.source_url else "Not from a source: an assumption."
    return f"{fmt.kind(a.kind).capitalize()}. {a.note} Default {a.value:g} {a.unit}, {rng}. {source}"


def cost_items(tco) -> pd.DataFrame:
    """A TCO's price lines: what, how scaled (formula), year 1 and total, source, kind."""
    cur = tco.currency
    return pd.DataFrame([{
        "Description": i["description"], "Category": COST_LINES.get(i["category"], i["category"]),
        "Basis": f"{BASES.get(i['basis'], i['basis'])}, {RECURRENCE_LABEL.get(i['recurrence'], '')}",
        "Formula": i["formula"], f"Year 1 ({cur})": fmt.sig(i["first_year"]), f"Total ({cur})": fmt.sig(i["total"]),
        "Source": i["source_url"], "Confidence": fmt.confidence(i["confidence"]),
        "Kind": kind_label(i["kind"], i.get("derived_from")), "Notes": " ".join(i["flags"]) or None,
    } for i in tco.items])


def cost_assumptions(analysis) -> pd.DataFrame:
    """The cost analysis's assumptions: value used, default, range, unit, kind, source, note."""
    rows = pd.DataFrame(analysis.assumption_rows())
    rows["range"] = [f"{lo:g}–{hi:g}" if pd.notna(lo) and pd.notna(hi) else fmt.BLANK
                     for lo, hi in zip(rows["low"], rows["high"])]
    rows["status"] = ["entered by you" if e else kind_label(k) for e, k in zip(rows["edited"], rows["kind"])]
    return rows[["name", "value", "default", "range", "unit", "status", "source_url", "note"]]


def case_assumptions(case: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        "Id": a["assumption_id"], "Assumption": a["name"], "Value": fmt.BLANK if a["value"] is None else str(a["value"]),
        "Range": fmt.BLANK if a.get("low") is None and a.get("high") is None else f"{a.get('low')}–{a.get('high')}",
        "Unit": a.get("unit"), "Kind": fmt.kind(a["kind"]), "Edited": bool(a["edited"]), "Source": a.get("source_url"),
        "Note": a.get("note")} for a in case["assumptions"]])


def case_sources(case: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        "Source": s.get("title") or s.get("publisher"),
        "Kind": ("⚠ vendor-stated" if s.get("kind") == "vendor-stated" else fmt.kind(s.get("kind"))),
        "Confidence": fmt.confidence(s.get("confidence")), "Address": s.get("url"),
        "Used for": "; ".join(s.get("used_for") or [])} for s in case["sources"]])


def case_claims(case: dict) -> pd.DataFrame:
    return pd.DataFrame([{"Peer": c.get("deployment_id") or "(general)", "Claim": c.get("claim"),
                          "Status": c.get("status"), "What research found": c.get("research_note")}
                         for c in case["claims"]])


def case_checklist(case: dict) -> pd.DataFrame:
    return pd.DataFrame([{"Rule": r["rule_id"], "Severity": r["severity"], "Status": r["status"],
                          "Requirement": r["requirement"], "Why": r["reason"], "Citation": r["citation"],
                          "Source": r["source_url"]} for r in case["compliance"]["results"]])


def decision_figures(case: dict) -> list[dict]:
    """The business case's four decision figures as shown (label, value, tooltip, caption under it):
    months saved, each route's ten-year cost with its NPV, the compliance verdict. Text is
    Markdown-escaped where it comes from data."""
    figs, esc = {f["key"]: f for f in case["key_figures"]}, fmt.md_escape
    out = []
    f = figs.get("months_saved")
    fallback = "The timeline could not be simulated."
    out.append({"label": "Months saved (median)", "value": f["display"] if f else fmt.BLANK,
                "help": esc(f"{f['range']}. Basis: {f['basis']}.") if f else esc(fallback),
                "caption": esc(f["range"] if f else fallback), "caption_help": None})
    cost_note = case["cost"].get("message") or "No cost."
    for route, label in (("piggyback", "10-year cost, piggyback"), ("traditional", "10-year cost, new RFP")):
        f, n = figs.get(f"cost_{route}"), figs.get(f"npv_{route}")
        if f is None:
            out.append({"label": label, "value": fmt.BLANK, "help": esc(cost_note), "caption_help": None,
                        "caption": ("No price schedule on file" if case["cost"]["status"] == "no_schedule"
                                    else esc(cost_note))})
        else:
            out.append({"label": label, "value": f["display"], "help": esc(f"{f['range']}. Basis: {f['basis']}."),
                        "caption": f"NPV {n['display']} · {esc(f['range'])}",
                        "caption_help": esc(f"NPV {n['range']}. {n['basis']}.")})
    comp = case["compliance"]
    if comp.get("status") == "ok":
        v = comp["verdict"]
        headline = v["headline"]  # the same four-state verdict as the Compliance page, PDF and Excel
        rest = v["text"][len(headline):].lstrip(": ")
        out.append({"label": "Compliance", "value": headline, "caption_help": None,
                    "help": esc(f"{v['text']}. {figs['compliance']['basis']}."),
                    "caption": esc(rest or "every applicable rule passes")})
    else:
        out.append({"label": "Compliance", "value": fmt.BLANK, "help": esc(comp.get("message")), "caption_help": None,
                    "caption": esc(comp.get("message") or "")})
    return out
