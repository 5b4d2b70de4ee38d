"""Cost: what the peer's contract would cost the agency over the horizon, by route, with its sources."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from piggyback import fmt, quotes, widgets
from piggyback import params as url_params
from piggyback.errors import PiggybackError
from piggyback.analyses.cost import analyse_cost
from piggyback.pricing import BASES, CATEGORIES, COST_LINES, RECURRENCES
from piggyback.pricing_routes import default_currency
from piggyback.pricing_figures import cost_by_year_figure, peer_compare_figure, tornado_figure

HORIZON = "pricing.horizon_years"
# assumption id -> (label, widget key, min, max, step, format)
SETTINGS = {
    HORIZON: ("Horizon (years)", "cost_horizon", 1, 50, 1, None),
    "pricing.discount_rate": ("Discount rate (%/yr)", "cost_discount", -5.0, 50.0, 0.5, "%.2f"),
    "pricing.escalation_default": ("Default escalation (%/yr)", "cost_escalation", -10.0, 20.0, 0.5, "%.2f"),
    "pricing.price_inflation": ("Inflation for old prices (%/yr)", "cost_inflation", -5.0, 30.0, 0.5, "%.2f"),
    "pricing.fx_cad_per_usd": ("Exchange rate (CAD per USD)", "cost_fx", 0.2, 5.0, 0.01, "%.2f"),
    "pricing.scale_elasticity": ("Size elasticity of fixed prices", "cost_elasticity", 0.0, 1.5, 0.05, "%.2f"),
    "pricing.staff_users_per_1000": ("Staff users per 1,000 residents", "cost_users_per_1000", 0.1, 100.0, 0.1,
                                     "%.1f"),
    "pricing.rfp_fixed_cost": ("Own RFP: fixed staff cost", "cost_rfp", 0.0, 10_000_000.0, 5_000.0, "%.0f"),
    "pricing.rfp_cost_per_module": ("Own RFP: cost per module", "cost_rfp_module", 0.0, 1_000_000.0, 500.0, "%.0f"),
    "pricing.rfp_share_of_value": ("Own RFP: % of contract value", "cost_rfp_share", 0.0, 20.0, 0.25, "%.2f"),
    "pricing.due_diligence_fixed": ("Piggyback: fixed due diligence", "cost_due_diligence", 0.0, 10_000_000.0,
                                    1_000.0, "%.0f"),
    "pricing.due_diligence_per_module": ("Piggyback: cost per module", "cost_dd_module", 0.0, 1_000_000.0, 250.0,
                                         "%.0f"),
    "pricing.due_diligence_share_of_value": ("Piggyback: % of contract value", "cost_dd_share", 0.0, 20.0, 0.05,
                                             "%.2f"),
    "pricing.lump_sum_maintenance_share": ("Maintenance of a lump sum (%/yr)", "cost_lump_share", 0.0, 50.0, 1.0,
                                           "%.1f"),
}
RECURRENCE_LABEL = {"one_time": "once", "recurring": "every year"}
QUOTE_FIELDS = ("description", "category", "basis", "amount", "currency", "price_year", "recurrence", "years",
                "escalation_pct", "source_url")


def kind_label(kind: str | None, derived_from: str | None = None) -> str:
    if kind == "derived" and derived_from:
        return f"derived from {derived_from}"
    if kind in ("primary", "secondary", "vendor-stated"):
        return f"peer-sourced ({fmt.kind(kind)})"
    return {"user-entered": "user-entered", "assumption": "assumption", "derived": "derived"}.get(kind, fmt.kind(kind))


def assumption_help(a) -> str:
    rng = f"range {a.low:g}–{a.high:g}" if a.low is not None and a.high is not None else "no range"
    source = f"Source: {a.source_url}" if a.source_url else "Not from a source: an assumption."
    return f"{fmt.kind(a.kind).capitalize()}. {a.note} Default {a.value:g} {a.unit}, {rng}. {source}"


# -- settings kept in the scenario ------------------------------------------------------------

def section() -> dict:
    sec = widgets.scenario_section("pricing")
    sec.setdefault("assumptions", {})
    return sec


def init_from_url(defaults) -> None:
    """A shared link may carry the horizon (?years=15): adopt it once per session."""
    if st.session_state.get("_cost_url_loaded"):
        return
    st.session_state["_cost_url_loaded"] = True
    default = int(defaults[HORIZON].value)
    _, _, low, high, *_ = SETTINGS[HORIZON]
    years = url_params.whole_number(st.query_params.get("years"), "years", low, high, default=default)
    if years.problem:
        st.warning(years.problem, icon=":material/link_off:")
    if years.value != default:
        section()["assumptions"][HORIZON] = years.value


def remember(aid: str, key: str, default: float) -> None:
    value = st.session_state.get(key)
    edits = section()["assumptions"]
    if value is None or float(value) == float(default):
        edits.pop(aid, None)
    else:
        edits[aid] = int(value) if aid == HORIZON else float(value)


def remember_currency() -> None:
    section()["currency"] = st.session_state.get("cost_currency")


def remember_users(profile_users) -> None:
    value = st.session_state.get("cost_staff_users")
    sec = section()
    if value == profile_users:
        sec.pop("staff_users", None)
    else:
        sec["staff_users"] = None if value is None else int(value)


def reset_settings() -> None:
    sec = section()
    sec["assumptions"].clear()
    sec.pop("currency", None)
    sec.pop("staff_users", None)


def settings_form(defaults, profile, staff_users) -> None:
    """The editable settings, prefilled from the named assumptions (edits go to the scenario)."""
    sec = section()
    for aid, (_, key, *_rest) in SETTINGS.items():
        value = sec["assumptions"].get(aid, defaults[aid].value)
        st.session_state[key] = int(value) if aid == HORIZON else float(value)
    st.session_state["cost_currency"] = sec.get("currency") or default_currency(profile)
    st.session_state["cost_staff_users"] = staff_users

    with st.expander("Settings and assumptions", icon=":material/tune:"):
        st.caption("Each value starts at a named assumption (hover for its source and range); edit it to "
                   "the agency's own figure. Edited values are labelled as entered by you.")
        cols = st.columns(4)
        cols[0].selectbox("Currency", ["CAD", "USD"], key="cost_currency", on_change=remember_currency,
                          help=f"Default: the agency's own currency ({default_currency(profile)}). Amounts are "
                               "converted at the exchange rate below.")
        for n, (aid, (label, key, lo, hi, step, form)) in enumerate(SETTINGS.items(), start=1):
            a = defaults[aid]
            unit = f" ({a.unit})" if a.unit in ("CAD", "USD") else ""
            cols[n % 4].number_input(
                f"{label}{unit} — {'assumption' if a.kind == 'assumption' else 'sourced assumption'}",
                min_value=lo, max_value=hi, step=step, format=form, key=key,
                on_change=remember, args=(aid, key, a.value), help=assumption_help(a))
        users_per_1000 = sec["assumptions"].get("pricing.staff_users_per_1000",
                                                defaults["pricing.staff_users_per_1000"].value)
        estimate = (f"{max(1, round(profile.population * users_per_1000 / 1000)):,}"
                    if profile.population else "not possible (population unknown)")
        cols[(len(SETTINGS) + 1) % 4].number_input(
            "Staff users of the new system", min_value=0, max_value=1_000_000, step=5, key="cost_staff_users",
            placeholder=f"estimated: {estimate}", on_change=remember_users, args=(profile.staff_users,),
            help="From the agency profile when entered there. Left blank, per-user prices use an estimate from "
                 f"the staff-users-per-1,000-residents assumption ({users_per_1000:g}), and the line says so.")
        edited = sorted(defaults[a].name for a in sec["assumptions"])
        c1, c2 = st.columns([3, 1])
        c1.caption("Edited: " + ("; ".join(edited) if edited else "nothing — every value is its default assumption."))
        c2.button("Reset assumptions", on_click=reset_settings, icon=":material/restart_alt:",
                  help="Put every setting back to its default assumption and the agency's currency.")


# -- quotes ------------------------------------------------------------------------------------

def save_quote_clicked(store, scope: str) -> None:
    record = {f: st.session_state.get(f"quote_{f}") for f in QUOTE_FIELDS}
    record["source_url"] = (record.get("source_url") or "").strip() or None
    try:
        item = quotes.save_quote(store, scope, record, user=widgets.current_user())
    except PiggybackError as exc:
        st.session_state["quote_error"] = str(exc)
        st.session_state.pop("quote_saved", None)
        return
    st.session_state.pop("quote_error", None)
    st.session_state["quote_saved"] = item.description


def delete_quote_clicked(store, item_id: str, scope: str) -> None:
    try:
        quotes.delete_quote(store, item_id, scope, user=widgets.current_user())
        st.session_state.pop("quote_error", None)
    except PiggybackError as exc:
        st.session_state["quote_error"] = str(exc)


def quote_form(store, scope: str, currency: str) -> None:
    if store.read_only:
        st.caption("The database is read-only just now: quotes cannot be saved.")
        return
    error, saved_line = st.session_state.pop("quote_error", None), st.session_state.pop("quote_saved", None)
    if error:
        st.error(f"The quote line was not saved: {fmt.md_escape(error)}. Your entries are kept: correct them and "
                 "save again.")
    elif saved_line:
        st.success(f"Saved: {fmt.md_escape(saved_line)} (user-entered).")
    with st.form("quote_form", clear_on_submit=False):
        st.markdown("**Add a quote line** (e.g. the price offered under the peer contract's piggyback clause)")
        c = st.columns(3)
        c[0].text_input("Description", max_chars=300, key="quote_description",
                        placeholder="e.g. Software licence, per the vendor's quote of 2026-03-01")
        c[1].selectbox("Category", list(CATEGORIES), format_func=CATEGORIES.__getitem__, key="quote_category")
        c[2].selectbox("Basis", list(BASES), format_func=BASES.__getitem__, key="quote_basis",
                       help="fixed / per year: the quoted total; per user, resident or module: the unit price, "
                            "multiplied by the agency's units.")
        c = st.columns(3)
        c[0].number_input("Amount", min_value=0.0, value=None, step=1_000.0, format="%.2f", key="quote_amount",
                          placeholder="as quoted")
        c[1].selectbox("Currency", ["CAD", "USD"], index=["CAD", "USD"].index(currency), key="quote_currency")
        c[2].number_input("Price year", min_value=1970, max_value=dt.date.today().year + 1,
                          value=dt.date.today().year, step=1, key="quote_price_year")
        c = st.columns(3)
        c[0].selectbox("Recurrence", list(RECURRENCES), format_func=lambda r: RECURRENCE_LABEL[r].capitalize(),
                       key="quote_recurrence")
        c[1].number_input("Years quoted (recurring only)", min_value=1, max_value=50, value=None, step=1,
                          key="quote_years", placeholder="blank: the whole horizon")
        c[2].number_input("Escalation (%/yr, recurring only)", min_value=-10.0, max_value=20.0, value=None,
                          step=0.5, key="quote_escalation_pct", placeholder="blank: the default assumption")
        st.text_input("Source (optional web address of the quote)", key="quote_source_url",
                      placeholder="https://…")
        st.form_submit_button("Save quote line", type="primary", on_click=save_quote_clicked, args=(store, scope),
                              key="quote_submit")


# -- page --------------------------------------------------------------------------------------

store = widgets.get_store()
profile = widgets.require_profile()
meeting = widgets.meeting_mode()

st.title("Cost")
st.caption("What the peer's contract would cost us over the horizon, on each route: its price lines scaled "
           "to our size, brought to today's prices and currency, plus each route's own cost. Ranges, not single "
           "numbers, to three significant figures; every line shows its formula and source.")
try:
    defaults = quotes.pricing_assumptions(store)
except PiggybackError as exc:
    st.error(fmt.md_escape(exc))
    st.stop()
peers = store.peers()
names = dict(zip(peers["deployment_id"], peers["census_name"].fillna(peers["jurisdiction"] + ", " + peers["region"])))
init_from_url(defaults)
sec = section()
peer_id = widgets.peer_picker(store)
staff_users = sec["staff_users"] if "staff_users" in sec else profile.staff_users
if not meeting:
    settings_form(defaults, profile, staff_users)
result = analyse_cost(store, profile, peer_id, sec, today=dt.date.today())  # the one cost chain
if result.settings is None:
    st.error(fmt.md_escape(result.message))
    st.stop()
settings, currency = result.settings, result.currency
h = settings.horizon_years
if h != int(defaults[HORIZON].value):
    st.query_params["years"] = str(h)
elif "years" in st.query_params:
    del st.query_params["years"]
spread = result.spread or {"peers": [], "problems": {}}
priced = [d for d in peers["deployment_id"] if d in result.peer_results or d in spread["problems"]]
unpriced = [d for d in peers["deployment_id"] if d not in priced]
if not meeting:
    st.caption(f"Price schedule on file for {len(priced)} of {len(peers)} peers: "
               + ", ".join(fmt.md_escape(names[d]) for d in priced) + ". The others: no price schedule on file.")


def show_items(tco, key: str) -> None:
    cur = tco.currency
    frame = pd.DataFrame([{
        "Description": i["description"], "Category": COST_LINES.get(i["category"], i["category"]),
        "Basis": f"{BASES.get(i['basis'], i['basis'])}, {RECURRENCE_LABEL.get(i['recurrence'], '')}",
        "Formula": i["formula"], f"Year 1 ({cur})": fmt.sig(i["first_year"]), f"Total ({cur})": fmt.sig(i["total"]),
        "Source": i["source_url"], "Confidence": fmt.confidence(i["confidence"]),
        "Kind": kind_label(i["kind"], i.get("derived_from")), "Notes": " ".join(i["flags"]) or None,
    } for i in tco.items])
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config={
        "Formula": st.column_config.TextColumn("Formula", width="large", help="How the line was scaled, brought "
                                               "to today's prices and converted"),
        f"Total ({cur})": st.column_config.NumberColumn(format="localized", help=f"Over {tco.horizon_years} years"),
        "Source": widgets.link_column(), "Notes": st.column_config.TextColumn("Notes", width="large")})


def peers_side_by_side(extra_missing: str | None) -> None:
    shown = {**result.peer_results, **({extra_missing: None} if extra_missing else {})}
    st.plotly_chart(peer_compare_figure(shown, labels=names), width="stretch", key="cost_peers_chart")
    st.caption(fmt.md_escape(spread.get("summary") or "") + f" Each peer's own price lines scaled to "
               f"{fmt.md_escape(profile.name)} and costed alike over {h} years in {currency}, without any route's "
               "own cost; the bar is the range low–high. No price schedule on file: "
               + ", ".join(fmt.md_escape(names[d]) for d in unpriced) + ".")
    for dep_id, reason in spread["problems"].items():
        st.caption(f"{fmt.md_escape(names.get(dep_id, dep_id))}: not costed ({fmt.md_escape(reason)}).")


if not peer_id:
    st.info("Choose the peer contract to adopt (above) to see what it would cost us. Meanwhile, the peers "
            "with a price schedule on file, scaled to our size:", icon=":material/arrow_upward:")
    peers_side_by_side(None)
    st.stop()
peer_name = names.get(peer_id, peer_id)
scope = quotes.scope_for(profile.geo_id or "entered", peer_id)
if result.status == "no_schedule":
    st.warning(f"**No price schedule on file for {fmt.md_escape(peer_name)}**: the sources found give no prices "
               "for its contract. Choose a peer with one, or enter the prices from its contract or from a quote "
               "below.", icon=":material/money_off:")
elif result.status == "error":
    st.error(fmt.md_escape(result.message))
if result.ok:
    analysis, shown = result.analysis, result.display()
    trad, pig = analysis.traditional, analysis.piggyback
    if result.basis == "quote":
        st.info("The figures below are from **your quote**, not from a peer's contract.")
    basis = (f"{fmt.md_escape(peer_name)}'s price lines scaled to {fmt.md_escape(profile.name)}"
             if result.basis == "peer" else "your quote for this contract")
    own = {r: fmt.md_escape(analysis.routes[r].procurement_source["formula"]) for r in analysis.routes}
    st.subheader(f"{h}-year cost of ownership, {currency}")
    npv_help = (f"Net present value at {settings.assumptions['pricing.discount_rate'].value:g} %/yr "
                f"({'entered by you' if 'pricing.discount_rate' in settings.edited else 'assumption'}).")
    moving = [r["name"].lower() for r in analysis.tornado if r["swing"] > 0]
    figures = [
        (f"{h}-year cost: own RFP", shown["traditional"]["total"], dict(
            help=f"{basis}, plus the own cost of an RFP, modelled from the contract: {own['traditional']}. "
                 f"{fmt.md_escape(defaults['pricing.rfp_fixed_cost'].note)}")),
        (f"{h}-year cost: piggyback", shown["piggyback"]["total"], dict(
            delta=f"{shown['difference']} vs own RFP", delta_color="inverse",
            help=f"{basis}, plus the due diligence of adopting the contract: {own['piggyback']}.")),
        ("Cost per resident (piggyback)", shown["per_resident"], dict(
            help=(f"Piggyback total ÷ {profile.population:,} residents (census) over {h} years"
                  if profile.population else "Population unknown: no per-resident figure."))),
        ("NPV: own RFP", shown["traditional"]["npv"], dict(help=npv_help)),
        ("NPV: piggyback", shown["piggyback"]["npv"], dict(help=npv_help)),
        ("Range (piggyback)", shown["piggyback"]["range"], dict(
            help=f"Low–high of the piggyback total: {'; '.join(moving) or 'no assumption'}, all set together at "
                 "the end of each range. A corner case, not a probability interval; values you entered are not "
                 "varied.")),
    ]
    if meeting:
        figures = [figures[i] for i in (0, 1, 3, 4, 5, 2)]
    per_row = 2 if meeting else 3
    for start in range(0, len(figures), per_row):
        for col, (label, value, kw) in zip(st.columns(per_row), figures[start:start + per_row]):
            col.metric(label, value, **kw)
    for w in result.warnings:
        st.warning(fmt.md_escape(w), icon=":material/warning:")
    st.plotly_chart(cost_by_year_figure(pig.tco), width="stretch", key="cost_by_year_chart")
    tab_tornado, tab_items, tab_peers, tab_sources = st.tabs(
        ["What moves the total", "Line items", "Peers side by side", "Sources & assumptions"])
    with tab_tornado:
        st.plotly_chart(tornado_figure(analysis.tornado), width="stretch", key="cost_tornado_chart")
        st.caption("Piggyback route: each assumption moved from the low to the high end of its range, the others "
                   "kept. The discount rate moves the NPV, not the total. The horizon is a choice, not varied.")
    with tab_items:
        show_items(pig.tco, "cost_items")
        st.caption(f"Fixed and yearly amounts are {fmt.md_escape(peer_name)}'s own totals, scaled by population "
                   f"to the power of the size elasticity; its population: {fmt.md_escape(result.population_note)}. "
                   f"Ours: {fmt.integer(profile.population)} (census).")
    with tab_peers:
        peers_side_by_side(None)
    with tab_sources:
        rows = pd.DataFrame(analysis.assumption_rows())
        rows["range"] = [f"{lo:g}–{hi:g}" if pd.notna(lo) and pd.notna(hi) else fmt.BLANK
                         for lo, hi in zip(rows["low"], rows["high"])]
        rows["status"] = ["entered by you" if e else kind_label(k) for e, k in zip(rows["edited"], rows["kind"])]
        st.dataframe(rows[["name", "value", "default", "range", "unit", "status", "source_url", "note"]],
                     hide_index=True, width="stretch", key="cost_assumptions", column_config={
                         "name": "Assumption", "value": "Value used", "default": "Default", "range": "Range",
                         "unit": "Unit", "status": "Kind", "source_url": widgets.link_column(),
                         "note": st.column_config.TextColumn("Note", width="large")})
        st.caption(pig.tco.range_method)
else:
    with st.expander("Peers side by side", expanded=True):
        peers_side_by_side(peer_id)

saved = quotes.list_quotes(store, scope) if result.quote_items else []
if saved or not meeting:
    st.subheader("Your quote")
if result.quote is not None:
    quote_tco = result.quote.contract
    c = st.columns(3)
    c[0].metric(f"Your quote: {h}-year cost", fmt.cost(quote_tco.total, currency),
                help="Your quote lines as entered (not scaled: the quote is for us), brought to today's prices and "
                     "currency, without any route's own cost.")
    if result.basis == "peer":
        peer_tco = result.analysis.contract
        c[1].metric(f"{fmt.md_escape(peer_name)} scaled: {h}-year cost", fmt.cost(peer_tco.total, currency),
                    help=f"{fmt.md_escape(peer_name)}'s price lines scaled to us, without any route's own cost.")
        c[2].metric("Quote minus scaled peer", fmt.cost(quote_tco.total - peer_tco.total, currency),
                    help="Negative: the quote is below the peer's prices scaled to our size.")
        fig = peer_compare_figure({"quote": quote_tco, peer_id: peer_tco},
                                  labels={"quote": "Your quote", peer_id: f"{fmt.md_escape(peer_name)} scaled"})
        fig.update_layout(title_text=f"Your quote vs {fmt.md_escape(peer_name)} scaled")
        st.plotly_chart(fig, width="stretch", key="cost_quote_chart")
    else:
        c[1].caption(f"No price schedule on file for {fmt.md_escape(peer_name)}: nothing to compare the quote with.")
    show_items(quote_tco, "cost_quote_items")
if not meeting and not store.read_only:
    for q in saved:
        st.button(f"Delete quote line: {fmt.md_escape(q.item.description)}", key=f"quote_delete_{q.item.item_id}",
                  on_click=delete_quote_clicked, args=(store, q.item.item_id, scope), icon=":material/delete:",
                  help=f"Saved by {fmt.md_escape(q.who)} on {q.ts:%Y-%m-%d %H:%M}")
if not saved and not meeting:
    st.caption(f"No quote saved for {fmt.md_escape(peer_name)}'s contract yet.")
if not meeting:
    quote_form(store, scope, currency)
