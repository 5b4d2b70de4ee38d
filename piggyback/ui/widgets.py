"""The one module of ``piggyback`` that imports Streamlit: the shared frame and small widgets.

Everything here is presentation; the work is done by the domain modules.
"""

from __future__ import annotations

import os
import re
import threading

import pandas as pd
import streamlit as st

from piggyback.core import fmt
from piggyback.data import finder
from piggyback.core import identity, settings
from piggyback.core import params as url_params
from piggyback.core.errors import PiggybackError, StoreCorrupt, StoreError
from piggyback.core.models import MODULES, AgencyProfile
from piggyback.data.profile import DEFAULT_MODULES, inputs_from_query, profile_from_row, to_query
from piggyback.data.store import Store, build, default_db_path

PROFILE_KEYS = ("agency", "modules", "permits", "users", "system")

MEETING_CSS = """
<style>
/* Meeting mode: read from the back of the room on a 1280x720 projector. Nothing under 18 px. */
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMain"] :is(p, li, span, label, td, th, code, textarea, input, summary),
[data-testid="stSidebar"] :is(p, li, span, label, input),
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { font-size: max(18px, 1em) !important; }
[data-testid="stMetricValue"] { font-size: 2.4rem !important; white-space: normal !important; }
[data-testid="stMetricValue"] > div { white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem !important; white-space: normal !important; }
[data-testid="stMetricLabel"] > div { overflow: visible !important; }
h1 { font-size: 2.4rem !important; } h2 { font-size: 1.9rem !important; } h3 { font-size: 1.5rem !important; }
.js-plotly-plot .main-svg text { font-size: max(18px, 1em) !important; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem !important; max-width: 100% !important; }
</style>
"""


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store.open(path, allow_read_only_fallback=True)


def db_path() -> str:
    return str(default_db_path())


IMPORTS_CHECK_S = 30.0  # how often a server looks for steward imports made through another server
_imports_lock = threading.Lock()


def with_new_imports(store: Store) -> Store:
    """The store, with steward imports that another server stored in the shared record since
    this one opened its reference file applied (checked at most every IMPORTS_CHECK_S seconds)."""
    import time

    if store.read_only or store.record is None or not _imports_lock.acquire(blocking=False):
        return store  # a read-only copy cannot apply them; another session is checking right now
    try:
        if time.monotonic() - getattr(store, "_imports_checked", float("-inf")) >= IMPORTS_CHECK_S:
            store._imports_checked = time.monotonic()
            store.apply_new_imports()
    except PiggybackError:
        pass  # the record cannot be read now: the page says so where it reads it
    finally:
        _imports_lock.release()
    return store


def get_store() -> Store:
    """The process's store. Builds it on first start (with progress); a damaged file offers a
    steward a rebuild (with a confirmation; the damaged file is kept as a backup)."""
    path = db_path()
    if not os.path.exists(path):
        slot = st.empty()  # the progress box goes away once built: it is not part of any page
        with slot.container(), st.status("First start: building the database from data/ …", expanded=True):
            bar = st.progress(0.0)
            build(path, progress=lambda f, m: bar.progress(min(1.0, f), text=m))
        slot.empty()
    try:
        return with_new_imports(_open_store(path))
    except StoreCorrupt as exc:
        st.error(str(exc))
        rebuild_form(path)
        st.stop()
    except StoreError as exc:
        st.error(str(exc))
        st.stop()


def rebuild_form(path: str) -> None:
    """The reference store rebuilt from data/: a steward's action, confirmed, with a backup kept."""
    user = current_user()
    if not identity.can(user, "store.rebuild"):
        st.info("A data steward can rebuild the reference data from data/. Saved scenarios, evidence, quotes "
                "and the audit log are kept apart and are not affected.")
        return
    with st.form("rebuild"):
        st.write("Rebuild the reference data from data/. The damaged file is kept as a timestamped backup; "
                 "the users' record (scenarios, evidence, quotes, contacts, imports, audit) is not touched.")
        sure = st.checkbox("I understand: rebuild the reference data now")
        if st.form_submit_button("Rebuild the reference data", type="primary"):
            if not sure:
                st.warning("Tick the confirmation first; nothing was changed.")
                return
            identity.require(user, "store.rebuild")
            with st.spinner("Rebuilding …"):
                build(path, force=True)
            _open_store.clear()
            st.rerun()


