"""Timeline: how much sooner a piggyback reaches go-live than a new RFP, as ranges with sources.
Layout and rendering only: every figure comes from piggyback.analyses.timeline.analyse_timeline."""

import datetime as dt

import pandas as pd
import streamlit as st

from piggyback.core import fmt

from piggyback.ui import widgets
from piggyback.analyses.timeline import analyse_timeline, calibration_from_track_record
from piggyback.core.errors import PiggybackError
from piggyback.engines.timeline import (DAYS_PER_MONTH, METHODS, MIN_DRAWS, RANGE_KEYS, ROUTE_LABELS, SIMILAR_PEERS,
                                calibrate_implementation, first_of_next_month, most_similar_peer_ids,
                                overrides_from_table, peer_durations, value_per_month)
from piggyback.figures.timeline_figures import (adjustments_table, gantt_figure, peer_spans_table, procurement_record_table,
                                        savings_histogram, track_record_table)

METHOD_LABELS = {"pert": "PERT (default)", "triangular": "Triangular"}
METHOD_WHY = ("PERT weights each phase's most likely value four times, so the rare extremes pull less than in a "
              "triangular spread: the usual choice in schedule risk analysis. Triangular gives the fastest and "
              "slowest values more weight: a deliberately more pessimistic spread.")
PENDING, ERRORS, EDITOR = "_timeline_pending", "_timeline_errors", "_timeline_editor_version"
VOT_FIELDS = {"staff_hours": "Staff hours saved a month", "loaded_rate": "Loaded hourly rate",
              "backlog_cost": "Backlog cost a month"}
store, profile, meeting = widgets.get_store(), widgets.require_profile(), widgets.meeting_mode()
section = widgets.scenario_section("timeline")
currency = "CAD" if profile.country == "CA" else "USD"
st.title("Timeline")
st.caption("How much sooner would piggybacking on a peer's contract reach go-live than a new RFP? Ranges from a "
           "Monte Carlo over each phase's fastest, most likely and slowest months, adjusted to this agency and "
           "this contract. Every phase and adjustment is an editable assumption or cites its source.")

# -- settings, kept in the scenario section (a loaded scenario redraws the widgets) ------------
DEFAULT_START = first_of_next_month(dt.date.today())
DEFAULT_CORR = float(store.assumptions("timeline").set_index("assumption_id")["value"].get("tl.sim.correlation", 0.5))
SETTINGS = {"start": ("tl_start", DEFAULT_START.isoformat(), dt.date.fromisoformat), "seed": ("tl_seed", 0, int),
            "draws": ("tl_draws", MIN_DRAWS, lambda v: max(MIN_DRAWS, int(v))),
            "method": ("tl_method", "pert", lambda v: v if v in METHODS else "pert"),
            "correlation": ("tl_corr", DEFAULT_CORR, float),
            "contract_value": ("tl_value", None, float),
            "delegated_authority": ("tl_authority", None, float)}
last = st.session_state.get("_timeline_synced", {})
for name, (key, default, parse) in SETTINGS.items():
    value = section.get(name, default)
    if key not in st.session_state or (name in last and last[name] != value):
        st.session_state[key] = None if value is None else parse(value)
c_peer, c_start, c_value, c_auth = st.columns([3, 1.4, 1.6, 1.6], vertical_alignment="bottom")
peer_id = widgets.peer_picker(store, where=c_peer)
start = c_start.date_input("Start date", key="tl_start", format="YYYY-MM-DD", disabled=meeting,
                           help="The decision date; months count from here. Default: the first of next month.")
value = c_value.number_input(f"Contract value ({currency})", min_value=0.0, step=10_000.0, key="tl_value",
                             placeholder="estimated", disabled=meeting,
                             help="Blank: estimated from the population (tl.adj.value_per_resident). It decides "
                                  "the approval path, trade-agreement coverage and the size band.")
authority = c_auth.number_input(f"Staff may award up to ({currency})", min_value=0.0, step=10_000.0,
                                key="tl_authority", placeholder="on file", disabled=meeting,
                                help="The agency's delegated authority. Blank: the figure on file "
                                     "(data/compliance/delegated_authority.csv), else a council cycle.")
