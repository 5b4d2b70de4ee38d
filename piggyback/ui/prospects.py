"""The Prospects page's settings and filters (``pages/prospect_list.py`` lays out the ranking).

The filters are the page's :class:`widgets.PageSettings` ``prospects`` (widget keys
``prospects.<setting>``): kept in the scenario and in the link
(?ref=ottawa-on&regions=ON,QC&pop_min=50000&pop_max=900000&types=City&preset=size only&top=100).
In meeting mode the choices are said in one line in place of the widgets (no editing control on
the projector, #15); they persist, and the link's values still filter the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from piggyback.core import fmt
from piggyback.core import params as url_params
from piggyback.core.models import CA_PROVINCES, US_STATES
from piggyback.data import peers as peer_data
from piggyback.engines.similarity import PRESETS
from piggyback.ui import widgets

DEFAULTS = {"reference": None, "regions": [], "pop_min": None, "pop_max": None, "jtypes": [],
            "preset": "balanced", "top": 50}
REGION_NAMES = {**CA_PROVINCES, **US_STATES}


@dataclass(frozen=True)
class Options:
    """What the filters offer: the peer deployments (reference), regions and kinds of government."""

    peer_ids: list[str]
    peer_label: dict[str, str]
    region_label: dict[str, str]
    jtype_options: list[str]


def options(store) -> Options:
    peers = peer_data.peer_candidates(store)
    peer_ids = peers["deployment_id"].tolist()
    return Options(
        peer_ids=peer_ids,
        peer_label=dict(zip(peer_ids, peers["jurisdiction"] + " (" + peers["region"] + ") — "
                            + peers["vendor"].fillna("vendor not known"))),
        region_label={**{c: f"{c} — {n}" for c, n in CA_PROVINCES.items()},
                      **{c: f"{c} — {n} (US)" for c, n in US_STATES.items()}},
        jtype_options=store.jurisdictions()["jtype"].value_counts().index.tolist())


def page_settings(store) -> tuple[widgets.PageSettings, Options]:
    """The page's settings, read from the link once (a link's ``?peer=`` is the reference when it
    names none), with any choice no longer offered dropped."""
    opts = options(store)
    link = {  # setting: (URL parameter, strict parser)
        "reference": ("ref", lambda raw: url_params.identifier(raw, "ref", known=opts.peer_ids,
                                                               what="peer deployment")),
        "regions": ("regions", lambda raw: url_params.choices(raw, "regions", list(opts.region_label))),
        "pop_min": ("pop_min", lambda raw: url_params.whole_number(raw, "pop_min", 0, 50_000_000)),
        "pop_max": ("pop_max", lambda raw: url_params.whole_number(raw, "pop_max", 0, 50_000_000)),
        "jtypes": ("types", lambda raw: url_params.choices(raw, "types", opts.jtype_options)),
        "preset": ("preset", lambda raw: url_params.choice(raw, "preset", list(PRESETS), "balanced", fold=str.lower)),
        "top": ("top", lambda raw: url_params.whole_number(raw, "top", 5, 1000, 50)),
    }
    settings = widgets.PageSettings("prospects", DEFAULTS, url=link)
    if not st.session_state.get("_prospects_peer_read") and not settings.value("reference") \
            and "ref" not in st.query_params:
        st.session_state["_prospects_peer_read"] = True  # a link's ?peer= (the other pages' peer), read once
        settings.set("reference", url_params.identifier(st.query_params.get("peer"), "peer",
                                                        known=opts.peer_ids).value)
    for name, ok in {"reference": lambda v: v if v in opts.peer_ids else None,
                     "regions": lambda v: [r for r in v or [] if r in opts.region_label],
                     "jtypes": lambda v: [t for t in v or [] if t in opts.jtype_options],
                     "preset": lambda v: v if v in PRESETS else "balanced"}.items():
        settings.set(name, ok(settings.value(name)))
    return settings, opts


def filter_controls(settings: widgets.PageSettings, opts: Options, meeting: bool) -> str | None:
    """The reference and the filters; in meeting mode the same choices in one line instead. The
    link names every setting that is not its default. Returns the reference deployment chosen."""
    if meeting:
        st.markdown(meeting_line(settings.values(), opts))
        reference = settings.value("reference")
    else:
        reference = st.selectbox(
            "Reference deployment", opts.peer_ids, format_func=opts.peer_label.__getitem__,
            placeholder="Choose a peer deployment …", **settings.bind("reference"),
            help="The live deployment you are selling from: its jurisdiction is the profile to match.")
        c1, c2, c3, c4 = st.columns([3, 2, 2, 3])
        c1.multiselect("Province / state", list(opts.region_label), format_func=opts.region_label.__getitem__,
                       placeholder="Anywhere", **settings.bind("regions"))
        c2.number_input("Population at least", min_value=0, max_value=50_000_000, step=10_000,
                        placeholder="no minimum", **settings.bind("pop_min"))
        c3.number_input("Population at most", min_value=0, max_value=50_000_000, step=10_000,
                        placeholder="no maximum", **settings.bind("pop_max"))
        c4.multiselect("Kind of government", opts.jtype_options, placeholder="Any", **settings.bind("jtypes"),
                       help="As the census publishes it (City, Town, County, Township …)")
        c5, c6, _ = st.columns([2, 2, 5])
        c5.selectbox("Weights preset", list(PRESETS), format_func=str.capitalize, **settings.bind("preset"),
                     help="What 'alike' means; presets are assumptions (see the Peers page).")
        c6.number_input("Show the top", min_value=5, max_value=1000, step=5, **settings.bind("top"),
                        help="How many rows to show; the download has every jurisdiction that passes the filters.")
    sync_link(settings)
    return reference


def sync_link(settings: widgets.PageSettings) -> None:
    """The link names every setting that is not its default (lists as ``ON,QC``), also after a
    scenario was opened."""
    values = settings.values()
    for name, (param, _parse) in settings.url.items():
        value = values[name]
        text = ",".join(value) if isinstance(value, list) else "" if value in (None, settings.defaults[name]) \
            else str(value)
        if text and st.query_params.get(param) != text:
            st.query_params[param] = text
        elif not text and param in st.query_params:
            del st.query_params[param]


def meeting_line(values: dict, opts: Options) -> str:
    """The reference and the filters in force as one Markdown line, e.g. "**Reference:** City of
    Ottawa (ON) — vendor not known · **Filters:** population at least 40,000; Ontario ·
    **Weights:** balanced · top 50 (change them with meeting mode off)"."""
    reference = values.get("reference")
    if not reference:
        return "**Reference:** none chosen (choose one with meeting mode off)."
    filters = []
    low, high = values.get("pop_min"), values.get("pop_max")
    if low is not None and high is not None:
        filters.append(f"population {fmt.integer(low)} to {fmt.integer(high)}")
    elif low is not None:
        filters.append(f"population at least {fmt.integer(low)}")
    elif high is not None:
        filters.append(f"population at most {fmt.integer(high)}")
    if values.get("regions"):
        filters.append(", ".join(REGION_NAMES.get(r, r) for r in values["regions"]))
    if values.get("jtypes"):
        filters.append("kind of government " + ", ".join(values["jtypes"]))
    said = fmt.md_escape("; ".join(filters)) if filters else "none (every jurisdiction in the census)"
    return (f"**Reference:** {fmt.md_escape(opts.peer_label.get(reference, reference))} · **Filters:** {said} · "
            f"**Weights:** {fmt.md_escape(values.get('preset') or DEFAULTS['preset'])} · "
            f"top {int(values.get('top') or DEFAULTS['top'])} (change them with meeting mode off)")