def current_user() -> identity.User:
    """Who this session is, from the configured login (see ``piggyback.core.identity``)."""
    mode = identity.auth_mode()
    if mode == "local":
        return identity.local_user()
    if mode == "oidc":
        info = st.user
        if not info.get("is_logged_in"):
            return identity.ANONYMOUS
        return identity.from_login(info.get("email") or info.get("sub"), info.get("name"), source="oidc")
    header = settings.get("PIGGYBACK_AUTH_HEADER") or "X-Forwarded-Email"
    return identity.from_login(st.context.headers.get(header), source="proxy")


def identity_box() -> None:
    """Who is signed in, with their role; log in / out where Streamlit's login is configured."""
    user = current_user()
    if identity.auth_mode() == "oidc":
        if user.signed_in:
            st.caption(f"Signed in as {fmt.md_escape(user.display)} ({user.role.name})")
            st.button("Log out", on_click=st.logout, key="logout")
        else:
            st.caption("Not signed in: you can look at everything and open shared links.")
            st.button("Log in", on_click=st.login, key="login", type="primary")
    else:
        st.caption(f"{fmt.md_escape(user.display)} · {user.role.name}")


def _agency_index(store: Store) -> finder.FinderIndex:
    # Built once per store version; searched on the server: the browser only ever gets the matches.
    return finder.index_for(store)


def _init_from_url(store: Store) -> None:
    """Load the profile and the peer from the URL once per session, so a shared link reopens them."""
    if st.session_state.get("_url_loaded"):
        return
    st.session_state["_url_loaded"] = True
    problems: list[str] = []
    if url_params.text(st.query_params.get("peer"), "peer").given and "peer" not in st.session_state:
        wanted = url_params.identifier(st.query_params.get("peer"), "peer", known=store.peers()["deployment_id"].tolist(),
                                       what="peer deployment")
        st.session_state["peer"] = wanted.value
        if wanted.problem:
            problems.append(wanted.problem)
    agency, problem = _agency_from_link(store, url_params.text(st.query_params.get("agency"), "agency",
                                                               max_len=finder.MAX_QUERY))
    if agency:
        st.session_state["agency_geo"] = agency
    if problem:
        problems.append(problem)
    inputs = inputs_from_query({k: st.query_params.get(k) for k in PROFILE_KEYS}, problems)
    st.session_state["in_modules"] = inputs.get("modules_needed", DEFAULT_MODULES)
    st.session_state["in_permits"] = inputs.get("permit_volume")
    st.session_state["in_users"] = inputs.get("staff_users")
    st.session_state["in_system"] = inputs.get("current_system", "")
    meeting = url_params.flag(st.query_params.get("meeting"), "meeting")
    st.session_state["meeting"] = meeting.value
    for problem in [*problems, meeting.problem]:
        if problem:
            st.sidebar.warning(problem, icon=":material/link_off:")


_PLACE_NAME = re.compile(r"[^\W_][\w .,'’&()/-]*")  # what a place name (or an id) can look like


def _agency_from_link(store: Store, given: url_params.Param) -> tuple[str | None, str | None]:
    """``?agency=`` as an id (``CA-CSD-3523008``) or a name (``Guelph, ON``), read by
    ``url_params.text``: the place's id and, when the link's text was not used as it is, a sentence
    saying what was done. The sentence never repeats the link's text (it may be crafted)."""
    if given.problem or not given.value:
        return None, given.problem
    index = _agency_index(store)
    if given.value in index.by_id:
        return given.value, None
    if not _PLACE_NAME.fullmatch(given.value):
        return None, "The link's 'agency' value is not a valid census id or place name; it is ignored."
    match, count = finder.resolve(index, given.value)
    if match is None:
        return None, ("The link's agency names no place in the census data; type its name in "
                      "'Find your agency' (e.g. Guelph, ON).")
    if count > 1:
        return match.geo_id, (f"The link's agency matches {count} places; showing the largest, "
                              f"{fmt.md_escape(match.label)}. Pick another under 'Find your agency'.")
    return match.geo_id, None


