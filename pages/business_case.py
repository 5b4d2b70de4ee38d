"""Business case: the decision figures on one screen, saved scenarios, and the PDF and Excel exports."""

import datetime as dt
import json
import re

import pandas as pd
import streamlit as st

from piggyback.core import fmt

from piggyback.data import scenarios

from piggyback.figures import tables

from piggyback.ui import business_case as case_ui, scenarios as scenarios_ui, widgets
from piggyback.core import params as url_params
from piggyback.analyses.business_case import build_business_case, business_case_from_scenario, compare_cases
from piggyback.core.errors import PiggybackError

store = widgets.get_store()
meeting = widgets.meeting_mode()
error = st.session_state.pop("_scenario_error", None)
if error:
    st.error(f"The scenario in the link could not be opened: {fmt.md_escape(error)}")
profile = widgets.require_profile()


# One caching policy: keyed on store.version() (data, imports and writes), never on object ids.
@st.cache_data(show_spinner=False, max_entries=64)
def _case(_store, version: str, profile_json: str, peer_id: str | None, settings_json: str, snapshot_json: str,
          today: str) -> dict:
    from piggyback.core.models import AgencyProfile

    return build_business_case(_store, AgencyProfile.model_validate_json(profile_json), peer_id,
                               json.loads(settings_json), snapshot=json.loads(snapshot_json),
                               today=dt.date.fromisoformat(today)).to_dict()


@st.cache_data(show_spinner=False, max_entries=32)
def _saved_case(_store, version: str, scenario_id: str, scenario_version: int, today: str) -> dict:
    return business_case_from_scenario(_store, scenarios.open_scenario_store(_store).get(scenario_id),
                                       today=dt.date.fromisoformat(today)).to_dict()


def _compare(a, b) -> pd.DataFrame:
    case_a, case_b = (_saved_case(store, store.version(), s.id, s.version, today.isoformat()) for s in (a, b))
    table = pd.DataFrame(compare_cases(case_a, case_b))
    return table.rename(columns={"label": "Figure", "a": f"A: {a.name}", "b": f"B: {b.name}"}).drop(columns=["key"])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "agency"


# -- which peer, and the case ------------------------------------------------------------------
st.title("Business case")
opened = st.session_state.get("_scenario")
if meeting:
    ids = set(store.peers()["deployment_id"])  # no picker in meeting mode: the peer of the session or link
    from_link = url_params.identifier(st.query_params.get("peer"), "peer", known=ids, what="peer deployment")
    wanted = st.session_state.get("peer") or from_link.value
    peer_id = wanted if wanted in ids else None
    if from_link.problem and not st.session_state.get("peer"):
        st.warning(from_link.problem, icon=":material/link_off:")
else:
    top = st.columns([3, 2], vertical_alignment="bottom")
    peer_id = widgets.peer_picker(store, where=top[0])
    if opened:
        top[1].caption(f"Scenario **{fmt.md_escape(opened['name'])}** (version {opened['version']})")

settings = st.session_state.get("scenario") or {}
try:
    snapshot = scenarios.snapshot_for(store, profile.geo_id, peer_id)
except PiggybackError as exc:  # the users' record cannot be read now (a shared database down)
    st.error(f"{fmt.md_escape(exc)} Until it is back, the figures below leave out your entered quotes and evidence.")
    snapshot = scenarios.snapshot_for(store, None, None)
today = dt.date.today()
try:
    case = _case(store, store.version(), profile.model_dump_json(), peer_id, json.dumps(settings, sort_keys=True, default=str),
                 json.dumps(snapshot, sort_keys=True, default=str), today.isoformat())
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()

peer = case.get("peer")
st.caption(f"{fmt.md_escape(profile.name)}: "
           + (f"piggybacking on the contract of **{fmt.md_escape(peer['jurisdiction'])}** "
              f"({fmt.md_escape(peer.get('vendor') or 'vendor not known')}) against running its own RFP."
              if peer else "choose the peer contract to adopt to cost it and check it.")
           + " Hover a figure for its basis; every source and assumption is listed below.")

# -- the decision figures first ----------------------------------------------------------------
# meeting mode: enlarged type, two figures a row, so no value is cut short on a projector
cols = [*st.columns(2), *st.columns(2)] if meeting else st.columns(4)
for col, f in zip(cols, tables.decision_figures(case)):
    col.metric(f["label"], f["value"], help=f["help"])
    col.caption(f["caption"], help=f["caption_help"])

tl = case["timeline"]
if tl.get("status") == "ok":
    st.caption(f"Go-live (median): new RFP **{tl['display']['golive_traditional']}**, piggyback "
               f"**{tl['display']['golive_piggyback']}** (start {tl['start']}; piggyback sooner in "
               f"{tl['display']['prob_faster']} of {tl['draws']:,} draws).")


if meeting:
    best = case["peers"]["top"][:1]
    if best:
        st.markdown(f"**Closest peer:** {fmt.md_escape(best[0]['sentence'])}")
    case_ui.case_charts(case, height=620, stacked=True)
    st.stop()

case_ui.case_peers_and_risks(case)
case_ui.case_charts(case, height=480)

case_ui.case_details(case)  # assumptions, sources and checklist: each drawn only while open (#15)

# -- exports ---------------------------------------------------------------------------------------
st.subheader("Export")
fingerprint = json.dumps([case["agency"]["geo_id"], peer_id, settings, snapshot, today.isoformat()],
                         sort_keys=True, default=str)
base_name = f"business-case-{_slug(profile.name)}-{today.isoformat()}"
case_ui.case_exports(case, fingerprint, base_name)

# -- scenarios ---------------------------------------------------------------------------------
st.subheader("Scenarios")
st.caption("A scenario keeps the agency and its inputs, the peer, every page's edited settings, and the "
           "quotes and evidence recorded for this agency and peer. Its link reopens all of it.")

scenarios_ui.scenario_manager(store, profile, f"{profile.name} — {peer['jurisdiction']}" if peer else profile.name,
                         compare=_compare)
