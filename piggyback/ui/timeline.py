"""The Timeline page's Streamlit blocks: its settings (one :class:`widgets.PageSettings`), the
inputs, the key figures, the assumptions editor and the calibration. Presentation only: every
figure comes from :func:`piggyback.analyses.timeline.analyse_timeline`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from piggyback.analyses.timeline import apply_table_edits, calibration_from_track_record
from piggyback.core import fmt
from piggyback.core.errors import PiggybackError
from piggyback.core.models import number_or_none
from piggyback.engines.timeline import (DAYS_PER_MONTH, METHODS, MIN_DRAWS, ROUTE_LABELS, SIMILAR_PEERS,
                                        calibrate_implementation, first_of_next_month, most_similar_peer_ids,
                                        peer_durations, value_per_month)
from piggyback.figures.timeline_figures import assumption_rows, peer_spans_table, settings_summary
from piggyback.ui import widgets

METHOD_LABELS = {"pert": "PERT (default)", "triangular": "Triangular"}
METHOD_WHY = ("PERT weights each phase's most likely value four times, so the rare extremes pull less than in a "
              "triangular spread: the usual choice in schedule risk analysis. Triangular gives the fastest and "
              "slowest values more weight: a deliberately more pessimistic spread.")
VOT_FIELDS = {"staff_hours": "Staff hours saved a month", "loaded_rate": "Loaded hourly rate",
              "backlog_cost": "Backlog cost a month"}
BOUNDS = {"start": (dt.date(1990, 1, 1), dt.date(2100, 12, 31)), "seed": (0, 2**31 - 1),
          "draws": (MIN_DRAWS, 1_000_000), "correlation": (0.0, 0.9)}  # the widgets' (and the CLI's) limits
PENDING, ERRORS, EDITOR = "_timeline_pending", "_timeline_errors", "_timeline_editor_version"
CALIBRATION_ERROR = "_timeline_calibration_error"


class TimelineSettings(widgets.PageSettings):
    """The Timeline page's settings in the scenario section ``timeline``, in the shape
    ``analyse_timeline`` and saved scenarios use: every setting is kept, defaults too (so a saved
    scenario keeps its start date), and ``value_of_time`` is ``{name: [low, likely, high],
    "currency": …}``. A value-of-time bound binds as ``"value_of_time.<name>.<0|1|2>"``."""

    def __init__(self, store, currency: str):
        table = store.assumptions("timeline").set_index("assumption_id")["value"]
        super().__init__("timeline", {
            "start": first_of_next_month(dt.date.today()).isoformat(), "seed": 0, "draws": MIN_DRAWS,
            "method": "pert", "correlation": float(table.get("tl.sim.correlation", 0.5)),
            "contract_value": None, "delegated_authority": None})
        for name, default in self.defaults.items():
            self.section.setdefault(name, default)
        vot = self.section.get("value_of_time")
        self.section["value_of_time"] = {**(vot if isinstance(vot, dict) else {}), "currency": currency}

    def _triple(self, field: str) -> list:
        saved = self.section["value_of_time"].get(field)
        return ((list(saved) if isinstance(saved, (list, tuple)) else []) + [None] * 3)[:3]

    def value(self, name: str):
        """A setting as its widget takes it: a date, a number within the widget's limits, or None."""
        if name.startswith("value_of_time."):
            _, field, i = name.split(".")
            n = number_or_none(self._triple(field)[int(i)])
            return None if n is None or n < 0 else float(n)
        raw, default = self.section.get(name), self.defaults.get(name)
        if name == "start":
            try:
                day = dt.date.fromisoformat(str(raw))
            except ValueError:
                day = dt.date.fromisoformat(default)
            return min(max(day, BOUNDS["start"][0]), BOUNDS["start"][1])
        if name == "method":
            return raw if raw in METHODS else default
        n = number_or_none(raw)
        if name in ("contract_value", "delegated_authority"):
            return None if n is None or n < 0 else float(n)
        low, high = BOUNDS[name]
        n = min(max(default if n is None else n, low), high)
        return float(n) if name == "correlation" else int(n)

    def set(self, name: str, value) -> None:
        """Kept as given (never dropped as a default); a date as ISO text, a blank start as the default."""
        if name.startswith("value_of_time."):
            _, field, i = name.split(".")
            triple = self._triple(field)
            triple[int(i)] = value
            self.section["value_of_time"][field] = triple
        elif name == "start":
            self.section[name] = value.isoformat() if isinstance(value, dt.date) else self.defaults["start"]
        else:
            self.section[name] = value

    def analysis_values(self) -> tuple[dict, str | None]:
        """The settings for the analysis, and why the value of time is left out when it cannot be used."""
        values = self.values()
        try:
            value_per_month(**{n: values["value_of_time"].get(n) for n in VOT_FIELDS})
        except PiggybackError as exc:
            return {**values, "value_of_time": {}}, str(exc)
        return values, None


