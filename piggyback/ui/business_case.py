"""The Business case page's Streamlit parts: exports (PDF, Excel, JSON), the decision charts and
the closest peers and risks. The case itself comes from ``piggyback.analyses.business_case``."""

from __future__ import annotations

import streamlit as st

from piggyback.core import fmt
from piggyback.figures import tables
from piggyback.ui.cost import cost_chart_words
from piggyback.ui.widgets import link_column


def case_exports(case: dict, fingerprint: str, base_name: str) -> None:
    """The business case's PDF (built on demand, with progress; kept while ``fingerprint`` is
    unchanged) and Excel downloads."""
    if st.context.url and not st.session_state.get("_bc_warmed"):  # start the chart browser while the reader reads
        from piggyback.reports.report_pdf import warm_up_chart_renderer

        warm_up_chart_renderer()
        st.session_state["_bc_warmed"] = True
    e1, e2 = st.columns(2)
    with e1:
        if st.button("Build the PDF", key="bc_pdf_build", icon=":material/picture_as_pdf:",
                     help="Cover, executive summary, peers, timeline and cost charts, the checklist, every assumption "
                          "and source. Takes a few seconds (the charts are drawn by a headless browser)."):
            from piggyback.reports.report_pdf import render_pdf

            with st.status("Building the PDF …", expanded=True) as status:
                bar = st.progress(0.0, text="Starting")
                info: dict = {}
                data = render_pdf(case, progress=lambda f, m: bar.progress(min(1.0, f), text=m), report=info)
                for name, why in info.get("chart_errors", {}).items():
                    st.warning(f"The {name} chart could not be rendered ({fmt.md_escape(why)}); the PDF says so in its place.")
                status.update(label=f"PDF ready: {info.get('pages', '?')} pages", state="complete", expanded=False)
            st.session_state["_bc_pdf"] = (fingerprint, data)
        ready = st.session_state.get("_bc_pdf")
        if ready and ready[0] == fingerprint:
            st.download_button("Download PDF", ready[1], f"{base_name}.pdf", "application/pdf", key="bc_pdf_download",
                               type="primary", icon=":material/download:")
    with e2:
        def _xlsx() -> bytes:
            from piggyback.reports.report_xlsx import render_xlsx

            return render_xlsx(case)

        st.download_button("Download Excel", _xlsx, f"{base_name}.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="bc_xlsx_download",
                           icon=":material/table_view:",
                           help="Summary, Inputs, Assumptions, Peers, Timeline, Cost, Compliance and Sources sheets.")


def case_charts(case: dict, height: int, stacked: bool = False) -> None:
    """The business case's timeline (Gantt) and cost-by-year charts, each with its sentence in words;
    in tabs, or one above the other (``stacked``, meeting mode)."""
    from piggyback.figures.pricing_figures import cost_by_year_figure
    from piggyback.figures.timeline_figures import gantt_figure

    tl = case["timeline"]
    tabs = [st.container(), st.container()] if stacked else st.tabs(["Timeline", "Cost by year"])
    with tabs[0]:
        if tl.get("status") == "ok":
            fig = gantt_figure(tl["result"])  # its own height: one row per phase stays readable
            fig.update_layout(height=max(height, fig.layout.height or 0))
            st.plotly_chart(fig, width="stretch", key="bc_gantt")
            gl = tl["result"]["routes"]
            st.caption(f"Chart in words: a new RFP goes live about {gl['traditional']['go_live']['p50']} and the "
                       f"piggyback route about {gl['piggyback']['go_live']['p50']} (medians), one bar per phase.")
        else:
            st.info(fmt.md_escape(tl.get("message")))
    with tabs[1]:
        if case["cost"]["status"] == "ok":
            fig = cost_by_year_figure(case["cost"]["routes"]["piggyback"]["tco"])
            fig.update_layout(height=height)
            st.plotly_chart(fig, width="stretch", key="bc_cost")
            st.caption(cost_chart_words(case["cost"]["routes"]["piggyback"]["tco"]))
        else:
            st.info(fmt.md_escape(case["cost"].get("message")))


def case_peers_and_risks(case: dict) -> None:
    """The closest peers with their reasons and robustness, beside the main risks with their basis."""
    left, right = st.columns(2)
    with left:
        st.subheader("Closest peers and why")
        for p in case["peers"]["top"]:
            st.markdown(f"**{p['rank']}. {fmt.md_escape(p['jurisdiction'])}** (score {p['score']:.2f}, "
                        f"{fmt.confidence(p['confidence'])}): {fmt.md_escape('; '.join(p['reasons']))}")
        rob = case["peers"]["robustness"]
        st.caption("Top three stable when any weight moves ±20%." if rob["stable"] else
                   f"Fragile ranking: the top three change in {rob['changes']} of {rob['checked']} ±20% weight moves.")
    with right:
        st.subheader("Main risks")
        for risk in case["risks"][:7]:
            mark = {"high": ":red[**high**]", "medium": ":orange[**medium**]", "low": "low"}[risk["severity"]]
            st.markdown(f"{mark} · {fmt.md_escape(risk['text'])}", help=f"Basis: {fmt.md_escape(risk['basis'])}")


def case_details(case: dict) -> None:
    """The assumptions, the sources (with vendor claims) and the compliance checklist, each in an
    expander whose table is computed and sent only while it is open (#15): opening one reruns the
    page."""
    comp = case["compliance"]
    edited = sum(1 for a in case["assumptions"] if a["edited"])
    box = st.expander(f"Assumptions ({len(case['assumptions'])}, {edited} edited)", key="bc_assumptions_open",
                      on_change="rerun")
    if box.open:
        box.dataframe(tables.case_assumptions(case), hide_index=True, width="stretch", column_config={
            "Source": link_column(), "Note": st.column_config.TextColumn(width="large")})
        box.caption("Edit them on the Timeline, Cost, Compliance and Peers pages; a default assumption says so.")
    box = st.expander(f"Sources ({len(case['sources'])}; vendor-stated ones marked)", key="bc_sources_open",
                      on_change="rerun")
    if box.open:
        box.dataframe(tables.case_sources(case), hide_index=True, width="stretch",
                      column_config={"Address": link_column("Address")})
        if case["claims"]:
            box.markdown("**Vendor-stated claims** (shown, never used as evidence)")
            box.dataframe(tables.case_claims(case), hide_index=True, width="stretch")
    if comp.get("status") != "ok":
        return
    box = st.expander(f"Compliance checklist ({comp['verdict']['text']})", key="bc_checklist_open", on_change="rerun")
    if box.open:
        box.dataframe(tables.case_checklist(case), hide_index=True, width="stretch",
                      column_config={"Source": link_column()})
