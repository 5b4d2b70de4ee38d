"""Peers: who is like us? Ranked peers with plain reasons, weights that move, robustness of the
top three, a map, a side-by-side comparison and the peers' public contact points."""

import copy
import datetime as dt
import json

import pandas as pd
import streamlit as st

from piggyback import availability as avail_mod
from piggyback import fmt, identity, vendors, widgets
from piggyback import params as url_params
from piggyback import peers as peer_data
from piggyback.errors import PiggybackError
from piggyback.models import VEHICLES
from piggyback.similarity import (
    DIMENSION_LABELS, DIMENSIONS, PRESETS, SIMILARITY_ASSUMPTIONS, draft_introduction, explain,
    dims_scored, explain_sentence, robustness, score_candidates,
)
from piggyback.similarity_figures import contributions_table, peer_map_figure, score_bar_figure

store = widgets.get_store()
profile = widgets.require_profile()
meeting = widgets.meeting_mode()
section = widgets.scenario_section("peers")

W_KEYS = {d: f"peers_w_{d}" for d in DIMENSIONS}
FILTERS = {"vendors": "peers_f_vendor", "products": "peers_f_product",
           "countries": "peers_f_country", "vehicles": "peers_f_vehicle"}
AVAIL_KEY = "peers_f_avail"
WIDGET_KEYS = ["peers_preset", "peers_compare", *W_KEYS.values(), *FILTERS.values(), AVAIL_KEY]


def pct(weights: dict) -> dict[str, int]:
    """Weights as whole percentages (the sliders' scale)."""
    total = sum(weights.get(d, 0.0) for d in DIMENSIONS) or 1.0
    return {d: int(round(100 * weights.get(d, 0.0) / total)) for d in DIMENSIONS}


def preset_key(text: str | None) -> str | None:
    key = " ".join(str(text or "").replace("_", " ").replace("-", " ").lower().split())
    return key if key in PRESETS else None


# -- state: the scenario section is the truth; widgets start from it ---------------------------
if "preset" not in section:
    wanted = st.query_params.get("weights")  # a preset name, or adjusted weights as small JSON
    section["preset"] = preset_key(wanted) or "balanced"
    section["weights"] = pct(PRESETS[section["preset"]])
    if wanted and not preset_key(wanted):
        parsed = url_params.json_value(wanted, "weights")  # size and depth checked before parsing
        try:
            if parsed.problem:
                raise peer_data.BadWeights(parsed.problem)
            section["weights"] = pct(peer_data.weights_from(parsed.value))
        except PiggybackError:
            st.warning((parsed.problem or "The link's 'weights' value was not understood.")
                       + " The balanced preset is used.", icon=":material/link_off:")
    section.setdefault("filters", {})
    section.setdefault("compare", [])
if section.get("preset") not in PRESETS:
    section["preset"] = "balanced"
if st.session_state.get("_peers_seen") not in (None, section):
    for key in WIDGET_KEYS:  # a scenario was loaded: widgets follow it
        st.session_state.pop(key, None)
st.session_state.setdefault("peers_preset", section["preset"])
for dim, key in W_KEYS.items():
    st.session_state.setdefault(key, int(section["weights"].get(dim, 0)))


def on_preset() -> None:
    sec = widgets.scenario_section("peers")
    sec["preset"] = st.session_state["peers_preset"]
    sec["weights"] = pct(PRESETS[sec["preset"]])
    for dim, key in W_KEYS.items():
        st.session_state[key] = sec["weights"][dim]
    st.session_state["_peers_seen"] = copy.deepcopy(sec)


def on_slider() -> None:
    sec = widgets.scenario_section("peers")
    sec["weights"] = {d: int(st.session_state.get(k, sec["weights"].get(d, 0))) for d, k in W_KEYS.items()}
    st.session_state["_peers_seen"] = copy.deepcopy(sec)


def reset_weights() -> None:
    on_preset()


