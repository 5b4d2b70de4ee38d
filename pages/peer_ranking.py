"""Peers: who is like us? Layout only: ``piggyback.analyses.peers.analyse_peers`` ranks the peers (as
``similar`` and the business case do); this page binds its settings and draws the result."""

import datetime as dt

import streamlit as st

from piggyback.engines import availability as avail_mod
from piggyback.core import fmt, identity
from piggyback.ui import widgets
from piggyback.data import peers as peer_data
from piggyback.analyses import peers as an
from piggyback.core.errors import PiggybackError
from piggyback.core.models import VEHICLES
from piggyback.engines.similarity import DIMENSION_LABELS, DIMENSIONS, PRESETS, SIMILARITY_ASSUMPTIONS
from piggyback.figures.similarity_figures import contributions_table, peer_map_figure, score_bar_figure

store, profile, meeting = widgets.get_store(), widgets.require_profile(), widgets.meeting_mode()
an.upgrade_section(widgets.scenario_section("peers"))
settings = widgets.PageSettings("peers", {**an.DEFAULTS, "compare": []}, url={"weights": ("weights", an.weights_param)})
if isinstance(settings.value("weights"), str):  # ?weights=<preset name>
    settings.set("preset", settings.value("weights")), settings.set("weights", None)
W_KEYS = {d: f"peers.w_{d}" for d in DIMENSIONS}


def on_preset() -> None:
    settings.set("preset", st.session_state["peers.preset"]), settings.set("weights", None)


def on_slider() -> None:
    settings.set("weights", {d: int(st.session_state[k]) for d, k in W_KEYS.items()})


st.title("Peers: who is like us?")
st.caption(f"Peer deployments ranked by how alike their agency is to **{fmt.md_escape(profile.name)}**. Peers rank on "
           "the score they have for certain: a dimension unknown for a peer counts 0, so knowing less about a peer never "
           "ranks it higher. The range beside it shows how high the score could go if every unknown dimension matched "
           "fully; the scales and weights are editable assumptions.")
try:
    decision = dt.date.fromisoformat(str(widgets.scenario_section("compliance").get("decision_date") or ""))
except ValueError:
    decision = dt.date.today()
try:
    result = an.analyse_peers(store, profile, {**settings.values(), "decision_date": decision}, today=dt.date.today())
except PiggybackError as exc:
    st.error(f"{fmt.md_escape(exc)} The {settings.value('preset')} preset is used instead.")
    settings.set("weights", None)
    result = an.analyse_peers(store, profile, {**settings.values(), "decision_date": decision}, today=dt.date.today())
if st.query_params.get("weights") != result.url_weights:
    st.query_params["weights"] = result.url_weights

top_row = st.columns([2, 3])
top_row[0].selectbox("Weights preset", list(PRESETS), format_func=str.capitalize, **{
    **settings.bind("preset"), "on_change": on_preset, "args": ()},
    help="A starting point for what 'alike' means: balanced, procurement fit (law, modules, legacy system), "
         "operational fit (size, permits, modules) or size only. Presets are assumptions.")
if not meeting:
    with top_row[1].expander("Adjust weights", expanded=False):
        cols = st.columns(4)
        for i, dim in enumerate(DIMENSIONS):
            st.session_state[W_KEYS[dim]] = result.weights_pct[dim]
            cols[i % 4].slider(DIMENSION_LABELS[dim], 0, 100, step=5, key=W_KEYS[dim], on_change=on_slider,
                               help="Relative weight; the weights are rescaled to add up to 100%.")
        st.button("Reset to the preset", on_click=on_preset)
left_out = ", ".join(DIMENSION_LABELS[d].lower() for d in result.left_out)
top_row[1].caption(("Adjusted from the " if result.adjusted else "Preset ") + f"**{result.preset}**: {result.shares_text}."
                   + (f" Not in your agency's profile, so left out for every peer: {left_out}." if left_out else ""))

labels = {"vendor": "Vendor", "product": "Product", "country": "Country", "vehicle": "Contract vehicle",
          "availability": "Contract availability"}
formats = {"country": {"CA": "Canada", "US": "United States"}.get, "vehicle": VEHICLES.get,
           "availability": avail_mod.STATE_LABELS.get}
