"""Compliance: may the agency buy under the peer's contract? The verdict (one of four states), then
every blocker, then warnings and information items, each with its citation."""

import datetime as dt
import urllib.parse

import pandas as pd
import streamlit as st

from piggyback import evidence, fmt, identity, widgets
from piggyback.compliance import CATEGORY_LABELS, VERIFY_THRESHOLD, VerdictState, checklist_csv
from piggyback.errors import PiggybackError
from piggyback.models import MODULES

STATUS = {"pass": "✅ pass", "fail": "❌ fail", "needs_evidence": "❓ needs evidence"}
VERDICT_BOX = {VerdictState.BLOCKED.value: st.error, VerdictState.NOT_SHOWN.value: st.warning,
               VerdictState.ALLOWED_WITH_ITEMS.value: st.info, VerdictState.ALLOWED.value: st.success}
VERDICT_ICON = {VerdictState.BLOCKED.value: "⛔", VerdictState.NOT_SHOWN.value: "⚠️",
                VerdictState.ALLOWED_WITH_ITEMS.value: "📝", VerdictState.ALLOWED.value: "✅"}
SEVERITY_HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "For information"}
NATIONAL_CURRENCY = {"CA": "CAD", "US": "USD"}
CURRENCIES = ["CAD", "USD"]
DATE_MIN, DATE_MAX = dt.date(2000, 1, 1), dt.date(2100, 12, 31)

store = widgets.get_store()
profile = widgets.require_profile()
settings = widgets.scenario_section("compliance")
meeting = widgets.meeting_mode()
ss = st.session_state

st.title("Compliance")
st.caption("May we buy under this peer's contract instead of running our own solicitation? The rules on file for "
           "your country and your province or state (the verdict names them, and says when your province or state "
           "has none), tested against what the sources say about the contract. Unknown facts never pass: they "
           "need evidence, which you record here once checked.")

peer = widgets.peer_picker(store)
verdict_box = st.container()


# -- inputs: kept in the scenario section, the widgets mirror it ---------------------------------

def _date(text):
    return dt.date.fromisoformat(text) if text else None


today = dt.date.today()
currency_default = NATIONAL_CURRENCY[profile.country]
decision = _date(settings.get("decision_date")) or today
golive_own = _date(settings.get("golive"))
months = evidence.golive_months(store)
golive_assumed = evidence.default_golive(decision, months)
golive = golive_own or golive_assumed
value = settings.get("value")
value = float(value) if isinstance(value, (int, float)) and 0 <= value <= 1e10 else None  # a saved scenario's
currency = settings.get("currency") if settings.get("currency") in CURRENCIES else currency_default
federal = bool(settings.get("federal_funds")) and profile.country == "US"


def _save(setting, key, convert=lambda v: v):
    settings[setting] = convert(ss.get(key))


def _reset_golive():
    settings["golive"] = None


summary = (f"value {fmt.money(value, currency) if value is not None else 'unknown'} · decision {decision.isoformat()}"
           f" · go-live {golive.isoformat()}{' (assumption)' if golive_own is None else ''}"
           f"{' · federal funds' if federal else ''}")
if meeting:
    st.caption(f"Purchase and dates: {summary}")
