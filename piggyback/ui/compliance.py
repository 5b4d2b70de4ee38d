"""The Compliance page's Streamlit parts: the purchase inputs, each tab's body (the checklist's rule
cards with their evidence controls, the tables, the contract facts, what to ask the peer for). The
verdict and every rule's status come from ``piggyback.analyses.compliance``; the words from
``piggyback.figures.compliance_display``."""

from __future__ import annotations

import streamlit as st

from piggyback.core import fmt
from piggyback.core.errors import PiggybackError
from piggyback.core.models import AgencyProfile
from piggyback.data.store import Store
from piggyback.figures import compliance_display as show
from piggyback.ui.widgets import PageSettings, current_user, link_column


def rule_card_key(rule_id: str) -> str:
    """The session-state key of a rule's card: True while it is open."""
    return f"cmp_rule_{rule_id}"


def checklist_tab(store: Store, result, peer: str | None, meeting: bool, can_record: bool, flash) -> None:
    """Every rule as a card: blockers first, then warnings and information. A card's facts, citation
    and evidence are computed and sent only while it is open (#15: some 30 cards' contents, drawn
    while closed, were most of a peer change in the browser); opening one reruns the page. A failing
    blocker's card starts open, and the card just changed is opened (by the evidence callback)."""
    st.caption("Every blocker first, whatever its subject, then warnings, then items for information; in each, "
               "fails before open items. Failing blockers are open; open a card for its facts, citation and evidence.")
    if peer and meeting:
        st.caption("Meeting mode: evidence is shown but cannot be recorded or removed.")
    elif peer and store.read_only:
        st.caption("The database is read-only now: evidence cannot be recorded.")
    severity = None
    for r in result.results:
        if r.severity != severity:
            severity = r.severity
            st.subheader(show.SEVERITY_HEADINGS.get(severity, severity))
        card = st.expander(show.rule_label(r), expanded=r.severity == "blocker" and r.status == "fail",
                           key=rule_card_key(r.rule_id), on_change="rerun")
        if not card.open:
            continue
        with card:
            if flash is not None and flash[0] == r.rule_id:
                (st.success if flash[1] == "success" else st.error)(fmt.md_escape(flash[2]))
            for line in show.rule_lines(r, result.decision_date):
                st.markdown(line)
            st.caption(f"Confidence {fmt.confidence(r.confidence)} · applies to {r.applies_to}")
            evidence_controls(store, result.scope, r, result.evidence.get(r.rule_id, {}).get("items", []), can_record)


def table_tab(result) -> None:
    st.dataframe(show.checklist_table(result.results), hide_index=True, width="stretch", column_config={
        "status": "Status", "severity": "Severity", "rule": "Rule", "category": "Subject",
        "requirement": st.column_config.TextColumn("Requirement", width="large"),
        "reason": st.column_config.TextColumn("Reason", width="large"), "threshold": "Threshold in force",
        "evidence": "Evidence recorded", "confidence": "Confidence", "citation": "Citation",
        "source": link_column("Source")})


def thresholds_tab(result) -> None:
    st.caption(show.thresholds_caption(result))
    if not result.thresholds:
        st.caption("No rule for this agency compares the value with a threshold.")
        return
    st.dataframe(show.thresholds_table(result.thresholds), hide_index=True, width="stretch", column_config={
        "agreement": "Agreement", "applies to": "Applies to", "category": "Category", "amount": "Amount",
        "period": "Period in force", "compared by": "Rules", "confidence": "Confidence",
        "source": link_column("Source"), "note": st.column_config.TextColumn("Note", width="large")})


def contract_tab(store: Store, result, peer: str | None) -> None:
    """The contract facts the rules used, their sources and the record's confidence."""
    if not peer:
        st.caption("Choose the peer contract above to see the facts on record.")
        return
    st.dataframe(show.contract_facts(result), hide_index=True, width="stretch",
                 column_config={"fact": "Fact", "value": st.column_config.TextColumn("On record", width="large")})
    st.caption(show.contract_caption(result))
    if result.contract_on_record:
        st.markdown(f"**Sources** (record confidence {fmt.confidence(result.contract.get('confidence'))})")
        st.dataframe(show.contract_sources(store.sources(), result.contract), hide_index=True, width="stretch",
                     column_config={"source": link_column("Source"), "kind": "Kind"})
        if result.contract.get("notes"):
            st.markdown(f"**Notes:** {fmt.md_escape(result.contract['notes'])}")


