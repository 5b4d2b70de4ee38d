"""The agency finder: what a person types ("ottawa", "Saint-Elzear", "Springfeild, IL") to the census
jurisdictions they most likely mean, best first.

Pure functions over the store's jurisdictions frame (no Streamlit). :func:`build_index` folds every
name once (accents, case and punctuation do not matter) into sorted keys and a trigram index;
:func:`index_for` keeps one index per store version. :func:`search` ranks, in this order:

1. exact names ("Ottawa" is Ottawa, ON, Ottawa, IL …),
2. names starting with the query ("Ottawa County, MI"),
3. names with a word starting with the query ("Elzear" finds "Saint-Elzéar"),
4. when nothing matches as typed, names within a small typo ("Otawa", "Springfeild"), by closeness;

and, inside each group, larger places first (places with no population last). A trailing province
or state ("Guelph, ON", "Guelph ON", "Portland, Oregon") narrows the search to it.
"""

from __future__ import annotations

import bisect
import difflib
import re
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from piggyback.data.census import fold
from piggyback.core.models import CA_PROVINCES, US_STATES

MAX_QUERY = 120  # longer text is cut: no place name is this long
_REGION_CODES = {c.lower(): c for c in {**CA_PROVINCES, **US_STATES}}
_REGION_WORDS = {fold(v): k for k, v in {**CA_PROVINCES, **US_STATES}.items()}
_COUNTRY_WORDS = {"canada": "CA", "usa": "US", "us": "US", "united states": "US"}
_ID = re.compile(r"(CA|US)-[A-Z]+-[A-Za-z0-9._-]+", re.I)
_TIERS = ("exact", "prefix", "word", "typo")


@dataclass(frozen=True)
class Match:
    """One suggestion: the id to store, the label to show (name, province/state, type, population)."""

    geo_id: str
    name: str
    region: str
    country: str
    jtype: str
    population: int | None
    label: str
    tier: str  # exact, prefix, word or typo


def population_text(population) -> str:
    return "population unknown" if population is None or pd.isna(population) else f"population {int(population):,}"


def label_for(display_name: str, jtype, population) -> str:
    """'Ottawa, ON · City · population 1,017,449' (display names already end with the province/state)."""
    kind = jtype if isinstance(jtype, str) and jtype else "type unknown"
    return f"{display_name} · {kind} · {population_text(population)}"