else:
    with st.expander(f"Purchase value, funding and dates: {summary}", expanded=False, key="cmp_inputs_open"):
        ss["cmp_value"], ss["cmp_currency"], ss["cmp_federal"] = value, currency, federal
        ss["cmp_decision"], ss["cmp_golive"] = decision, golive
        c1, c2, c3 = st.columns([2, 1, 2])
        c1.number_input(
            "Estimated total purchase value", min_value=0.0, max_value=1e10, step=10_000.0, format="%.0f",
            key="cmp_value", placeholder="unknown", on_change=_save, args=("value", "cmp_value"),
            help="Every year, option and service you expect to buy under the contract. Blank = unknown: "
                 "the trade-agreement threshold items then need evidence.")
        c2.selectbox("Currency", CURRENCIES, key="cmp_currency", on_change=_save, args=("currency", "cmp_currency"),
                     help="The currency of the estimate; thresholds in another currency are not converted.")
        c3.checkbox("Federal funds pay for part of it", key="cmp_federal", disabled=profile.country != "US",
                    on_change=_save, args=("federal_funds", "cmp_federal"),
                    help="Only meaningful for US agencies: adds the federal grant rules (2 CFR 200, US-FED-…).")
        c3.caption("Only meaningful for US agencies." if profile.country == "US"
                   else "Only meaningful for US agencies: no effect for a Canadian agency.")
        d1, d2 = st.columns(2)
        d1.date_input("Decision date", key="cmp_decision", format="YYYY-MM-DD",
                      min_value=DATE_MIN, max_value=DATE_MAX,
                      on_change=_save, args=("decision_date", "cmp_decision", lambda d: d and d.isoformat()),
                      help="The thresholds in force on this date are used; default today.")
        d2.date_input("Planned go-live", key="cmp_golive", format="YYYY-MM-DD",
                      min_value=DATE_MIN, max_value=DATE_MAX,
                      on_change=_save, args=("golive", "cmp_golive", lambda d: d and d.isoformat()),
                      help="The contract must stay in force through implementation.")
        if golive_own is None:
            d2.caption(f"Assumption: decision date + {months} months ({evidence.GOLIVE_ASSUMPTION_ID}, see Data & "
                       "sources). Edit it to your plan.")
        else:
            d2.caption(f"Your date. The assumption would be {golive_assumed.isoformat()} "
                       f"(decision date + {months} months).")
            d2.button("Reset go-live to the assumption", on_click=_reset_golive)

try:
    cl = evidence.checklist(store, profile, peer, value=value, currency=currency if value is not None else None,
                            federal_funds=federal, decision_date=decision, planned_golive=golive_own)
except PiggybackError as exc:
    verdict_box.error(fmt.md_escape(exc))
    st.stop()

results = cl.results
verdict = cl.verdict
can_record = (bool(peer) and not meeting and not store.read_only and cl.scope is not None
              and identity.can(widgets.current_user(), "evidence.record"))


# -- evidence actions (run as callbacks, before the next run evaluates) ---------------------------

def _record(scope: str, rule_id: str) -> None:
    keys = {f: f"ev_{f}_{rule_id}" for f in ("note", "document", "link", "who")}
    try:
        evidence.record_evidence(store, scope, rule_id, note=ss.get(keys["note"]),
                                 document=ss.get(keys["document"]), link=ss.get(keys["link"]),
                                 user=widgets.current_user(), label=ss.get(keys["who"]))
    except PiggybackError as exc:
        ss["cmp_flash"] = (rule_id, "error", str(exc))
        return
    for key in ("note", "document", "link"):
        ss[keys[key]] = ""
    ss["cmp_flash"] = (rule_id, "success", "Evidence recorded.")


def _remove(scope: str, rule_id: str, evidence_id: str) -> None:
    try:
        evidence.delete_evidence(store, evidence_id, scope=scope, user=widgets.current_user())
        ss["cmp_flash"] = (rule_id, "success", "Evidence removed.")
    except PiggybackError as exc:
        ss["cmp_flash"] = (rule_id, "error", str(exc))


flash = ss.pop("cmp_flash", None)


# -- verdict ---------------------------------------------------------------------------------------

