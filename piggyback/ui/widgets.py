"""The one module of ``piggyback`` that imports Streamlit: the shared frame and small widgets.

Everything here is presentation; the work is done by the domain modules.
"""

from __future__ import annotations

import os
import re
import threading

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

# Streamlit's 6rem above the title pushes a page's answers down; 3rem keeps them on a 720-px screen.
BASE_CSS = '<style>[data-testid="stMainBlockContainer"] { padding-top: 3rem; }</style>'

MEETING_CSS = """
<style>
/* Meeting mode: read from the back of the room on a 1280x720 projector. Nothing under 18 px. */
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMain"] :is(p, li, span, label, td, th, code, textarea, input, summary),
[data-testid="stSidebar"] :is(p, li, span, label, input),
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { font-size: max(18px, 1em) !important; }
[data-testid="stMetricValue"] { font-size: 2.2rem !important; white-space: normal !important; }
[data-testid="stMetricValue"] :is(div, p) { white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]:nth-child(4)) [data-testid="stMetricValue"] { font-size: 1.8rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem !important; white-space: normal !important; }
[data-testid="stMetricLabel"] > div { overflow: visible !important; }
h1 { font-size: 2.4rem !important; } h2 { font-size: 1.9rem !important; } h3 { font-size: 1.5rem !important; }
.js-plotly-plot .main-svg :is(text, tspan) { font-size: max(18px, 1em) !important; }
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem !important; max-width: 100% !important; }
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
        "Find your agency", key="agency_query", type="search", live="0ms", max_chars=finder.MAX_QUERY,
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
        # Meeting mode hides editing controls, and a closed expander draws none (a rerun on any page
        # does not redraw them): the values persist either way.
        census_gaps = None if not geo or meeting else st.expander(
            "What the census does not know", expanded=False, key="census_gaps_open", on_change="rerun")
        if census_gaps is not None and census_gaps.open:
            with census_gaps:
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
    st.html(MEETING_CSS if meeting else BASE_CSS)
    _sync_url(profile)
    st.session_state["profile"] = profile
    return profile


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
        param, value = self.url[name][0], self.section.get(name)
        if name in self.section:  # a list as the link writes it: ON,QC
            st.query_params[param] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        elif param in st.query_params:
            del st.query_params[param]


def _keep_peer(widget_key: str) -> None:
    st.session_state["peer"] = st.session_state.get(widget_key)


def current_peer() -> str | None:
    """The chosen peer contract: one for the whole session, on every page, in the URL (?peer=)
    and in a saved scenario."""
    return st.session_state.get("peer")


def _peer_names(store: Store) -> dict[str, str]:
    peers = store.peers()
    return dict(zip(peers["deployment_id"], peers["jurisdiction"] + " — " + peers["vendor"].fillna("vendor not known")))


def meeting_peer(store: Store) -> str | None:
    """Meeting mode's stand-in for the picker: the chosen peer contract named in a line (no widget
    on the projector), or a line saying none is chosen. Returns the chosen peer."""
    current = current_peer()
    st.markdown(f"**Peer contract:** {fmt.md_escape(_peer_names(store).get(current, current))}" if current
                else "**Peer contract:** none chosen (choose one outside meeting mode).")
    return current


def peer_picker(store: Store, label: str = "Peer contract to adopt", *, only: list[str] | None = None,
                where=st) -> str | None:
    """Pick the candidate peer (shared by every page; kept in the URL as ?peer=).

    The choice lives in the plain session key ``peer``, not in the widget's own key: Streamlit
    forgets a widget's state on pages that do not draw it, and the choice must survive them.
    ``only`` limits the list on this page without clearing a choice made elsewhere.
    """
    names = _peer_names(store)
    ids = list(names) if only is None else [i for i in names if i in only]
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
