"""The business case as an Excel workbook (openpyxl): inputs, assumptions and results, one sheet each.

Sheets: Summary, Inputs, Assumptions, Peers, Timeline, Cost, Compliance, Sources. Numbers stay
numbers (with a number format), blanks stay empty cells, and every text cell passes through
:func:`piggyback.data.interchange.neutralize`, so a value such as ``=HYPERLINK(...)`` typed into an
input is stored as text and never runs as a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from piggyback.core import fmt
from piggyback.data.interchange import neutralize

SHEETS = ("Summary", "Inputs", "Assumptions", "Peers", "Timeline", "Cost", "Compliance", "Sources")
HEADER_FILL = PatternFill("solid", fgColor="E0F0EE")
MONEY = "#,##0"
URL = re.compile(r"^https?://\S+$")


def _cell_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    return neutralize(str(value))


def _sheet(wb: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
           widths: Sequence[int] | None = None, formats: Mapping[int, str] | None = None,
           link_cols: Sequence[int] = ()) -> None:
    ws = wb.create_sheet(title)
    ws.append([_cell_value(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    for col, number_format in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            if isinstance(cell.value, (int, float)):
                cell.number_format = number_format
    for col in link_cols:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            if isinstance(cell.value, str) and URL.match(cell.value):
                cell.hyperlink = cell.value
                cell.font = Font(color="0563C1", underline="single")
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def render_xlsx(case: Any) -> bytes:
    """The workbook as bytes. ``case`` is a BusinessCase or its ``to_dict()``."""
    from piggyback.analyses.business_case import summary_rows

    d = case.to_dict() if hasattr(case, "to_dict") else dict(case)
    wb = Workbook()
    wb.remove(wb.active)
    a, peer = d["agency"], d.get("peer") or {}

    _sheet(wb, "Summary", ["Decision figure", "Value", "Range", "Basis"],
           [[r["label"], r["value"], r["range"], r["basis"]] for r in summary_rows(d)]
           + [[f"Risk ({r['severity']})", r["text"], None, r["basis"]] for r in d["risks"]],
           widths=[30, 40, 40, 60])

    contract = d.get("contract") or {}
    inputs = [
        ["Agency", a["name"], "census", a.get("geo_id")],
        ["Province / state", a["region"], "census", None],
        ["Country", a["country"], "census", None],
        ["Kind of government", a.get("jtype"), "census", None],
        ["Population", a.get("population"), "census", None],
        ["Growth (%)", a.get("growth_pct"), "census", None],
        ["Households", a.get("households"), "census", None],
        ["Permits a year", a.get("permit_volume"), "user-entered", "blank = not entered"],
        ["Staff users", a.get("staff_users"), "user-entered", "blank = not entered"],
        ["Modules needed", ", ".join(a.get("modules_labels") or []), "user-entered", None],
        ["Current system", a.get("current_system"), "user-entered", None],
        ["Peer contract", peer.get("jurisdiction"), "scenario", peer.get("deployment_id")],
        ["Peer vendor / product", f"{peer.get('vendor') or ''} / {peer.get('product') or ''}".strip(" /") or None,
         "peer record", peer.get("confidence")],
        ["Contract", contract.get("contract_id"), "contract record", contract.get("confidence")],
        ["Lead agency", contract.get("lead_agency"), "contract record", None],
        ["Contract expiry", contract.get("expiry_date"), "contract record", "blank = unknown"],
        ["Cooperative-use clause", contract.get("coop_clause"), "contract record", "blank = unknown"],
        ["Publicly advertised", contract.get("publicly_advertised"), "contract record", "blank = unknown"],
        ["Prepared on", d["generated"], "Piggyback", None],
    ]
    _sheet(wb, "Inputs", ["Input", "Value", "From", "Note"], inputs, widths=[26, 50, 18, 40],
           formats={2: "#,##0.##"})

    _sheet(wb, "Assumptions", ["Id", "Group", "Assumption", "Value", "Low", "High", "Unit", "Kind", "Edited",
                               "Source", "Note"],
           [[x["assumption_id"], x["group"], x["name"], x["value"], x.get("low"), x.get("high"), x.get("unit"),
             x["kind"], bool(x.get("edited")), x.get("source_url"), x.get("note")] for x in d["assumptions"]],
           widths=[26, 12, 44, 12, 10, 10, 16, 14, 8, 40, 60], link_cols=[10])

    _sheet(wb, "Peers", ["Rank", "Peer", "Province / state", "Score", "Dimensions used", "Why comparable",
                         "Vendor", "Product", "Contract vehicle", "Go-live", "Confidence", "Sources"],
           [[p["rank"], p["jurisdiction"], p["region"], p["score"], p["dims_used"], "; ".join(p["reasons"]),
             p.get("vendor"), p.get("product"), p.get("vehicle"), p.get("go_live"), p.get("confidence"),
             " ; ".join(p.get("source_urls") or [])] for p in d["peers"]["top"]],
           widths=[6, 26, 10, 8, 10, 60, 20, 26, 16, 12, 11, 50], formats={4: "0.000"})

    tl = d["timeline"]
    if tl.get("status") == "ok":
        rows = []
        for route in ("traditional", "piggyback"):
            r = tl["routes"][route]
            rows.append([r["label"], "months to go-live", r["months"]["p10"], r["months"]["p50"], r["months"]["p90"],
                         *(fmt.month_date(r["go_live"][k]) for k in ("p10", "p50", "p90")), None, None])
        ms = tl["months_saved"]
        rows.append(["Months saved", "new RFP minus piggyback", ms["p10"], ms["p50"], ms["p90"], None, None, None,
                     None, None])
        rows.append(["Chance piggybacking is sooner", "share of draws", None, tl["display"]["prob_faster"], None,
                     None, None, None, None, None])
        for p in tl["result"]["phases"]:
            rows.append([p["name"], f"phase ({p['route']}; low {p['low']:.1f}, likely {p['likely']:.1f}, high "
                         f"{p['high']:.1f})", None, p["median"], None, None, None, None, p["kind"], p.get("source_url")])
        for a in tl.get("adjustments") or []:
            rows.append([f"Pair-specific input: {a['key']}", a["reason"], a["before"][1], a["after"][1], None, None,
                         None, None, "assumption", a.get("assumption_id")])
        track = tl.get("track_record") or {}
        if track.get("comparison"):
            rows.append(["Track record", track["comparison"]["text"], None, None, None, None, None, None, None, None])
        for o in track.get("implementation", []):
            rows.append([f"Recorded: {o['agency']} ({o['route']})", f"contract to {o['status']}, {o['from']} to "
                         f"{o['to']} ({o['precision']} precision)", None, o["months"], None, None, None, None,
                         o.get("source_kind"), " ; ".join(o["sources"])])
        _sheet(wb, "Timeline", ["What", "Measure", "P10 (months)", "P50 (months)", "P90 (months)", "Go-live P10",
                                "Go-live P50", "Go-live P90", "Kind", "Source"], rows,
               widths=[44, 40, 12, 12, 12, 12, 12, 12, 12, 40], formats={3: "0.0", 4: "0.0", 5: "0.0"},
               link_cols=[10])
    else:
        _sheet(wb, "Timeline", ["Note"], [[tl.get("message")]], widths=[100])

    c = d["cost"]
    if c.get("status") == "ok":
        cur = c["currency"]
        rows = [[r["label"], "route total", r["total"], r["low"], r["high"], r["npv"], r["npv_low"], r["npv_high"],
                 None, None, None, None] for r in c["routes"].values()]
        for ln in c["items"]:
            rows.append([ln["description"], ln["item_id"], ln["total"], None, None, ln["npv"], None, None,
                         ln["formula"], ln.get("kind"), ln.get("confidence"), ln.get("source_url")])
        if c.get("difference") is not None:
            rows.append(["Piggyback minus own RFP", "difference", c["difference"], None, None, None, None, None,
                         "each route's own cost is modelled from the contract", None, None, None])
        for peer in (c.get("spread") or {}).get("peers", []):
            rows.append([f"Across peers: {peer['peer']}'s contract scaled", "contract only", peer["total"],
                         peer["low"], peer["high"], None, None, None,
                         "extrapolated" if peer["extrapolated"] else None, None, None, None])
        for year in c["routes"]["piggyback"]["tco"]["by_year"]:
            rows.append([f"Year {year['year']} ({year['calendar_year']}), piggyback", "cash flow", year["total"],
                         None, None, None, None, None, None, None, None, None])
        _sheet(wb, "Cost", ["What", "Line", f"Total ({cur})", "Low", "High", f"NPV ({cur})", "NPV low", "NPV high",
                            "How it was scaled", "Kind", "Confidence", "Source"], rows,
               widths=[40, 26, 14, 14, 14, 14, 14, 14, 60, 14, 11, 40],
               formats={3: MONEY, 4: MONEY, 5: MONEY, 6: MONEY, 7: MONEY, 8: MONEY}, link_cols=[12])
    else:
        _sheet(wb, "Cost", ["Note"], [[c.get("message")]], widths=[100])

    comp = d["compliance"]
    _sheet(wb, "Compliance", ["Rule", "Category", "Severity", "Status", "Requirement", "Why", "How to verify",
                              "Threshold", "Evidence", "Citation", "Source", "Confidence"],
           [[r["rule_id"], r["category"], r["severity"], r["status"], r["requirement"], r["reason"],
             r["how_to_verify"], r.get("threshold"), r.get("evidence"), r["citation"], r["source_url"],
             r["confidence"]] for r in comp.get("results", [])]
           or [[None, None, None, None, comp.get("message")]],
           widths=[10, 14, 10, 14, 50, 50, 40, 24, 30, 40, 40, 11], link_cols=[11])

    _sheet(wb, "Sources", ["Source", "Publisher", "Kind", "Confidence", "Address (URL)", "Used for"],
           [[s.get("title"), s.get("publisher"), s.get("kind"), s.get("confidence"), s.get("url"),
             "; ".join(s.get("used_for") or [])] for s in d["sources"]]
           + [[f"Claim: {cl.get('claim')}", cl.get("source_title"), "vendor-stated", cl.get("status"),
               cl.get("source_url"), cl.get("research_note")] for cl in d.get("claims", [])],
           widths=[50, 24, 14, 11, 60, 50], link_cols=[5])

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