def _sync_url(profile: AgencyProfile | None) -> None:
    wanted = to_query(profile) if profile else {}
    for key in PROFILE_KEYS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
    if st.session_state.get("meeting"):
        st.query_params["meeting"] = "1"
    elif "meeting" in st.query_params:
        del st.query_params["meeting"]
    peer = st.session_state.get("peer")
    if peer:
        if st.query_params.get("peer") != peer:
            st.query_params["peer"] = peer
    elif "peer" in st.query_params:
        del st.query_params["peer"]


FINDER_LIMIT = 10  # matches sent to the browser for one query


def _picked_agency() -> None:
    st.session_state["_agency_picked"] = True
    st.session_state["agency_query"] = ""


@st.fragment
def _agency_finder(store: Store) -> None:
    """'Find your agency' (searched on the server as the user types, in this fragment only, so a
    keystroke does not rerun the page) and 'Your agency': the matches of the query, best first, with
    the current agency kept in the list. The choice is the session key ``agency_geo``."""
    if st.session_state.pop("_agency_picked", False):
        st.rerun(scope="app")  # the whole page follows the new agency
    index = _agency_index(store)
    query = st.text_input(
        "Find your agency", key="agency_query", type="search", live="100ms", max_chars=finder.MAX_QUERY,
        placeholder="Type a name: Guelph, Saint-Elzear, Travis County …",
        help="Every Canadian municipality (2021 Census) and US county, city and town (2021 estimates). "
             "Accents, case and small typos do not matter; add the province or state to narrow it (Guelph, ON).")
    matches = finder.search(index, query, limit=FINDER_LIMIT) if query.strip() else []
    current = st.session_state.get("agency_geo")
    options = [m.geo_id for m in matches]
    if current and current not in options:
        options.append(current)
    labels = {m.geo_id: m.label for m in matches}
    if query.strip():
        st.caption(f"{len(matches)} best match{'es' if len(matches) != 1 else ''}: pick one below."
                   if matches else "No place matches; check the spelling or type fewer letters.")
    st.selectbox(
        "Your agency", options, index=None, key="agency_geo", filter_mode=None,
        format_func=lambda g: labels.get(g) or index.label(g) or g, on_change=_picked_agency,
        placeholder="Pick from the matches …" if matches else "Type in 'Find your agency' first",
    )


def frame(store: Store) -> AgencyProfile | None:
    """The sidebar every page shares: the agency picker, its inputs, meeting mode, notices."""
    load_scenario_from_url(store)
    _init_from_url(store)
    index = _agency_index(store)
    current = st.session_state.get("agency_geo")
    if current is not None and current not in index.by_id:
        st.sidebar.warning("The agency in the link is not in the census data; pick it again.")
        st.session_state["agency_geo"] = None
    with st.sidebar:
        identity_box()
        if store.notice:
            st.warning(store.notice, icon="🔒")
        _agency_finder(store)
        geo = st.session_state.get("agency_geo")
        meeting = st.toggle("Meeting mode", key="meeting",
                            help="Larger type and charts, decision figures only, no editing controls.")
        profile = None
        if geo and not meeting:  # meeting mode hides editing controls; the values persist
            with st.expander("What the census does not know", expanded=False):
                st.multiselect("Modules needed", list(MODULES), format_func=MODULES.__getitem__, key="in_modules",
                               persist_state="session")
                st.number_input("Permits a year", min_value=0, max_value=10_000_000, step=100, value=None,
                                key="in_permits", placeholder="unknown", persist_state="session")
                st.number_input("Staff users", min_value=0, max_value=1_000_000, step=5, value=None,
                                key="in_users", placeholder="unknown", persist_state="session")
                st.text_input("Current system", max_chars=200, key="in_system", placeholder="e.g. AMANDA, Hansen",
                              persist_state="session")
        if geo:
            row = store.jurisdictions_by_id().loc[geo]
            profile = profile_from_row(
                row.to_dict(), permit_volume=st.session_state.get("in_permits"),
                staff_users=st.session_state.get("in_users"), modules_needed=st.session_state.get("in_modules"),
                current_system=(st.session_state.get("in_system") or "").strip() or None)
    if meeting:
        st.html(MEETING_CSS)
    _sync_url(profile)
    st.session_state["profile"] = profile
    return profile


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


