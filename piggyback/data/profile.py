"""The prospective agency's profile: census facts plus the inputs the census lacks.

The profile travels in the URL (``to_query``/``from_query``) so a link reopens the same agency.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from piggyback.core import params as params_mod
from piggyback.data.lookup import resolve_agency
from piggyback.core.models import MODULES, AgencyProfile
from piggyback.data.store import Store

# Bounds of the inputs the census lacks (the sidebar widgets use the same).
MAX_PERMITS = 10_000_000
MAX_USERS = 1_000_000
MAX_SYSTEM = 200

DEFAULT_MODULES = ["building", "inspections", "planning", "licensing", "enforcement"]


def _val(v):
    return None if v is None or (not isinstance(v, (list, str)) and pd.isna(v)) else v


def profile_from_row(row: pd.Series | dict, *, permit_volume=None, staff_users=None,
                     modules_needed=None, current_system=None) -> AgencyProfile:
    row = dict(row)
    return AgencyProfile(
        geo_id=row["geo_id"], name=row["display_name"], country=row["country"], region=row["region"],
        jtype=_val(row.get("jtype")),
        population=None if _val(row.get("population")) is None else int(row["population"]),
        growth_pct=None if _val(row.get("growth_pct")) is None else float(row["growth_pct"]),
        households=None if _val(row.get("households")) is None else int(row["households"]),
        density=None if _val(row.get("density")) is None else float(row["density"]),
        lat=_val(row.get("lat")), lon=_val(row.get("lon")),
        permit_volume=permit_volume, staff_users=staff_users,
        modules_needed=list(DEFAULT_MODULES if modules_needed is None else modules_needed),
        current_system=current_system or None,
    )


def profile_for(store: Store, query: str, **inputs) -> AgencyProfile:
    """Resolve what the user typed (name, code or id) and build the profile."""
    return profile_from_row(resolve_agency(store.jurisdictions(), query), **inputs)


def to_query(profile: AgencyProfile) -> dict[str, str]:
    q = {"agency": profile.geo_id or ""}
    if profile.modules_needed != DEFAULT_MODULES:
        q["modules"] = ",".join(profile.modules_needed) or "none"
    if profile.permit_volume is not None:
        q["permits"] = str(profile.permit_volume)
    if profile.staff_users is not None:
        q["users"] = str(profile.staff_users)
    if profile.current_system:
        q["system"] = profile.current_system
    return q


def inputs_from_query(params: Mapping, problems: list[str] | None = None) -> dict:
    """The user-entered part of a profile from URL parameters; bad values are dropped, not guessed.

    Every value is read through :mod:`piggyback.core.params`; a plain sentence for each value that was
    ignored is appended to ``problems`` (when given) for the page to show.
    """
    out: dict = {}
    read = [
        ("modules_needed", params_mod.choices(params.get("modules"), "modules", MODULES, empty_word="none")),
        ("permit_volume", params_mod.whole_number(params.get("permits"), "permits", 0, MAX_PERMITS)),
        ("staff_users", params_mod.whole_number(params.get("users"), "users", 0, MAX_USERS)),
        ("current_system", params_mod.text(params.get("system"), "system", max_len=MAX_SYSTEM)),
    ]
    for field, got in read:
        if got.value is not None:
            out[field] = got.value
        if got.problem and problems is not None:
            problems.append(got.problem)
    return out
