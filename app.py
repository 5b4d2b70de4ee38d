"""Piggyback: the router and the shared frame. Pages live in pages/; the work in piggyback/."""

from pathlib import Path

import streamlit as st

from piggyback.ui import widgets
HERE = Path(__file__).resolve().parent

# (file, title, url_path, icon, section). A page whose file is absent is left out of the menu.
# A file is never named like its url_path: until a process's first st.navigation call, Streamlit
# maps a URL to a pages/ file of that name and would run it without this frame.
PAGES = [
    ("pages/home.py", "Overview", "overview", ":material/home:", "Decide"),
    ("pages/peer_ranking.py", "Peers", "peers", ":material/groups:", "Decide"),
    ("pages/compliance_checklist.py", "Compliance", "compliance", ":material/gavel:", "Decide"),
    ("pages/timeline_savings.py", "Timeline", "timeline", ":material/schedule:", "Decide"),
    ("pages/pricing.py", "Cost", "cost", ":material/payments:", "Decide"),
    ("pages/business_case.py", "Business case", "business-case", ":material/description:", "Decide"),
    ("pages/prospect_list.py", "Prospects", "prospects", ":material/travel_explore:", "Sell"),
    ("pages/data_sources.py", "Data & sources", "data", ":material/database:", "Data"),
]

st.set_page_config(page_title="Piggyback", page_icon=":material/handshake:", layout="wide")

store = widgets.get_store()
widgets.frame(store)

# Overview is served at the root. Streamlit gives the default page no address of its own, so a
# hidden copy answers /overview (a link to it otherwise opened "Page not found"); the default
# page's internal path must then differ from "overview" and from every file name.
DEFAULT_URL = "overview"
sections: dict[str, list] = {}
for path, title, url_path, icon, section in PAGES:
    if (HERE / path).exists():
        default = url_path == DEFAULT_URL
        sections.setdefault(section, []).append(
            st.Page(str(HERE / path), title=title, url_path="start" if default else url_path, icon=icon,
                    default=default))
        if default:
            sections[section].append(st.Page(str(HERE / path), title=title, url_path=url_path, icon=icon,
                                             visibility="hidden"))
# One flat menu: with section headers Streamlit puts <div>s inside the menu's <ul>, which screen
# readers cannot announce as a list (axe: list, listitem); the order keeps Decide, Sell, Data.
st.navigation([page for group in sections.values() for page in group]).run()