def current_profile() -> AgencyProfile | None:
    return st.session_state.get("profile")


def meeting_mode() -> bool:
    return bool(st.session_state.get("meeting"))


def require_profile() -> AgencyProfile:
    profile = current_profile()
    if profile is None:
        st.info("Pick your agency in the sidebar (type its name) to see this page.", icon="👈")
        st.stop()
    return profile


def show_error(exc: Exception) -> None:
    st.error(fmt.md_escape(str(exc)) if isinstance(exc, PiggybackError) else f"Something went wrong: {fmt.md_escape(exc)}")


def agency_card(profile: AgencyProfile, store: Store) -> None:
    """The agency's census profile with its source, as four metrics."""
    j = store.jurisdiction(profile.geo_id) if profile.geo_id else None
    cols = st.columns(4)
    cols[0].metric("Population", fmt.integer(profile.population),
                   help=f"{fmt.md_escape(j.population_label) if j else ''}; source: "
                        f"{fmt.md_escape(source_title(store, j.source_id)) if j else 'entered'}")
    cols[1].metric("Growth", fmt.pct(profile.growth_pct),
                   help=(f"{j.population_prev_year}–{j.population_year}" if j and j.population_prev_year else "")
                   + ("; derived from the 2020 count and 2021 estimate" if profile.country == "US" else " (as published)"))
    cols[2].metric("Households", fmt.integer(profile.households),
                   help="Private dwellings occupied by usual residents (census)" if profile.country == "CA"
                   else "Not in the US files used here")
    cols[3].metric("Province / state", f"{profile.region}, {'Canada' if profile.country == 'CA' else 'USA'}")


def source_title(store: Store, source_id: str | None) -> str:
    if not source_id:
        return fmt.BLANK
    src = store.sources()
    hit = src[src["source_id"] == source_id]
    if hit.empty:
        return source_id
    r = hit.iloc[0]
    return f"{r['title'] or r['publisher']}"


def link_column(label: str = "Source"):
    return st.column_config.LinkColumn(label, display_text=r"https?://(?:www\.)?([^/]+)")


# -- state shared between pages (and saved in a scenario) --------------------------------------

def scenario_section(name: str) -> dict:
    """A page's own editable settings (plain JSON-able values), kept for the session and saved
    with a scenario: e.g. ``scenario_section("timeline")["overrides"] = {...}``."""
    scenario = st.session_state.setdefault("scenario", {})
    return scenario.setdefault(name, {})


