"""The scenario manager of the Business case page: save, open, keep a copy, compare and remove
scenarios in the users' record, each action checked against the user's role on the server."""

from __future__ import annotations

import streamlit as st

from piggyback.core import fmt, identity
from piggyback.core.errors import PiggybackError
from piggyback.core.models import AgencyProfile
from piggyback.data.store import Store
from piggyback.ui.widgets import current_user, open_scenario


def _remember_scenario(saved) -> None:
    st.session_state["_scenario"] = {"id": saved.id, "name": saved.name, "version": saved.version}
    st.session_state["_scenario_applied"] = saved.id
    st.query_params["scenario"] = saved.id


def _save_scenario(scenario_store, store: Store, user: identity.User) -> None:
    from piggyback.data import scenarios
    name = st.session_state.get("bc_name", "")
    current = st.session_state.get("_scenario")
    try:
        payload = scenarios.payload_from_session(st.session_state, store)
        if current and scenarios.clean_name(name) == current["name"]:
            saved = scenario_store.save(name, payload, scenario_id=current["id"], expected_version=current["version"],
                                        user=user)
        else:
            saved = scenario_store.save(name, payload, user=user)
    except PiggybackError as exc:
        st.session_state["_bc_message"] = ("error", str(exc))
        return
    _remember_scenario(saved)
    st.session_state["_bc_message"] = ("success", f"Saved {saved.name!r} (version {saved.version}).")


def _scenario_action(scenario_store, chosen, action: str, user: identity.User) -> None:
    """Rename, duplicate or delete the chosen scenario; the scenario store checks the rights again."""
    opened = st.session_state.get("_scenario")
    new_name = st.session_state.get("bc_new_name", "")
    try:
        if action == "rename":
            done = scenario_store.rename(chosen.id, new_name, expected_version=chosen.version, user=user)
            if opened and opened["id"] == chosen.id:
                _remember_scenario(done)
                st.session_state["bc_name"] = done.name
            st.session_state["_bc_message2"] = ("success", f"Renamed to {done.name!r}.")
        elif action == "duplicate":
            done = scenario_store.duplicate(chosen.id, new_name, user=user)
            st.session_state["bc_pick"] = done.id
            st.session_state["_bc_message2"] = ("success", f"Copied to {done.name!r}.")
        elif action == "delete":
            if not st.session_state.get("bc_confirm"):
                st.session_state["_bc_message2"] = ("error", "Tick 'Yes, delete it' first.")
                return
            scenario_store.delete(chosen.id, expected_version=chosen.version, user=user)
            if opened and opened["id"] == chosen.id:
                st.session_state.pop("_scenario", None)
            st.session_state.pop("bc_pick", None)
            st.session_state["_bc_message2"] = ("success", f"Deleted {chosen.name!r}.")
    except PiggybackError as exc:
        st.session_state["_bc_message2"] = ("error", str(exc))


def _show_message(key: str, escape: bool = True) -> None:
    message = st.session_state.pop(key, None)
    if message:
        (st.error if message[0] == "error" else st.success)(fmt.md_escape(message[1]) if escape else message[1])


