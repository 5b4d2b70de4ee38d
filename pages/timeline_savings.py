"""Timeline: how much sooner a piggyback reaches go-live than a new RFP, as ranges with sources."""

import datetime as dt

import pandas as pd
import streamlit as st

from piggyback import fmt, widgets
from piggyback.errors import PiggybackError
from piggyback.timeline import (
    DAYS_PER_MONTH,
    METHODS,
    MIN_DRAWS,
    RANGE_KEYS,
    ROUTE_LABELS,
    SIMILAR_PEERS,
    apply_calibration,
    apply_overrides,
    calibrate_implementation,
    duration_claims,
    first_of_next_month,
    most_similar_peer_ids,
    ordered_phases,
    overrides_from_table,
    peer_actuals,
    peer_durations,
    phases_from_assumptions,
    simulate_timeline,
    value_per_month,
)
from piggyback.timeline_figures import gantt_figure, savings_histogram

METHOD_LABELS = {"pert": "PERT (default)", "triangular": "Triangular"}
METHOD_WHY = {
    "pert": "PERT weights each phase's most likely value four times, so the rare extremes pull "
            "less than in a triangular spread: the usual choice in schedule risk analysis.",
    "triangular": "Triangular gives the fastest and slowest values more weight than PERT: a "
                  "deliberately more pessimistic spread.",
}
PENDING = "_timeline_pending"      # rows typed in the table that are not valid yet (kept as typed)
ERRORS = "_timeline_errors"
EDITOR_VERSION = "_timeline_editor_version"
VOT_FIELDS = {"staff_hours": "Staff hours saved a month", "loaded_rate": "Loaded hourly rate",
              "backlog_cost": "Backlog cost a month"}

store = widgets.get_store()
profile = widgets.require_profile()
meeting = widgets.meeting_mode()
section = widgets.scenario_section("timeline")
currency = "CAD" if profile.country == "CA" else "USD"

st.title("Timeline")
st.caption("How much sooner would piggybacking on a peer's contract reach go-live than a new RFP? "
           "Ranges from a Monte Carlo over each phase's fastest, most likely and slowest months. "
           "Every phase is an editable assumption or cites its source.")


# -- settings (kept in the scenario section, so a saved scenario reopens them) ----------------
DEFAULT_START = first_of_next_month(dt.date.today())
SETTINGS = {  # name in the section: (widget key, default, section value -> widget value)
    "start": ("tl_start", DEFAULT_START.isoformat(), dt.date.fromisoformat),
    "seed": ("tl_seed", 0, int),
    "draws": ("tl_draws", MIN_DRAWS, lambda v: max(MIN_DRAWS, int(v))),
    "method": ("tl_method", "pert", lambda v: v if v in METHODS else "pert"),
}
SYNCED = "_timeline_synced"  # the section's settings as last written by this page


def _sync_widgets_from_section() -> None:
    """Widgets take the section's values on first visit, and again when something else (a
    loaded scenario) changed the section since this page last wrote it."""
    last = st.session_state.get(SYNCED, {})
    for name, (key, default, parse) in SETTINGS.items():
        value = section.get(name, default)
        if key in st.session_state and (name not in last or last[name] == value):
            continue
        try:
            st.session_state[key] = parse(value)
        except (TypeError, ValueError):
            st.session_state[key] = parse(default)


_sync_widgets_from_section()

c_peer, c_start, c_seed, c_draws, c_method = st.columns([3, 1.5, 1.1, 1.3, 2.1],
                                                       vertical_alignment="bottom")
peer_id = widgets.peer_picker(store, where=c_peer)
start = c_start.date_input("Start date", key="tl_start", format="YYYY-MM-DD", disabled=meeting,
                           help="The decision date: the day the route is chosen; months count "
                                "from here. Default: the first day of next month (an "
                                "assumption: change it).")
seed = c_seed.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="tl_seed",
                           disabled=meeting,
                           help="Same seed, same numbers: the draws are reproducible, here and "
                                "in `python -m piggyback timeline --seed`.")
draws = c_draws.number_input("Draws", min_value=MIN_DRAWS, max_value=1_000_000, step=10_000,
                             key="tl_draws", disabled=meeting,
                             help="Monte Carlo draws: at least 10,000 so the P10 and P90 are "
                                  "stable.")