class PageSettings:
    """One page's settings, kept in one place and bound to its widgets (in the spirit of OpenMS's
    ``ParameterManager``).

    The truth is the page's scenario section (``scenario_section(name)``): plain JSON-able values,
    only those that differ from their defaults, saved with a scenario and restored when one is
    opened. Widgets bind to it with ``**settings.bind("years")``: their key is ``"<page>.<name>"``
    and is re-seeded from the section on every run, so a value survives pages that do not draw the
    widget (Streamlit forgets such widget state) and a scenario that is opened. A bound widget must
    not also pass ``value=``/``index=``: the section gives its value. With ``url="years"`` a
    setting is also kept in the link, read once through the strict parser ``parse``.

    Usage::

        settings = widgets.PageSettings("cost", {"years": 10, "fx": 1.38})
        st.number_input("Years", 1, 50, **settings.bind("years"))
        result = analyse_cost(store, profile, peer, settings.values(), today=today)
        st.button("Reset", on_click=settings.reset)
    """

    def __init__(self, page: str, defaults: dict, *, url: dict | None = None):
        self.page = page
        self.defaults = dict(defaults)
        self.url = dict(url or {})  # setting name -> (URL parameter, parse(text) -> value or None)
        self.section = scenario_section(page)
        self._read_url_once()

    def key(self, name: str) -> str:
        return f"{self.page}.{name}"

    def value(self, name: str):
        return self.section.get(name, self.defaults.get(name))

    def values(self) -> dict:
        """Every setting's current value (defaults filled in): what the analysis takes."""
        return {**self.defaults, **self.section}

    def set(self, name: str, value) -> None:
        if value == self.defaults.get(name):
            self.section.pop(name, None)
        else:
            self.section[name] = value
        self._sync_url(name)

    def bind(self, name: str) -> dict:
        """Keyword arguments for a widget: its key (seeded from the section) and its on_change."""
        key = self.key(name)
        st.session_state[key] = self.value(name)
        return {"key": key, "on_change": self._changed, "args": (name,)}

    def _changed(self, name: str) -> None:
        self.set(name, st.session_state.get(self.key(name)))

    def reset(self) -> None:
        for name in list(self.section):
            self.section.pop(name, None)
            self._sync_url(name)

    def _read_url_once(self) -> None:
        flag = f"_url_read:{self.page}"  # not a widget prefix: opening a scenario keeps it
        if st.session_state.get(flag):
            return
        st.session_state[flag] = True
        for name, (param, parse) in self.url.items():
            text = st.query_params.get(param)
            if text is None:
                continue
            parsed = parse(text)
            if parsed.problem:
                st.warning(parsed.problem, icon=":material/link_off:")
            elif parsed.value is not None:
                self.set(name, parsed.value)

    def _sync_url(self, name: str) -> None:
        if name not in self.url:
            return
        param = self.url[name][0]
        if name in self.section:
            st.query_params[param] = str(self.section[name])
        elif param in st.query_params:
            del st.query_params[param]


def _keep_peer(widget_key: str) -> None:
    st.session_state["peer"] = st.session_state.get(widget_key)


def current_peer() -> str | None:
    """The chosen peer contract: one for the whole session, on every page, in the URL (?peer=)
    and in a saved scenario."""
    return st.session_state.get("peer")


def peer_picker(store: Store, label: str = "Peer contract to adopt", *, only: list[str] | None = None,
                where=st) -> str | None:
    """Pick the candidate peer (shared by every page; kept in the URL as ?peer=).

    The choice lives in the plain session key ``peer``, not in the widget's own key: Streamlit
    forgets a widget's state on pages that do not draw it, and the choice must survive them.
    ``only`` limits the list on this page without clearing a choice made elsewhere.
    """
    peers = store.peers()
    ids = peers["deployment_id"].tolist() if only is None else [i for i in peers["deployment_id"] if i in only]
    names = dict(zip(peers["deployment_id"], peers["jurisdiction"] + " — " + peers["vendor"].fillna("vendor not known")))
    current = current_peer()
    widget_key = "peer_pick"
    st.session_state[widget_key] = current if current in ids else None
    where.selectbox(label, ids, index=None, key=widget_key, format_func=names.__getitem__,
                    placeholder="Choose a peer deployment …", on_change=_keep_peer, args=(widget_key,))
    if current and current not in ids:
        where.caption(f"The peer chosen elsewhere ({fmt.md_escape(names.get(current, current))}) is not in this "
                      "page's list; it stays chosen for the other pages.")
        return None
    return current


# -- saved scenarios: ?scenario=<id> reopens a saved analysis -----------------------------------

# Widget keys the pages mirror from their scenario section; dropped when a scenario is opened so
# each page draws its widgets from the opened scenario, not from what was on screen before.
SCENARIO_WIDGET_PREFIXES = ("tl_", "cost_", "cmp_", "peers_", "pros_", "_peers_", "bc_")