active = len(result.filters)
with st.expander("Filter peers" + (f" ({active} filter{'s' if active != 1 else ''} on)" if active else ""),
                 expanded=bool(active)):
    for col, name in zip(st.columns(5), an.FILTERS):
        settings.set(name, [v for v in settings.value(name) if v in result.options[name]])
        col.multiselect(labels[name], result.options[name], format_func=formats.get(name, str), placeholder="Any",
                        **settings.bind(name), help=None if name != "availability" else
                        f"Judged on {decision.isoformat()} (the Compliance page's decision date, else today). "
                        + " ".join(f"{avail_mod.STATE_LABELS[k]}: {v}" for k, v in avail_mod.STATE_HELP.items()))
    if result.unknown_vendors:
        st.caption("Not in the vendor list, so shown as spelled and not merged with any other: "
                   + ", ".join(fmt.md_escape(v) for v in result.unknown_vendors) + ".")
if result.own:
    st.caption(f"Your own deployment on file ({', '.join(fmt.md_escape(j) for j in result.own)}) is not counted as a peer.")
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
last, now = st.session_state.get("_peers_last"), {"weights": result.weights_pct, "filters": result.filters,
                                                  "top": result.top_names}
if last and last["weights"] != now["weights"] and last["filters"] == now["filters"]:
    if last["top"] != now["top"]:
        st.info(f"With the new weights the top three changed: it was {', '.join(fmt.md_escape(t) for t in last['top'])}.",
                icon=":material/swap_vert:")
    else:
        st.caption("With the new weights the top three did not change.")
st.session_state["_peers_last"] = now

text_columns = {c: st.column_config.TextColumn(label, help=tip and tip.format(date=decision.isoformat()), width=width)
                for c, (label, tip, width) in an.RANKED_COLUMN_HELP.items()}
st.dataframe(an.ranked_table(result), hide_index=True, width="stretch", key="peers_ranked", column_config={
    **text_columns, "Source": widgets.link_column("First source"),
    "Score": st.column_config.ProgressColumn("Score", min_value=0.0, max_value=1.0, format="%.2f",
                                             help="Similarity 0–1; a dimension unknown for the peer counts 0")})

# Only the open tab is drawn (the figures are the costly part of a rerun).
tab_why, tab_map, tab_src = st.tabs(["Why these scores", "Map", "Sources & assumptions"], key="peers_tab",
                                    on_change="rerun")
if tab_why.open:
    with tab_why:
        st.plotly_chart(score_bar_figure(result.scored, top=10), width="stretch", key="peers_bars")
        with st.expander("The numbers behind the bars"):
            st.dataframe(contributions_table(result.scored, top=10), hide_index=True, width="stretch")
            st.caption("A blank means the dimension is unknown for that peer: it adds 0 to the score and widens the range.")
if tab_map.open:
    with tab_map:
        fig = peer_map_figure(profile.model_dump(), result.scored, title=f"{profile.name} and its peers")
        st.plotly_chart(fig, width="stretch", key="peers_map")
        missing = fig.layout.meta["missing_coordinates"]
        st.caption((f"{missing} of {len(result.items)} peers have no map point on file and are not drawn. " if missing
                    else "Every peer shown has a map point. ") + "Points: GNIS for US places, GeoNames for larger "
                   "Canadian municipalities; a municipality without a point is left off rather than placed by guess.")
if tab_src.open:
    with tab_src:
        st.markdown("**Weights in use** (assumptions: a preset you can adjust)")
        st.dataframe(an.weights_table(result), hide_index=True, width="stretch")
        st.markdown("**Scales** (default assumptions of the similarity engine)")
        st.dataframe([{k: a[k] for k in ("name", "value", "unit", "kind", "note")} for a in SIMILARITY_ASSUMPTIONS],
                     hide_index=True, width="stretch")
        st.caption("Population, growth, households and density: 2021 Census of Canada and US Census Bureau 2021 "
                   "estimates (see Data & sources). Modules, legacy system, vendor and dates: the peer records' own "
                   "sources, each with its confidence. Permit volume: peers' published outcomes.")

st.subheader("Compare peers side by side")
names = {i["deployment_id"]: i["jurisdiction"] for i in result.items}
settings.set("compare", [d for d in settings.value("compare") if d in names][:4])
compare = st.multiselect("Peers to compare (two to four)", list(names), max_selections=4, format_func=names.__getitem__,
                         placeholder="Choose two to four peers …", **settings.bind("compare"))
if not compare:
    st.caption("Choose two to four peers to see their facts side by side, with their sources.")