# -- header and weights -----------------------------------------------------------------------
st.title("Peers: who is like us?")
st.caption(f"Peer deployments ranked by how alike their agency is to **{fmt.md_escape(profile.name)}**. "
           "Peers rank on the score they have for certain: a dimension unknown for a peer counts 0, so "
           "knowing less about a peer never ranks it higher. The range beside it shows how high the "
           "score could go if every unknown dimension matched fully; the scales and weights are "
           "editable assumptions.")

top_row = st.columns([2, 3])
top_row[0].selectbox(
    "Weights preset", list(PRESETS), key="peers_preset", on_change=on_preset,
    format_func=str.capitalize,
    help="A starting point for what 'alike' means: balanced, procurement fit (law, modules, legacy "
         "system), operational fit (size, permits, modules) or size only. Presets are assumptions.")
if not meeting:
    with top_row[1].expander("Adjust weights", expanded=False):
        cols = st.columns(4)
        for i, dim in enumerate(DIMENSIONS):
            cols[i % 4].slider(DIMENSION_LABELS[dim], 0, 100, step=5, key=W_KEYS[dim], on_change=on_slider,
                               help="Relative weight; the weights are rescaled to add up to 100%.")
        st.button("Reset to the preset", on_click=reset_weights)

try:
    weights = peer_data.weights_from(section["weights"])
except PiggybackError as exc:
    st.error(f"{fmt.md_escape(exc)} The {section['preset']} preset is used instead.")
    weights = peer_data.weights_from(PRESETS[section["preset"]])
adjusted = pct(weights) != pct(PRESETS[section["preset"]])
url_weights = json.dumps(pct(weights), separators=(",", ":"), sort_keys=True) if adjusted else section["preset"]
if st.query_params.get("weights") != url_weights:
    st.query_params["weights"] = url_weights
scored_dims = dims_scored(profile, weights)
n_weighted = len(scored_dims)
shares = ", ".join(f"{DIMENSION_LABELS[d].lower()} {weights[d]:.0%}" for d in DIMENSIONS if weights[d] > 0)
left_out = [DIMENSION_LABELS[d].lower() for d in DIMENSIONS if weights[d] > 0 and d not in scored_dims]
top_row[1].caption(("Adjusted from the " if adjusted else "Preset ") + f"**{section['preset']}**: {shares}."
                   + (f" Not in your agency's profile, so left out for every peer: {', '.join(left_out)}."
                      if left_out else ""))

# -- filters ----------------------------------------------------------------------------------
everyone = peer_data.peer_candidates(store)
tables = store.tables()
vendor_index = vendors.VendorIndex(store.table("vendors") if "vendors" in tables else None)
contracts = store.table("contracts") if "contracts" in tables else []
try:
    decision = dt.date.fromisoformat(str(widgets.scenario_section("compliance").get("decision_date") or ""))
except ValueError:
    decision = dt.date.today()
availability = avail_mod.assess_all(everyone, contracts, decision)
options = {
    "vendors": vendors.vendor_choices(everyone["vendor"], vendor_index),
    "products": sorted(everyone["product"].dropna().unique()),
    "countries": sorted(everyone["country"].dropna().unique()),
    "vehicles": [v for v in VEHICLES if v in set(everyone["vehicle"])],
}
labels = {"vendors": "Vendor", "products": "Product", "countries": "Country", "vehicles": "Contract vehicle"}
formats = {"countries": {"CA": "Canada", "US": "United States"}.get, "vehicles": VEHICLES.get}
for name, key in FILTERS.items():
    if key not in st.session_state:
        st.session_state[key] = [v for v in section["filters"].get(name, []) if v in options[name]]
if AVAIL_KEY not in st.session_state:
    st.session_state[AVAIL_KEY] = [v for v in section["filters"].get("availability", [])
                                   if v in avail_mod.STATES]