with verdict_box:
    detail = verdict["text"][len(verdict["headline"]):].lstrip(": ")
    detail = detail[:1].upper() + detail[1:]
    VERDICT_BOX[verdict["state"]](f"### {verdict['headline']}\n\n{fmt.md_escape(detail)}",
                                  icon=VERDICT_ICON[verdict["state"]])
    st.caption(fmt.md_escape(verdict["coverage"]))
    if verdict["missing_region"]:
        st.warning(fmt.md_escape(verdict["missing_region"]), icon="📭")
    m = st.columns(4)
    m[0].metric("Blockers failing", verdict["blockers_failed"],
                help="Blocker rules that a recorded contract fact breaks. Evidence cannot clear them: correct "
                     "the contract record if it is wrong.")
    m[1].metric("Could block", verdict["blockers_open"],
                help="Blocker rules that need evidence: unknown facts or checks only a person can make.")
    m[2].metric("Warnings open or failed", verdict["warnings_open"] + verdict["warnings_failed"])
    m[3].metric("Passed", f"{verdict['pass']} of {verdict['total']}",
                help="Passed on a recorded fact or on evidence recorded here.")
    if verdict["failing"]:
        st.markdown("**What blocks:** " + "; ".join(f"{f['rule_id']}: {fmt.md_escape(f['reason'])}"
                                                     for f in verdict["failing"]))
    for route in verdict["alternatives"]:
        st.markdown(f"**Instead:** {fmt.md_escape(route)}")
    if verdict["open_blockers"]:
        with st.expander(f"What is missing: {len(verdict['open_blockers'])} blocker(s) lack facts or evidence",
                         expanded=not verdict["failing"], key="cmp_missing_open"):
            st.markdown("\n".join(f"- **{o['rule_id']}**: {fmt.md_escape('; '.join(o['missing']))}"
                                   for o in verdict["open_blockers"]))
    if not peer:
        st.info("Choose the peer contract above: until then the contract items need evidence, and evidence "
                "(kept per agency and peer) cannot be recorded.")
    elif cl.contract is not None and cl.contract.get("on_record") is False:
        st.info("No contract record for this peer: only the facts of its deployment row are known.")
    name = peer or "no-peer"
    st.download_button("Download the due-diligence checklist (CSV)", checklist_csv(results),
                       f"piggyback-checklist-{profile.geo_id}-{name}.csv", "text/csv",
                       help="Every rule with its status, reason, threshold, recorded evidence and source.")


# -- checklist -------------------------------------------------------------------------------------

def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def _rule_card(r) -> None:
    flashed = flash is not None and flash[0] == r.rule_id
    expanded = (r.severity == "blocker" and r.status == "fail") or flashed
    label = (f"{STATUS[r.status]} · {r.severity} · {r.rule_id}: "
             f"{fmt.md_escape(_short(CATEGORY_LABELS.get(r.category, r.category) + ': ' + r.requirement))}")
    with st.expander(label, expanded=expanded, key=f"cmp_rule_{r.rule_id}"):
        if flashed:
            (st.success if flash[1] == "success" else st.error)(fmt.md_escape(flash[2]))
        st.markdown(f"**{STATUS[r.status]}** ({r.severity}): {fmt.md_escape(r.reason)}")
        if r.missing:
            st.markdown(f"**Missing:** {fmt.md_escape('; '.join(r.missing))}")
        if r.alternative:
            st.markdown(f"**Instead:** {fmt.md_escape(r.alternative)}")
        st.markdown(f"**Requirement:** {fmt.md_escape(r.requirement)}")
        st.markdown(f"**How to verify:** {fmt.md_escape(r.how_to_verify)}")
        if r.check == "value_vs_threshold":
            shown = r.threshold if r.threshold_amount is not None else VERIFY_THRESHOLD
            st.markdown(f"**Threshold in force on {cl.decision_date.isoformat()}:** {fmt.md_escape(shown)}")
        st.markdown(f"**Source:** [{fmt.md_escape(r.citation)}](<{r.source_url}>)")
        st.caption(f"Confidence {fmt.confidence(r.confidence)} · applies to {r.applies_to}")
        items = cl.evidence.get(r.rule_id, {}).get("items", [])
        for item in items:
            parts = [fmt.md_escape(item[k]) for k in ("note", "document") if item[k]]
            if item["link"]:
                href = urllib.parse.quote(item["link"], safe=":/?#@!$&*+,;=%-._~")  # no ( ) [ ] in the target
                parts.append(f"[{fmt.md_escape(_short(item['link'], 60))}](<{href}>)")
            when = item["ts"].strftime("%Y-%m-%d %H:%M") if item["ts"] else fmt.BLANK
            row = st.columns([5, 1]) if can_record else [st.container()]
            row[0].markdown(f"📎 **Evidence recorded** by {fmt.md_escape(item.get('who_label') or item['who'])}, {when}: " + " · ".join(parts))
            if can_record:
                row[1].button("Remove", key=f"ev_rm_{item['evidence_id']}", on_click=_remove,
                              args=(cl.scope, r.rule_id, item["evidence_id"]), help="Remove this piece of evidence")
        if r.status == "needs_evidence" and can_record:
            with st.form(f"ev_form_{r.rule_id}", border=True):
                st.markdown(f"**Record evidence for {r.rule_id}**")
                st.text_area("Note", key=f"ev_note_{r.rule_id}", max_chars=evidence.NOTE_MAX, height=68,
                             placeholder="What was checked and what it showed")
                f1, f2, f3 = st.columns(3)
                f1.text_input("Document reference", key=f"ev_document_{r.rule_id}", max_chars=evidence.DOCUMENT_MAX,
                              placeholder="e.g. By-law 2019-026 s.18")
                f2.text_input("Link", key=f"ev_link_{r.rule_id}", max_chars=evidence.LINK_MAX,
                              placeholder="https://…")
                f3.text_input("Recorded by", key=f"ev_who_{r.rule_id}", max_chars=evidence.WHO_MAX,
                              placeholder="your name or role")
                st.form_submit_button("Record evidence", on_click=_record, args=(cl.scope, r.rule_id),
                                      key=f"ev_submit_{r.rule_id}")


