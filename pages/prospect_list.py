"""Prospects (for vendor staff): which census jurisdictions are most like a peer deployment's?

Rank every municipality, county and state (except the reference's own) by similarity to the
reference's jurisdiction, filter by province/state, population band and kind of government,
and download the whole filtered list."""

import copy

import pandas as pd
import streamlit as st

from piggyback import fmt, widgets
from piggyback import params as url_params
from piggyback import peers as peer_data
from piggyback.errors import PiggybackError
from piggyback.models import CA_PROVINCES, US_STATES
from piggyback.similarity import DIMENSION_LABELS, DIMENSIONS, PRESETS, dims_scored

store = widgets.get_store()
section = widgets.scenario_section("prospects")
KEYS = {"reference": "pros_ref", "regions": "pros_regions", "pop_min": "pros_pop_min",
        "pop_max": "pros_pop_max", "jtypes": "pros_types", "preset": "pros_preset",
        "top": "pros_top"}
DEFAULTS = {"reference": None, "regions": [], "pop_min": None, "pop_max": None, "jtypes": [],
            "preset": "balanced", "top": 50}

peers = peer_data.peer_candidates(store)
peer_ids = peers["deployment_id"].tolist()
peer_label = dict(zip(peer_ids, peers["jurisdiction"] + " (" + peers["region"] + ") — "
                      + peers["vendor"].fillna("vendor not known")))
region_label = {**{c: f"{c} — {n}" for c, n in CA_PROVINCES.items()},
                **{c: f"{c} — {n} (US)" for c, n in US_STATES.items()}}
jur = store.jurisdictions()
jtype_options = jur["jtype"].value_counts().index.tolist()

# -- state: the scenario section is the truth; widgets start from it ---------------------------
if "reference" not in section:
    wanted = url_params.identifier(st.query_params.get("ref"), "ref", known=peer_ids, what="peer deployment")
    if not wanted.given:
        wanted = url_params.identifier(st.query_params.get("peer"), "peer", known=peer_ids, what="peer deployment")
    section.update(copy.deepcopy(DEFAULTS))
    section["reference"] = wanted.value
    if wanted.problem:
        st.warning(wanted.problem, icon=":material/link_off:")
    # The filters travel in the link too (?regions=ON,QC&pop_min=50000&types=City&preset=size&top=100).
    from_link = {
        "regions": url_params.choices(st.query_params.get("regions"), "regions", list(region_label)),
        "pop_min": url_params.whole_number(st.query_params.get("pop_min"), "pop_min", 0, 50_000_000),
        "pop_max": url_params.whole_number(st.query_params.get("pop_max"), "pop_max", 0, 50_000_000),
        "jtypes": url_params.choices(st.query_params.get("types"), "types", jtype_options),
        "preset": url_params.choice(st.query_params.get("preset"), "preset", list(PRESETS), "balanced",
                                    fold=str.lower),
        "top": url_params.whole_number(st.query_params.get("top"), "top", 5, 1000, 50)}
    for name, got in from_link.items():
        if got.given and got.value is not None:
            section[name] = got.value
        if got.problem:
            st.warning(got.problem, icon=":material/link_off:")
if st.session_state.get("_pros_seen") not in (None, section):
    for key in KEYS.values():
        st.session_state.pop(key, None)
valid = {"reference": lambda v: v if v in peer_ids else None,
         "regions": lambda v: [r for r in v or [] if r in region_label],
         "jtypes": lambda v: [t for t in v or [] if t in jtype_options],
         "preset": lambda v: v if v in PRESETS else "balanced"}
for name, key in KEYS.items():
    if key not in st.session_state:
        value = section.get(name, DEFAULTS[name])
        st.session_state[key] = valid.get(name, lambda v: v)(value)

st.title("Prospects: who is like this peer?")
st.caption("For vendor staff before a call: every Canadian municipality and US county, city and town, "
           "ranked by how alike it is to a peer deployment's jurisdiction (size, growth, households, kind "
           "of government, legal framework). Modules, legacy system and permit volume are not in the census, "
           "so they drop out.")

reference = st.selectbox("Reference deployment", peer_ids, key=KEYS["reference"], index=None,
                         format_func=peer_label.__getitem__, placeholder="Choose a peer deployment …",
                         help="The live deployment you are selling from: its jurisdiction is the profile to match.")