active = sum(bool(st.session_state[k]) for k in [*FILTERS.values(), AVAIL_KEY])
with st.expander("Filter peers" + (f" ({active} filter{'s' if active != 1 else ''} on)" if active else ""),
                 expanded=bool(active)):
    fcols = st.columns(5)
    chosen_filters = {}
    for i, (name, key) in enumerate(FILTERS.items()):
        chosen_filters[name] = fcols[i].multiselect(labels[name], options[name], key=key,
                                                    format_func=formats.get(name, str), placeholder="Any")
    chosen_avail = fcols[4].multiselect(
        "Contract availability", list(avail_mod.STATES), key=AVAIL_KEY,
        format_func=avail_mod.STATE_LABELS.get, placeholder="Any",
        help=f"Judged on {decision.isoformat()} (the Compliance page's decision date, else today). "
             + " ".join(f"{avail_mod.STATE_LABELS[k]}: {v}" for k, v in avail_mod.STATE_HELP.items()))
    unknown_vendors = vendors.unknown_vendors(everyone["vendor"], vendor_index)
    if unknown_vendors:
        st.caption("Not in the vendor list, so shown as spelled and not merged with any other: "
                   + ", ".join(fmt.md_escape(v) for v in unknown_vendors) + ".")
section["filters"] = {k: list(v) for k, v in chosen_filters.items() if v}
if chosen_avail:
    section["filters"]["availability"] = list(chosen_avail)

# -- scores -----------------------------------------------------------------------------------
# Each peer's score depends only on the pair (agency, peer): score everyone once, then filter.
scored_all = score_candidates(profile, everyone, weights)
vendor_query = chosen_filters.pop("vendors", None)
candidates = peer_data.filter_peers(everyone, exclude_geo_id=profile.geo_id, **chosen_filters)
candidates = candidates[vendors.vendor_mask(candidates["vendor"], vendor_query, vendor_index)]
if chosen_avail:
    candidates = candidates[[availability[d]["state"] in chosen_avail for d in candidates["deployment_id"]]]
scored = scored_all[scored_all["deployment_id"].isin(candidates["deployment_id"])]
own = everyone[everyone["geo_id"] == profile.geo_id]
if not own.empty:
    st.caption(f"Your own deployment on file ({', '.join(fmt.md_escape(j) for j in own['jurisdiction'])}) is not counted as a peer.")
if scored.empty:
    st.warning("No peer deployment matches these filters. Clear a filter to see peers again.")
    st.session_state["_peers_seen"] = copy.deepcopy(section)
    st.stop()
names = dict(zip(everyone["deployment_id"], everyone["jurisdiction"]))
rob = robustness(profile, candidates, weights, top=3, step=0.2)
top3 = rob["baseline_top"]
best = scored.iloc[0]

m = st.columns(4)
m[0].metric("Peers compared", f"{len(scored)} of {len(everyone) - len(own)}",
            help="Peer deployments on file that pass the filters (Data & sources lists them all).")
m[1].metric("Closest peer", fmt.md_escape(str(best["jurisdiction"]).removeprefix("City of ")),
            help=f"{fmt.md_escape(best['jurisdiction'])}, score {best['score']:.2f}")
m[2].metric("Its score", f"{best['score']:.2f}", help="0 = nothing alike, 1 = alike in every way. "
            f"{int(best['dims_used'])} of the {n_weighted} dimensions scored are known for it; with the "
            f"unknown ones matching fully it could reach {best['score_high']:.2f}.")
m[3].metric("Top three", "stable" if rob["stable"] else "fragile",
            help="Whether the top three (or their order) change when any one weight moves ±20%.")

if rob["stable"]:
    st.success(f"The top three are stable when any weight moves ±20% ({rob['checked']} moves checked): "
               f"{', '.join(fmt.md_escape(t) for t in top3)}.", icon=":material/verified:")
else:
    change = rob["changes"][0]
    others = len(rob["changes"]) - 1
    order_only = "" if change["set_changed"] else " (the same three, in a new order)"
    st.warning(f"Fragile: moving {DIMENSION_LABELS[change['dimension']].lower()} {change['direction']} changes "
               f"the top three to {', '.join(fmt.md_escape(t) for t in change['top'])}{order_only}"
               + (f"; {others} other move{'s' if others != 1 else ''} of ±20% also change{'s' if others == 1 else ''} it."
                  if others else ".") + f" Now: {', '.join(fmt.md_escape(t) for t in top3)}.", icon=":material/warning:")