def open_scenario(scenario_id: str) -> None:
    """Ask for a saved scenario to be opened on the next run (use as a button's on_click)."""
    st.session_state["_open_scenario"] = scenario_id
    st.session_state.pop("_scenario_applied", None)


def load_scenario_from_url(store: Store) -> None:
    """Open the scenario named by ``?scenario=`` (or by :func:`open_scenario`) once per session.

    Must run before the frame draws its widgets: it sets their session keys (agency, inputs,
    peer, page settings). A link that no longer opens (deleted scenario) leaves a message in
    ``_scenario_error`` for the page to show.
    """
    from piggyback.data import scenarios
    wanted = st.session_state.pop("_open_scenario", None) or st.query_params.get("scenario")
    if not wanted or st.session_state.get("_scenario_applied") == wanted:
        return
    st.session_state["_scenario_applied"] = wanted
    checked = url_params.identifier(wanted, "scenario", pattern=scenarios.ID_PATTERN, what="scenario id")
    if checked.problem:  # never echo the text: it may be crafted to look like a link
        st.session_state["_scenario_error"] = checked.problem
        return
    try:
        scenario = scenarios.open_scenario_store(store).get(checked.value)
    except PiggybackError as exc:
        st.session_state["_scenario_error"] = str(exc)
        return
    for key in [k for k in st.session_state if str(k).startswith(SCENARIO_WIDGET_PREFIXES)]:
        del st.session_state[key]
    scenarios.apply_scenario_to_session(st.session_state, scenario)
    if "meeting" not in st.session_state:
        st.session_state["meeting"] = url_params.flag(st.query_params.get("meeting"), "meeting").value
    st.session_state["_url_loaded"] = True  # the scenario, not the rest of the URL, sets the profile
    st.query_params["scenario"] = scenario.id
    if scenario.peer:
        st.query_params["peer"] = scenario.peer
    elif "peer" in st.query_params:
        del st.query_params["peer"]



# -- page settings kept in a sub-table of the section (the Cost page's assumption edits) ---------

class GroupedPageSettings(PageSettings):
    """:class:`PageSettings` whose ``grouped`` names live in ``section[group]``: the shape the
    analysis and saved scenarios use for the Cost page (``{"assumptions": {id: value},
    "currency": …, "staff_users": …}``)."""

    def __init__(self, page: str, defaults: dict, *, grouped=(), group: str = "assumptions",
                 url: dict | None = None):
        self.group, self.grouped = group, set(grouped)
        super().__init__(page, defaults, url=url)

    def _where(self, name: str) -> dict:
        if name not in self.grouped:
            return self.section
        group = self.section.get(self.group)
        if not isinstance(group, dict):
            group = self.section[self.group] = {}
        return group

    def edited(self) -> list[str]:
        return sorted(self._where(next(iter(self.grouped))) if self.grouped else [])

    def value(self, name: str):
        return self._where(name).get(name, self.defaults.get(name))

    def values(self) -> dict:
        flat = {k: v for k, v in self.defaults.items() if k not in self.grouped}
        return {**flat, **self.section, self.group: dict(self._where(next(iter(self.grouped))) if self.grouped else {})}

    def set(self, name: str, value) -> None:
        where = self._where(name)
        if value is None and name in self.grouped or value == self.defaults.get(name):
            where.pop(name, None)
        else:
            where[name] = value
        self._sync_url(name)

    def reset(self) -> None:
        self.section.clear()
        for name in self.url:
            self._sync_url(name)

    def _sync_url(self, name: str) -> None:
        if name not in self.url:
            return
        param, where = self.url[name][0], self._where(name)
        if name in where:
            st.query_params[param] = str(where[name])
        elif param in st.query_params:
            del st.query_params[param]


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


# -- the Business case page's scenario manager ---------------------------------------------------

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


# -- the Compliance page's inputs, evidence controls and request texts ------------------------