with st.expander("Advanced: simulation settings"):
    a1, a2, a3, a4 = st.columns([1, 1.2, 2, 1.6])
    seed = a1.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="tl_seed", disabled=meeting,
                           help="Same seed, same numbers, here and in `python -m piggyback timeline --seed`.")
    draws = a2.number_input("Draws", min_value=MIN_DRAWS, max_value=1_000_000, step=10_000, key="tl_draws",
                            disabled=meeting, help="At least 10,000 so the P10 and P90 are stable.")
    method = a3.radio("Distribution", METHODS, format_func=METHOD_LABELS.__getitem__, key="tl_method",
                      horizontal=True, disabled=meeting, help=METHOD_WHY)
    corr = a4.slider("Phases move together", 0.0, 0.9, step=0.05, key="tl_corr", disabled=meeting,
                     help=f"Correlation between the phases of one route (assumption tl.sim.correlation, default "
                          f"{DEFAULT_CORR:g}): 0 draws each phase on its own and gives the narrowest, least honest band.")
section.update(start=(start or DEFAULT_START).isoformat(), seed=int(seed), draws=int(draws), method=method,
               correlation=float(corr), contract_value=value, delegated_authority=authority)
st.session_state["_timeline_synced"] = {n: section.get(n) for n in SETTINGS}

vot = section.setdefault("value_of_time", {})
with st.expander("Value of time (optional)"):
    st.caption(f"What is a month of earlier go-live worth? Staff hours saved × loaded hourly rate, and/or the "
               f"backlog cost a month, in {currency}; low / most likely / high, blank = not computed.")
    last_vot = st.session_state.get("_timeline_vot_synced", {})
    for name, label in VOT_FIELDS.items():
        saved = (list(vot.get(name) or []) + [None, None, None])[:3]
        cols = st.columns(3)
        for i, (col, bound) in enumerate(zip(cols, ("low", "most likely", "high"))):
            key = f"tl_vot_{name}_{i}"
            if key not in st.session_state or (name in last_vot and last_vot[name] != saved):
                st.session_state[key] = None if fmt.missing(saved[i]) else float(saved[i])
            unit = f" ({currency})" if name != "staff_hours" else ""
            col.number_input(f"{label}{unit}: {bound}", min_value=0.0, step=1.0, key=key, placeholder="blank",
                             disabled=meeting)
        vot[name] = [st.session_state[f"tl_vot_{name}_{i}"] for i in range(3)]
    vot["currency"] = currency
    st.session_state["_timeline_vot_synced"] = {n: list(vot[n]) for n in VOT_FIELDS}
    settings = dict(section)
    try:
        value_per_month(**{n: vot[n] for n in VOT_FIELDS})
    except PiggybackError as exc:
        st.error(fmt.md_escape(exc))
        settings["value_of_time"] = {}
    vot_out = st.container()

try:
    res = analyse_timeline(store, profile, peer_id, settings, today=dt.date.today())
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()
sim, d = res.simulation, res.display()
rests_on = res.rests_on()
m1, m2, m3, m4 = (st.columns(2) + st.columns(2)) if meeting else st.columns(4)
ms = res.months_saved
m1.metric("Months saved (median)", d["months_saved"], delta=f"P10–P90: {ms['p10']:.1f} to {ms['p90']:.1f}",
          delta_color="off", delta_arrow="off", help="New RFP minus piggyback, per draw. Rests on " + rests_on)
for col, route in ((m2, "traditional"), (m3, "piggyback")):
    gl, months = sim["routes"][route]["go_live"], sim["routes"][route]["months"]
    col.metric(f"{ROUTE_LABELS[route]} go-live (median)", d[f"golive_{route}"],
               delta=d[f"golive_{route}_range"].replace("P10–P90 ", "P10–P90: "), delta_color="off", delta_arrow="off",
               help=f"Median go-live {gl['p50']}, {months['p50']:.1f} months after {sim['start']} (P10 {gl['p10']}, "
                    f"P90 {gl['p90']}); a month is {DAYS_PER_MONTH} days. Rests on " + rests_on)
m4.metric("Chance piggyback is sooner", d["prob_faster"], help="Share of draws in which the piggyback route goes "
          "live first. Rests on " + rests_on)
for flag in res.flags:
    (st.error if flag["severity"] == "high" else st.warning)(fmt.md_escape(flag["text"]))