last = st.session_state.get("_peers_last")
if last and last["weights"] != pct(weights) and last["filters"] == section["filters"]:
    if last["top"] != top3:
        st.info(f"With the new weights the top three changed: it was {', '.join(fmt.md_escape(t) for t in last['top'])}.",
                icon=":material/swap_vert:")
    else:
        st.caption("With the new weights the top three did not change.")
st.session_state["_peers_last"] = {"weights": pct(weights), "filters": section["filters"], "top": top3}


# -- ranked table -----------------------------------------------------------------------------
def reason(row: pd.Series) -> str:
    sentence = explain_sentence(profile, row, weights)
    head = f"{row['jurisdiction']} (score {row['score']:.2f}): "
    return sentence.removeprefix(head)


table = pd.DataFrame({
    "Rank": range(1, len(scored) + 1),
    "Peer": scored["jurisdiction"].to_numpy(),
    "Score": scored["score"].to_numpy(),
    "Range": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(scored["score"], scored["score_high"])],
    "Known": [f"{int(u)} of {n_weighted}" for u in scored["dims_used"]],
    "Contract": [availability[d]["label"] for d in scored["deployment_id"]],
    "Contract facts": [avail_mod.reasons_text(availability[d]) for d in scored["deployment_id"]],
    "Why": [reason(r) for _, r in scored.iterrows()],
    "Vendor": [vendors.canonical_vendor(v, vendor_index) or (fmt.BLANK if fmt.missing(v) else v)
               for v in scored["vendor"]],
    "Product": scored["product"].fillna(fmt.BLANK).to_numpy(),
    "Modules": [", ".join(c) if len(c) else fmt.BLANK for c in scored["module_codes"]],
    "Vehicle": [VEHICLES.get(v, v) if not fmt.missing(v) else VEHICLES["unknown"] for v in scored["vehicle"]],
    "Go-live": scored["go_live"].fillna(fmt.BLANK).to_numpy(),
    "Confidence": scored["confidence"].map(fmt.confidence).to_numpy(),
    "Source": [u[0] if len(u) else None for u in scored["source_urls"]],
})
st.dataframe(table, hide_index=True, width="stretch", key="peers_ranked", column_config={
    "Score": st.column_config.ProgressColumn("Score", min_value=0.0, max_value=1.0, format="%.2f",
                                             help="Similarity 0–1; a dimension unknown for the peer counts 0"),
    "Range": st.column_config.TextColumn("Range", help="From the score (unknowns count 0) to the score if "
                                         "every unknown dimension matched fully"),
    "Known": st.column_config.TextColumn("Dims known", help="Dimensions known for both sides, of those scored"),
    "Contract": st.column_config.TextColumn("Contract", help=f"May another body use this peer's contract "
                                            f"on {decision.isoformat()}? Available, Expired, Not adoptable "
                                            "or Unknown, from the facts on file"),
    "Contract facts": st.column_config.TextColumn("Contract facts", width="medium"),
    "Why": st.column_config.TextColumn("Why (strongest reasons)", width="large"),
    "Modules": st.column_config.TextColumn("Modules", help="Modules listed by the sources; live status "
                                           "not confirmed (the records do not say which are live)"),
    "Go-live": st.column_config.TextColumn("Go-live", help="As published: a year, a month or a day"),
    "Vehicle": st.column_config.TextColumn("Contract vehicle", help="As the sources describe it"),
    "Source": widgets.link_column("First source"),
})

# Only the open tab is drawn (the figures are the costly part of a rerun).
tab_why, tab_map, tab_src = st.tabs(["Why these scores", "Map", "Sources & assumptions"], key="peers_tab",
                                    on_change="rerun")
if tab_why.open:
    with tab_why:
        st.plotly_chart(score_bar_figure(scored, top=10), width="stretch", key="peers_bars")
        with st.expander("The numbers behind the bars"):
            st.dataframe(contributions_table(scored, top=10), hide_index=True, width="stretch")
            st.caption("A blank means the dimension is unknown for that peer: it adds 0 to the score and "
                       "widens the range.")