def compliance_inputs(settings: PageSettings, profile: AgencyProfile, result, currencies, bounds, today) -> None:
    """Value, currency, federal funds, decision date and go-live, bound to the page's settings
    (dates kept as ISO text). ``result``: the analysis, None when the inputs cannot be used."""
    import datetime as dt

    from piggyback.figures.compliance_display import golive_caption

    def date_of(text, fallback):
        try:
            return dt.date.fromisoformat(text) if isinstance(text, str) and text else fallback
        except ValueError:
            return fallback

    def bind_date(name: str, fallback) -> dict:
        key = settings.key(name)
        st.session_state[key] = min(max(date_of(settings.value(name), fallback), bounds[0]), bounds[1])
        return {"key": key, "min_value": bounds[0], "max_value": bounds[1], "format": "YYYY-MM-DD",
                "on_change": lambda: settings.set(name, (st.session_state.get(key) or None)
                                                  and st.session_state[key].isoformat())}

    value = settings.bind("value")
    if not isinstance(st.session_state[value["key"]], (int, float)) or not 0 <= st.session_state[value["key"]] <= 1e10:
        st.session_state[value["key"]] = None  # a saved scenario's value that cannot be one
    currency = settings.bind("currency")
    if st.session_state[currency["key"]] not in currencies:
        st.session_state[currency["key"]] = settings.defaults["currency"]
    federal = settings.bind("federal_funds")
    st.session_state[federal["key"]] = bool(st.session_state[federal["key"]])
    c1, c2, c3 = st.columns([2, 1, 2])
    c1.number_input("Estimated total purchase value", min_value=0.0, max_value=1e10, step=10_000.0, format="%.0f",
                    placeholder="unknown", **value,
                    help="Every year, option and service you expect to buy under the contract. Blank = unknown: "
                         "the trade-agreement threshold items then need evidence.")
    c2.selectbox("Currency", list(currencies), **currency,
                 help="The currency of the estimate; thresholds in another currency are not converted.")
    c3.checkbox("Federal funds pay for part of it", disabled=profile.country != "US", **federal,
                help="Only meaningful for US agencies: adds the federal grant rules (2 CFR 200, US-FED-…).")
    c3.caption("Only meaningful for US agencies." if profile.country == "US"
               else "Only meaningful for US agencies: no effect for a Canadian agency.")
    d1, d2 = st.columns(2)
    decision = date_of(settings.value("decision_date"), today)
    d1.date_input("Decision date", **bind_date("decision_date", today),
                  help="The thresholds in force on this date are used; default today.")
    d2.date_input("Planned go-live", **bind_date("golive", result.golive_assumption if result else decision),
                  help="The contract must stay in force through implementation.")
    if result is not None:
        d2.caption(golive_caption(result))
    if settings.value("golive"):
        d2.button("Reset go-live to the assumption", on_click=settings.set, args=("golive", None))


def _compliance_evidence(store: Store, action: str, scope: str, rule_id: str, evidence_id: str | None = None) -> None:
    from piggyback.data import evidence
    keys = {f: f"ev_{f}_{rule_id}" for f in ("note", "document", "link", "who")}
    try:
        if action == "record":
            evidence.record_evidence(store, scope, rule_id, note=st.session_state.get(keys["note"]),
                                     document=st.session_state.get(keys["document"]),
                                     link=st.session_state.get(keys["link"]), user=current_user(),
                                     label=st.session_state.get(keys["who"]))
            for key in ("note", "document", "link"):
                st.session_state[keys[key]] = ""
        else:
            evidence.delete_evidence(store, evidence_id, scope=scope, user=current_user())
    except PiggybackError as exc:
        st.session_state["cmp_flash"] = (rule_id, "error", str(exc))
        return
    st.session_state["cmp_flash"] = (rule_id, "success", "Evidence recorded." if action == "record"
                                     else "Evidence removed.")


