"""AppTest for the Compliance page: verdict on top, blockers first in each group, inputs kept in the
scenario, evidence recorded through the page (or beforehand in the store) shown as a pass."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from piggyback.data import evidence as ev
from piggyback.core import fmt
from piggyback.analyses.compliance import analyse_compliance, default_golive
from piggyback.engines.compliance import SEVERITY_ORDER
from piggyback.data.profile import profile_for

from conftest import ROOT

GUELPH = "CA-CSD-3523008"
TRAVIS = "US-CO-48453"
GATINEAU = "CA-CSD-2481017"
SPRINGFIELD_MO = "US-PL-29-000-70000"
SEVERITIES = ("blocker", "warning", "info")


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/compliance_checklist.py")
    at.run()
    assert not at.exception, at.exception
    return at


def rule_expanders(at) -> dict[str, object]:
    """Rule id -> its expander (labels read '<status> · <severity> · <rule_id>: <requirement>')."""
    out = {}
    for exp in at.expander:
        parts = exp.label.split(" · ")
        if len(parts) == 3 and parts[1] in SEVERITIES:
            out[parts[2].split(":")[0]] = exp
    return out


def label_status(exp) -> str:
    return exp.label.split(" · ")[0]


def open_card(at, rule_id: str) -> AppTest:
    """Open a rule's card, as a click on its title does: its evidence controls are drawn only then."""
    at.session_state[f"cmp_rule_{rule_id}"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def open_tab(at, label: str) -> AppTest:
    """Open one of the tabs under the verdict: only the open tab is drawn."""
    at.session_state["cmp_tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def own_db(db_copy, monkeypatch):
    """The page on a private copy of the database (so recorded evidence stays in this test)."""
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    return db_copy


def verdict_box_text(verdict) -> str:
    detail = verdict["text"][len(verdict["headline"]):].lstrip(": ")
    detail = detail[:1].upper() + detail[1:]
    return f"### {verdict['headline']}\n\n{fmt.md_escape(detail)}"


def test_page_shows_verdict_first_and_blockers_first_across_the_checklist(store):
    """Guelph + Ottawa: the verdict is the engine's (Not shown to be allowed, never "no blockers"),
    it names the rule sets, and every blocker comes before any warning or info item."""
    at = open_page(agency=GUELPH, peer="ottawa-on")
    expected = analyse_compliance(store, profile_for(store, GUELPH), "ottawa-on", {}, today=dt.date.today())
    assert expected.verdict["headline"] == "Not shown to be allowed"
    assert [w.value for w in at.warning][0] == verdict_box_text(expected.verdict)
    assert "no blockers" not in at.warning[0].value.lower()
    assert any(c.value == fmt.md_escape(expected.verdict["coverage"]) and "Ontario rules" in c.value
               for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Blockers failing"] == str(expected.verdict["blockers_failed"])
    assert metrics["Could block"] == str(expected.verdict["blockers_open"])
    assert metrics["Passed"] == f"{expected.verdict['pass']} of {expected.verdict['total']}"

    groups = [s.value for s in at.subheader]
    assert groups == ["Blockers", "Warnings", "For information"]
    rules = rule_expanders(at)
    assert list(rules) == [r.rule_id for r in expected.results]
    by_id = {r.rule_id: r for r in expected.results}
    order = [SEVERITY_ORDER[by_id[i].severity] for i in rules]
    assert order == sorted(order)
    first = next(iter(rules.values()))
    assert first.label.split(" · ")[1] == "blocker"
    for rule_id, exp in rules.items():
        status = {"pass": "✅ pass", "fail": "❌ fail", "needs_evidence": "❓ needs evidence"}[by_id[rule_id].status]
        assert label_status(exp) == status
    assert not [r for r in rules if r.startswith(("TX-", "US-"))]
    assert any(b.label.startswith("Download the due-diligence checklist") for b in at.get("download_button"))
    table = open_tab(at, "As a table").dataframe[0].value  # same rules, statuses in words, a source link each
    assert list(table["rule"]) == list(rules)
    assert set(table["status"]) <= {"✅ pass", "❌ fail", "❓ needs evidence"}
    assert table["source"].str.startswith("http").all()
    thresholds = open_tab(at, "Thresholds in force").dataframe[0].value  # Ontario's on the decision date, sourced
    assert set(thresholds["agreement"]) <= {"CFTA", "CETA"}
    assert list(thresholds["period"]) == [t["period"] for t in expected.thresholds]
    assert list(thresholds["amount"]) == [fmt.money(t["amount"], t["currency"]) if t["amount"] is not None
                                          else "verify the current threshold" for t in expected.thresholds]


def test_expired_contract_shows_a_blocking_verdict_with_the_fail_open():
    at = open_page(agency=TRAVIS, peer="newport-beach-ca")
    assert at.error and at.error[0].value.startswith("### Blocked") and fmt.md_escape("1 blocker fails (ALL-04)") in at.error[0].value
    rules = rule_expanders(at)
    assert label_status(rules["ALL-04"]) == "❌ fail"
    assert rules["ALL-04"].proto.expanded is True
    assert all(not e.proto.expanded for i, e in rules.items() if i != "ALL-04")
    assert any("What blocks" in m.value and "ALL-04: the contract expired" in m.value for m in at.markdown)
    assert not any(r.startswith("CA-") for r in rules)


def test_without_a_peer_no_evidence_can_be_recorded():
    at = open_card(open_page(agency=GUELPH), "ALL-03")
    assert any("Choose the peer contract" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Record evidence"]
    assert label_status(rule_expanders(at)["ALL-03"]) == "❓ needs evidence"


def test_evidence_recorded_in_the_store_shows_as_pass(own_db):
    from piggyback.data.store import Store

    store = Store.open(own_db)
    try:
        ev.record_evidence(store, f"agency:{GUELPH}|peer:ottawa-on", "ALL-11",
                           document="Purchasing By-law 2021-11 s.7", label="clerk")
    finally:
        store.close()
    at = open_card(open_page(agency=GUELPH, peer="ottawa-on"), "ALL-11")
    exp = rule_expanders(at)["ALL-11"]
    assert label_status(exp) == "✅ pass"
    texts = [m.value for m in exp.markdown]
    assert any("evidence recorded" in t and "Purchasing By" in t for t in texts)
    assert any("Evidence recorded" in t and "clerk" in t for t in texts)
    assert [b.label for b in exp.button] == ["Remove"]


def test_record_and_remove_evidence_through_the_form(own_db):
    at = open_card(open_page(agency=GUELPH, peer="ottawa-on"), "ALL-12")
    could_block = int({m.label: m.value for m in at.metric}["Could block"])
    at.text_area(key="ev_note_ALL-12").input("Council approved on 2026-03-02")
    at.text_input(key="ev_link_ALL-12").input("https://guelph.ca/council/minutes")
    at.button(key="ev_submit_ALL-12").click()
    at.run()
    assert not at.exception
    exp = rule_expanders(at)["ALL-12"]
    assert label_status(exp) == "✅ pass"
    assert exp.success and exp.success[0].value == "Evidence recorded."
    assert int({m.label: m.value for m in at.metric}["Could block"]) == could_block - 1
    exp.button[0].click()
    at.run()
    assert label_status(rule_expanders(at)["ALL-12"]) == "❓ needs evidence"


def test_a_bad_link_is_refused_with_its_reason_and_nothing_saved(own_db):
    at = open_card(open_page(agency=GUELPH, peer="ottawa-on"), "ALL-02")
    at.text_input(key="ev_link_ALL-02").input("ftp://files.example.org/rfp.pdf")
    at.button(key="ev_submit_ALL-02").click()
    at.run()
    exp = rule_expanders(at)["ALL-02"]
    assert label_status(exp) == "❓ needs evidence"
    assert exp.error and "not a web address" in exp.error[0].value


def test_inputs_move_the_thresholds_and_are_kept_in_the_scenario():
    """A value under the 2017 CFTA threshold passes CA-01 on a 2017 decision date; the go-live
    assumption follows the decision date; the settings sit in the scenario section."""
    at = open_page(agency=GUELPH, peer="ottawa-on")
    assert label_status(rule_expanders(at)["CA-01"]) == "❓ needs evidence"
    at.number_input(key="compliance.value").set_value(50_000).run()
    at.date_input(key="compliance.decision_date").set_value(dt.date(2017, 9, 1)).run()
    assert not at.exception
    assert label_status(rule_expanders(at)["CA-01"]) == "✅ pass"
    settings = at.session_state["scenario"]["compliance"]
    assert settings["value"] == 50_000 and settings["decision_date"] == "2017-09-01"
    assert settings.get("golive") is None  # still the assumption
    assert at.date_input(key="compliance.golive").value == default_golive(dt.date(2017, 9, 1))
    at.date_input(key="compliance.golive").set_value(dt.date(2017, 1, 1)).run()
    assert not at.exception
    assert any("before the decision date" in e.value for e in at.error)
    at.button(key=next(b.key for b in at.button if b.label == "Reset go-live to the assumption")).click().run()
    assert at.session_state["scenario"]["compliance"].get("golive") is None
    assert not any("before the decision date" in e.value for e in at.error)


def test_meeting_mode_hides_editing_controls():
    at = open_card(open_page(agency=GUELPH, peer="ottawa-on", meeting="1"), "ALL-12")
    assert not [b for b in at.button if b.label in ("Record evidence", "Remove")]
    assert not at.number_input and not at.date_input
    assert rule_expanders(at) and at.warning


def test_quebec_agency_adopting_ottawa_is_blocked_with_the_quebec_routes():
    """Gatineau QC + Ottawa at CAD 900,000: Blocked by QC-12, the routes named (issue #12)."""
    at = open_page(agency=GATINEAU, peer="ottawa-on")
    at.number_input(key="compliance.value").set_value(900_000).run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("### Blocked") and fmt.md_escape("(QC-12)") in at.error[0].value
    assert any(m.value.startswith("**What blocks:** QC-12") for m in at.markdown)
    assert any(m.value.startswith("**Instead:**") and "UMQ" in m.value and "3 years" in m.value for m in at.markdown)
    assert label_status(rule_expanders(at)["QC-12"]) == "❌ fail"


def test_missing_facts_listed_and_a_state_without_rules_said_plainly():
    at = open_page(agency=GUELPH, peer="hamilton-on")
    assert at.warning[0].value.startswith("### Not shown to be allowed")
    missing = next(e for e in at.expander if e.label.startswith("What is missing"))
    assert "whether the lead agency is a public body" in missing.markdown[0].value
    at = open_page(agency=SPRINGFIELD_MO, peer="ottawa-on")
    assert any(w.value.startswith(fmt.md_escape("Missouri: no state rules on file; this verdict covers general rules only"))
               for w in at.warning)


# -- what a rerun draws (#15): the open tab and the open cards' controls only ---------------------

def test_a_closed_tab_is_not_drawn_and_appears_when_opened():
    """The checklist is open first; the table, thresholds, contract facts and requests are drawn
    only once their tab is opened, and the checklist then is not."""
    at = open_page(agency=GUELPH, peer="ottawa-on")
    rules = list(rule_expanders(at))
    assert rules and not at.dataframe
    assert not [t for t in at.text_area if t.key == "cmp_ask_request"]
    open_tab(at, "As a table")
    assert len(at.dataframe) == 1 and list(at.dataframe[0].value["rule"]) == rules
    assert not rule_expanders(at)
    open_tab(at, "What to ask for")
    assert "City of Ottawa" in at.text_area(key="cmp_ask_request").value
    open_tab(at, "Checklist")
    assert rule_expanders(at) and not at.dataframe


def test_a_closed_card_draws_nothing_and_an_open_card_its_facts_citation_and_form(store):
    """#15: a closed rule card sends only its title (status, severity, rule, requirement); opening it
    draws its facts, citation, confidence and the form to record evidence, and the verdict above is
    unchanged."""
    at = open_page(agency=GUELPH, peer="ottawa-on")
    rule = next(r for r in analyse_compliance(store, profile_for(store, GUELPH), "ottawa-on", {},
                                              today=dt.date.today()).results if r.rule_id == "ALL-12")
    card = rule_expanders(at)["ALL-12"]
    assert label_status(card) == "❓ needs evidence" and card.proto.expanded is False
    assert not card.children
    assert not [t for t in at.text_area if t.key == "ev_note_ALL-12"]
    assert not any(fmt.md_escape(rule.citation) in m.value for m in at.markdown)
    verdict = at.warning[0].value
    open_card(at, "ALL-12")
    card = rule_expanders(at)["ALL-12"]
    assert any(m.value.startswith(f"**Source:** [{fmt.md_escape(rule.citation)}]") for m in card.markdown)
    assert any(c.value.startswith("Confidence ") for c in card.caption)
    assert [t.key for t in card.text_area] == ["ev_note_ALL-12"]
    assert [b.label for b in card.button] == ["Record evidence"]
    assert at.warning[0].value == verdict
    others = [e for i, e in rule_expanders(at).items() if i != "ALL-12"]
    assert others and all(not e.children for e in others if not e.proto.expanded)


def test_a_failing_blockers_card_is_open_with_its_content_and_the_closed_cards_are_empty():
    """Travis County + Newport Beach: the expired contract's blocker (ALL-04) starts open, its reason
    drawn; every other card is closed and carries no content."""
    at = open_page(agency=TRAVIS, peer="newport-beach-ca")
    rules = rule_expanders(at)
    assert rules["ALL-04"].proto.expanded is True and label_status(rules["ALL-04"]) == "❌ fail"
    assert any("expired" in m.value for m in rules["ALL-04"].markdown)
    closed = [e for i, e in rules.items() if i != "ALL-04"]
    assert closed and all(not e.proto.expanded and not e.children for e in closed)


def test_the_card_just_changed_stays_open_on_the_next_rerun(own_db):
    """Recording evidence turns the card's status (and title) to pass: the card is open with the
    message, and still open, its evidence listed, once the message is gone (the next rerun)."""
    at = open_card(open_page(agency=GUELPH, peer="ottawa-on"), "ALL-12")
    at.text_area(key="ev_note_ALL-12").input("Council approved on 2026-03-02")
    at.button(key="ev_submit_ALL-12").click()
    at.run()
    exp = rule_expanders(at)["ALL-12"]
    assert label_status(exp) == "✅ pass" and exp.success[0].value == "Evidence recorded."
    open_tab(at, "Checklist")  # any rerun: the message is shown once
    exp = rule_expanders(at)["ALL-12"]
    assert not exp.success
    assert any(fmt.md_escape("Council approved on 2026-03-02") in m.value for m in exp.markdown)
    assert [b.label for b in exp.button] == ["Remove"]


def test_what_is_missing_is_drawn_only_while_open():
    """Gatineau + Ottawa at CAD 900,000 fails a blocker, so the list of missing facts starts closed
    and is not sent; opened, it lists them."""
    at = open_page(agency=GATINEAU, peer="ottawa-on")
    at.number_input(key="compliance.value").set_value(900_000).run()
    missing = next(e for e in at.expander if e.label.startswith("What is missing"))
    assert missing.proto.expanded is False and not missing.children
    at.session_state["cmp_missing_open"] = True
    at.run()
    missing = next(e for e in at.expander if e.label.startswith("What is missing"))
    assert missing.markdown and missing.markdown[0].value.strip()
