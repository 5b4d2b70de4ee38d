"""The compliance analysis (issue #11): one chain for the page, `check`, `ask`, the PDF and Excel;
the page in meeting mode (issue #15): the verdict first, no editing widget, the values kept."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from piggyback import cli

from piggyback.core import fmt
from piggyback.analyses.compliance import ChecklistInputError, analyse_compliance
from piggyback.analyses.ask import ask_for
from piggyback.analyses.business_case import build_business_case
from piggyback.data.profile import profile_for
from piggyback.reports.report_pdf import render_pdf
from piggyback.reports.report_xlsx import render_xlsx

from conftest import BUILT_DB, ROOT

GUELPH = "CA-CSD-3523008"
TRAVIS = "US-CO-48453"
GATINEAU = "CA-CSD-2481017"
EDITING = ("text_area", "text_input", "number_input", "date_input", "checkbox", "form", "button")


def open_page(geo_id: str, peer: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["agency"], at.query_params["peer"] = geo_id, peer
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/compliance_checklist.py")
    at.run()
    assert not at.exception, at.exception
    return at


def main_elements(at) -> list:
    """The page's elements (not the sidebar's), in the order drawn, layout blocks left out."""
    out = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", None) not in ("vertical", "horizontal", "column", "flex_container", None):
                out.append(child)
            walk(child)

    walk(at.main)
    return out


def page_statuses(at) -> dict[str, str]:
    words = {"✅ pass": "pass", "❌ fail": "fail", "❓ needs evidence": "needs_evidence"}
    out = {}
    for exp in at.expander:
        parts = exp.label.split(" · ")
        if len(parts) == 3 and parts[1] in ("blocker", "warning", "info"):
            out[parts[2].split(":")[0]] = words[parts[0]]
    return out


@pytest.mark.parametrize("geo_id, peer, value", [(GUELPH, "ottawa-on", 250_000), (TRAVIS, "killeen-tx", 250_000)])
def test_page_cli_pdf_and_excel_show_the_same_checklist(store, capsys, monkeypatch, geo_id, peer, value):
    """Guelph ON + Ottawa and Travis County TX + Killeen, at 250,000 in the agency's currency, decided
    today: the verdict, the counts and every rule's status agree in the analysis, the page, `check
    --json`, the PDF text and the Excel Compliance sheet."""
    today = dt.date.today()  # the page decides on today's date
    profile = profile_for(store, geo_id)
    result = analyse_compliance(store, profile, peer, {"value": value}, today=today)
    statuses = {r.rule_id: r.status for r in result.results}
    assert result.currency == {"CA": "CAD", "US": "USD"}[profile.country] and result.currency_assumed

    with monkeypatch.context() as m:
        m.setenv("PIGGYBACK_DB", str(BUILT_DB))
        code = cli.main(["check", "--agency", geo_id, "--peer", peer, "--value", str(value), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == result.verdict["exit_code"]
    assert data["verdict"] == json.loads(json.dumps(result.verdict))
    assert {r["rule_id"]: r["status"] for r in data["rules"]} == statuses
    assert data["inputs"]["decision_date"] == today.isoformat() and data["inputs"]["currency_assumed"] is True

    case = build_business_case(store, profile, peer, {"compliance": {"value": value}}, today=today).to_dict()
    assert case["compliance"]["verdict"]["text"] == result.verdict["text"]
    pdf = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(case, charts=False))).pages))
    assert f"Compliance verdict {result.verdict['text']}" in pdf
    sheet = load_workbook(io.BytesIO(render_xlsx(case)))["Compliance"]
    assert {row[0].value: row[3].value for row in sheet.iter_rows(min_row=2)} == statuses

    at = open_page(geo_id, peer)
    at.number_input(key="compliance.value").set_value(value).run()
    assert not at.exception
    assert page_statuses(at) == statuses
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Passed"] == f"{result.verdict['pass']} of {result.verdict['total']}"
    assert metrics["Could block"] == str(result.verdict["blockers_open"])


def test_the_business_case_applies_the_delegated_authority_on_file_as_the_page_does(store):
    """The business case used to run the engine without the agency's delegated-authority row, so its
    ALL-12 said "no delegated approval limits are on file" for Guelph while the page named the by-law."""
    profile = profile_for(store, GUELPH)
    today = dt.date(2026, 11, 29)
    page = {r.rule_id: r for r in analyse_compliance(store, profile, "ottawa-on", {}, today=today).results}
    assert "By-law (2018)-20259" in page["ALL-12"].reason
    case = build_business_case(store, profile, "ottawa-on", {}, today=today).to_dict()
    assert {r["rule_id"]: r["reason"] for r in case["compliance"]["results"]}["ALL-12"] == page["ALL-12"].reason


def test_ask_comes_from_the_same_analysis(store):
    profile = profile_for(store, GUELPH)
    today = dt.date(2026, 11, 29)
    result = analyse_compliance(store, profile, "ottawa-on", {}, today=today)
    assert result.ask == ask_for(store, profile, "ottawa-on", today=today)
    assert result.ask["verdict"]["text"] == result.verdict["text"]
    assert [m["rank"] for m in result.ask["missing"]] == list(range(1, len(result.ask["missing"]) + 1))
    assert analyse_compliance(store, profile, None, {}, today=today).ask is None


def test_rule_sets_and_thresholds_follow_the_agency_and_the_decision_date(store):
    today = dt.date(2026, 11, 29)
    on = analyse_compliance(store, profile_for(store, GUELPH), "ottawa-on", {"decision_date": "2017-09-01"},
                            today=today)
    assert [s["code"] for s in on.rule_sets][:3] == ["ALL", "CA", "ON"]
    assert on.decision_date == dt.date(2017, 9, 1) and not on.decision_assumed
    assert {t["period"] for t in on.thresholds if t["threshold_key"] == "cfta_mash_goods_services"} \
        and all(t["agreement"] in ("CFTA", "CETA") for t in on.thresholds)
    tx = analyse_compliance(store, profile_for(store, TRAVIS), "killeen-tx", {}, today=today)
    assert {s["code"] for s in tx.rule_sets} >= {"ALL", "TX"} and "CA" not in {s["code"] for s in tx.rule_sets}
    assert tx.decision_assumed and tx.decision_date == today


def test_a_saved_scenario_with_unusable_settings_gets_a_plain_message(store):
    profile = profile_for(store, GUELPH)
    for settings, words in (({"golive": "soon"}, "YYYY-MM-DD"), ({"value": "lots"}, "not a number"),
                            ({"currency": "EUR", "value": 5}, "not one of CAD, USD")):
        with pytest.raises(ChecklistInputError, match=words):
            analyse_compliance(store, profile, "ottawa-on", settings, today=dt.date(2026, 11, 29))


def test_meeting_mode_puts_the_verdict_first_and_draws_no_editing_widget():
    at = open_page(GUELPH, "ottawa-on", meeting="1")
    elements = main_elements(at)
    assert elements[0].type == "title"
    assert elements[1].value.startswith("### Not shown to be allowed")
    drawn = {e.type for e in elements}
    assert not [k for k in EDITING if k in drawn], drawn
    assert not at.main.text_area and not at.main.number_input and not at.main.date_input
    assert not at.main.selectbox  # not even the peer picker: the peer chosen before persists
    assert not [b for b in at.main.button if b.label in ("Record evidence", "Remove", "Reset go-live to the assumption")]
    # the request texts are still shown, read-only (in their tab: only the open tab is drawn)
    at.session_state["cmp_tab"] = "What to ask for"
    at.run()
    assert not at.main.text_area
    assert any("City of Ottawa" in c.value for c in at.main.code)


def test_values_entered_before_meeting_mode_are_kept_through_it():
    """Gatineau at CAD 900,000 is Blocked (QC-12); in meeting mode the inputs are hidden but the value
    still counts, and it is back in its input afterwards."""
    at = open_page(GATINEAU, "ottawa-on")
    at.number_input(key="compliance.value").set_value(900_000).run()
    assert at.error[0].value.startswith("### Blocked")
    at.session_state["meeting"] = True
    at.run()
    assert not at.exception and not at.main.number_input
    assert at.error[0].value.startswith("### Blocked")
    assert any(fmt.money(900_000, "CAD") in c.value for c in at.main.caption)
    at.session_state["meeting"] = False
    at.run()
    assert at.number_input(key="compliance.value").value == 900_000