method = c_method.radio("Distribution", METHODS, format_func=METHOD_LABELS.__getitem__,
                        key="tl_method", horizontal=True, disabled=meeting,
                        help=METHOD_WHY["pert"] + " " + METHOD_WHY["triangular"])
if not meeting:
    st.caption(METHOD_WHY[method])
start = start or DEFAULT_START  # a cleared date falls back to the default, which is shown
section.update(start=start.isoformat(), seed=int(seed), draws=int(draws), method=method)
st.session_state[SYNCED] = {name: section[name] for name in SETTINGS}

# -- the phases: seeded assumptions, then the peers' calibration, then the user's edits -------
try:
    seeded = ordered_phases(phases_from_assumptions(store.assumptions("timeline")))
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()
base = seeded
calibration = section.get("calibration")
if calibration:
    try:
        base = apply_calibration(seeded, calibration)
    except PiggybackError as exc:
        st.error(f"The saved calibration cannot be used: {fmt.md_escape(exc)}")
overrides = section.setdefault("overrides", {})
unknown = sorted(set(overrides) - {p.id for p in base})
if unknown:
    st.warning(f"Edits to phases that no longer exist were left out: {fmt.md_escape(', '.join(unknown))}.")
try:
    phases = apply_overrides(base, {k: v for k, v in overrides.items() if k not in unknown})
except PiggybackError as exc:
    st.error(f"Your edits were not applied: {fmt.md_escape(exc)}. Fix them in the assumptions table or reset.")
    phases = base
edited_ids = {p.id for p in phases if p.kind == "user-entered"}
pending: dict = st.session_state.setdefault(PENDING, {})
peers = store.peers()
durations = peer_durations(peers)

# -- where the results go: figures at the top, details below -----------------------------------
top = st.container()
st.divider()


def _kind_label(phase) -> str:
    if phase.id in pending:
        return "edited by user (not valid yet)"
    return "edited by user" if phase.id in edited_ids else fmt.kind(phase.kind)


def _shown_rows() -> list[dict]:
    rows = []
    for p in phases:
        typed = pending.get(p.id, {})
        rows.append({"id": p.id, "name": p.name,
                     **{k: typed.get(k, getattr(p, k)) for k in RANGE_KEYS},
                     "kind": _kind_label(p), "source": p.source_url, "note": p.note})
    return rows


def _on_edit(shown: list[dict], key: str) -> None:
    """Merge the table's edits: valid rows become overrides, rows in error are kept as typed."""
    rows = [dict(r) for r in shown]
    for i, change in st.session_state[key].get("edited_rows", {}).items():
        rows[int(i)].update(change)
    new, errors = overrides_from_table(base, rows)
    sec = widgets.scenario_section("timeline")
    old = sec.get("overrides", {})
    for pid in errors:  # a phase in error keeps its last valid range
        if pid in old:
            new[pid] = old[pid]
    sec["overrides"] = new
    st.session_state[PENDING] = {r["id"]: {k: r.get(k) for k in RANGE_KEYS}
                                 for r in rows if r["id"] in errors}
    st.session_state[ERRORS] = errors
    st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1


def _reset() -> None:
    sec = widgets.scenario_section("timeline")
    sec["overrides"] = {}
    sec.pop("calibration", None)
    st.session_state[PENDING] = {}
    st.session_state[ERRORS] = {}
    st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1


def _calibrate(similar: list[str] | None) -> None:
    cal = calibrate_implementation(durations, similar)
    if cal["likely"] is None:
        st.session_state["_timeline_calibration_error"] = cal["reason"]
        return
    st.session_state.pop("_timeline_calibration_error", None)
    sec = widgets.scenario_section("timeline")
    sec["calibration"] = {**cal, "similar_ids": None if similar is None else list(similar)}
    impl = {p.id for p in seeded if p.route == "implementation"}  # the calibration replaces them
    sec["overrides"] = {k: v for k, v in sec.get("overrides", {}).items() if k not in impl}
    st.session_state[PENDING] = {k: v for k, v in st.session_state.get(PENDING, {}).items()
                                 if k not in impl}


def _remove_calibration() -> None:
    widgets.scenario_section("timeline").pop("calibration", None)


