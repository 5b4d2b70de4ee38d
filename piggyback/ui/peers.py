"""The Peers page's controls and blocks (``pages/peer_ranking.py`` lays them out in order).

Each function draws one part of the page from a ``piggyback.analyses.peers.PeersResult``; the words and
tables they show are built in ``piggyback.analyses.peers``. Widget keys, labels and messages are what
the page's tests and the browser tests find: ``peers.preset``, ``peers.w_<dimension>``, the filters
``peers.<filter>``, ``peers.compare``, ``peers_side_by_side``, ``peers_contact_<id>``, ``peers_intro_<id>``.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import streamlit as st

from piggyback.analyses import peers as an
from piggyback.core import fmt, identity
from piggyback.core.errors import PiggybackError
from piggyback.data import peers as peer_data
from piggyback.engines.similarity import DIMENSION_LABELS, DIMENSIONS, PRESETS
from piggyback.ui import widgets

W_KEYS = {d: f"peers.w_{d}" for d in DIMENSIONS}


def page_settings() -> widgets.PageSettings:
    """The page's settings (a scenario saved in the old nested form read as today's); a link's
    ``?weights=<preset name>`` chooses that preset."""
    an.upgrade_section(widgets.scenario_section("peers"))
    settings = widgets.PageSettings("peers", {**an.DEFAULTS, "compare": []},
                                    url={"weights": ("weights", an.weights_param)})
    if isinstance(settings.value("weights"), str):  # ?weights=<preset name>
        settings.set("preset", settings.value("weights")), settings.set("weights", None)
    return settings


def decision_date() -> dt.date:
    """The Compliance page's decision date, else today: the date contract availability is judged on."""
    try:
        return dt.date.fromisoformat(str(widgets.scenario_section("compliance").get("decision_date") or ""))
    except ValueError:
        return dt.date.today()


def _use_preset(settings: widgets.PageSettings) -> None:
    settings.set("preset", st.session_state[settings.key("preset")]), settings.set("weights", None)
    st.session_state["_peers_moved"] = "preset"


def _use_sliders(settings: widgets.PageSettings) -> None:
    settings.set("weights", {d: int(st.session_state[k]) for d, k in W_KEYS.items()})
    st.session_state["_peers_moved"] = "sliders"


def weights_controls(settings: widgets.PageSettings, result: an.PeersResult, meeting: bool) -> None:
    """The preset, the per-dimension sliders and the weights in use; in meeting mode only the
    weights in use, in words (no editing widget on the projector). What a change did is said where
    it was made: under the sliders (with the top three they give) or under the preset."""
    if meeting:
        st.caption("Weights: " + an.weights_caption(result))
        return
    moved = st.session_state.pop("_peers_moved", None)
    top_row = st.columns([2, 3])
    top_row[0].selectbox("Weights preset", list(PRESETS), format_func=str.capitalize, **{
        **settings.bind("preset"), "on_change": _use_preset, "args": (settings,)},
        help="A starting point for what 'alike' means: balanced, procurement fit (law, modules, legacy system), "
             "operational fit (size, permits, modules) or size only. Presets are assumptions.")
    top_row[1].caption(an.weights_caption(result))
    with st.expander("Adjust weights", expanded=False):
        # The answer above the sliders, so that it is in view while a weight is moved on a projector.
        table_col, said_col = st.columns([3, 2])
        with table_col.container(key="peers_top_three"):  # a plain HTML table: read by screen readers, quick to draw
            st.table(an.top_three_table(result), hide_index=True, border="horizontal")
        if moved == "sliders":
            with said_col:
                _top_three_message(result)
        cols = st.columns(4)
        for i, dim in enumerate(DIMENSIONS):
            st.session_state[W_KEYS[dim]] = result.weights_pct[dim]
            cols[i % 4].slider(DIMENSION_LABELS[dim], 0, 100, step=5, key=W_KEYS[dim], on_change=_use_sliders,
                               args=(settings,), help="Relative weight; the weights are rescaled to add up to 100%.")
        st.button("Reset to the preset", on_click=_use_preset, args=(settings,))
    if moved != "sliders":
        _top_three_message(result)


def _top_three_message(result: an.PeersResult) -> None:
    """After the weights alone changed: whether the top three changed, and what it was."""
    now = an.ranking_snapshot(result)
    said = an.top_three_change(st.session_state.get("_peers_last"), now, fmt.md_escape)
    st.session_state["_peers_last"] = now
    if said and said[0]:
        st.info(said[1], icon=":material/swap_vert:")
    elif said:
        st.caption(said[1])