def ask_tab(section: dict, result, peer: str | None, meeting: bool) -> None:
    """What to ask the peer for (issue #14): the missing facts ranked, and editable request texts."""
    if not peer:
        st.caption("Choose the peer contract above to see what to ask it for.")
    elif not result.ask["missing"]:
        st.success("Every decision fact about this contract is on file: nothing to ask for.")
    else:
        st.caption("The facts still missing, most important first: those an open blocker waits for, then those "
                   "that widen the cost and timeline ranges most. When the answer comes back, a data steward "
                   "imports it (Data & sources) and the verdict updates.")
        st.dataframe(show.ask_table(result.ask), hide_index=True, width="stretch",
                     column_config={"why it matters": st.column_config.TextColumn("Why it matters", width="large"),
                                    "fact": "Fact", "impact": "Impact"})
        ask_texts(section, result.ask, peer, meeting)


def compliance_inputs(settings: PageSettings, profile: AgencyProfile, result, currencies, bounds, today) -> None:
    """Value, currency, federal funds, decision date and go-live, bound to the page's settings
    (dates kept as ISO text). ``result``: the analysis, None when the inputs cannot be used."""
    import datetime as dt

    from piggyback.figures.compliance_display import golive_caption

    def date_of(text, fallback):
        try:
            return dt.date.fromisoformat(text) if isinstance(text, str) and text else fallback
        except ValueError:
            return fallback

    def bind_date(name: str, fallback) -> dict:
        key = settings.key(name)
        st.session_state[key] = min(max(date_of(settings.value(name), fallback), bounds[0]), bounds[1])
        return {"key": key, "min_value": bounds[0], "max_value": bounds[1], "format": "YYYY-MM-DD",
                "on_change": lambda: settings.set(name, (st.session_state.get(key) or None)
                                                  and st.session_state[key].isoformat())}

    value = settings.bind("value")
    if not isinstance(st.session_state[value["key"]], (int, float)) or not 0 <= st.session_state[value["key"]] <= 1e10:
        st.session_state[value["key"]] = None  # a saved scenario's value that cannot be one
    currency = settings.bind("currency")
    if st.session_state[currency["key"]] not in currencies:
        st.session_state[currency["key"]] = settings.defaults["currency"]
    federal = settings.bind("federal_funds")
    st.session_state[federal["key"]] = bool(st.session_state[federal["key"]])
    c1, c2, c3 = st.columns([2, 1, 2])
    c1.number_input("Estimated total purchase value", min_value=0.0, max_value=1e10, step=10_000.0, format="%.0f",
                    placeholder="unknown", **value,
                    help="Every year, option and service you expect to buy under the contract. Blank = unknown: "
                         "the trade-agreement threshold items then need evidence.")
    c2.selectbox("Currency", list(currencies), **currency,
                 help="The currency of the estimate; thresholds in another currency are not converted.")
    c3.checkbox("Federal funds pay for part of it", disabled=profile.country != "US", **federal,
                help="Only meaningful for US agencies: adds the federal grant rules (2 CFR 200, US-FED-…).")
    c3.caption("Only meaningful for US agencies." if profile.country == "US"
               else "Only meaningful for US agencies: no effect for a Canadian agency.")
    d1, d2 = st.columns(2)
    decision = date_of(settings.value("decision_date"), today)
    d1.date_input("Decision date", **bind_date("decision_date", today),
                  help="The thresholds in force on this date are used; default today.")
    d2.date_input("Planned go-live", **bind_date("golive", result.golive_assumption if result else decision),
                  help="The contract must stay in force through implementation.")
    if result is not None:
        d2.caption(golive_caption(result))
    if settings.value("golive"):
        d2.button("Reset go-live to the assumption", on_click=settings.set, args=("golive", None))


def _compliance_evidence(store: Store, action: str, scope: str, rule_id: str, evidence_id: str | None = None) -> None:
    from piggyback.data import evidence
    keys = {f: f"ev_{f}_{rule_id}" for f in ("note", "document", "link", "who")}
    st.session_state[rule_card_key(rule_id)] = True  # the card that says what happened stays open, whatever its new status
    try:
        if action == "record":
            evidence.record_evidence(store, scope, rule_id, note=st.session_state.get(keys["note"]),
                                     document=st.session_state.get(keys["document"]),
                                     link=st.session_state.get(keys["link"]), user=current_user(),
                                     label=st.session_state.get(keys["who"]))
            for key in ("note", "document", "link"):
                st.session_state[keys[key]] = ""
        else:
            evidence.delete_evidence(store, evidence_id, scope=scope, user=current_user())
    except PiggybackError as exc:
        st.session_state["cmp_flash"] = (rule_id, "error", str(exc))
        return
    st.session_state["cmp_flash"] = (rule_id, "success", "Evidence recorded." if action == "record"
                                     else "Evidence removed.")