def evidence_controls(store: Store, scope: str | None, rule, items: list[dict], can_record: bool) -> None:
    """One rule's recorded evidence (with Remove) and, for an open rule, the form to record some."""
    from piggyback.data import evidence
    from piggyback.figures.compliance_display import evidence_line

    for item in items:
        row = st.columns([5, 1]) if can_record else [st.container()]
        row[0].markdown(evidence_line(item))
        if can_record:
            row[1].button("Remove", key=f"ev_rm_{item['evidence_id']}", on_click=_compliance_evidence,
                          args=(store, "remove", scope, rule.rule_id, item["evidence_id"]),
                          help="Remove this piece of evidence")
    if rule.status != "needs_evidence" or not can_record:
        return
    with st.form(f"ev_form_{rule.rule_id}", border=True):
        st.markdown(f"**Record evidence for {rule.rule_id}**")
        st.text_area("Note", key=f"ev_note_{rule.rule_id}", max_chars=evidence.NOTE_MAX, height=68,
                     placeholder="What was checked and what it showed")
        f1, f2, f3 = st.columns(3)
        f1.text_input("Document reference", key=f"ev_document_{rule.rule_id}", max_chars=evidence.DOCUMENT_MAX,
                      placeholder="e.g. By-law 2019-026 s.18")
        f2.text_input("Link", key=f"ev_link_{rule.rule_id}", max_chars=evidence.LINK_MAX, placeholder="https://…")
        f3.text_input("Recorded by", key=f"ev_who_{rule.rule_id}", max_chars=evidence.WHO_MAX,
                      placeholder="your name or role")
        st.form_submit_button("Record evidence", on_click=_compliance_evidence,
                              args=(store, "record", scope, rule.rule_id), key=f"ev_submit_{rule.rule_id}")


def _keep_ask(section: dict, field: str, key: str, peer_id: str) -> None:
    saved = section.setdefault("ask", {})
    if saved.get("peer") != peer_id:
        saved.clear()
        saved["peer"] = peer_id
    saved[field] = st.session_state.get(key)


def _reset_ask(section: dict) -> None:
    section.pop("ask", None)
    for key in ("cmp_ask_request", "cmp_ask_records"):
        st.session_state.pop(key, None)


def ask_texts(section: dict, ask: dict, peer: str, meeting: bool) -> None:
    """The two request texts, editable (kept in the page's scenario section) except in meeting mode,
    where they are shown as text."""
    saved = section.get("ask") if (section.get("ask") or {}).get("peer") == peer else {}
    texts = {"request": saved.get("request") or ask["request"]["body"],
             "records_request": saved.get("records_request") or ask["records_request"]["body"]}
    if st.session_state.get("cmp_ask_peer") != peer:  # a new peer (or a scenario opened): redraw from the texts
        st.session_state["cmp_ask_request"], st.session_state["cmp_ask_records"] = texts["request"], texts["records_request"]
        st.session_state["cmp_ask_peer"] = peer
    kind = ask["records_request"]["kind"]
    for field, key, label, height, file, download in (
            ("request", "cmp_ask_request", "Request to the peer's clerk or purchasing office (edit before sending)",
             320, f"request-{peer}.txt", "Download the request (text)"),
            ("records_request", "cmp_ask_records", f"The {kind} (edit before sending)", 260,
             f"records-request-{peer}.txt", f"Download the {kind} (text)")):
        st.markdown(f"**{fmt.md_escape(ask[field]['subject'])}**")
        if meeting:
            st.code(texts[field], language=None, wrap_lines=True)
        else:
            st.text_area(label, key=key, height=height, max_chars=20_000, on_change=_keep_ask,
                         args=(section, field, key, peer))
        st.download_button(download, st.session_state.get(key) or texts[field], file, "text/plain",
                           key=f"cmp_ask_dl_{'request' if field == 'request' else 'records'}")
    if saved and not meeting:
        st.button("Reset the texts to the generated ones", on_click=_reset_ask, args=(section,), key="cmp_ask_reset")
    st.caption("Your edits are kept with this session's settings and saved with the scenario.")
