"""Vendor names normalized to one canonical vendor, with aliases.

The table is the store's ``vendors`` table (built from ``data/peers/vendors.csv``: one row per
alias, columns ``vendor_id, canonical_name, product_family, alias, note``). Every spelling seen
in the deployments and the research is listed verbatim as an alias; matching is on a folded
form (case, accents, punctuation and spacing ignored). A name that is not in the table gives
``None``: an unknown vendor is reported, never guessed.

Pure functions over data passed in (a DataFrame or a list of dicts), no file reading, no
Streamlit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

VENDOR_COLUMNS = ("vendor_id", "canonical_name", "product_family", "alias")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: Any) -> str:
    """Lower case, accents removed, punctuation and spaces collapsed: 'CSDC (now Granicus)'
    -> 'csdc now granicus'."""
    if text is None:
        return ""
    try:
        if pd.isna(text):
            return ""
    except (TypeError, ValueError):
        pass
    raw = unicodedata.normalize("NFKD", str(text))
    raw = "".join(ch for ch in raw if not unicodedata.combining(ch)).lower()
    return _NON_WORD.sub(" ", raw).strip()


def _rows(table: pd.DataFrame | Iterable[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    if table is None:
        return []
    if isinstance(table, pd.DataFrame):
        return table.to_dict("records")
    return list(table)


class VendorIndex:
    """Folded alias -> (vendor_id, canonical_name); build once per table."""

    def __init__(self, table: pd.DataFrame | Iterable[Mapping[str, Any]] | None):
        self.by_alias: dict[str, tuple[str, str]] = {}
        self.by_id: dict[str, str] = {}
        self.aliases: dict[str, set[str]] = {}
        for row in _rows(table):
            vid, name = str(row.get("vendor_id") or "").strip(), str(row.get("canonical_name") or "").strip()
            if not vid or not name:
                continue
            self.by_id[vid] = name
            keys = self.aliases.setdefault(vid, set())
            for text in (row.get("alias"), name, vid):
                key = fold(text)
                if key:
                    self.by_alias.setdefault(key, (vid, name))
                    keys.add(key)

    def lookup(self, name: Any) -> tuple[str, str] | None:
        key = fold(name)
        return self.by_alias.get(key) if key else None


def _index(table: Any) -> VendorIndex:
    return table if isinstance(table, VendorIndex) else VendorIndex(table)


def vendor_id(name: Any, table: Any) -> str | None:
    """The vendor id for a spelling, or None when the spelling is not in the table."""
    hit = _index(table).lookup(name)
    return hit[0] if hit else None


def canonical_vendor(name: Any, table: Any) -> str | None:
    """The canonical vendor name for any listed spelling; None for an unknown vendor."""
    hit = _index(table).lookup(name)
    return hit[1] if hit else None


def vendor_matches(query: Any, vendor: Any, table: Any) -> bool:
    """Does a user's vendor filter (``query``) match a deployment's ``vendor`` text?

    True when both resolve to the same canonical vendor (so 'Granicus' finds 'CSDC (now
    Granicus)'), or, for spellings not in the table, when the folded query occurs in the
    folded vendor text as whole words (plain text search, case and accents ignored).
    """
    q, v = fold(query), fold(vendor)
    if not q or not v:
        return False
    index = _index(table)
    q_hit, v_hit = index.by_alias.get(q), index.by_alias.get(v)
    if q_hit and v_hit:
        return q_hit[0] == v_hit[0]
    return f" {q} " in f" {v} "


def unknown_vendors(names: Iterable[Any], table: Any) -> list[str]:
    """Spellings (non-blank, distinct, in order) that the table does not know: to report."""
    index = _index(table)
    out: list[str] = []
    for name in names:
        if fold(name) and index.lookup(name) is None and str(name).strip() not in out:
            out.append(str(name).strip())
    return out


def vendor_mask(vendors: Iterable[Any], queries: Iterable[Any] | None, table: Any) -> list[bool]:
    """For each vendor text, does any of ``queries`` match it (``vendor_matches``)? With no
    query, every row is kept."""
    wanted = [q for q in (queries or []) if fold(q)]
    values = list(vendors)
    if not wanted:
        return [True] * len(values)
    index = _index(table)
    return [any(vendor_matches(q, v, index) for q in wanted) for v in values]


def vendor_choices(vendors: Iterable[Any], table: Any) -> list[str]:
    """The filter's options: each vendor's canonical name, or its own spelling when the table
    does not know it (reported as is, never merged by guess), sorted, blanks left out."""
    index = _index(table)
    out = set()
    for v in vendors:
        if not fold(v):
            continue
        hit = index.lookup(v)
        out.add(hit[1] if hit else str(v).strip())
    return sorted(out, key=str.lower)