def filter_controls(settings: widgets.PageSettings, result: an.PeersResult, meeting: bool) -> None:
    """The filters (open while any is on); a choice no longer offered is dropped. In meeting mode
    only the filters in force, in words."""
    if meeting:
        said = an.filters_summary(result, fmt.md_escape)
        if said:
            st.caption(said)
        return
    active = len(result.filters)
    box = st.expander(an.filters_title(active), expanded=bool(active), key="peers_filters_open", on_change="rerun")
    if not box.open:  # drawn when open (a weight change does not redraw five closed lists); filters persist
        return
    with box:
        for col, name in zip(st.columns(5), an.FILTERS):
            settings.set(name, [v for v in settings.value(name) if v in result.options[name]])
            col.multiselect(an.FILTER_LABELS[name], result.options[name],
                            format_func=partial(an.filter_option_text, name), placeholder="Any", **settings.bind(name),
                            help=an.availability_help(result.decision_date) if name == "availability" else None)
        note = an.unknown_vendors_note(result, fmt.md_escape)
        if note:
            st.caption(note)


def side_by_side(store, settings: widgets.PageSettings, result: an.PeersResult, meeting: bool) -> None:
    """Two to four peers' facts in columns, with their sources and vendor-stated claims. In meeting
    mode the peers chosen before are shown without the list to choose them (none chosen: nothing)."""
    names = an.peer_names(result)
    settings.set("compare", [d for d in settings.value("compare") if d in names][:4])
    if meeting:
        compare = settings.value("compare")
        if not compare:
            return
        st.subheader("Compare peers side by side")
    else:
        st.subheader("Compare peers side by side")
        compare = st.multiselect("Peers to compare (two to four)", list(names), max_selections=4,
                                 format_func=names.__getitem__, placeholder="Choose two to four peers …",
                                 **settings.bind("compare"))
    if not compare:
        st.caption("Choose two to four peers to see their facts side by side, with their sources.")
        return
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


def _contact_form(store, dep_id: str, name: str) -> None:
    """A data steward adds a peer's public contact point (a department or role, never a person)."""
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


def sister_municipalities(store, result: an.PeersResult, meeting: bool) -> str | None:
    """The shared peer picker and the public contact points of the chosen peer (else the three
    closest); a data steward may add one where none is on file (not in meeting mode). Returns the
    chosen peer, None when none is chosen here (the agency's own deployment is never offered)."""
    names, offered = an.peer_names(result), result.scored_all["deployment_id"].tolist()
    if meeting:  # the peer chosen on any page, shown, not offered for change
        chosen = widgets.current_peer() if widgets.current_peer() in offered else None
        if chosen:
            st.markdown("Peer contract: " + an.peer_line(result.item(chosen), fmt.md_escape))
    else:
        chosen = widgets.peer_picker(store, "Peer to contact (and whose contract you would adopt)", only=offered)
    targets = [chosen] if chosen else list(names)[:3]
    st.caption("Shared with Compliance, Timeline and Cost. " + ("" if chosen else "Until you choose one, the three "
                                                                 "closest peers are shown."))
    edits_on = identity.can(widgets.current_user(), "contact.add") and not meeting
    flash = st.session_state.pop("_peers_flash", None)
    if flash:
        st.success(flash)
    for dep_id in targets:
        item = result.item(dep_id)
        st.markdown(an.peer_line(item, fmt.md_escape))
        try:
            contacts = peer_data.contacts_for(store, dep_id)
        except PiggybackError as exc:
            st.error(fmt.md_escape(exc))
            continue
        if contacts.empty:
            st.info(f"No public contact on file for {fmt.md_escape(item['jurisdiction'])}.",
                    icon=":material/contact_support:")
            if edits_on:
                _contact_form(store, dep_id, item["jurisdiction"])
        else:
            st.dataframe(an.contacts_table(contacts), hide_index=True, width="stretch", column_config={
                "Contact": st.column_config.LinkColumn(
                    "Contact", display_text=r"^(?:mailto:|tel:|https?://(?:www\.)?)([^/?]+)"),
                "Source": widgets.link_column("Source")})
    return chosen


def introduction_draft(store, result: an.PeersResult, chosen: str | None, meeting: bool) -> None:
    """The draft introduction to the chosen peer (else the closest), to copy, edit or download; open
    when a peer is chosen. Not in meeting mode: a draft letter is not for the projector."""
    if meeting:
        return
    intro_id = chosen or result.items[0]["deployment_id"]
    intro = result.item(intro_id)
    letter = st.expander(f"Ask for an introduction to {fmt.md_escape(intro['jurisdiction'])}", expanded=bool(chosen),
                         icon=":material/mail:", key="peers_intro_open", on_change="rerun")
    if not letter.open:  # drafted when opened: a weight change does not redraw a closed letter
        return
    with letter:
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
