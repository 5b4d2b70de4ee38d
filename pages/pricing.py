"""Cost: what the peer's contract would cost the agency over the horizon, by route, with its sources."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from piggyback.core import fmt

from piggyback.data import quotes

from piggyback.figures import tables

from piggyback.ui import cost as cost_ui, widgets
from piggyback.analyses.cost import analyse_cost
from piggyback.core.errors import PiggybackError
from piggyback.figures.pricing_figures import cost_by_year_figure, peer_compare_figure, tornado_figure

store = widgets.get_store()
profile = widgets.require_profile()
meeting = widgets.meeting_mode()

st.title("Cost")
st.caption("What the peer's contract would cost us over the horizon, on each route: its price lines scaled "
           "to our size, brought to today's prices and currency, plus each route's own cost. Ranges, not single "
           "numbers, to three significant figures; every line shows its formula and source.")
try:
    defaults = quotes.pricing_assumptions(store)
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()
settings = cost_ui.cost_page_settings(defaults, profile)  # scenario section "pricing", ?years= in the link
peers = store.peers()
names = dict(zip(peers["deployment_id"], peers["census_name"].fillna(peers["jurisdiction"] + ", " + peers["region"])))
if meeting:  # meeting mode: no editing widgets (the peer and settings chosen before persist)
    peer_id = widgets.current_peer()  # named in the heading of the figures below
else:
    peer_id = widgets.peer_picker(store)
    cost_ui.cost_settings_form(settings, defaults, profile)
result = analyse_cost(store, profile, peer_id, settings.values(), today=dt.date.today())  # the one cost chain
if result.settings is None:
    st.error(fmt.md_escape(result.message))
    st.stop()
currency, h = result.currency, result.settings.horizon_years
spread = result.spread or {"peers": [], "problems": {}}
priced = [d for d in peers["deployment_id"] if d in result.peer_results or d in spread["problems"]]
unpriced = [d for d in peers["deployment_id"] if d not in priced]
if not meeting:
    st.caption(f"Price schedule on file for {len(priced)} of {len(peers)} peers: "
               + ", ".join(fmt.md_escape(names[d]) for d in priced) + ". The others: no price schedule on file.")


def peers_side_by_side(extra_missing: str | None) -> None:
    shown = {**result.peer_results, **({extra_missing: None} if extra_missing else {})}
    st.plotly_chart(peer_compare_figure(shown, labels=names), width="stretch", key="cost_peers_chart")
    st.caption(fmt.md_escape(spread.get("summary") or "") + f" Each peer's own price lines scaled to "
               f"{fmt.md_escape(profile.name)} and costed alike over {h} years in {currency}, without any route's "
               "own cost; the bar is the range low–high. No price schedule on file: "
               + ", ".join(fmt.md_escape(names[d]) for d in unpriced) + ".")
    for dep_id, reason in spread["problems"].items():
        st.caption(f"{fmt.md_escape(names.get(dep_id, dep_id))}: not costed ({fmt.md_escape(reason)}).")


if not peer_id:
    st.info("Choose the peer contract to adopt (above) to see what it would cost us. Meanwhile, the peers "
            "with a price schedule on file, scaled to our size:", icon=":material/arrow_upward:")
    peers_side_by_side(None)
    st.stop()
peer_name = names.get(peer_id, peer_id)
scope = quotes.scope_for(profile.geo_id or "entered", peer_id)
if result.status == "no_schedule":
    st.warning(f"**No price schedule on file for {fmt.md_escape(peer_name)}**: the sources found give no prices "
               "for its contract. Choose a peer with one, or enter the prices from its contract or from a quote "
               "below.", icon=":material/money_off:")
elif result.status == "error":
    st.error(fmt.md_escape(result.message))
if result.ok:
    analysis, shown = result.analysis, result.display()
    if result.basis == "quote":
        st.info("The figures below are from **your quote**, not from a peer's contract.")
    basis = (f"{fmt.md_escape(peer_name)}'s price lines scaled to {fmt.md_escape(profile.name)}"
             if result.basis == "peer" else "your quote for this contract")
    own = {r: fmt.md_escape(analysis.routes[r].procurement_source["formula"]) for r in analysis.routes}
    st.subheader(f"{h}-year cost of ownership, {currency}" + (f", on {peer_name}'s contract" if meeting else ""))
    npv_help = (f"Net present value at {result.settings.assumptions['pricing.discount_rate'].value:g} %/yr "
                f"({'entered by you' if 'pricing.discount_rate' in result.settings.edited else 'assumption'}).")
    moving = [r["name"].lower() for r in analysis.tornado if r["swing"] > 0]
    figures = [  # the decision figures first; meeting mode puts the per-resident cost last
        (f"{h}-year cost: own RFP", shown["traditional"]["total"], dict(
            help=f"{basis}, plus the own cost of an RFP, modelled from the contract: {own['traditional']}. "
                 f"{fmt.md_escape(defaults['pricing.rfp_fixed_cost'].note)}")),
        (f"{h}-year cost: piggyback", shown["piggyback"]["total"], dict(
            delta=f"{shown['difference']} vs own RFP", delta_color="inverse",
            help=f"{basis}, plus the due diligence of adopting the contract: {own['piggyback']}.")),
        ("Cost per resident (piggyback)", shown["per_resident"], dict(
            help=(f"Piggyback total ÷ {profile.population:,} residents (census) over {h} years"
                  if profile.population else "Population unknown: no per-resident figure."))),
        ("NPV: own RFP", shown["traditional"]["npv"], dict(help=npv_help)),
        ("NPV: piggyback", shown["piggyback"]["npv"], dict(help=npv_help)),
        ("Range (piggyback)", shown["piggyback"]["range"], dict(
            help=f"Low–high of the piggyback total: {'; '.join(moving) or 'no assumption'}, all set together at "
                 "the end of each range. A corner case, not a probability interval; values you entered are not "
                 "varied.")),
    ]
    if meeting:
        figures = [figures[i] for i in (0, 1, 3, 4, 5, 2)]
    per_row = 2 if meeting else 3
    for start in range(0, len(figures), per_row):
        for col, (label, value, kw) in zip(st.columns(per_row), figures[start:start + per_row]):
            col.metric(label, value, **kw)
    for w in result.warnings:
        st.warning(fmt.md_escape(w), icon=":material/warning:")
    st.plotly_chart(cost_by_year_figure(analysis.piggyback.tco), width="stretch", key="cost_by_year_chart")
    st.caption(cost_ui.cost_chart_words(analysis.piggyback.tco) + " The Line items tab lists every line.")
    tab_tornado, tab_items, tab_peers, tab_sources = st.tabs(
        ["What moves the total", "Line items", "Peers side by side", "Sources & assumptions"])
    with tab_tornado:
        st.plotly_chart(tornado_figure(analysis.tornado), width="stretch", key="cost_tornado_chart")
        st.caption("Piggyback route: each assumption moved from the low to the high end of its range, the others "
                   "kept. The discount rate moves the NPV, not the total. The horizon is a choice, not varied.")
    with tab_items:
        cost_ui.cost_items_table(analysis.piggyback.tco, "cost_items")
        st.caption(f"Fixed and yearly amounts are {fmt.md_escape(peer_name)}'s own totals, scaled by population "
                   f"to the power of the size elasticity; its population: {fmt.md_escape(result.population_note)}. "
                   f"Ours: {fmt.integer(profile.population)} (census).")
    with tab_peers:
        peers_side_by_side(None)
    with tab_sources:
        st.dataframe(tables.cost_assumptions(analysis), hide_index=True, width="stretch", key="cost_assumptions",
                     column_config={"name": "Assumption", "value": "Value used", "default": "Default",
                                    "range": "Range", "unit": "Unit", "status": "Kind",
                                    "source_url": widgets.link_column(),
                                    "note": st.column_config.TextColumn("Note", width="large")})
        st.caption(analysis.piggyback.tco.range_method)
else:
    with st.expander("Peers side by side", expanded=True):
        peers_side_by_side(peer_id)

saved = quotes.list_quotes(store, scope) if result.quote_items else []
if saved or not meeting:
    st.subheader("Your quote")
if result.quote is not None:
    cost_ui.quote_comparison(result, peer_name)
if not meeting:
    cost_ui.quote_delete_buttons(store, scope, saved)
    if not saved:
        st.caption(f"No quote saved for {fmt.md_escape(peer_name)}'s contract yet.")
    cost_ui.quote_form(store, scope, currency)