def settings_inputs(store, settings: TimelineSettings, currency: str) -> str | None:
    """The peer, start date, contract value and authority, then the simulation settings; the chosen peer."""
    c_peer, c_start, c_value, c_auth = st.columns([3, 1.4, 1.6, 1.6], vertical_alignment="bottom")
    peer_id = widgets.peer_picker(store, where=c_peer)
    c_start.date_input("Start date", format="YYYY-MM-DD", min_value=BOUNDS["start"][0], max_value=BOUNDS["start"][1],
                       help="The decision date; months count from here. Default: the first of next month.",
                       **settings.bind("start"))
    c_value.number_input(f"Contract value ({currency})", min_value=0.0, step=10_000.0, placeholder="estimated",
                         help="Blank: estimated from the population (tl.adj.value_per_resident). It decides "
                              "the approval path, trade-agreement coverage and the size band.",
                         **settings.bind("contract_value"))
    c_auth.number_input(f"Staff may award up to ({currency})", min_value=0.0, step=10_000.0, placeholder="on file",
                        help="The agency's delegated authority. Blank: the figure on file "
                             "(data/compliance/delegated_authority.csv), else a council cycle.",
                        **settings.bind("delegated_authority"))
    with st.expander("Advanced: simulation settings"):
        a1, a2, a3, a4 = st.columns([1, 1.2, 2, 1.6])
        a1.number_input("Seed", min_value=BOUNDS["seed"][0], max_value=BOUNDS["seed"][1], step=1,
                        help="Same seed, same numbers, here and in `python -m piggyback timeline --seed`.",
                        **settings.bind("seed"))
        a2.number_input("Draws", min_value=MIN_DRAWS, max_value=BOUNDS["draws"][1], step=10_000,
                        help="At least 10,000 so the P10 and P90 are stable.", **settings.bind("draws"))
        a3.radio("Distribution", METHODS, format_func=METHOD_LABELS.__getitem__, horizontal=True, help=METHOD_WHY,
                 **settings.bind("method"))
        a4.slider("Phases move together", *BOUNDS["correlation"], step=0.05,
                  help=f"Correlation between the phases of one route (assumption tl.sim.correlation, default "
                       f"{settings.defaults['correlation']:g}): 0 draws each phase on its own and gives the "
                       "narrowest, least honest band.", **settings.bind("correlation"))
    return peer_id


def value_of_time_inputs(settings: TimelineSettings, currency: str):
    """The optional value of a month (low / most likely / high of each input); the settings for the
    analysis and the box the value's figure goes in once computed."""
    with st.expander("Value of time (optional)"):
        st.caption(f"What is a month of earlier go-live worth? Staff hours saved × loaded hourly rate, and/or the "
                   f"backlog cost a month, in {currency}; low / most likely / high, blank = not computed.")
        for name, label in VOT_FIELDS.items():
            unit = f" ({currency})" if name != "staff_hours" else ""
            for i, (col, bound) in enumerate(zip(st.columns(3), ("low", "most likely", "high"))):
                col.number_input(f"{label}{unit}: {bound}", min_value=0.0, step=1.0, placeholder="blank",
                                 **settings.bind(f"value_of_time.{name}.{i}"))
        values, problem = settings.analysis_values()
        if problem:
            st.error(fmt.md_escape(problem))
        return values, st.container()