else:
    try:
        with st.container(key="peers_side_by_side"):
            st.dataframe(peer_data.compare_table(store, compare), width="stretch",
                         column_config={"fact": st.column_config.TextColumn("Fact")})
        if len(compare) == 1:
            st.caption("Add another peer to compare.")
        st.caption(f"{fmt.BLANK} = not found in the sources (nothing is estimated). Population: the census figure "
                   "named, or the figure the peer's sources published.")
        src, claims = an.compare_evidence(store, compare, names)
        st.markdown("**Sources**")
        st.dataframe(src, hide_index=True, width="stretch", column_config={
            "url": widgets.link_column("Source"), "title": "Title", "kind": "Kind"})
        if not claims.empty:
            st.markdown("**Vendor-stated claims** (shown as the vendor made them; never used as evidence)")
            st.dataframe(claims, hide_index=True, width="stretch", column_config={
                "claim": "Claim", "kind": "Kind", "status": "Status", "research_note": "What research found"})
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))

st.subheader("Sister municipalities: ask a peer")
chosen = widgets.peer_picker(store, "Peer to contact (and whose contract you would adopt)")
targets = [chosen] if chosen else list(names)[:3]
st.caption("Shared with Compliance, Timeline and Cost. " + ("" if chosen else "Until you choose one, the three "
                                                             "closest peers are shown."))
edits_on = identity.can(widgets.current_user(), "contact.add") and not meeting
flash = st.session_state.pop("_peers_flash", None)
if flash:
    st.success(flash)


def contact_form(dep_id: str, name: str) -> None:
    with st.expander(f"Add a public contact point for {fmt.md_escape(name)} (data steward)"), \
            st.form(f"peers_contact_{dep_id}", clear_on_submit=False):
        department = st.text_input("Department or public role", max_chars=200,
                                   placeholder="e.g. City of Guelph, Building Services")
        channel = st.selectbox("Channel", ["web", "email", "phone"])
        value = st.text_input("Address, number or page", max_chars=300, placeholder="https://…, permits@…, +1 …")
        source = st.text_input("Where it is published (web address)", max_chars=1000)
        confidence = st.selectbox("Confidence", ["medium", "high", "low"])
        as_of = st.text_input("As of (YYYY, YYYY-MM or YYYY-MM-DD)", max_chars=10)
        public = st.checkbox("This is a department or public role, not a private person")
        if not st.form_submit_button("Save contact point"):
            return
        if not public:
            return st.error("Confirm that this is a public department or role contact point.")
        try:
            peer_data.add_contact(store, dep_id, department, channel, value, source, user=widgets.current_user(),
                                  confidence=confidence, as_of=as_of or None)
        except PiggybackError as exc:
            return st.error(fmt.md_escape(exc))
        st.session_state["_peers_flash"] = f"Saved a contact point for {fmt.md_escape(name)} (recorded in the audit log)."
        st.rerun()


for dep_id in targets:
    item = result.item(dep_id)
    st.markdown(f"**{fmt.md_escape(item['jurisdiction'])}** — score {item['score']:.2f}, "
                f"{fmt.md_escape(item['vendor']) if item['vendor'] else 'vendor not known'}, "
                f"contract: {item['availability']['label'].lower()}")
    try:
        contacts = peer_data.contacts_for(store, dep_id)
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))
        continue
    if contacts.empty:
        st.info(f"No public contact on file for {fmt.md_escape(item['jurisdiction'])}.", icon=":material/contact_support:")
        if edits_on:
            contact_form(dep_id, item["jurisdiction"])
    else:
        st.dataframe(an.contacts_table(contacts), hide_index=True, width="stretch", column_config={
            "Contact": st.column_config.LinkColumn("Contact", display_text=r"^(?:mailto:|tel:|https?://(?:www\.)?)([^/?]+)"),
            "Source": widgets.link_column("Source")})

intro_id = chosen or next(iter(names))
intro = result.item(intro_id)
with st.expander(f"Ask for an introduction to {fmt.md_escape(intro['jurisdiction'])}", expanded=bool(chosen),
                 icon=":material/mail:"):
    contacts = peer_data.contacts_for(store, intro_id)
    first = contacts.iloc[0].to_dict() if not contacts.empty else None
    try:
        draft = result.introduction(intro_id, first)
    except (ValueError, PiggybackError) as exc:
        st.error(fmt.md_escape(exc))
    else:
        text = st.text_area("Draft message (copy or edit it before sending)", value=draft, height=380,
                            key=f"peers_intro_{intro_id}")
        st.download_button("Download the message (.txt)", text or draft, file_name=f"introduction-{intro_id}.txt",
                           mime="text/plain", icon=":material/download:")
        st.caption(fmt.md_escape(an.contact_note(first, intro["jurisdiction"]))
                   + " The message names no person: it goes to the peer's public contact point, and you sign it.")
