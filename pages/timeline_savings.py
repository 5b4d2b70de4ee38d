"""Timeline: how much sooner a piggyback reaches go-live than a new RFP, as ranges with sources.
Layout only: every figure comes from piggyback.analyses.timeline.analyse_timeline; the inputs,
key figures, assumptions editor and calibration are drawn by piggyback.ui.timeline."""

import datetime as dt

import streamlit as st

from piggyback.core import fmt
from piggyback.ui import timeline as ui
from piggyback.ui import widgets
from piggyback.analyses.timeline import analyse_timeline
from piggyback.core.errors import PiggybackError
from piggyback.figures.timeline_figures import (adjustments_table, gantt_figure, procurement_record_table,
                                                savings_histogram, track_record_table)

store, profile, meeting = widgets.get_store(), widgets.require_profile(), widgets.meeting_mode()
currency = "CAD" if profile.country == "CA" else "USD"
settings = ui.TimelineSettings(store, currency)  # scenario section "timeline", widget keys "timeline.<name>"
st.title("Timeline")
top = st.container()  # meeting mode (#15): the settings in use and the key figures first, under the title
st.caption("How much sooner would piggybacking on a peer's contract reach go-live than a new RFP? Ranges from a "
           "Monte Carlo over each phase's fastest, most likely and slowest months, adjusted to this agency and "
           "this contract. Every phase and adjustment is an editable assumption or cites its source.")
if meeting:  # no editing widgets: the peer and settings chosen before persist
    peer_id, (values, _), vot_box = widgets.current_peer(), settings.analysis_values(), None
else:
    peer_id = ui.settings_inputs(store, settings, currency)
    values, vot_box = ui.value_of_time_inputs(settings, currency)
try:
    res = analyse_timeline(store, profile, peer_id, values, today=dt.date.today())
except PiggybackError as exc:
    (top if meeting else st).error(fmt.md_escape(exc))
    st.stop()
sim, d, ms = res.simulation, res.display(), res.months_saved
with top if meeting else st.container():
    if meeting:
        ui.settings_caption(store, res)
    ui.key_figures(res, meeting)
    if meeting:
        ui.value_of_time_figure(sim, currency, blank_note=False)
for flag in res.flags:
    (st.error if flag["severity"] == "high" else st.warning)(fmt.md_escape(flag["text"]))
with st.container(border=True):
    st.markdown("**Track record beside the model.** " + fmt.md_escape(d["track_record"]))
    st.dataframe(track_record_table(res.track), hide_index=True, width="stretch", key="tl_track",
                 column_config={"ends_at": "Ends at", "months": "Months", "precision": "Precision",
                                "source": widgets.link_column("Source"), "more_sources": "More sources"})
    with st.expander("Recorded procurement spans beside the model's decision-to-contract range"):
        st.dataframe(procurement_record_table(res.comparison["procurement"]), hide_index=True, width="stretch",
                     column_config={"model": "Model P10–P90 (months)", "source": widgets.link_column("Source")})
for route_label, claim, model in res.claim_lines():
    st.markdown(f"**Vendor-stated** ({route_label}): “{fmt.md_escape(claim)}” · **This model**, decision to "
                f"contract: {model}", help="A vendor's claim is shown, never used as evidence.")
if res.peer:
    st.caption(fmt.md_escape(res.peer_sentence()))
tab_gantt, tab_hist = st.tabs(["Both routes to go-live", "Months saved: distribution"])
tab_gantt.plotly_chart(gantt_figure(sim), width="stretch", key="timeline_gantt", theme=None)
tab_gantt.caption(f"Chart in words: from {sim['start']}, a new RFP goes live about {d['golive_traditional']} and "
                  f"the piggyback route about {d['golive_piggyback']} (medians), each bar one phase of the route.")
tab_hist.plotly_chart(savings_histogram(sim), width="stretch", key="timeline_histogram", theme=None)
tab_hist.caption(f"Chart in words: the months saved over all draws, {ms['p10']:.1f} to {ms['p90']:.1f} "
                 f"(P10–P90), median {d['months_saved']}; the piggyback route is sooner in {d['prob_faster']}.")
if vot_box is not None:
    with vot_box:
        ui.value_of_time_figure(sim, currency)
st.divider()
with st.expander("What this agency and this contract change", expanded=True):
    st.caption(f"Contract value {fmt.md_escape(fmt.money(res.inputs['contract_value'], currency))} "
               f"({fmt.md_escape(res.inputs['contract_value_basis'])}). Each row names its input and assumption.")
    st.dataframe(adjustments_table([a.to_dict() for a in res.adjustments]), hide_index=True, width="stretch",
                 key="tl_adjustments")
ui.assumptions_editor(res, meeting)
ui.calibration_box(store, profile, res, meeting)
with st.expander("How this is computed"):
    st.markdown(res.how_computed())
