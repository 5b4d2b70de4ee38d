"""Prospects (for vendor staff): which census jurisdictions are most like a peer deployment's?

Layout only: ``piggyback.analyses.peers.analyse_prospects`` ranks every municipality, county and
state (except the reference's own), as ``python -m piggyback prospects`` does. The filters are
kept in the scenario and in the link (?ref=ottawa-on&regions=ON,QC&pop_min=50000&types=City&
preset=size only&top=100); ``piggyback.ui.prospects`` draws them (in meeting mode, as one line)."""

import dataclasses

import streamlit as st

from piggyback.core import fmt

from piggyback.ui import prospects as ui, widgets
from piggyback.analyses import peers as an
from piggyback.core.errors import PiggybackError

store = widgets.get_store()
settings, opts = ui.page_settings(store)

st.title("Prospects: who is like this peer?")
st.caption("For vendor staff before a call: every Canadian municipality and US county, city and town, ranked by how "
           "alike it is to a peer deployment's jurisdiction (size, growth, households, kind of government, legal "
           "framework). Modules, legacy system and permit volume are not in the census, so they drop out.")
# meeting mode (#15): the reference and filters in one line, no widget; the link's values still filter
reference = ui.filter_controls(settings, opts, widgets.meeting_mode())
values = settings.values()
if not reference:
    st.info("Choose the reference deployment: the peer whose jurisdiction the prospects should resemble.",
            icon=":material/travel_explore:")
    st.stop()


@st.cache_resource(max_entries=12, show_spinner="Ranking every jurisdiction …")
def ranked(_store, data_hash: str, reference: str, key: tuple) -> an.ProspectsResult:
    """The ranking, kept per reference and filter combination (the rows shown do not change it)."""
    return an.analyse_prospects(_store, reference, dict(key))


@st.cache_resource(max_entries=4, show_spinner=False)
def csv_bytes(_result: an.ProspectsResult, data_hash: str, reference: str, key: tuple) -> bytes:
    return _result.csv()  # every row: a few seconds for the whole census, so made once per ranking


try:
    # The store's cached frames are replaced after a rebuild or a steward import: their identity
    # (with the data fingerprint) keys the cached rankings.
    data_hash = f"{store.meta().get('data_hash', '')}:{id(store.peers())}:{id(store.jurisdictions())}"
    key = tuple((k, tuple(sorted(v)) if isinstance(v, list) else v) for k, v in values.items()
                if k not in ("reference", "top"))
    result = dataclasses.replace(ranked(store, data_hash, reference, key), top=int(values["top"] or 50))
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()

ref, scored = result.reference, result.scored
m = st.columns(4)
m[0].metric("Jurisdictions ranked", f"{len(scored):,}", help=f"Census jurisdictions {result.where_text}, "
            f"{result.band_text}, except {fmt.md_escape(ref['name'])} itself.")
m[1].metric("Reference", fmt.md_escape(str(ref["name"]).removeprefix("City of ")),
            help=f"{fmt.md_escape(ref['name'])}: population {fmt.integer(ref['population'])}, {ref['region']}, "
                 f"{fmt.md_escape(ref['jtype'] or 'kind not known')} (census)")
if scored.empty:
    st.warning("No jurisdiction matches these filters. Widen the population band or clear a filter.")
    st.stop()
best = scored.iloc[0]
m[2].metric("Closest", fmt.md_escape(best["jurisdiction"]), help=f"score {best['score']:.2f}")
m[3].metric("Its score", f"{best['score']:.2f}", help="0 = nothing alike, 1 = alike in every known way")
if result.set_aside:
    st.caption(f"{result.set_aside:,} jurisdiction{'s' if result.set_aside != 1 else ''} known on fewer than "
               f"{result.min_known} of the weighted dimensions {'are' if result.set_aside != 1 else 'is'} set aside: "
               "with little known, a score means little.")

st.dataframe(an.prospects_table(result), hide_index=True, width="stretch", key="pros_table", column_config={
    "Score": st.column_config.ProgressColumn("Score", min_value=0.0, max_value=1.0, format="%.2f",
                                             help=f"Similarity 0–1 to {fmt.md_escape(ref['name'])}'s jurisdiction"),
    "Legal framework": st.column_config.TextColumn(
        "Legal framework", help=f"Procurement law compared with {fmt.md_escape(ref['name'])}'s: same province/state; "
                                "CFTA (and NWPTA in the west) between provinces; Quebec is its own framework; other country"),
    "Population": st.column_config.NumberColumn("Population", format="localized",
                                                help="2021 Census count (Canada); July 1, 2021 estimate (US)"),
    "Range": st.column_config.TextColumn("Range", help="From the score (unknowns count 0) to the score if every "
                                         "unknown dimension matched fully"),
    "Known": st.column_config.TextColumn("Dims known", help="Dimensions known for both sides, of those scored"),
    "Why": st.column_config.TextColumn("Why (strongest reasons)", width="large")})
st.caption(f"Showing {len(result.shown):,} of {len(scored):,}. Blank = not in the census files. Sources: 2021 Census "
           "of Canada; US Census Bureau 2021 population estimates (see Data & sources).")
st.download_button(f"Download all {len(scored):,} (CSV)", lambda: csv_bytes(result, data_hash, reference, key), file_name=f"prospects-like-{reference}.csv",
                   mime="text/csv", icon=":material/download:",
                   help="Every jurisdiction that passes the filters, best first, with each dimension's contribution.")
with st.expander("Sources & assumptions"):
    st.dataframe(result.weights_table(), hide_index=True, width="stretch")
    st.caption(f"Weights: the {result.preset} preset (an assumption), rescaled over the census dimensions. A dimension "
               "unknown for a jurisdiction counts 0 (never as a match), so knowing less never ranks a jurisdiction "
               "higher; the range shows the score if it matched fully.")