def value_of_time_figure(sim: dict, currency: str, blank_note: bool = True) -> None:
    if sim.get("value_of_time"):
        v = sim["value_of_time"]
        st.metric(f"Value of the months saved (median, {currency})", fmt.money(v["p50"], currency),
                  delta=f"P10–P90: {fmt.money(v['p10'])} to {fmt.money(v['p90'])}", delta_color="off",
                  delta_arrow="off", help="Months saved × a month's value (entered by user), per draw.")
    elif blank_note:
        st.caption("Not computed: no value entered.")


def settings_caption(store, res) -> None:
    """Meeting mode: the settings in use as one caption, instead of their inputs."""
    peers = store.peers()
    hit = peers[peers["deployment_id"] == (res.peer or {}).get("deployment_id")]
    label = None if hit.empty else (f"{hit.iloc[0]['jurisdiction']} — "
                                    + (fmt.BLANK if fmt.missing(hit.iloc[0]["vendor"]) else hit.iloc[0]["vendor"]))
    st.caption(fmt.md_escape(settings_summary(res, label)))


def key_figures(res, meeting: bool) -> None:
    """The four decision figures, each with its range and what it rests on."""
    sim, d, rests_on, ms = res.simulation, res.display(), res.rests_on(), res.months_saved
    m1, m2, m3, m4 = (st.columns(2) + st.columns(2)) if meeting else st.columns(4)
    m1.metric("Months saved (median)", d["months_saved"], delta=f"P10–P90: {ms['p10']:.1f} to {ms['p90']:.1f}",
              delta_color="off", delta_arrow="off", help="New RFP minus piggyback, per draw. Rests on " + rests_on)
    for col, route in ((m2, "traditional"), (m3, "piggyback")):
        gl, months = sim["routes"][route]["go_live"], sim["routes"][route]["months"]
        col.metric(f"{ROUTE_LABELS[route]} go-live (median)", d[f"golive_{route}"],
                   delta=d[f"golive_{route}_range"].replace("P10–P90 ", "P10–P90: "), delta_color="off",
                   delta_arrow="off", help=f"Median go-live {gl['p50']}, {months['p50']:.1f} months after "
                                           f"{sim['start']} (P10 {gl['p10']}, P90 {gl['p90']}); a month is "
                                           f"{DAYS_PER_MONTH} days. Rests on " + rests_on)
    m4.metric("Chance piggyback is sooner", d["prob_faster"], help="Share of draws in which the piggyback route goes "
              "live first. Rests on " + rests_on)


def _bump_editor() -> None:
    st.session_state[EDITOR] = st.session_state.get(EDITOR, 0) + 1


def _on_edit(key: str, rows: list[dict], base_phases) -> None:
    """Valid rows become overrides; rows in error are kept as typed and keep their last valid range."""
    sec = widgets.scenario_section("timeline")
    sec["overrides"], st.session_state[PENDING], st.session_state[ERRORS] = apply_table_edits(
        base_phases, rows, st.session_state[key].get("edited_rows", {}), sec.get("overrides", {}))
    _bump_editor()


def _reset() -> None:
    sec = widgets.scenario_section("timeline")
    sec["overrides"] = {}
    sec.pop("calibration", None)
    st.session_state[PENDING], st.session_state[ERRORS] = {}, {}
    _bump_editor()