c1, c2, c3, c4 = st.columns([3, 2, 2, 3])
regions = c1.multiselect("Province / state", list(region_label), key=KEYS["regions"],
                         format_func=region_label.__getitem__, placeholder="Anywhere")
pop_min = c2.number_input("Population at least", min_value=0, max_value=50_000_000, step=10_000,
                          key=KEYS["pop_min"], placeholder="no minimum")
pop_max = c3.number_input("Population at most", min_value=0, max_value=50_000_000, step=10_000,
                          key=KEYS["pop_max"], placeholder="no maximum")
jtypes = c4.multiselect("Kind of government", jtype_options, key=KEYS["jtypes"], placeholder="Any",
                        help="As the census publishes it (City, Town, County, Township …)")
c5, c6, _ = st.columns([2, 2, 5])
preset = c5.selectbox("Weights preset", list(PRESETS), key=KEYS["preset"], format_func=str.capitalize,
                      help="What 'alike' means; presets are assumptions (see the Peers page).")
top = c6.number_input("Show the top", min_value=5, max_value=1000, step=5, key=KEYS["top"],
                      help="How many rows to show; the download has every jurisdiction that passes the filters.")
section.update({"reference": reference, "regions": list(regions), "pop_min": pop_min, "pop_max": pop_max,
                "jtypes": list(jtypes), "preset": preset, "top": int(top or 50)})
st.session_state["_pros_seen"] = copy.deepcopy(section)
if reference:
    if st.query_params.get("ref") != reference:
        st.query_params["ref"] = reference
elif "ref" in st.query_params:
    del st.query_params["ref"]
for name, value in {"regions": ",".join(regions), "pop_min": pop_min, "pop_max": pop_max, "types": ",".join(jtypes),
                    "preset": None if preset == "balanced" else preset,
                    "top": None if int(top or 50) == 50 else int(top)}.items():
    text = "" if value is None else str(int(value)) if isinstance(value, (int, float)) else value
    if text and st.query_params.get(name) != text:
        st.query_params[name] = text
    elif not text and name in st.query_params:
        del st.query_params[name]

if not reference:
    st.info("Choose the reference deployment: the peer whose jurisdiction the prospects should resemble.",
            icon=":material/travel_explore:")
    st.stop()


@st.cache_resource(max_entries=12, show_spinner="Ranking every jurisdiction …")
def ranked(_store, data_hash: str, reference: str, regions: tuple, pop_min, pop_max, jtypes: tuple,
           preset: str):
    """(reference agency, scored frame, set aside): kept per filter combination; not mutated."""
    return peer_data.rank_prospects(_store, reference, preset, region=list(regions), pop_min=pop_min,
                                    pop_max=pop_max, jtypes=list(jtypes))


@st.cache_resource(max_entries=4, show_spinner=False)
def csv_bytes(_scored: pd.DataFrame, data_hash: str, key: tuple) -> bytes:
    return peer_data.prospects_csv(_scored)


try:
    # The store's cached frames are replaced after a rebuild or a steward import: their identity
    # (with the data fingerprint) keys the cached rankings.
    data_hash = f"{store.meta().get('data_hash', '')}:{id(store.peers())}:{id(store.jurisdictions())}"
    key = (reference, tuple(sorted(regions)), pop_min, pop_max, tuple(sorted(jtypes)), preset)
    agency, scored, set_aside = ranked(store, data_hash, *key)
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()

weights = peer_data.weights_from(preset)
ref_name = agency["name"]
where = ", ".join(regions) if regions else "anywhere"
band = peer_data.population_band_text(pop_min, pop_max)
m = st.columns(4)
m[0].metric("Jurisdictions ranked", f"{len(scored):,}",
            help=f"Census jurisdictions {where}, {band}, except {fmt.md_escape(ref_name)} itself.")
m[1].metric("Reference", fmt.md_escape(str(ref_name).removeprefix("City of ")),
            help=f"{fmt.md_escape(ref_name)}: population {fmt.integer(agency['population'])}, {agency['region']}, "
                 f"{fmt.md_escape(agency['jtype'] or 'kind not known')} (census)")