# -- assumptions table --------------------------------------------------------------------------
with st.expander("Assumptions: every phase, its range and its source", expanded=bool(pending)):
    st.caption("Months for each phase: fastest (low), most likely, slowest (high). Implementation "
               "(contract to go-live) is the same work whichever way the contract was bought, so "
               "it moves both go-live dates together and leaves the months saved unchanged.")
    columns = {
        "name": st.column_config.TextColumn("Phase", width="medium", disabled=True),
        "low": st.column_config.NumberColumn("Low (months)", min_value=0.0, step=0.1,
                                             format="%.1f"),
        "likely": st.column_config.NumberColumn("Most likely (months)", min_value=0.0, step=0.1,
                                                format="%.1f"),
        "high": st.column_config.NumberColumn("High (months)", min_value=0.0, step=0.1,
                                              format="%.1f"),
        "kind": st.column_config.TextColumn("Kind", disabled=True,
                                            help="assumption (editable), a cited source, derived "
                                                 "from peers, or edited by user"),
        "source": widgets.link_column("Source"),
        "note": st.column_config.TextColumn("Note", width="large", disabled=True),
    }
    order = ["name", "low", "likely", "high", "kind", "source", "note"]
    shown = _shown_rows()
    if meeting:
        st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch", column_order=order,
                     column_config=columns)
    else:
        key = f"timeline_editor_{st.session_state.get(EDITOR_VERSION, 0)}"
        st.data_editor(pd.DataFrame(shown), key=key, hide_index=True, width="stretch",
                       column_order=order, column_config=columns,
                       disabled=["id", "name", "kind", "source", "note"],
                       on_change=_on_edit, args=(shown, key))
        for message in st.session_state.get(ERRORS, {}).values():
            st.error(f"{fmt.md_escape(message)}. Kept as you typed it; the model uses the phase's last valid "
                     "range until it is fixed.")
        st.button("Reset to defaults", on_click=_reset, icon=":material/restart_alt:",
                  help="Back to the seeded assumptions: drops your edits and any calibration.")
    if edited_ids:
        st.caption(f"Edited by user: {len(edited_ids)} phase(s). The seeded values are in each "
                   "note.")

# -- calibration from peers -------------------------------------------------------------------
with st.expander("Peers' actual durations: calibrate implementation"):
    dated = durations[durations[["rfp_issued", "contract_award", "go_live"]].notna().any(axis=1)]
    spans_known = dated[["rfp_to_award_months", "award_to_golive_months",
                         "rfp_to_golive_months"]].notna().sum(axis=1)
    dated = dated.assign(_known=spans_known).sort_values(["_known", "jurisdiction"],
                                                         ascending=[False, True])

    def _span(row, span: str) -> str:
        months = row[f"{span}_months"]
        if pd.isna(months):
            return fmt.BLANK
        approx = row[f"{span}_approximate"]
        approx = False if pd.isna(approx) else bool(approx)
        return f"{'≈' if approx else ''}{months:.1f} mo ({row[f'{span}_precision']})"

    table = pd.DataFrame({
        "peer": dated["jurisdiction"],
        **{c: dated[c].fillna(fmt.BLANK) for c in ("rfp_issued", "contract_award", "go_live")},
        "rfp_to_award": [_span(r, "rfp_to_award") for _, r in dated.iterrows()],
        "award_to_golive": [_span(r, "award_to_golive") for _, r in dated.iterrows()],
        "rfp_to_golive": [_span(r, "rfp_to_golive") for _, r in dated.iterrows()],
        "dropped": dated["dropped"].fillna(fmt.BLANK),
    })
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "peer": "Peer", "rfp_issued": "RFP issued", "contract_award": "Contract award",
        "go_live": "Go-live", "rfp_to_award": "RFP → award", "award_to_golive": "Award → go-live",
        "rfp_to_golive": "RFP → go-live",
        "dropped": st.column_config.TextColumn("Dropped (why)", width="large")})
    st.caption(f"{len(dated)} of {len(durations)} peers publish at least one of these dates; the "
               "rest are blank, not estimated. Each date stands for the middle of the period it "
               "names; the precision (in brackets) is the coarser end's, and a year-only end makes a "
               "span approximate (≈). A span whose dates are out of order is dropped, with the reason.")
    try:
        similar = most_similar_peer_ids(profile, peers, SIMILAR_PEERS)
    except (PiggybackError, ValueError) as exc:
        st.caption(f"Similarity not available ({fmt.md_escape(exc)}); every peer with data is used.")
        similar = None
    if not meeting:
        c1, c2 = st.columns(2)
        c1.button("Set implementation from the most similar peers", on_click=_calibrate,
                  args=(similar,), type="primary", icon=":material/tune:",
                  help=f"low / most likely / high = min / median / max of the contract-award to "
                       f"go-live months of your {SIMILAR_PEERS} most similar peers (Peers page "
                       "scores), or of every peer with both dates when they have none.")
        if calibration:
            c2.button("Remove the calibration", on_click=_remove_calibration)
    if st.session_state.get("_timeline_calibration_error"):
        st.error(fmt.md_escape(st.session_state["_timeline_calibration_error"]))
    if calibration and calibration.get("likely") is not None:
        names = dict(zip(peers["deployment_id"], peers["jurisdiction"]))
        informed = ", ".join(fmt.md_escape(names.get(i, i)) for i in calibration["peer_ids"])
        st.success(
            f"Implementation set from peers (kind: derived): low {calibration['low']:.1f}, most "
            f"likely {calibration['likely']:.1f}, high {calibration['high']:.1f} months. Each "
            f"number rests on the same {calibration['n_peers']} peer(s) ({informed}): low is "
            "their minimum, most likely their median, high their maximum."
            + (" Some of their dates are year-only, so the figures are approximate."
               if calibration.get("approximate") else ""))
        if calibration.get("reason"):
            st.caption(fmt.md_escape(calibration["reason"]) + ".")