def assumptions_editor(res, meeting: bool) -> None:
    """Every phase's range and source: editable (kept in the scenario), read-only in meeting mode."""
    pending: dict = st.session_state.setdefault(PENDING, {})
    for pid, message in res.override_errors.items():
        if pid not in pending:
            st.error(f"Your edit was not applied: {fmt.md_escape(message)}. Fix it in the assumptions table or reset.")
    shown = assumption_rows(res, pending)
    edited = sum(p.kind == "user-entered" for p in res.phases)
    with st.expander("Assumptions: every phase, its range and its source", expanded=bool(pending)):
        st.caption("Months for each phase after the adjustments above: fastest (low), most likely, slowest (high). "
                   "Implementation is the same work under either contract: it moves both go-lives, not the months "
                   "saved.")
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
                           args=(key, shown, res.base_phases))
            for message in st.session_state.get(ERRORS, {}).values():
                st.error(f"{fmt.md_escape(message)}. Kept as you typed it; the model uses the phase's last valid range.")
            st.button("Reset to defaults", on_click=_reset, icon=":material/restart_alt:",
                      help="Back to the seeded assumptions: drops your edits and any calibration.")
        if edited:
            st.caption(f"Edited by user: {edited} phase(s). The seeded values are in each note.")


def _calibrate(cal: dict) -> None:
    if cal.get("likely") is None:
        st.session_state[CALIBRATION_ERROR] = cal.get("reason")
        return
    st.session_state.pop(CALIBRATION_ERROR, None)
    sec = widgets.scenario_section("timeline")
    sec["calibration"] = cal
    sec["overrides"] = {k: v for k, v in sec.get("overrides", {}).items() if not k.startswith("tl.impl.")}


def _remove_calibration() -> None:
    widgets.scenario_section("timeline").pop("calibration", None)


def calibration_box(store, profile, res, meeting: bool) -> None:
    """Peers' published durations, and (outside meeting mode) implementation set from them."""
    with st.expander("Peers' actual durations: calibrate implementation"):
        peers = store.peers()
        durations = peer_durations(peers)
        table = peer_spans_table(durations, fmt.BLANK)
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "peer": "Peer", "rfp_issued": "RFP issued", "contract_award": "Contract award", "go_live": "Go-live",
            "rfp_to_award": "RFP → award", "award_to_golive": "Award → go-live", "rfp_to_golive": "RFP → go-live",
            "dropped": st.column_config.TextColumn("Dropped (why)", width="large")})
        st.caption(f"{len(table)} of {len(durations)} peers publish at least one of these dates; the rest are blank, "
                   "not estimated. A date stands for the middle of the period it names; ≈ marks a year-only end.")
        if not meeting:
            try:
                similar = most_similar_peer_ids(profile, peers, SIMILAR_PEERS)
            except (PiggybackError, ValueError):
                similar = None
            b1, b2, b3 = st.columns(3)
            b1.button("Set implementation from the most similar peers", type="primary", icon=":material/tune:",
                      on_click=_calibrate, args=({**calibrate_implementation(durations, similar),
                                                  "similar_ids": None if similar is None else list(similar)},),
                      help=f"min / median / max of the contract-award to go-live months of your {SIMILAR_PEERS} "
                           "most similar peers, or of every peer with both dates when they have none.")
            b2.button("Set implementation from the track record", on_click=_calibrate,
                      args=(calibration_from_track_record(res.track),),
                      help="min / median / max of the recorded contract-to-go-live spans with month precision.")
            if res.calibration:
                b3.button("Remove the calibration", on_click=_remove_calibration)
        if st.session_state.get(CALIBRATION_ERROR):
            st.error(fmt.md_escape(st.session_state[CALIBRATION_ERROR]))
        cal = res.calibration
        if cal and cal.get("likely") is not None:
            st.success(f"Implementation set from the {fmt.md_escape(cal['basis'])} (kind: derived): low "
                       f"{cal['low']:.1f}, most likely {cal['likely']:.1f}, high {cal['high']:.1f} months. Each number "
                       f"rests on the same {cal['n_peers']} peer(s) ({fmt.md_escape(', '.join(map(str, cal['peer_ids'])))}"
                       "): low is their minimum, most likely their median, high their maximum."
                       + (f" {fmt.md_escape(cal['reason'])}." if cal.get("reason") else ""))
