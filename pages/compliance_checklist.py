"""Compliance: may the agency buy under the peer's contract? The verdict (one of four states), then
every blocker, then warnings and information items, each with its citation. Layout only: the
figures come from ``piggyback.analyses.compliance``, the words from ``piggyback.figures.compliance_display``."""

import datetime as dt

import streamlit as st

from piggyback.figures import compliance_display as show
from piggyback.core import fmt, identity
from piggyback.ui import compliance as ui, widgets
from piggyback.analyses.compliance import CURRENCIES, DEFAULTS, NATIONAL_CURRENCY, analyse_compliance
from piggyback.engines.compliance import checklist_csv
from piggyback.core.errors import PiggybackError

BOX = {"blocked": st.error, "not_shown": st.warning, "allowed_with_items": st.info, "allowed": st.success}
DATE_MIN, DATE_MAX = dt.date(2000, 1, 1), dt.date(2100, 12, 31)

store = widgets.get_store()
profile = widgets.require_profile()
settings = widgets.PageSettings("compliance", {**DEFAULTS, "currency": NATIONAL_CURRENCY[profile.country]})
meeting = widgets.meeting_mode()
today = dt.date.today()

st.title("Compliance")
verdict_box = st.container() if meeting else None  # meeting mode (#15): the verdict first under the title
st.caption(show.PAGE_CAPTION)
peer = widgets.meeting_peer(store) if meeting else widgets.peer_picker(store)  # meeting mode: the chosen peer persists
verdict_box = verdict_box or st.container()
try:
    result, problem = analyse_compliance(store, profile, peer, settings.values(), today=today), None
except PiggybackError as exc:  # an input to correct: the inputs are still drawn, to correct it
    result, problem = None, exc

if meeting and result is not None:
    st.caption(f"Purchase and dates: {show.inputs_summary(result)}")
elif not meeting:
    label = "Purchase value, funding and dates" + (f": {show.inputs_summary(result)}" if result else "")
    with st.expander(label, expanded=result is None, key="cmp_inputs_open"):
        ui.compliance_inputs(settings, profile, result, CURRENCIES, (DATE_MIN, DATE_MAX), today)
if problem is not None:
    verdict_box.error(fmt.md_escape(problem))
    st.stop()

verdict = result.verdict
can_record = (bool(peer) and not meeting and not store.read_only and result.scope is not None
              and identity.can(widgets.current_user(), "evidence.record"))
flash = st.session_state.pop("cmp_flash", None)

with verdict_box:
    BOX[verdict["state"]](show.verdict_markdown(verdict), icon=show.VERDICT_ICON[verdict["state"]])
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
    for line in show.what_blocks(verdict):
        st.markdown(line)
    if verdict["open_blockers"]:
        missing = st.expander(f"What is missing: {len(verdict['open_blockers'])} blocker(s) lack facts or evidence",
                              expanded=not verdict["failing"], key="cmp_missing_open", on_change="rerun")
        if missing.open:  # drawn only while open (#15)
            missing.markdown(show.what_is_missing(verdict))
    if not peer:
        st.info("Choose the peer contract above: until then the contract items need evidence, and evidence "
                "(kept per agency and peer) cannot be recorded.")
    elif not result.contract_on_record:
        st.info("No contract record for this peer: only the facts of its deployment row are known.")
    st.download_button("Download the due-diligence checklist (CSV)", checklist_csv(result.results),
                       f"piggyback-checklist-{profile.geo_id}-{peer or 'no-peer'}.csv", "text/csv",
                       help="Every rule with its status, reason, threshold, recorded evidence and source.")

# Only the open tab is drawn (#15): all five drawn on every rerun cost most of a peer change.
tab_list, tab_table, tab_thresholds, tab_contract, tab_ask = st.tabs(
    ["Checklist", "As a table", "Thresholds in force", "Contract facts used", "What to ask for"], key="cmp_tab", on_change="rerun")
if tab_list.open:
    with tab_list:
        ui.checklist_tab(store, result, peer, meeting, can_record, flash)
if tab_table.open:
    with tab_table:
        ui.table_tab(result)
if tab_thresholds.open:
    with tab_thresholds:
        ui.thresholds_tab(result)
if tab_contract.open:
    with tab_contract:
        ui.contract_tab(store, result, peer)
if tab_ask.open:
    with tab_ask:
        ui.ask_tab(settings.section, result, peer, meeting)