# -- value of time (optional; blank = not computed) -----------------------------------------
vot = section.setdefault("value_of_time", {})
with st.expander("Value of time (optional)"):
    st.caption(f"What is a month of earlier go-live worth? Staff hours saved a month × the loaded "
               f"hourly rate, and/or the backlog cost a month, in {currency}. Each is low / most "
               "likely / high; left blank it is not computed (no default guess).")
    typed = {}
    last_vot = st.session_state.get("_timeline_vot_synced", {})
    for name, label in VOT_FIELDS.items():
        saved = (list(vot.get(name) or []) + [None, None, None])[:3]
        cols = st.columns(3)
        values = []
        for i, (col, bound) in enumerate(zip(cols, ("low", "most likely", "high"))):
            key = f"tl_vot_{name}_{i}"
            if key not in st.session_state or (name in last_vot and last_vot[name] != saved):
                st.session_state[key] = None if fmt.missing(saved[i]) else float(saved[i])
            unit = f" ({currency})" if name != "staff_hours" else ""
            values.append(col.number_input(f"{label}{unit}: {bound}", min_value=0.0, step=1.0,
                                           key=key, placeholder="blank", disabled=meeting))
        typed[name] = values
        vot[name] = values
    vot["currency"] = currency
    st.session_state["_timeline_vot_synced"] = {n: list(vot[n]) for n in VOT_FIELDS}
    try:
        per_month = value_per_month(**typed)
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))
        per_month = None
    vot_out = st.container()

# -- simulate ---------------------------------------------------------------------------------
try:
    result = simulate_timeline(phases, start, draws=int(draws), seed=int(seed), method=method,
                               value_per_month=per_month).to_dict()
except PiggybackError as exc:
    with top:
        st.error(fmt.md_escape(exc))
    st.stop()

saved = result["months_saved"]
routes = result["routes"]
kinds = pd.Series([p.kind for p in phases]).map(fmt.kind).value_counts()
rests_on = (f"{result['draws']:,} draws, {METHOD_LABELS[method].split(' ')[0]}, seed "
            f"{result['seed']}, from {result['start']}; {len(phases)} phases: "
            + ", ".join(f"{n} {k}" for k, n in kinds.items())
            + ". See the assumptions below.")



def _month(iso: str) -> str:
    """A simulated go-live shown to the month: the day would be false precision on screen."""
    return dt.date.fromisoformat(iso).strftime("%b %Y")