with st.container(border=True):
    st.markdown("**Track record beside the model.** " + fmt.md_escape(d["track_record"]))
    st.dataframe(track_record_table(res.track), hide_index=True, width="stretch", key="tl_track",
                 column_config={"ends_at": "Ends at", "months": "Months", "precision": "Precision",
                                "source": widgets.link_column("Source"), "more_sources": "More sources"})
    with st.expander("Recorded procurement spans beside the model's decision-to-contract range"):
        st.dataframe(procurement_record_table(res.comparison["procurement"]), hide_index=True, width="stretch",
                     column_config={"model": "Model P10–P90 (months)", "source": widgets.link_column("Source")})
for route_label, claim, model in res.claim_lines():
    st.markdown(f"**Vendor-stated** ({route_label}): “{fmt.md_escape(claim)}” · **This model**, decision to "
                f"contract: {model}", help="A vendor's claim is shown, never used as evidence.")
if res.peer:
    st.caption(fmt.md_escape(res.peer_sentence()))
tab_gantt, tab_hist = st.tabs(["Both routes to go-live", "Months saved: distribution"])
tab_gantt.plotly_chart(gantt_figure(sim), width="stretch", key="timeline_gantt", theme=None)
tab_gantt.caption(f"Chart in words: from {sim['start']}, a new RFP goes live about {d['golive_traditional']} and "
                  f"the piggyback route about {d['golive_piggyback']} (medians), each bar one phase of the route.")
tab_hist.plotly_chart(savings_histogram(sim), width="stretch", key="timeline_histogram", theme=None)
tab_hist.caption(f"Chart in words: the months saved over all draws, {ms['p10']:.1f} to {ms['p90']:.1f} "
                 f"(P10–P90), median {d['months_saved']}; the piggyback route is sooner in {d['prob_faster']}.")
with vot_out:
    if sim.get("value_of_time"):
        v = sim["value_of_time"]
        st.metric(f"Value of the months saved (median, {currency})", fmt.money(v["p50"], currency),
                  delta=f"P10–P90: {fmt.money(v['p10'])} to {fmt.money(v['p90'])}", delta_color="off",
                  delta_arrow="off", help="Months saved × a month's value (entered by user), per draw.")
    else:
        st.caption("Not computed: no value entered.")
st.divider()
with st.expander("What this agency and this contract change", expanded=True):
    st.caption(f"Contract value {fmt.md_escape(fmt.money(res.inputs['contract_value'], currency))} "
               f"({fmt.md_escape(res.inputs['contract_value_basis'])}). Each row names its input and assumption.")
    st.dataframe(adjustments_table([a.to_dict() for a in res.adjustments]), hide_index=True, width="stretch",
                 key="tl_adjustments")

pending: dict = st.session_state.setdefault(PENDING, {})
for pid, message in res.override_errors.items():
    if pid not in pending:
        st.error(f"Your edit was not applied: {fmt.md_escape(message)}. Fix it in the assumptions table or reset.")
edited = {p.id for p in res.phases if p.kind == "user-entered"}
shown = [{"id": p.id, "name": p.name, **{k: pending.get(p.id, {}).get(k, getattr(p, k)) for k in RANGE_KEYS},
          "kind": ("edited by user (not valid yet)" if p.id in pending else
                   "edited by user" if p.id in edited else fmt.kind(p.kind)), "source": p.source_url, "note": p.note}
         for p in res.phases]


def _on_edit(key: str) -> None:
    """Valid rows become overrides; rows in error are kept as typed and keep their last valid range."""
    rows = [dict(r) for r in shown]
    for i, change in st.session_state[key].get("edited_rows", {}).items():
        rows[int(i)].update(change)
    new, errors = overrides_from_table(res.base_phases, rows)
    sec = widgets.scenario_section("timeline")
    new.update({pid: sec.get("overrides", {})[pid] for pid in errors if pid in sec.get("overrides", {})})
    sec["overrides"] = new
    st.session_state[PENDING] = {r["id"]: {k: r.get(k) for k in RANGE_KEYS} for r in rows if r["id"] in errors}
    st.session_state[ERRORS] = errors
    st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1


def _reset() -> None:
    sec = widgets.scenario_section("timeline")
    sec["overrides"] = {}
    sec.pop("calibration", None)
    st.session_state[PENDING], st.session_state[ERRORS] = {}, {}
    st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1