def _trigrams(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class FinderIndex:
    """Folded keys, sorted for prefix search, and a trigram index for typos; built once."""

    def __init__(self, jur: pd.DataFrame):
        self.size = len(jur)
        self.geo_id = jur["geo_id"].astype(str).to_numpy()
        self.name = jur["display_name"].astype(str).to_numpy()
        self.region = jur["region"].fillna("").astype(str).to_numpy()
        self.country = jur["country"].fillna("").astype(str).to_numpy()
        self.jtype = jur["jtype"].to_numpy(dtype=object)
        pop = pd.to_numeric(jur["population"], errors="coerce").to_numpy(dtype=float)
        self.population = pop
        self._pop_rank = np.where(np.isnan(pop), -1.0, pop)  # unknown population sorts last
        self.by_id = {g: i for i, g in enumerate(self.geo_id)}
        names = jur["name"].astype(str)
        keys = (jur["name_key"].astype(str).tolist() if "name_key" in jur  # folded once by the build
                else [fold(n) for n in names])
        # The display name without its province/state ('Holland (Ottawa County)'), folded only
        # where it says more than the name.
        bare = jur["display_name"].astype(str).str.replace(r",\s*[A-Z]{2}$", "", regex=True)
        shown = [k if b == n else fold(b) for k, b, n in zip(keys, bare, names)]
        self.key = np.array(keys, dtype=object)
        # Exact names are read from the sorted keys too (an equal range): no dict of one list per
        # name, as tens of thousands of small lists would make every full garbage collection of
        # the server (the GIL held throughout) slower for as long as the index lives.
        starts: list[tuple[str, int]] = []
        words: list[tuple[str, int]] = []
        for i, (k, s) in enumerate(zip(keys, shown)):
            for variant in {k, s}:
                starts.append((variant, i))
            for text in {k, s}:
                parts = text.split(" ")
                for n in range(1, len(parts)):
                    words.append((" ".join(parts[n:]), i))
        starts.sort()
        words.sort()
        self._starts_key = [s for s, _ in starts]
        self._starts_row = np.array([r for _, r in starts], dtype=np.int64)
        self._words_key = [s for s, _ in words]
        self._words_row = np.array([r for _, r in words], dtype=np.int64)
        self._keys = keys
        self._postings: dict[str, np.ndarray] | None = None  # the typo index, built on first need
        self._postings_lock = threading.Lock()

    def _typo_index(self) -> dict[str, np.ndarray]:
        with self._postings_lock:
            if self._postings is None:
                postings: dict[str, list[int]] = {}
                counts = np.zeros(self.size, dtype=np.int32)
                for i, k in enumerate(self._keys):
                    grams = _trigrams(k)
                    counts[i] = len(grams)
                    for g in grams:
                        postings.setdefault(g, []).append(i)
                self._ngram_count = counts
                self._postings = {g: np.array(rows, dtype=np.int64) for g, rows in postings.items()}
            return self._postings

    # -- the groups ---------------------------------------------------------------------------
    def _exact_rows(self, q: str) -> np.ndarray:
        lo = bisect.bisect_left(self._starts_key, q)
        hi = bisect.bisect_right(self._starts_key, q, lo)
        return np.unique(self._starts_row[lo:hi])

    def _prefix_rows(self, sorted_keys: list[str], rows: np.ndarray, q: str) -> np.ndarray:
        lo = bisect.bisect_left(sorted_keys, q)
        hi = bisect.bisect_left(sorted_keys, q + "\uffff")
        return np.unique(rows[lo:hi])

    def _typo_rows(self, q: str, pool: np.ndarray | None, limit: int) -> list[tuple[float, int]]:
        grams = _trigrams(q)
        postings = self._typo_index()
        counts = np.zeros(self.size, dtype=np.int32)
        for g in grams:
            hit = postings.get(g)
            if hit is not None:
                counts[hit] += 1
        if pool is not None:
            mask = np.zeros(self.size, dtype=bool)
            mask[pool] = True
            counts[~mask] = 0
        need = max(2, len(grams) // 3)
        candidates = np.flatnonzero(counts >= need)
        if candidates.size == 0:
            return []
        dice = 2 * counts[candidates] / (len(grams) + self._ngram_count[candidates])
        best = candidates[np.argsort(-dice, kind="stable")[:300]]
        scored = []
        for i in best:
            key = self.key[i]
            ratio = max(difflib.SequenceMatcher(None, q, key).ratio(),
                        difflib.SequenceMatcher(None, q, key[:len(q) + 1]).ratio())
            if ratio >= 0.75:
                scored.append((round(ratio, 1), int(i)))
        scored.sort(key=lambda t: (-t[0], -self._pop_rank[t[1]]))
        return scored[:limit]

    def _by_population(self, rows: np.ndarray) -> np.ndarray:
        return rows[np.argsort(-self._pop_rank[rows], kind="stable")]

    def match(self, i: int, tier: str) -> Match:
        pop = self.population[i]
        population = None if np.isnan(pop) else int(pop)
        jtype = self.jtype[i] if isinstance(self.jtype[i], str) else ""
        return Match(self.geo_id[i], self.name[i], self.region[i], self.country[i], jtype, population,
                     label_for(self.name[i], jtype, population), tier)

    def label(self, geo_id: str) -> str | None:
        i = self.by_id.get(geo_id)
        return None if i is None else self.match(i, "exact").label


def _split_place(query: str) -> tuple[str, str | None, str | None]:
    """'Guelph, ON' -> ('guelph', 'ON', None); 'guelph on' -> ('guelph', 'ON', None) when a name is
    left; 'Portland, Oregon, USA' -> ('portland', 'OR', 'US')."""
    parts = [p.strip() for p in query.split(",") if p.strip()]
    country = None
    if len(parts) > 1 and fold(parts[-1]) in _COUNTRY_WORDS:
        country = _COUNTRY_WORDS[fold(parts.pop())]
    region = None
    if len(parts) > 1:
        tail = fold(parts[-1])
        if tail in _REGION_CODES or tail in _REGION_WORDS:
            region = _REGION_CODES.get(tail) or _REGION_WORDS[tail]
            parts.pop()
    name = fold(" ".join(parts))
    if region is None and " " in name:
        head, _, tail = name.rpartition(" ")
        if tail in _REGION_CODES and len(tail) == 2:
            return head, _REGION_CODES[tail], country
    return name, region, country


def search(index: FinderIndex, query: str, limit: int = 10) -> list[Match]:
    """The jurisdictions best matching ``query``, best first (see the module's docstring)."""
    text = (query or "")[:MAX_QUERY].strip()
    if not text:
        return []
    if _ID.fullmatch(text) or re.fullmatch(r"\d{7}", text):
        for geo in (text, text.upper(), f"CA-CSD-{text}"):
            if geo in index.by_id:
                return [index.match(index.by_id[geo], "exact")]
        return []
    name, region, country = _split_place(text)
    if not name:
        return []
    found = _search(index, name, region, country, limit)
    if region and not found and " " not in text.split(",")[0].strip():
        found = _search(index, fold(text), None, None, limit)  # 'Guelph ON' had no match as a place in ON
    return found


def _search(index: FinderIndex, q: str, region: str | None, country: str | None, limit: int) -> list[Match]:
    keep = None
    if region or country:
        ok = np.ones(index.size, dtype=bool)
        if region:
            ok &= index.region == region
        if country:
            ok &= index.country == country
        keep = np.flatnonzero(ok)

    def allowed(rows: np.ndarray) -> np.ndarray:
        return rows if keep is None else rows[np.isin(rows, keep)]

    seen: set[int] = set()
    out: list[Match] = []

    def take(rows, tier: str) -> None:
        for i in rows:
            i = int(i)
            if i not in seen and len(out) < limit:
                seen.add(i)
                out.append(index.match(i, tier))

    take(index._by_population(allowed(index._exact_rows(q))), "exact")
    if len(out) < limit:
        take(index._by_population(allowed(index._prefix_rows(index._starts_key, index._starts_row, q))), "prefix")
    if len(out) < limit and len(q) >= 3:
        take(index._by_population(allowed(index._prefix_rows(index._words_key, index._words_row, q))), "word")
    if not out and len(q) >= 4:  # a typo only when nothing matches as typed
        take([i for _, i in index._typo_rows(q, keep, limit)], "typo")
    return out


def build_index(jur: pd.DataFrame) -> FinderIndex:
    return FinderIndex(jur)


_LOCK = threading.Lock()


def index_for(store) -> FinderIndex:
    """The store's finder index, built once per store version (a rebuild or an import makes a new one)."""
    version = store.version()
    cached = getattr(store, "_finder_index", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _LOCK:
        cached = getattr(store, "_finder_index", None)
        if cached is None or cached[0] != version:
            cached = (version, build_index(store.jurisdictions()))
            store._finder_index = cached
        return cached[1]


def resolve(index: FinderIndex, text: str) -> tuple[Match | None, int]:
    """What a link's ``agency=`` names: an id, or a name such as 'Guelph, ON'. Returns the match
    and how many places matched the name exactly (``0`` when it is a close match or nothing matched).
    Only exact names and ids resolve: a link never opens a place the text does not name."""
    text = (text or "").strip()
    i = index.by_id.get(text)
    if i is not None:
        return index.match(i, "exact"), 1
    found = search(index, text, limit=50)
    exact = [m for m in found if m.tier == "exact"]
    if exact:
        return exact[0], len(exact)
    return None, 0