with top:
    if meeting:  # meeting type is larger: two figures a row so none is cut off
        m1, m2 = st.columns(2)
        m3, m4 = st.columns(2)
    else:
        m1, m2, m3, m4 = st.columns(4)
    m1.metric("Months saved (median)", fmt.months(saved["p50"]),
              delta=f"P10–P90: {saved['p10']:.1f} to {saved['p90']:.1f}", delta_color="off",
              delta_arrow="off",
              help="New RFP minus piggyback to go-live, per draw; implementation is shared, so "
                   "this is the procurement difference. Rests on " + rests_on)
    for col, route in ((m2, "traditional"), (m3, "piggyback")):
        gl, months = routes[route]["go_live"], routes[route]["months"]
        col.metric(f"{ROUTE_LABELS[route]} go-live (median)", _month(gl["p50"]),
                   delta=f"P10–P90: {_month(gl['p10'])} – {_month(gl['p90'])}",
                   delta_color="off", delta_arrow="off",
                   help=f"Median go-live {gl['p50']}, {months['p50']:.1f} months after "
                        f"{result['start']} (P10 {gl['p10']}, {months['p10']:.1f} months; P90 "
                        f"{gl['p90']}, {months['p90']:.1f} months); a month is "
                        f"{DAYS_PER_MONTH} days. Rests on " + rests_on)
    m4.metric("Chance piggyback is sooner", fmt.probability(result["prob_piggyback_faster"]),
              help="Share of draws in which the piggyback route goes live first. Rests on "
                   + rests_on)

    claims = duration_claims(store.table("claims"))
    if claims:
        with st.container(border=True):
            cols = st.columns(len(claims))
            for col, claim in zip(cols, claims):
                award = routes[claim["route"]]["award_months"]
                col.markdown(
                    f"**Vendor-stated** ({ROUTE_LABELS[claim['route']]}): "
                    f"“{fmt.md_escape(claim['claimed_value'])}”  \n"
                    f"**This model**, decision to contract: median {award['p50']:.1f} months "
                    f"(P10–P90 {award['p10']:.1f} to {award['p90']:.1f})",
                    help=f"{fmt.md_escape(claim['claim'])} Status: {fmt.md_escape(claim['status'])}. "
                         f"Research: {fmt.md_escape(claim['research_note'])}. A vendor's claim is "
                         "shown, never used as evidence.")

    if peer_id:
        actual = peer_actuals(durations, peer_id)
        facts = [f"{label} {actual[col]}" for col, label in (
            ("rfp_issued", "RFP issued"), ("contract_award", "contract award"),
            ("go_live", "go-live")) if actual[col]]
        span = actual["award_to_golive_months"]
        st.caption(
            f"Candidate peer {fmt.md_escape(actual['jurisdiction'])}: "
            + (fmt.md_escape("; ".join(facts)) if facts else "no dates published")
            + ". Its contract award to go-live took "
            + (f"{span:.1f} months ({actual['award_to_golive_precision']} precision"
               + (", approximate)" if actual["award_to_golive_approximate"] else ")")
               if span is not None else "an unknown time (a date is not published)")
            + ". Shown for comparison; the model uses the assumptions below.")

    tab_gantt, tab_hist = st.tabs(["Both routes to go-live", "Months saved: distribution"])
    with tab_gantt:
        st.plotly_chart(gantt_figure(result), width="stretch", key="timeline_gantt", theme=None)
    with tab_hist:
        st.plotly_chart(savings_histogram(result), width="stretch", key="timeline_histogram",
                        theme=None)

with vot_out:
    value = result.get("value_of_time")
    if value:
        lo, mid, hi = value["per_month"]
        st.metric(f"Value of the months saved (median, {currency})",
                  fmt.money(value["p50"], currency),
                  delta=f"P10–P90: {fmt.money(value['p10'])} to {fmt.money(value['p90'])}",
                  delta_color="off", delta_arrow="off",
                  help=f"Months saved × a month's value, drawn per draw (PERT over "
                       f"{fmt.money(lo)} / {fmt.money(mid)} / {fmt.money(hi)} {currency} a "
                       "month, entered by user). Negative where piggybacking is slower.")
    else:
        st.caption("Not computed: no value entered.")

with st.expander("How this is computed"):
    st.markdown(
        "- Each route is its phases one after another; each phase is drawn from its low / most "
        "likely / high range ("
        + ("PERT" if method == "pert" else "triangular") + ").\n"
        "- Implementation is drawn once per draw and added to both routes, so the months saved "
        "is the difference between the two procurements alone.\n"
        f"- A go-live date is the start plus months × {DAYS_PER_MONTH} days (the mean month).\n"
        "- P10 / P90: one draw in ten is sooner than P10, one in ten later than P90.\n"
        "- Same seed, same draws, same assumptions: same numbers (also on the command line: "
        f"`python -m piggyback timeline --agency {profile.geo_id} --start {result['start']} "
        f"--seed {result['seed']} --draws {result['draws']} --method {method}`).")