tab_list, tab_table, tab_thresholds, tab_contract, tab_ask = st.tabs(
    ["Checklist", "As a table", "Thresholds in force", "Contract facts used", "What to ask for"])

with tab_list:
    st.caption("Every blocker first, whatever its subject, then warnings, then items for information; in each, "
               "fails before open items. Failing blockers are open.")
    if peer and meeting:
        st.caption("Meeting mode: evidence is shown but cannot be recorded or removed.")
    elif peer and store.read_only:
        st.caption("The database is read-only now: evidence cannot be recorded.")
    severity = None
    for r in results:
        if r.severity != severity:
            severity = r.severity
            st.subheader(SEVERITY_HEADINGS.get(severity, severity))
        _rule_card(r)

with tab_table:
    table = pd.DataFrame([{
        "status": STATUS[r.status], "severity": r.severity, "rule": r.rule_id,
        "category": CATEGORY_LABELS.get(r.category, r.category), "requirement": r.requirement, "reason": r.reason,
        "threshold": r.threshold, "evidence": r.evidence, "confidence": fmt.confidence(r.confidence),
        "citation": r.citation, "source": r.source_url} for r in results])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "status": "Status", "severity": "Severity", "rule": "Rule", "category": "Subject",
        "requirement": st.column_config.TextColumn("Requirement", width="large"),
        "reason": st.column_config.TextColumn("Reason", width="large"), "threshold": "Threshold in force",
        "evidence": "Evidence recorded", "confidence": "Confidence", "citation": "Citation",
        "source": widgets.link_column("Source")})

with tab_thresholds:
    st.caption(f"The trade-agreement and grant thresholds the rules for {fmt.md_escape(profile.region)} compare "
               f"against, in force on the decision date {cl.decision_date.isoformat()}. A blank amount is not "
               "confirmed for the period: verify the current threshold; nothing is estimated.")
    if cl.thresholds:
        rows = pd.DataFrame([{
            "agreement": t["agreement"], "applies to": t["entity_class"], "category": t["category"],
            "amount": fmt.money(t["amount"], t["currency"]) if t["amount"] is not None else VERIFY_THRESHOLD,
            "period": t["period"], "compared by": ", ".join(t["rules"]),
            "confidence": fmt.confidence(t["confidence"]), "source": t["source_url"], "note": t["note"]}
            for t in cl.thresholds])
        st.dataframe(rows, hide_index=True, width="stretch", column_config={
            "agreement": "Agreement", "applies to": "Applies to", "category": "Category", "amount": "Amount",
            "period": "Period in force", "compared by": "Rules", "confidence": "Confidence",
            "source": widgets.link_column("Source"), "note": st.column_config.TextColumn("Note", width="large")})
    else:
        st.caption("No rule for this agency compares the value with a threshold.")