if tab_map.open:
    with tab_map:
        fig = peer_map_figure(profile.model_dump(), scored, title=f"{profile.name} and its peers")
        st.plotly_chart(fig, width="stretch", key="peers_map")
        missing = fig.layout.meta["missing_coordinates"]
        st.caption((f"{missing} of {len(scored)} peers have no map point on file and are not drawn. " if missing
                    else "Every peer shown has a map point. ")
                   + "Points: GNIS for US places, GeoNames for larger Canadian municipalities; "
                   "a municipality without a point is left off rather than placed by guess.")
if tab_src.open:
    with tab_src:
        st.markdown("**Weights in use** (assumptions: a preset you can adjust)")
        st.dataframe(pd.DataFrame({"dimension": [DIMENSION_LABELS[d] for d in DIMENSIONS],
                                   "weight": [f"{weights[d]:.0%}" for d in DIMENSIONS],
                                   "kind": "assumption"}), hide_index=True, width="stretch")
        st.markdown("**Scales** (default assumptions of the similarity engine)")
        st.dataframe(pd.DataFrame(SIMILARITY_ASSUMPTIONS)[["name", "value", "unit", "kind", "note"]],
                     hide_index=True, width="stretch")
        st.caption("Population, growth, households and density: 2021 Census of Canada and US Census Bureau "
                   "2021 estimates (see Data & sources). Modules, legacy system, vendor and dates: the peer "
                   "records' own sources, each with its confidence. Permit volume: peers' published outcomes.")

# -- side by side -----------------------------------------------------------------------------
st.subheader("Compare peers side by side")
ranked_ids = scored["deployment_id"].tolist()
if "peers_compare" not in st.session_state:
    st.session_state["peers_compare"] = [d for d in section.get("compare", []) if d in ranked_ids][:4]
st.session_state["peers_compare"] = [d for d in st.session_state["peers_compare"] if d in ranked_ids]
compare = st.multiselect("Peers to compare (two to four)", ranked_ids, key="peers_compare",
                         max_selections=4, format_func=names.__getitem__,
                         placeholder="Choose two to four peers …")
section["compare"] = list(compare)
if not compare:
    st.caption("Choose two to four peers to see their facts side by side, with their sources.")
else:
    try:
        with st.container(key="peers_side_by_side"):
            st.dataframe(peer_data.compare_table(store, compare), width="stretch",
                         column_config={"fact": st.column_config.TextColumn("Fact")})
        if len(compare) == 1:
            st.caption("Add another peer to compare.")
        st.caption(f"{fmt.BLANK} = not found in the sources (nothing is estimated). Population: the census "
                   "figure named, or the figure the peer's sources published.")
        src = pd.concat([peer_data.peer_sources(store, d).assign(peer=names[d]) for d in compare],
                        ignore_index=True)
        st.markdown("**Sources**")
        st.dataframe(src.assign(kind=src["kind"].map(fmt.kind))[["peer", "url", "title", "kind"]],
                     hide_index=True, width="stretch", column_config={
                         "url": widgets.link_column("Source"), "title": "Title", "kind": "Kind"})
        claims = pd.concat([peer_data.peer_claims(store, d).assign(peer=names[d]) for d in compare],
                           ignore_index=True)
        if not claims.empty:
            st.markdown("**Vendor-stated claims** (shown as the vendor made them; never used as evidence)")
            st.dataframe(claims.assign(kind=claims["kind"].map(fmt.kind))[
                ["peer", "claim", "kind", "status", "research_note"]], hide_index=True, width="stretch",
                column_config={"claim": "Claim", "kind": "Kind", "status": "Status",
                               "research_note": "What research found"})
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))

# -- sister municipalities --------------------------------------------------------------------
st.subheader("Sister municipalities: ask a peer")
chosen = widgets.peer_picker(store, "Peer to contact (and whose contract you would adopt)")
targets = [chosen] if chosen else ranked_ids[:3]
st.caption("Shared with Compliance, Timeline and Cost. " + (
    "" if chosen else "Until you choose one, the three closest peers are shown."))