def scenario_manager(store: Store, profile: AgencyProfile, default_name: str, compare=None) -> None:
    """Save the session as a scenario, show its link, and open, rename, duplicate, delete or compare
    the saved ones. Rename and delete are enabled only for the owner or a steward (the scenario
    store checks again on every write). ``compare(a, b)`` returns the comparison table of two
    saved scenarios (shown when two or more are listed)."""
    from piggyback.data import scenarios
    scenario_store, user = scenarios.open_scenario_store(store), current_user()
    opened = st.session_state.get("_scenario")
    if "bc_name" not in st.session_state:
        st.session_state["bc_name"] = opened["name"] if opened else default_name
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    s1.text_input("Scenario name", key="bc_name", max_chars=scenarios.MAX_NAME,
                  help="Saving under the name of the scenario you opened saves over it (if no one changed it "
                       "meanwhile); a new name saves a new scenario.")
    s2.button("Save scenario", key="bc_save", on_click=_save_scenario, args=(scenario_store, store, user),
              type="primary", icon=":material/save:")
    _show_message("_bc_message", escape=False)

    opened = st.session_state.get("_scenario")
    if opened:
        link = f"{(st.context.url or '').rstrip('/') or '/business-case'}?scenario={opened['id']}"
        try:
            on_file = scenario_store.get(opened["id"])
            same = (scenarios.comparable(on_file.payload)
                    == scenarios.comparable(scenarios.payload_from_session(st.session_state)))
        except PiggybackError as exc:
            on_file, same, gone = None, False, isinstance(exc, scenarios.UnknownScenario)
        st.markdown(f"Link to **{fmt.md_escape(opened['name'])}** (copy it to share):")
        st.code(link, language=None)
        if on_file is None and gone:
            st.warning("This scenario is no longer on file (deleted?): save it again to keep it.")
        elif not same:
            st.caption("What is on screen has changed since it was saved: save to keep the changes.")

    try:
        include = [*st.session_state.get("_opened_scenarios", ()), *([opened["id"]] if opened else [])]
        saved_list = scenario_store.list(user=user, include=include, agency_geo=profile.geo_id)
    except PiggybackError as exc:  # the users' record cannot be read now: say so, keep the page
        st.error(fmt.md_escape(exc))
        return
    if not saved_list:
        st.caption("You have no saved scenario for this agency yet (others' scenarios open by their link).")
        return
    labels = {s.id: f"{s.name} — {(s.payload.get('agency') or {}).get('name') or '?'}"
                    f"{' · ' + s.peer if s.peer else ''} (saved {s.updated_at:%Y-%m-%d %H:%M} UTC)" for s in saved_list}
    by_id = {s.id: s for s in saved_list}
    if st.session_state.get("bc_pick") not in labels:
        st.session_state["bc_pick"] = opened["id"] if opened and opened["id"] in labels else saved_list[0].id
    chosen = by_id[st.selectbox(f"Saved scenarios ({len(saved_list)})", list(labels), key="bc_pick",
                                format_func=labels.__getitem__)]
    b1, b2, b3, b4 = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
    b1.button("Open", key="bc_open", on_click=open_scenario, args=(chosen.id,), icon=":material/folder_open:",
              help="Reopen it: agency, peer and every page's settings.")
    b2.text_input("New name (rename or duplicate)", key="bc_new_name", max_chars=scenarios.MAX_NAME)
    mine = identity.may_change(user, chosen.owner)  # the server checks again on every write
    b3.button("Rename", key="bc_rename", on_click=_scenario_action, args=(scenario_store, chosen, "rename", user),
              disabled=not mine, help=None if mine else "Only its owner or a steward may rename it.")
    b4.button("Duplicate", key="bc_duplicate", on_click=_scenario_action,
              args=(scenario_store, chosen, "duplicate", user),
              disabled=not identity.can(user, "scenario.duplicate"), help="Keep a copy of your own.")
    if mine:
        d1, d2 = st.columns([1, 3], vertical_alignment="center")
        d1.checkbox("Yes, delete it", key="bc_confirm")
        d2.button("Delete", key="bc_delete", on_click=_scenario_action, args=(scenario_store, chosen, "delete", user),
                  icon=":material/delete:")
    else:
        st.caption(f"Saved by {fmt.md_escape(chosen.owner_label or chosen.owner or 'an earlier version')}: "
                   "only its owner or a steward may change or delete it.")
    _show_message("_bc_message2")

    if compare is not None and len(saved_list) >= 2:
        st.markdown("**Compare two scenarios**")
        k1, k2 = st.columns(2)
        ids = list(labels)
        a_id = k1.selectbox("Scenario A", ids, index=0, key="bc_cmp_a", format_func=labels.__getitem__)
        b_id = k2.selectbox("Scenario B", ids, index=1, key="bc_cmp_b", format_func=labels.__getitem__)
        try:
            table = compare(by_id[a_id], by_id[b_id])
            st.dataframe(table, hide_index=True, width="stretch")
        except PiggybackError as exc:
            st.error(fmt.md_escape(exc))
