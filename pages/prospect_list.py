"""Prospects (for vendor staff): which census jurisdictions are most like a peer deployment's?

Layout only: ``piggyback.analyses.peers.analyse_prospects`` ranks every municipality, county and
state (except the reference's own), as ``python -m piggyback prospects`` does. The filters are
kept in the scenario and in the link (?ref=ottawa-on&regions=ON,QC&pop_min=50000&types=City&
preset=size only&top=100)."""

import dataclasses

import streamlit as st

from piggyback.core import fmt

from piggyback.ui import widgets
from piggyback.core import params as url_params
from piggyback.data import peers as peer_data
from piggyback.analyses import peers as an
from piggyback.core.errors import PiggybackError
from piggyback.core.models import CA_PROVINCES, US_STATES
from piggyback.engines.similarity import PRESETS

store = widgets.get_store()
peers = peer_data.peer_candidates(store)
peer_ids = peers["deployment_id"].tolist()
peer_label = dict(zip(peer_ids, peers["jurisdiction"] + " (" + peers["region"] + ") — "
                      + peers["vendor"].fillna("vendor not known")))
region_label = {**{c: f"{c} — {n}" for c, n in CA_PROVINCES.items()},
                **{c: f"{c} — {n} (US)" for c, n in US_STATES.items()}}
jtype_options = store.jurisdictions()["jtype"].value_counts().index.tolist()
ref_param = lambda name: lambda raw: url_params.identifier(raw, name, known=peer_ids, what="peer deployment")  # noqa: E731
LINK = {  # setting: (URL parameter, strict parser)
    "reference": ("ref", ref_param("ref")),
    "regions": ("regions", lambda raw: url_params.choices(raw, "regions", list(region_label))),
    "pop_min": ("pop_min", lambda raw: url_params.whole_number(raw, "pop_min", 0, 50_000_000)),
    "pop_max": ("pop_max", lambda raw: url_params.whole_number(raw, "pop_max", 0, 50_000_000)),
    "jtypes": ("types", lambda raw: url_params.choices(raw, "types", jtype_options)),
    "preset": ("preset", lambda raw: url_params.choice(raw, "preset", list(PRESETS), "balanced", fold=str.lower)),
    "top": ("top", lambda raw: url_params.whole_number(raw, "top", 5, 1000, 50)),
}
settings = widgets.PageSettings("prospects", {"reference": None, "regions": [], "pop_min": None, "pop_max": None,
                                              "jtypes": [], "preset": "balanced", "top": 50}, url=LINK)
if not st.session_state.get("_prospects_peer_read") and not settings.value("reference") and "ref" not in st.query_params:
    st.session_state["_prospects_peer_read"] = True  # a link's ?peer= (the other pages' peer), read once
    settings.set("reference", url_params.identifier(st.query_params.get("peer"), "peer", known=peer_ids).value)
for name, ok in {"reference": lambda v: v if v in peer_ids else None,
                 "regions": lambda v: [r for r in v or [] if r in region_label],
                 "jtypes": lambda v: [t for t in v or [] if t in jtype_options],
                 "preset": lambda v: v if v in PRESETS else "balanced"}.items():
    settings.set(name, ok(settings.value(name)))

st.title("Prospects: who is like this peer?")
st.caption("For vendor staff before a call: every Canadian municipality and US county, city and town, ranked by how "
           "alike it is to a peer deployment's jurisdiction (size, growth, households, kind of government, legal "
           "framework). Modules, legacy system and permit volume are not in the census, so they drop out.")
reference = st.selectbox("Reference deployment", peer_ids, format_func=peer_label.__getitem__,
                         placeholder="Choose a peer deployment …", **settings.bind("reference"),
                         help="The live deployment you are selling from: its jurisdiction is the profile to match.")
c1, c2, c3, c4 = st.columns([3, 2, 2, 3])
c1.multiselect("Province / state", list(region_label), format_func=region_label.__getitem__, placeholder="Anywhere",
               **settings.bind("regions"))
c2.number_input("Population at least", min_value=0, max_value=50_000_000, step=10_000, placeholder="no minimum",
                **settings.bind("pop_min"))
c3.number_input("Population at most", min_value=0, max_value=50_000_000, step=10_000, placeholder="no maximum",
                **settings.bind("pop_max"))
c4.multiselect("Kind of government", jtype_options, placeholder="Any", **settings.bind("jtypes"),
               help="As the census publishes it (City, Town, County, Township …)")
c5, c6, _ = st.columns([2, 2, 5])
c5.selectbox("Weights preset", list(PRESETS), format_func=str.capitalize, **settings.bind("preset"),
             help="What 'alike' means; presets are assumptions (see the Peers page).")
c6.number_input("Show the top", min_value=5, max_value=1000, step=5, **settings.bind("top"),
                help="How many rows to show; the download has every jurisdiction that passes the filters.")
values = settings.values()
for name, (param, _parse) in LINK.items():  # the link names every setting that is not its default
    value = values[name]
    text = ",".join(value) if isinstance(value, list) else "" if value in (None, settings.defaults[name]) else str(value)
    if text and st.query_params.get(param) != text:
        st.query_params[param] = text
    elif not text and param in st.query_params:
        del st.query_params[param]
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
