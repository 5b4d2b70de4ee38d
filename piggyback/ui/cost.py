"""The Cost page's Streamlit parts: its settings form (each editable assumption, bound to the
scenario section ``pricing``), the saved quote lines and the line-item table. The figures come from
``piggyback.analyses.cost``."""

from __future__ import annotations

import streamlit as st

from piggyback.core import fmt
from piggyback.core import params as url_params
from piggyback.core.errors import PiggybackError
from piggyback.core.models import AgencyProfile
from piggyback.data.store import Store
from piggyback.ui.widgets import GroupedPageSettings, current_user, link_column


def cost_chart_words(tco) -> str:
    """A cost-by-year chart in one sentence (its text alternative): total, NPV, costliest year."""
    data = tco.to_dict() if hasattr(tco, "to_dict") else tco
    cur, rows = data["currency"], data.get("by_year") or []
    text = (f"Chart in words: {fmt.cost(data['total'], cur)} over {data['horizon_years']} years "
            f"(NPV {fmt.cost(data['npv'], cur)})")
    if rows:
        peak = max(rows, key=lambda r: r.get("total") or 0)
        text += f"; the costliest year is {peak['calendar_year']} at {fmt.cost(peak.get('total'), cur)}"
    return text + "."


# -- the Cost page's settings form and quote lines --------------------------------------------

#: assumption id -> (label, min, max, step, format) of the Cost page's editable settings.
COST_SETTINGS = {
    "pricing.horizon_years": ("Horizon (years)", 1, 50, 1, None),
    "pricing.discount_rate": ("Discount rate (%/yr)", -5.0, 50.0, 0.5, "%.2f"),
    "pricing.escalation_default": ("Default escalation (%/yr)", -10.0, 20.0, 0.5, "%.2f"),
    "pricing.price_inflation": ("Inflation for old prices (%/yr)", -5.0, 30.0, 0.5, "%.2f"),
    "pricing.fx_cad_per_usd": ("Exchange rate (CAD per USD)", 0.2, 5.0, 0.01, "%.2f"),
    "pricing.scale_elasticity": ("Size elasticity of fixed prices", 0.0, 1.5, 0.05, "%.2f"),
    "pricing.staff_users_per_1000": ("Staff users per 1,000 residents", 0.1, 100.0, 0.1, "%.1f"),
    "pricing.rfp_fixed_cost": ("Own RFP: fixed staff cost", 0.0, 10_000_000.0, 5_000.0, "%.0f"),
    "pricing.rfp_cost_per_module": ("Own RFP: cost per module", 0.0, 1_000_000.0, 500.0, "%.0f"),
    "pricing.rfp_share_of_value": ("Own RFP: % of contract value", 0.0, 20.0, 0.25, "%.2f"),
    "pricing.due_diligence_fixed": ("Piggyback: fixed due diligence", 0.0, 10_000_000.0, 1_000.0, "%.0f"),
    "pricing.due_diligence_per_module": ("Piggyback: cost per module", 0.0, 1_000_000.0, 250.0, "%.0f"),
    "pricing.due_diligence_share_of_value": ("Piggyback: % of contract value", 0.0, 20.0, 0.05, "%.2f"),
    "pricing.lump_sum_maintenance_share": ("Maintenance of a lump sum (%/yr)", 0.0, 50.0, 1.0, "%.1f"),
}


def cost_page_settings(table: dict, profile: AgencyProfile) -> GroupedPageSettings:
    """The Cost page's settings (scenario section ``pricing``): each editable assumption (the
    horizon also in the link as ``?years=``), the currency and the staff users."""
    from piggyback.engines.pricing_routes import default_currency

    defaults = {aid: int(table[aid].value) if aid == "pricing.horizon_years" else float(table[aid].value)
                for aid in COST_SETTINGS}
    low, high = COST_SETTINGS["pricing.horizon_years"][1:3]
    years = ("years", lambda text: url_params.whole_number(text, "years", low, high,
                                                           default=defaults["pricing.horizon_years"]))
    return GroupedPageSettings("pricing", {**defaults, "currency": default_currency(profile),
                                           "staff_users": profile.staff_users},
                               grouped=COST_SETTINGS, url={"pricing.horizon_years": years})


def cost_settings_form(settings: GroupedPageSettings, table: dict, profile: AgencyProfile) -> None:
    """The editable cost settings, each starting at its named assumption (edits go to the scenario)."""
    from piggyback.figures.tables import assumption_help

    with st.expander("Settings and assumptions", icon=":material/tune:"):
        st.caption("Each value starts at a named assumption (hover for its source and range); edit it to "
                   "the agency's own figure. Edited values are labelled as entered by you.")
        cols = st.columns(4)
        cols[0].selectbox("Currency", ["CAD", "USD"], **settings.bind("currency"),
                          help=f"Default: the agency's own currency ({settings.defaults['currency']}). Amounts are "
                               "converted at the exchange rate below.")
        for n, (aid, (label, lo, hi, step, form)) in enumerate(COST_SETTINGS.items(), start=1):
            a = table[aid]
            unit = f" ({a.unit})" if a.unit in ("CAD", "USD") else ""
            cols[n % 4].number_input(
                f"{label}{unit} — {'assumption' if a.kind == 'assumption' else 'sourced assumption'}",
                min_value=lo, max_value=hi, step=step, format=form, help=assumption_help(a), **settings.bind(aid))
        per_1000 = settings.value("pricing.staff_users_per_1000")
        estimate = (f"{max(1, round(profile.population * per_1000 / 1000)):,}"
                    if profile.population else "not possible (population unknown)")
        cols[(len(COST_SETTINGS) + 1) % 4].number_input(
            "Staff users of the new system", min_value=0, max_value=1_000_000, step=5,
            placeholder=f"estimated: {estimate}", **settings.bind("staff_users"),
            help="From the agency profile when entered there. Left blank, per-user prices use an estimate from "
                 f"the staff-users-per-1,000-residents assumption ({per_1000:g}), and the line says so.")
        edited = [table[a].name for a in settings.edited() if a in table]
        c1, c2 = st.columns([3, 1])
        c1.caption("Edited: " + ("; ".join(edited) if edited else "nothing — every value is its default assumption."))
        c2.button("Reset assumptions", on_click=settings.reset, icon=":material/restart_alt:",
                  help="Put every setting back to its default assumption and the agency's currency.")