edits_on = identity.can(widgets.current_user(), "contact.add") and not meeting
by_id = scored_all.set_index("deployment_id", drop=False)

flash = st.session_state.pop("_peers_flash", None)
if flash:
    st.success(flash)


def contact_form(dep_id: str) -> None:
    with st.expander(f"Add a public contact point for {fmt.md_escape(names[dep_id])} (data steward)"):
        with st.form(f"peers_contact_{dep_id}", clear_on_submit=False):
            department = st.text_input("Department or public role", max_chars=200,
                                       placeholder="e.g. City of Guelph, Building Services")
            channel = st.selectbox("Channel", ["web", "email", "phone"])
            value = st.text_input("Address, number or page", max_chars=300,
                                  placeholder="https://…, permits@…, +1 …")
            source = st.text_input("Where it is published (web address)", max_chars=1000)
            confidence = st.selectbox("Confidence", ["medium", "high", "low"])
            as_of = st.text_input("As of (YYYY, YYYY-MM or YYYY-MM-DD)", max_chars=10)
            public = st.checkbox("This is a department or public role, not a private person")
            if st.form_submit_button("Save contact point"):
                if not public:
                    st.error("Confirm that this is a public department or role contact point.")
                    return
                try:
                    peer_data.add_contact(store, dep_id, department, channel, value, source,
                                          user=widgets.current_user(), confidence=confidence,
                                          as_of=as_of or None)
                except PiggybackError as exc:
                    st.error(fmt.md_escape(exc))
                    return
                st.session_state["_peers_flash"] = f"Saved a contact point for {fmt.md_escape(names[dep_id])} (recorded in the audit log)."
                st.rerun()


for dep_id in targets:
    row = by_id.loc[dep_id]
    st.markdown(f"**{fmt.md_escape(row['jurisdiction'])}** — score {row['score']:.2f}, "
                f"{fmt.md_escape(row['vendor']) if not fmt.missing(row['vendor']) else 'vendor not known'}, "
                f"contract: {availability[dep_id]['label'].lower()}")
    try:
        contacts = peer_data.contacts_for(store, dep_id)
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))
        continue
    if contacts.empty:
        st.info(f"No public contact on file for {fmt.md_escape(row['jurisdiction'])}.", icon=":material/contact_support:")
        if edits_on:
            contact_form(dep_id)
    else:
        shown = pd.DataFrame({
            "Department or role": contacts["department"],
            "Channel": contacts["channel"],
            "Contact": [peer_data.contact_link(c, v) for c, v in zip(contacts["channel"], contacts["value"])],
            "Source": contacts["source_url"],
            "Confidence": contacts["confidence"].map(fmt.confidence),
            "As of": contacts["as_of"].map(lambda v: fmt.BLANK if fmt.missing(v) else v),
            "Kind": contacts["kind"].map(fmt.kind),
        })
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "Contact": st.column_config.LinkColumn("Contact", display_text=r"^(?:mailto:|tel:|https?://(?:www\.)?)([^/?]+)"),
            "Source": widgets.link_column("Source"),
        })

intro_id = chosen or ranked_ids[0]
intro_row = by_id.loc[intro_id]
with st.expander(f"Ask for an introduction to {fmt.md_escape(intro_row['jurisdiction'])}", expanded=bool(chosen),
                 icon=":material/mail:"):
    contacts = peer_data.contacts_for(store, intro_id)
    first = contacts.iloc[0].to_dict() if not contacts.empty else None
    try:
        draft = draft_introduction(profile, intro_row, explain(profile, intro_row, weights)[:3], first,
                                   availability=availability.get(intro_id))
    except ValueError as exc:
        st.error(fmt.md_escape(exc))
    else:
        text = st.text_area("Draft message (copy or edit it before sending)", value=draft, height=380,
                            key=f"peers_intro_{intro_id}")
        st.download_button("Download the message (.txt)", text or draft, file_name=f"introduction-{intro_id}.txt",
                           mime="text/plain", icon=":material/download:")
        st.caption("The message names no person: it goes to the peer's public contact point, and you sign it.")

st.session_state["_peers_seen"] = copy.deepcopy(section)