def evidence_controls(store: Store, scope: str | None, rule, items: list[dict], can_record: bool) -> None:
    """One rule's recorded evidence (with Remove) and, for an open rule, the form to record some."""
    from piggyback.data import evidence
    from piggyback.figures.compliance_display import evidence_line

    for item in items:
        row = st.columns([5, 1]) if can_record else [st.container()]
        row[0].markdown(evidence_line(item))
        if can_record:
            row[1].button("Remove", key=f"ev_rm_{item['evidence_id']}", on_click=_compliance_evidence,
                          args=(store, "remove", scope, rule.rule_id, item["evidence_id"]),
                          help="Remove this piece of evidence")
    if rule.status != "needs_evidence" or not can_record:
        return
    with st.form(f"ev_form_{rule.rule_id}", border=True):
        st.markdown(f"**Record evidence for {rule.rule_id}**")
        st.text_area("Note", key=f"ev_note_{rule.rule_id}", max_chars=evidence.NOTE_MAX, height=68,
                     placeholder="What was checked and what it showed")
        f1, f2, f3 = st.columns(3)
        f1.text_input("Document reference", key=f"ev_document_{rule.rule_id}", max_chars=evidence.DOCUMENT_MAX,
                      placeholder="e.g. By-law 2019-026 s.18")
        f2.text_input("Link", key=f"ev_link_{rule.rule_id}", max_chars=evidence.LINK_MAX, placeholder="https://…")
        f3.text_input("Recorded by", key=f"ev_who_{rule.rule_id}", max_chars=evidence.WHO_MAX,
                      placeholder="your name or role")
        st.form_submit_button("Record evidence", on_click=_compliance_evidence,
                              args=(store, "record", scope, rule.rule_id), key=f"ev_submit_{rule.rule_id}")


def _keep_ask(section: dict, field: str, key: str, peer_id: str) -> None:
    saved = section.setdefault("ask", {})
    if saved.get("peer") != peer_id:
        saved.clear()
        saved["peer"] = peer_id
    saved[field] = st.session_state.get(key)


def _reset_ask(section: dict) -> None:
    section.pop("ask", None)
    for key in ("cmp_ask_request", "cmp_ask_records"):
        st.session_state.pop(key, None)


def ask_texts(section: dict, ask: dict, peer: str, meeting: bool) -> None:
    """The two request texts, editable (kept in the page's scenario section) except in meeting mode,
    where they are shown as text."""
    saved = section.get("ask") if (section.get("ask") or {}).get("peer") == peer else {}
    texts = {"request": saved.get("request") or ask["request"]["body"],
             "records_request": saved.get("records_request") or ask["records_request"]["body"]}
    if st.session_state.get("cmp_ask_peer") != peer:  # a new peer (or a scenario opened): redraw from the texts
        st.session_state["cmp_ask_request"], st.session_state["cmp_ask_records"] = texts["request"], texts["records_request"]
        st.session_state["cmp_ask_peer"] = peer
    kind = ask["records_request"]["kind"]
    for field, key, label, height, file, download in (
            ("request", "cmp_ask_request", "Request to the peer's clerk or purchasing office (edit before sending)",
             320, f"request-{peer}.txt", "Download the request (text)"),
            ("records_request", "cmp_ask_records", f"The {kind} (edit before sending)", 260,
             f"records-request-{peer}.txt", f"Download the {kind} (text)")):
        st.markdown(f"**{fmt.md_escape(ask[field]['subject'])}**")
        if meeting:
            st.code(texts[field], language=None, wrap_lines=True)
        else:
            st.text_area(label, key=key, height=height, max_chars=20_000, on_change=_keep_ask,
                         args=(section, field, key, peer))
        st.download_button(download, st.session_state.get(key) or texts[field], file, "text/plain",
                           key=f"cmp_ask_dl_{'request' if field == 'request' else 'records'}")
    if saved and not meeting:
        st.button("Reset the texts to the generated ones", on_click=_reset_ask, args=(section,), key="cmp_ask_reset")
    st.caption("Your edits are kept with this session's settings and saved with the scenario.")