with tab_contract:
    if not peer:
        st.caption("Choose the peer contract above to see the facts on record.")
    else:
        contract = cl.contract or {}
        on_record = contract.get("on_record", True)
        facts = evidence.contract_facts_table(cl.facts)
        facts["value"] = facts["value"].map(lambda v: fmt.BLANK if fmt.missing(v) else str(v))
        st.dataframe(facts, hide_index=True, width="stretch",
                     column_config={"fact": "Fact", "value": st.column_config.TextColumn("On record", width="large")})
        needed = ", ".join(MODULES[m] for m in profile.modules_needed) or fmt.BLANK
        used = cl.facts or {}
        taken = ", ".join(used.get("from_deployment") or [])
        st.caption(f"A dash is unknown: the sources say nothing, and nothing is guessed. Modules you need: {needed}. "
                   "Whether the lead agency is a public body is read from its name (a city, county …) when the "
                   "record does not say. An expiry date not on record is worked out from the award date and term."
                   + (f" Taken from the peer's deployment row: {fmt.md_escape(taken)}." if taken else ""))
        if on_record:
            kinds = dict(zip(store.sources()["url"], store.sources()["kind"]))
            src = pd.DataFrame({"source": contract.get("source_urls") or []})
            src["kind"] = src["source"].map(lambda u: fmt.kind(kinds.get(u)))
            st.markdown(f"**Sources** (record confidence {fmt.confidence(contract.get('confidence'))})")
            st.dataframe(src, hide_index=True, width="stretch",
                         column_config={"source": widgets.link_column("Source"), "kind": "Kind"})
            if contract.get("notes"):
                st.markdown(f"**Notes:** {fmt.md_escape(contract['notes'])}")


# -- what to ask the peer for (issue #14): ranked missing facts and editable request texts --------

def _keep_ask(field: str, key: str, peer_id: str) -> None:
    saved = settings.setdefault("ask", {})
    if saved.get("peer") != peer_id:
        saved.clear()
        saved["peer"] = peer_id
    saved[field] = ss.get(key)


def _reset_ask() -> None:
    settings.pop("ask", None)
    for key in ("cmp_ask_request", "cmp_ask_records"):
        ss.pop(key, None)


with tab_ask:
    if not peer:
        st.caption("Choose the peer contract above to see what to ask it for.")
    else:
        from piggyback.ask import ask_with_verdict

        ask = ask_with_verdict(store, profile, peer, cl.verdict)
        if not ask["missing"]:
            st.success("Every decision fact about this contract is on file: nothing to ask for.")
        else:
            st.caption("The facts still missing, most important first: those an open blocker waits for, then those "
                       "that widen the cost and timeline ranges most. When the answer comes back, a data steward "
                       "imports it (Data & sources) and the verdict updates.")
            st.dataframe(pd.DataFrame([{"#": m["rank"], "fact": m["label"], "impact": m["impact"],
                                        "why it matters": m["why"]} for m in ask["missing"]]),
                         hide_index=True, width="stretch",
                         column_config={"why it matters": st.column_config.TextColumn("Why it matters", width="large"),
                                        "fact": "Fact", "impact": "Impact"})
            saved = settings.get("ask") if (settings.get("ask") or {}).get("peer") == peer else {}
            request = saved.get("request") or ask["request"]["body"]
            records = saved.get("records_request") or ask["records_request"]["body"]
            if ss.get("cmp_ask_peer") != peer:  # a new peer (or a scenario opened): redraw from the texts
                ss["cmp_ask_request"], ss["cmp_ask_records"], ss["cmp_ask_peer"] = request, records, peer
            st.markdown(f"**{fmt.md_escape(ask['request']['subject'])}**")
            st.text_area("Request to the peer's clerk or purchasing office (edit before sending)", key="cmp_ask_request",
                         height=320, max_chars=20_000, disabled=meeting,
                         on_change=_keep_ask, args=("request", "cmp_ask_request", peer))
            st.download_button("Download the request (text)", ss.get("cmp_ask_request") or request,
                               f"request-{peer}.txt", "text/plain", key="cmp_ask_dl_request")
            st.markdown(f"**{fmt.md_escape(ask['records_request']['subject'])}**")
            st.text_area(f"The {ask['records_request']['kind']} (edit before sending)", key="cmp_ask_records",
                         height=260, max_chars=20_000, disabled=meeting,
                         on_change=_keep_ask, args=("records_request", "cmp_ask_records", peer))
            st.download_button(f"Download the {ask['records_request']['kind']} (text)",
                               ss.get("cmp_ask_records") or records, f"records-request-{peer}.txt", "text/plain",
                               key="cmp_ask_dl_records")
            if saved and not meeting:
                st.button("Reset the texts to the generated ones", on_click=_reset_ask, key="cmp_ask_reset")
            st.caption("Your edits are kept with this session's settings and saved with the scenario.")