if scored.empty:
    st.warning("No jurisdiction matches these filters. Widen the population band or clear a filter.")
    st.stop()
best = scored.iloc[0]
m[2].metric("Closest", fmt.md_escape(best["jurisdiction"]), help=f"score {best['score']:.2f}")
m[3].metric("Its score", f"{best['score']:.2f}", help="0 = nothing alike, 1 = alike in every known way")
if set_aside:
    st.caption(f"{set_aside:,} jurisdiction{'s' if set_aside != 1 else ''} known on fewer than "
               f"{peer_data.min_known_for(weights)} of the weighted dimensions "
               f"{'are' if set_aside != 1 else 'is'} set aside: with little known, a score means little.")

shown = scored.head(int(top or 50))
n_weighted = len(dims_scored(agency, weights, peer_data.CENSUS_DIMENSIONS))
table = pd.DataFrame({
    "Rank": range(1, len(shown) + 1),
    "Jurisdiction": shown["jurisdiction"].to_numpy(),
    "Score": shown["score"].to_numpy(),
    "Legal framework": shown["legal"].to_numpy(),
    "Population": shown["population"].to_numpy(),
    "Type": shown["jtype"].fillna(fmt.BLANK).to_numpy(),
    "Region": shown["region"].to_numpy(),
    "Range": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(shown["score"], shown["score_high"])],
    "Known": [f"{int(u)} of {n_weighted}" for u in shown["dims_used"]],
    "Why": ["; ".join(peer_data.reference_reasons(agency, row, weights)) for _, row in shown.iterrows()],
    "Census id": shown["geo_id"].to_numpy(),
})
st.dataframe(table, hide_index=True, width="stretch", key="pros_table", column_config={
    "Score": st.column_config.ProgressColumn("Score", min_value=0.0, max_value=1.0, format="%.2f",
                                             help=f"Similarity 0–1 to {fmt.md_escape(ref_name)}'s jurisdiction"),
    "Legal framework": st.column_config.TextColumn(
        "Legal framework", help=f"Procurement law compared with {fmt.md_escape(ref_name)}'s: same province/state; CFTA "
                                "(and NWPTA in the west) between provinces; Quebec is its own framework; "
                                "other country"),
    "Population": st.column_config.NumberColumn("Population", format="localized",
                                                help="2021 Census count (Canada); July 1, 2021 estimate (US)"),
    "Range": st.column_config.TextColumn("Range", help="From the score (unknowns count 0) to the score if "
                                         "every unknown dimension matched fully"),
    "Known": st.column_config.TextColumn("Dims known", help="Dimensions known for both sides, of those scored"),
    "Why": st.column_config.TextColumn("Why (strongest reasons)", width="large"),
})
st.caption(f"Showing {len(shown):,} of {len(scored):,}. Blank = not in the census files. Sources: 2021 Census "
           "of Canada; US Census Bureau 2021 population estimates (see Data & sources).")

st.download_button(
    f"Download all {len(scored):,} (CSV)", lambda: csv_bytes(scored, data_hash, key),
    file_name=f"prospects-like-{reference}.csv", mime="text/csv", icon=":material/download:",
    help="Every jurisdiction that passes the filters, best first, with each dimension's contribution.")

census_total = sum(weights[d] for d in peer_data.CENSUS_DIMENSIONS)
with st.expander("Sources & assumptions"):
    st.dataframe(pd.DataFrame({"dimension": [DIMENSION_LABELS[d] for d in DIMENSIONS],
                               "weight in the preset": [f"{weights[d]:.0%}" for d in DIMENSIONS],
                               "share here": [f"{weights[d] / census_total:.0%}" if d in peer_data.CENSUS_DIMENSIONS
                                              and census_total else fmt.BLANK for d in DIMENSIONS],
                               "used here": ["yes" if d in peer_data.CENSUS_DIMENSIONS
                                             else "no (not in the census)" for d in DIMENSIONS]}),
                 hide_index=True, width="stretch")
    st.caption(f"Weights: the {preset} preset (an assumption), rescaled over the census dimensions. A "
               "dimension unknown for a jurisdiction counts 0 (never as a match), so knowing less never "
               "ranks a jurisdiction higher; the range shows the score if it matched fully.")
