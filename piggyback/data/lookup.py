"""Finding a jurisdiction by what people type: "Guelph, ON", "Saint-Elzéar, QC", "Travis County, TX",
a StatCan code (3523008) or a Piggyback id (CA-CSD-3523008). Accents and case do not matter."""

from __future__ import annotations

import re

import pandas as pd

from piggyback.data.census import fold
from piggyback.core.errors import AmbiguousAgency, UnknownAgency
from piggyback.core.models import CA_PROVINCES, US_STATES

_REGION_WORDS = {fold(v): k for k, v in {**CA_PROVINCES, **US_STATES}.items()}
_COUNTRY_HINT = {"canada": "CA", "usa": "US", "us": "US", "united states": "US"}


def _split(query: str) -> tuple[str, str | None, str | None]:
    """'Guelph, ON' -> ('guelph', 'ON', None); 'Portland, Oregon, USA' -> ('portland', 'OR', 'US')."""
    parts = [p.strip() for p in query.split(",") if p.strip()]
    country = None
    if len(parts) > 1 and fold(parts[-1]) in _COUNTRY_HINT:
        country = _COUNTRY_HINT[fold(parts.pop())]
    region = None
    if len(parts) > 1:
        tail = parts[-1]
        if re.fullmatch(r"[A-Za-z]{2}", tail):
            region = tail.upper()
            parts.pop()
        elif fold(tail) in _REGION_WORDS:
            region = _REGION_WORDS[fold(tail)]
            parts.pop()
    return fold(", ".join(parts)), region, country


def find_agencies(jur: pd.DataFrame, query: str, limit: int = 20) -> pd.DataFrame:
    """Best matches first: exact name, then names starting with the query, then containing it."""
    query = (query or "").strip()
    if not query:
        return jur.head(0)
    if re.fullmatch(r"\d{7}", query):
        return jur[jur["geo_id"] == f"CA-CSD-{query}"]
    if re.fullmatch(r"(CA|US)-[A-Z]+-.+", query.strip(), flags=re.I):
        return jur[jur["geo_id"].str.upper() == query.strip().upper()]
    name, region, country = _split(query)
    if not name:
        return jur.head(0)
    pool = jur
    if region:
        pool = pool[pool["region"] == region]
    if country:
        pool = pool[pool["country"] == country]
    keys = pool["name_key"]
    shown = pool["display_name"].map(fold)
    exact = pool[(keys == name) | (shown == fold(query))]
    if not exact.empty:
        return exact.head(limit)
    # 'Travis County' also matches 'Travis'; 'Hamilton City' matches 'Hamilton (City)'.
    starts = pool[keys.str.startswith(name) | shown.str.startswith(name)]
    contains = pool[keys.str.contains(name, regex=False) & ~pool.index.isin(starts.index)]
    return pd.concat([starts, contains]).head(limit)


def resolve_agency(jur: pd.DataFrame, query: str) -> pd.Series:
    """Exactly one jurisdiction, or UnknownAgency / AmbiguousAgency with the candidates."""
    matches = find_agencies(jur, query, limit=50)
    if matches.empty:
        raise UnknownAgency(f"No jurisdiction matches {query!r}. Try the name with its province or state "
                            "(e.g. 'Guelph, ON', 'Travis County, TX') or a StatCan code such as 3523008.")
    name, _, _ = _split(query)
    exact = matches[matches["name_key"] == name] if name else matches
    pick = exact if not exact.empty else matches
    if len(pick) == 1:
        return pick.iloc[0]
    raise AmbiguousAgency(query, [f"{r.display_name} — {r.jtype or 'type unknown'}, population "
                                  f"{'unknown' if pd.isna(r.population) else f'{int(r.population):,}'} [{r.geo_id}]"
                                  for r in pick.itertuples()])