def _calibrate(cal: dict) -> None:
    if cal.get("likely") is None:
        st.session_state["_timeline_calibration_error"] = cal.get("reason")
        return
    st.session_state.pop("_timeline_calibration_error", None)
    sec = widgets.scenario_section("timeline")
    sec["calibration"] = cal
    sec["overrides"] = {k: v for k, v in sec.get("overrides", {}).items() if not k.startswith("tl.impl.")}


with st.expander("Assumptions: every phase, its range and its source", expanded=bool(pending)):
    st.caption("Months for each phase after the adjustments above: fastest (low), most likely, slowest (high). "
               "Implementation is the same work under either contract: it moves both go-lives, not the months saved.")
    num = {k: st.column_config.NumberColumn(f"{lbl} (months)", min_value=0.0, step=0.1, format="%.1f")
           for k, lbl in (("low", "Low"), ("likely", "Most likely"), ("high", "High"))}
    cfg = {"name": st.column_config.TextColumn("Phase", width="medium"), **num, "kind": "Kind",
           "source": widgets.link_column("Source"), "note": st.column_config.TextColumn("Note", width="large")}
    order = ["name", "low", "likely", "high", "kind", "source", "note"]
    if meeting:
        st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch", column_order=order, column_config=cfg)
    else:
        key = f"timeline_editor_{st.session_state.get(EDITOR, 0)}"
        st.data_editor(pd.DataFrame(shown), key=key, hide_index=True, width="stretch", column_order=order,
                       column_config=cfg, disabled=["id", "name", "kind", "source", "note"], on_change=_on_edit,
                       args=(key,))
        for message in st.session_state.get(ERRORS, {}).values():
            st.error(f"{fmt.md_escape(message)}. Kept as you typed it; the model uses the phase's last valid range.")
        st.button("Reset to defaults", on_click=_reset, icon=":material/restart_alt:",
                  help="Back to the seeded assumptions: drops your edits and any calibration.")
    if edited:
        st.caption(f"Edited by user: {len(edited)} phase(s). The seeded values are in each note.")

with st.expander("Peers' actual durations: calibrate implementation"):
    peers = store.peers()
    durations = peer_durations(peers)
    table = peer_spans_table(durations, fmt.BLANK)
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "peer": "Peer", "rfp_issued": "RFP issued", "contract_award": "Contract award", "go_live": "Go-live",
        "rfp_to_award": "RFP → award", "award_to_golive": "Award → go-live", "rfp_to_golive": "RFP → go-live",
        "dropped": st.column_config.TextColumn("Dropped (why)", width="large")})
    st.caption(f"{len(table)} of {len(durations)} peers publish at least one of these dates; the rest are blank, not "
               "estimated. A date stands for the middle of the period it names; ≈ marks a year-only end.")
    if not meeting:
        try:
            similar = most_similar_peer_ids(profile, peers, SIMILAR_PEERS)
        except (PiggybackError, ValueError):
            similar = None
        b1, b2, b3 = st.columns(3)
        b1.button("Set implementation from the most similar peers", type="primary", icon=":material/tune:",
                  on_click=_calibrate, args=({**calibrate_implementation(durations, similar),
                                              "similar_ids": None if similar is None else list(similar)},),
                  help=f"min / median / max of the contract-award to go-live months of your {SIMILAR_PEERS} most "
                       "similar peers, or of every peer with both dates when they have none.")
        b2.button("Set implementation from the track record", on_click=_calibrate,
                  args=(calibration_from_track_record(res.track),),
                  help="min / median / max of the recorded contract-to-go-live spans with month precision.")
        if res.calibration:
            b3.button("Remove the calibration", on_click=lambda: widgets.scenario_section("timeline").pop(
                "calibration", None))
    if st.session_state.get("_timeline_calibration_error"):
        st.error(fmt.md_escape(st.session_state["_timeline_calibration_error"]))
    cal = res.calibration
    if cal and cal.get("likely") is not None:
        st.success(f"Implementation set from the {fmt.md_escape(cal['basis'])} (kind: derived): low {cal['low']:.1f}, "
                   f"most likely {cal['likely']:.1f}, high {cal['high']:.1f} months. Each number rests on the same "
                   f"{cal['n_peers']} peer(s) ({fmt.md_escape(', '.join(map(str, cal['peer_ids'])))}): low is their "
                   "minimum, most likely their median, high their maximum."
                   + (f" {fmt.md_escape(cal['reason'])}." if cal.get("reason") else ""))

with st.expander("How this is computed"):
    st.markdown(res.how_computed())
