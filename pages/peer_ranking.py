"""Peers: who is like us? Layout only: ``piggyback.analyses.peers.analyse_peers`` ranks the peers (as
``similar`` and the business case do); this page binds its settings and draws the result. The
controls and the blocks below the ranking are drawn by ``piggyback.ui.peers``."""

import datetime as dt

import streamlit as st

from piggyback.core import fmt
from piggyback.ui import peers as ui, widgets
from piggyback.analyses import peers as an
from piggyback.core.errors import PiggybackError
from piggyback.figures.similarity_figures import contributions_table, peer_map_figure, score_bar_figure

store, profile, meeting = widgets.get_store(), widgets.require_profile(), widgets.meeting_mode()
settings = ui.page_settings()

st.title("Peers: who is like us?")
st.caption(f"Peer deployments ranked by how alike their agency is to **{fmt.md_escape(profile.name)}**. Peers rank on "
           "the score they have for certain: a dimension unknown for a peer counts 0, so knowing less about a peer never "
           "ranks it higher. The range beside it shows how high the score could go if every unknown dimension matched "
           "fully; the scales and weights are editable assumptions.")
decision = ui.decision_date()
try:
    result = an.analyse_peers(store, profile, {**settings.values(), "decision_date": decision}, today=dt.date.today())
except PiggybackError as exc:
    st.error(f"{fmt.md_escape(exc)} The {settings.value('preset')} preset is used instead.")
    settings.set("weights", None)
    result = an.analyse_peers(store, profile, {**settings.values(), "decision_date": decision}, today=dt.date.today())
if st.query_params.get("weights") != result.url_weights:
    st.query_params["weights"] = result.url_weights

ui.weights_controls(settings, result, meeting)
ui.filter_controls(settings, result, meeting)
if result.own:
    st.caption(an.own_deployment_note(result, fmt.md_escape))
if not result.items:
    st.warning("No peer deployment matches these filters. Clear a filter to see peers again.")
    st.stop()

best, (stable, robust_text) = result.best, an.robustness_text(result, fmt.md_escape)
m = st.columns(4)
m[0].metric("Peers compared", f"{len(result.items)} of {result.on_file}",
            help="Peer deployments on file that pass the filters (Data & sources lists them all).")
m[1].metric("Closest peer", fmt.md_escape(best["jurisdiction"].removeprefix("City of ")),
            help=f"{fmt.md_escape(best['jurisdiction'])}, score {best['score']:.2f}")
m[2].metric("Its score", f"{best['score']:.2f}", help=f"0 = nothing alike, 1 = alike in every way. {best['dims_used']} of "
            f"the {result.n_weighted} dimensions scored are known for it; with the unknown ones matching fully it could "
            f"reach {best['score_high']:.2f}.")
m[3].metric("Top three", "stable" if stable else "fragile",
            help="Whether the top three (or their order) change when any one weight moves ±20%.")
(st.success if stable else st.warning)(robust_text, icon=":material/verified:" if stable else ":material/warning:")

text_columns = {c: st.column_config.TextColumn(label, help=tip and tip.format(date=decision.isoformat()), width=width)
                for c, (label, tip, width) in an.RANKED_COLUMN_HELP.items()}
st.container(key="peers_ranking").dataframe(
    an.ranked_table(result), hide_index=True, width="stretch", key="peers_ranked", column_config={
        **text_columns, "Source": widgets.link_column("First source"),
        "Score": st.column_config.ProgressColumn("Score", min_value=0.0, max_value=1.0, format="%.2f",
                                                 help="Similarity 0–1; a dimension unknown for the peer counts 0")})

# Only the open tab is drawn: a chart is the costly part of a rerun, so the scores' reasons open as
# numbers (a screen reader reads them too) and their chart is one tab away.
tab_why, tab_chart, tab_map, tab_src = st.tabs(["Why these scores", "Chart", "Map", "Sources & assumptions"],
                                               key="peers_tab", on_change="rerun")
if tab_why.open:
    with tab_why:
        st.caption("What each dimension adds to the ten closest peers' scores (weight × how alike, summed to the "
                   "score). A blank means the dimension is unknown for that peer: it adds 0 and widens the range.")
        st.dataframe(contributions_table(result.scored, top=10), hide_index=True, width="stretch", key="peers_why")
if tab_chart.open:
    with tab_chart:
        st.plotly_chart(score_bar_figure(result.scored, top=10), width="stretch", key="peers_bars")
        st.caption("The same numbers as 'Why these scores': one bar per peer, one segment per dimension.")
if tab_map.open:
    with tab_map:
        fig = peer_map_figure(profile.model_dump(), result.scored, title=f"{profile.name} and its peers")
        st.plotly_chart(fig, width="stretch", key="peers_map")
        st.caption(an.map_caption(fig.layout.meta["missing_coordinates"], len(result.items)))
if tab_src.open:
    with tab_src:
        st.markdown("**Weights in use** (assumptions: a preset you can adjust)")
        st.dataframe(an.weights_table(result), hide_index=True, width="stretch")
        st.markdown("**Scales** (default assumptions of the similarity engine)")
        st.dataframe(an.scales_table(), hide_index=True, width="stretch")
        st.caption("Population, growth, households and density: 2021 Census of Canada and US Census Bureau 2021 "
                   "estimates (see Data & sources). Modules, legacy system, vendor and dates: the peer records' own "
                   "sources, each with its confidence. Permit volume: peers' published outcomes.")

ui.side_by_side(store, settings, result, meeting)

st.subheader("Sister municipalities: ask a peer")
chosen = ui.sister_municipalities(store, result, meeting)
ui.introduction_draft(store, result, chosen, meeting)
