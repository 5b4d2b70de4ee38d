"""Overview: the agency and the landscape of peer deployments at a glance."""

import streamlit as st

from piggyback.core import fmt

from piggyback.engines import landscape

from piggyback.ui import widgets
from piggyback.core.models import VEHICLES
from piggyback.figures.similarity_figures import peer_map_figure

store = widgets.get_store()
profile = widgets.current_profile()
peers = store.peers()

st.title("Piggyback")
st.caption("Should we adopt a peer's permitting & licensing contract instead of running our own RFP? "
           "Every figure here names its source and how sure it is; a dash means unknown.")

if profile is None:
    st.info("Pick your agency in the sidebar (type its name) to compare it with the peers.", icon="👈")
else:
    st.header(profile.name)
    widgets.agency_card(profile, store)
    same_region = peers[(peers["country"] == profile.country) & (peers["region"] == profile.region)]
    st.markdown(f"**{len(same_region)}** of the {len(peers)} peer deployments on file are in "
                f"{fmt.md_escape(profile.region)}, under the same provincial or state procurement law.")

st.subheader("Peer deployments on file")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Deployments", len(peers))
c2.metric("Vendors named", peers["vendor"].nunique())
c3.metric("Contract vehicle known", int((peers["vehicle"] != "unknown").sum()),
          help="Own RFP, cooperative, interlocal or sole source, as the sources describe it")
c4.metric("High-confidence records", int((peers["confidence"] == "high").sum()),
          help="high = a primary source such as a council report or official city page")

# The charts are drawn once opened (#15): plotly's 4.7 MB script and the map were over a second of
# the first page on 2 cores. The counts above and the table below carry the same facts.
charts = st.expander("Vendors and map of the peer deployments", key="home_charts", on_change="rerun")
if charts.open:
    with charts:
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(landscape.vendor_figure(peers), width="stretch")
            by_vendor = peers["vendor"].value_counts()
            st.caption(f"Chart in words: {len(peers)} peer deployments, {len(by_vendor)} vendors named and "
                       f"{int(peers['vendor'].isna().sum())} with the vendor not known; the most common is "
                       f"{fmt.md_escape(by_vendor.index[0])} ({int(by_vendor.iloc[0])}). The table below lists each one."
                       if len(by_vendor) else "Chart in words: no vendor is named yet.")
        with right:
            st.plotly_chart(peer_map_figure(profile.model_dump() if profile else None, peers), width="stretch")
            located = int(peers[["lat", "lon"]].notna().all(axis=1).sum()) if {"lat", "lon"} <= set(peers) else 0
            st.caption(f"Map in words: {located} of the {len(peers)} peer deployments placed by their coordinates"
                       + (f", with {fmt.md_escape(profile.name)} marked" if profile else "")
                       + "; the table below lists every peer with its province or state.")

claims = store.table("claims")
with st.expander("What the vendor article claims, and what research found", expanded=profile is None):
    st.caption("The article that started this project is vendor marketing: its claims are shown as "
               "vendor-stated and never used as evidence.")
    show = claims[["deployment_id", "claim", "status", "research_note"]].rename(columns={
        "deployment_id": "peer", "claim": "vendor-stated claim", "status": "status", "research_note": "research"})
    show = show.astype(object).where(show.notna(), "")  # unknown stays blank, never "None"
    st.dataframe(show, hide_index=True, width="stretch")

table = peers[["jurisdiction", "region", "vendor", "product", "vehicle", "go_live", "confidence"]].copy()
table["vehicle"] = table["vehicle"].map(VEHICLES)
table["confidence"] = table["confidence"].map(fmt.confidence)
table = table.astype(object).where(table.notna(), "")  # blank cells are unknown, as the caption says
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "jurisdiction": "Peer", "region": "Prov./state", "go_live": st.column_config.TextColumn(
        "Go-live", help="As published: a year, a month or a day"), "vehicle": "Contract vehicle",
    "confidence": "Confidence"})
st.caption("Blank cells are unknown: nothing was found in the sources, and nothing is estimated.")