QUOTE_FIELDS = ("description", "category", "basis", "amount", "currency", "price_year", "recurrence", "years",
                "escalation_pct", "source_url")


def _save_quote(store: Store, scope: str) -> None:
    from piggyback.data import quotes
    record = {f: st.session_state.get(f"quote_{f}") for f in QUOTE_FIELDS}
    record["source_url"] = (record.get("source_url") or "").strip() or None
    try:
        item = quotes.save_quote(store, scope, record, user=current_user())
    except PiggybackError as exc:
        st.session_state["quote_error"] = str(exc)
        st.session_state.pop("quote_saved", None)
        return
    st.session_state.pop("quote_error", None)
    st.session_state["quote_saved"] = item.description


def _delete_quote(store: Store, item_id: str, scope: str) -> None:
    from piggyback.data import quotes
    try:
        quotes.delete_quote(store, item_id, scope, user=current_user())
        st.session_state.pop("quote_error", None)
    except PiggybackError as exc:
        st.session_state["quote_error"] = str(exc)


def quote_delete_buttons(store: Store, scope: str, saved) -> None:
    """One delete button per saved quote line (not drawn when the store is read-only)."""
    if store.read_only:
        return
    for q in saved:
        st.button(f"Delete quote line: {fmt.md_escape(q.item.description)}", key=f"quote_delete_{q.item.item_id}",
                  on_click=_delete_quote, args=(store, q.item.item_id, scope), icon=":material/delete:",
                  help=f"Saved by {fmt.md_escape(q.who)} on {q.ts:%Y-%m-%d %H:%M}")


def quote_form(store: Store, scope: str, currency: str) -> None:
    """The form adding one quote line (user-entered) to the agency's quotes on a peer contract."""
    import datetime as dt

    from piggyback.engines.pricing import BASES, CATEGORIES, RECURRENCES
    from piggyback.figures.tables import RECURRENCE_LABEL

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
        st.form_submit_button("Save quote line", type="primary", on_click=_save_quote, args=(store, scope),
                              key="quote_submit")


def cost_items_table(tco, key: str) -> None:
    """A TCO's price lines (tables.cost_items) with their formula, source link and notes."""
    from piggyback.figures.tables import cost_items

    cur = tco.currency
    st.dataframe(cost_items(tco), hide_index=True, width="stretch", key=key, column_config={
        "Formula": st.column_config.TextColumn("Formula", width="large", help="How the line was scaled, brought "
                                               "to today's prices and converted"),
        f"Total ({cur})": st.column_config.NumberColumn(format="localized", help=f"Over {tco.horizon_years} years"),
        "Source": link_column(), "Notes": st.column_config.TextColumn("Notes", width="large")})


def quote_comparison(result, peer_name: str) -> None:
    """The user's saved quote (a cost analysis result's ``quote``) beside the peer's lines scaled."""
    from piggyback.figures.pricing_figures import peer_compare_figure

    quote_tco, currency, h = result.quote.contract, result.currency, result.settings.horizon_years
    name = fmt.md_escape(peer_name)
    c = st.columns(3)
    c[0].metric(f"Your quote: {h}-year cost", fmt.cost(quote_tco.total, currency),
                help="Your quote lines as entered (not scaled: the quote is for us), brought to today's prices and "
                     "currency, without any route's own cost.")
    if result.basis == "peer":
        peer_tco = result.analysis.contract
        c[1].metric(f"{name} scaled: {h}-year cost", fmt.cost(peer_tco.total, currency),
                    help=f"{name}'s price lines scaled to us, without any route's own cost.")
        c[2].metric("Quote minus scaled peer", fmt.cost(quote_tco.total - peer_tco.total, currency),
                    help="Negative: the quote is below the peer's prices scaled to our size.")
        fig = peer_compare_figure({"quote": quote_tco, result.peer_id: peer_tco},
                                  labels={"quote": "Your quote", result.peer_id: f"{name} scaled"})
        fig.update_layout(title_text=f"Your quote vs {name} scaled")
        st.plotly_chart(fig, width="stretch", key="cost_quote_chart")
    else:
        c[1].caption(f"No price schedule on file for {name}: nothing to compare the quote with.")
    cost_items_table(quote_tco, "cost_quote_items")
