"""How much sooner does a piggyback reach go-live than a new RFP? A Monte Carlo answer.

Each route is a chain of phases (months) run one after another:

* ``traditional`` (new RFP): needs assessment, drafting, posting, evaluation, negotiation,
  council award;
* ``piggyback``: due diligence on the lead contract, legal review, confirming scope and price,
  council approval;
* ``implementation``: contract to go-live, the same work whichever way the contract was bought.

Why Beta-PERT (lambda = 4) by default
    A committee can state three numbers for a phase (fastest, most likely, slowest) but rarely
    a distribution. PERT turns those three numbers into a smooth Beta curve whose mean is
    ``(low + 4 * likely + high) / 6``: it weights the most likely value four times, and its tails
    are thinner than a triangular distribution's, which gives the extremes as much pull on the
    mean as the mode. That is why it is the usual choice in schedule risk analysis.
    The triangular distribution is kept as an option (``method="triangular"``) for a
    deliberately more pessimistic spread.

How draws are made
    Each cell of the draw matrix is one uniform number passed through the phase's quantile
    function: exact for the triangular, and for PERT a table of the Beta quantile function at
    16,384 equally spaced probabilities (CDF within 1/16,384 of the exact PERT everywhere; see
    :func:`pert_quantile`). The loop baseline uses the standard library's exact
    ``betavariate``, and the tests check that both give the same percentiles.

Why implementation is drawn once and shared (common random numbers)
    In every draw the same implementation duration is added to both routes. The months saved
    (``traditional - piggyback``) is then the procurement difference alone: uncertainty about
    implementation, which is the largest single phase and the same work under either contract,
    moves both go-live dates together instead of blurring the comparison.

Months and dates
    Durations are months; a go-live date is ``start + round(months * 30.4375)`` days, 30.4375
    being the mean Gregorian month (365.25 / 12). Month arithmetic (add calendar months) would
    need fractional months rounded to whole ones; the day count keeps the fraction.

Determinism
    One ``np.random.default_rng(seed)`` fills the draw matrix (phases x draws, one phase at a
    time, in the order given) and then the value-of-time draws, so the same phases, seed and
    draws give the same result, and ``TimelineResult.to_json()`` is byte-identical (floats
    rounded to 4 decimals, keys sorted).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from piggyback.core.errors import PiggybackError
from piggyback.core.models import SourceKind, check_partial_date, is_blank, partial_date_mid

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
TIMELINE_CSV = DATA_DIR / "assumptions" / "timeline.csv"

DAYS_PER_MONTH = 30.4375  # 365.25 / 12: the mean Gregorian month
PERT_LAMBDA = 4.0
ROUND = 4  # decimals kept in to_dict(), so the JSON is byte-identical for the same seed
HIST_MAX_BINS = 60

Route = Literal["traditional", "piggyback", "implementation"]
ROUTES: tuple[str, ...] = ("traditional", "piggyback")
ROUTE_LABELS: dict[str, str] = {
    "traditional": "New RFP",
    "piggyback": "Piggyback",
    "implementation": "Implementation",
}
# assumption_id prefix -> route
ID_PREFIX_ROUTE: dict[str, str] = {"tl.rfp.": "traditional", "tl.pb.": "piggyback",
                                   "tl.impl.": "implementation"}
METHODS = ("pert", "triangular")


class TimelineError(PiggybackError, ValueError):
    """Bad timeline input; the message says what to change (pages show it, the CLI exits 2)."""


class Phase(BaseModel):
    """One phase of a route, in months: fastest, most likely and slowest."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1)
    route: Route
    name: str = Field(min_length=1)
    low: float = Field(ge=0, allow_inf_nan=False)
    likely: float = Field(ge=0, allow_inf_nan=False)
    high: float = Field(ge=0, allow_inf_nan=False)
    kind: SourceKind = "assumption"
    source_url: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.likely <= self.high):
            raise ValueError(
                f"phase {self.id!r}: need low <= likely <= high months "
                f"(got {self.low}, {self.likely}, {self.high})"
            )
        return self


# --------------------------------------------------------------------------- assumptions


def _route_of(assumption_id: str) -> str | None:
    for prefix, route in ID_PREFIX_ROUTE.items():
        if assumption_id.startswith(prefix):
            return route
    return None


def phases_from_assumptions(
    rows: pd.DataFrame | Iterable[Mapping[str, Any] | BaseModel],
) -> list[Phase]:
    """Phases from assumption rows (a DataFrame, dicts, or ``Assumption`` models).

    Only rows of ``group_name == "timeline"`` whose id starts with ``tl.rfp.``, ``tl.pb.`` or
    ``tl.impl.`` are used, in the order given. ``value`` is the most likely duration. A blank
    low or high means the source gave one figure: that bound is the figure itself (no spread is
    invented). The unit must be months.
    """
    if isinstance(rows, pd.DataFrame):
        records: list[Mapping[str, Any]] = rows.to_dict("records")
    else:
        records = [r.model_dump() if isinstance(r, BaseModel) else dict(r) for r in rows]
    phases: list[Phase] = []
    for rec in records:
        aid = str(rec.get("assumption_id", "")).strip()
        group = rec.get("group_name")
        if not is_blank(group) and str(group).strip() != "timeline":
            continue
        route = _route_of(aid)
        if route is None:
            continue
        unit = str(rec.get("unit") or "months").strip().lower()
        if unit not in ("months", "month"):
            raise TimelineError(f"{aid}: unit is {unit!r}; timeline phases must be in months")
        if is_blank(rec.get("value")):
            raise TimelineError(f"{aid}: the most likely value (value) is blank; enter months")
        likely = float(rec["value"])
        low = likely if is_blank(rec.get("low")) else float(rec["low"])
        high = likely if is_blank(rec.get("high")) else float(rec["high"])
        kind = rec.get("kind")
        try:
            phases.append(Phase(
                id=aid, route=route, name=str(rec.get("name") or aid), low=low, likely=likely,
                high=high, kind="assumption" if is_blank(kind) else str(kind).strip(),
                source_url=None if is_blank(rec.get("source_url")) else str(rec["source_url"]),
                note=None if is_blank(rec.get("note")) else str(rec["note"]),
            ))
        except ValueError as exc:
            raise TimelineError(f"{aid}: {exc}") from None
    return phases


def load_phases(path: str | Path) -> list[Phase]:
    """Phases from a timeline assumptions CSV (tests and the benchmark; the app reads the
    store's ``assumptions`` table through :mod:`piggyback.analyses.timeline`)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return phases_from_assumptions(list(csv.DictReader(fh)))


def _check_phases(phases: Sequence[Phase]) -> None:
    for route in ROUTES:
        if not any(p.route == route for p in phases):
            raise TimelineError(f"no {ROUTE_LABELS[route]} phases: add at least one {route} phase")
    ids = [p.id for p in phases]
    if len(set(ids)) != len(ids):
        raise TimelineError("phase ids must be unique")


# --------------------------------------------------------------------------- user edits

ROUTE_ORDER: dict[str, int] = {"traditional": 0, "piggyback": 1, "implementation": 2}
RANGE_KEYS = ("low", "likely", "high")
# the seeded phases' reading order (data/assumptions/timeline.csv); the order decides the draws
PHASE_ORDER: tuple[str, ...] = (
    "tl.rfp.needs", "tl.rfp.drafting", "tl.rfp.posting", "tl.rfp.evaluation", "tl.rfp.negotiation",
    "tl.rfp.award", "tl.pb.due_diligence", "tl.pb.legal", "tl.pb.scope_price", "tl.pb.council",
    "tl.impl.golive")


def ordered_phases(phases: Iterable[Phase]) -> list[Phase]:
    """Phases in reading order: new RFP, piggyback, implementation; within a route in the order
    of the seeded file, unknown ids after them by id.

    The store returns assumptions sorted by id; the order decides which uniforms each phase
    draws, so the page and the CLI sort the same way to give the same numbers for a seed.
    """
    seeded = {pid: i for i, pid in enumerate(PHASE_ORDER)}
    return sorted(phases, key=lambda p: (ROUTE_ORDER[p.route], seeded.get(p.id, len(seeded)), p.id))


def check_range(phase_id: str, low: Any, likely: Any, high: Any) -> dict[str, float]:
    """One edited range as ``{low, likely, high}`` months; TimelineError says what is wrong."""
    values: dict[str, float] = {}
    for name, raw in zip(RANGE_KEYS, (low, likely, high)):
        label = "most likely" if name == "likely" else name
        if is_blank(raw):
            raise TimelineError(f"{phase_id}: {label} is blank; enter months (0 or more)")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise TimelineError(f"{phase_id}: {label} {raw!r} is not a number of months") from None
        if not math.isfinite(value):
            raise TimelineError(f"{phase_id}: {label} must be a finite number of months")
        if value < 0:
            raise TimelineError(f"{phase_id}: {label} is {value:g} months; a duration cannot be "
                                "negative")
        values[name] = value
    if not values["low"] <= values["likely"] <= values["high"]:
        raise TimelineError(
            f"{phase_id}: need low ≤ most likely ≤ high (got {values['low']:g}, "
            f"{values['likely']:g}, {values['high']:g} months)")
    return values


def _same_range(phase: Phase, values: Mapping[str, float]) -> bool:
    return all(float(getattr(phase, k)) == float(values[k]) for k in RANGE_KEYS)


def apply_overrides(phases: Sequence[Phase],
                    overrides: Mapping[str, Mapping[str, Any]] | None) -> list[Phase]:
    """The phases with the user's ranges (``{phase_id: {low, likely, high}}``) in their place.

    An edited phase becomes kind ``user-entered`` and its note says what it replaced; a key left
    out keeps the phase's own value, and a range equal to the phase's own changes nothing. An
    unknown phase id or a bad range raises :class:`TimelineError` and nothing is applied.
    """
    overrides = overrides or {}
    by_id = {p.id: p for p in phases}
    unknown = sorted(set(overrides) - set(by_id))
    if unknown:
        raise TimelineError(f"no phase {', '.join(unknown)} to edit; the phases are "
                            f"{', '.join(by_id)}")
    out: list[Phase] = []
    for p in phases:
        edit = overrides.get(p.id)
        if edit is None:
            out.append(p)
            continue
        values = check_range(p.id, *(edit.get(k, getattr(p, k)) for k in RANGE_KEYS))
        if _same_range(p, values):
            out.append(p)
            continue
        note = (f"Edited by user; was {p.low:g} / {p.likely:g} / {p.high:g} months "
                f"({p.kind}).") + (f" {p.note}" if p.note else "")
        out.append(p.model_copy(update={**values, "kind": "user-entered", "note": note}))
    return out


def overrides_from_table(phases: Sequence[Phase], rows: Iterable[Mapping[str, Any]],
                         ) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Split edited table rows (each with ``id, low, likely, high``) into the valid overrides of
    ``phases`` (only ranges that differ from the phase's own) and error messages by phase id.

    A row in error is left out of the overrides, so the phase keeps its last valid range until
    the row is fixed; the caller keeps the row as typed so nothing the user entered is lost.
    """
    by_id = {p.id: p for p in phases}
    overrides: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    for row in rows:
        pid = str(row.get("id", ""))
        if pid not in by_id:
            errors[pid] = f"{pid or 'a row'}: not a timeline phase"
            continue
        try:
            values = check_range(pid, *(row.get(k) for k in RANGE_KEYS))
        except TimelineError as exc:
            errors[pid] = str(exc)
            continue
        if not _same_range(by_id[pid], values):
            overrides[pid] = values
    return overrides, errors


def phase_rows(phases: Sequence[Phase]) -> list[dict[str, Any]]:
    """The assumptions as plain rows (id, route, name, low, likely, high, kind, source, note)."""
    return [{"id": p.id, "route": p.route, "name": p.name, "low": p.low, "likely": p.likely,
             "high": p.high, "kind": p.kind, "source": p.source_url, "note": p.note}
            for p in phases]


def range_or_none(name: str, values: Sequence[Any]) -> tuple[float, float, float] | None:
    """A (low, likely, high) the user typed: None when all three are blank (not computed, never
    guessed); TimelineError when only some are filled in, negative or out of order."""
    blanks = [is_blank(v) for v in values]
    if all(blanks):
        return None
    if any(blanks):
        raise TimelineError(f"{name}: fill in low, most likely and high (or leave all three "
                            "blank to leave it out)")
    vals = check_range(name, *values)
    return vals["low"], vals["likely"], vals["high"]


def value_per_month(staff_hours: Sequence[Any] | None = None, loaded_rate: Sequence[Any] | None = None,
                    backlog_cost: Sequence[Any] | None = None) -> tuple[float, float, float] | None:
    """Money one month of earlier go-live is worth, as (low, likely, high), or None if not given.

    Staff hours saved a month times the loaded hourly rate (both needed), plus the backlog cost
    a month; each is a (low, likely, high) the user typed, all blank = left out. Low pairs with
    low and high with high (:func:`monthly_benefit` for each), so the range is the widest the
    inputs allow.
    """
    hours = range_or_none("staff hours saved a month", staff_hours or (None,) * 3)
    rate = range_or_none("loaded hourly rate", loaded_rate or (None,) * 3)
    backlog = range_or_none("backlog cost a month", backlog_cost or (None,) * 3)
    if (hours is None) != (rate is None):
        raise TimelineError("staff time needs both the hours saved a month and the loaded hourly "
                            "rate (or neither)")
    if hours is None and backlog is None:
        return None
    return tuple(  # type: ignore[return-value]
        monthly_benefit(hours[i] if hours else 0.0, rate[i] if rate else 0.0,
                        backlog[i] if backlog else 0.0)
        for i in range(3))


SIMILAR_PEERS = 5  # the calibration asks for this many of the agency's most similar peers


def most_similar_peer_ids(agency: Any, peers: pd.DataFrame, n: int = SIMILAR_PEERS) -> list[str]:
    """Ids of the ``n`` peers most like the agency (:func:`piggyback.engines.similarity.score_candidates`,
    default weights); peers that cannot be scored are left out."""
    from piggyback.engines.similarity import score_candidates

    if "module_codes" in peers.columns:
        # DuckDB hands list columns over as numpy arrays; the scorer expects lists or text.
        peers = peers.assign(module_codes=peers["module_codes"].map(
            lambda v: list(v) if isinstance(v, np.ndarray) else v))
    scored = score_candidates(agency, peers)
    scored = scored[scored["score"].notna()]
    return scored["deployment_id"].head(int(n)).tolist()


# --------------------------------------------------------------------------- distributions


def _bounds(low, likely, high) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(low, dtype=float)
    m = np.asarray(likely, dtype=float)
    b = np.asarray(high, dtype=float)
    width = b - a
    return a, m, b, width


def pert_params(low, likely, high, lam: float = PERT_LAMBDA) -> tuple[np.ndarray, np.ndarray]:
    """Beta shape parameters (alpha, beta) of a PERT; a zero-width range gets (1, 1)."""
    a, m, b, width = _bounds(low, likely, high)
    safe = np.where(width > 0, width, 1.0)
    alpha = np.where(width > 0, 1.0 + lam * (m - a) / safe, 1.0)
    beta = np.where(width > 0, 1.0 + lam * (b - m) / safe, 1.0)
    return alpha, beta


PERT_TABLE_CELLS = 16_384
_X_GRID = np.linspace(0.0, 1.0, PERT_TABLE_CELLS + 1)


@lru_cache(maxsize=256)
def _pert_quantile_table(alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of Beta(alpha, beta) (alpha, beta >= 1) at u = k / cells, and their steps.

    The CDF is integrated on a fine grid of x (trapezoid rule) and inverted at the u nodes.
    """
    pdf = _X_GRID ** (alpha - 1.0) * (1.0 - _X_GRID) ** (beta - 1.0)
    cdf = np.concatenate(([0.0], np.cumsum((pdf[1:] + pdf[:-1]) * 0.5)))
    cdf /= cdf[-1]
    q = np.interp(_X_GRID, cdf, _X_GRID)  # u nodes are the same equally spaced points
    q[0], q[-1] = 0.0, 1.0
    step = np.diff(q)
    q.setflags(write=False)
    step.setflags(write=False)
    return q, step


def pert_quantile(u: np.ndarray, low: float, likely: float, high: float,
                  lam: float = PERT_LAMBDA) -> np.ndarray:
    """Beta-PERT quantiles of uniforms ``u`` (inverse transform); exactly ``low`` if low == high.

    The quantile function is tabulated at 16,384 equally spaced probabilities and interpolated
    linearly between them. Each draw therefore falls between the exact quantiles of its
    probability cell, so the sampled distribution's CDF is within 1/16,384 of the exact PERT CDF
    everywhere. A table lookup is O(1) per draw, several times faster than numpy's gamma-based
    ``beta``, and makes every draw a monotone function of one uniform.
    """
    if not (low <= likely <= high):
        raise TimelineError(f"need low <= likely <= high (got {low}, {likely}, {high})")
    if lam <= 0:
        raise TimelineError("the PERT lambda must be positive (4 is standard)")
    u = np.asarray(u, dtype=float)
    width = float(high) - float(low)
    if width <= 0:
        return np.full(u.shape, float(low))
    alpha, beta = pert_params(low, likely, high, lam)
    q, step = _pert_quantile_table(round(float(alpha), 12), round(float(beta), 12))
    t = np.clip(u, 0.0, 1.0) * PERT_TABLE_CELLS
    i = np.minimum(t.astype(np.intp), PERT_TABLE_CELLS - 1)
    t -= i
    t *= step[i]
    t += q[i]
    return float(low) + width * t


def pert_sample(rng: np.random.Generator, low: float, likely: float, high: float, size: int,
                lam: float = PERT_LAMBDA) -> np.ndarray:
    """``size`` Beta-PERT draws of one quantity; exactly ``low`` when low == high."""
    return pert_quantile(rng.random(size), low, likely, high, lam)


def correlated_uniforms(rng: np.random.Generator, phases: Sequence[Phase], draws: int,
                        correlation: float) -> np.ndarray:
    """Uniforms (phases x draws) whose phases move together within each route.

    A Gaussian copula with one common factor per route: ``z = sqrt(rho) * common[route] +
    sqrt(1 - rho) * own``, so two phases of the same route have normal correlation ``rho`` and
    phases of different routes are independent; ``u = Phi(z)`` keeps every phase's own PERT or
    triangular distribution. ``rho = 0`` is the independent model (same draws as before).
    """
    rho = float(correlation)
    if rho <= 0.0:
        return rng.random((len(phases), draws))
    from scipy.special import ndtr

    routes = [p.route for p in phases]
    names = list(dict.fromkeys(routes))
    common = rng.standard_normal((len(names), draws))
    z = rng.standard_normal((len(phases), draws))
    z *= math.sqrt(1.0 - rho)
    a = math.sqrt(rho)
    for i, route in enumerate(routes):
        z[i] += a * common[names.index(route)]
    return ndtr(z, out=z)


def _draw_matrix(method: str, rng: np.random.Generator, phases: Sequence[Phase],
                 draws: int, correlation: float = 0.0) -> np.ndarray:
    """The draw matrix, stored phases x draws so each phase's draws are contiguous in memory
    (faster per-phase transforms and medians): one uniform per cell, then each phase's
    quantile function. PERT and triangular runs with the same seed share their uniforms.
    ``correlation`` > 0 draws the uniforms from :func:`correlated_uniforms`."""
    u = correlated_uniforms(rng, phases, draws, correlation)
    if method == "pert":
        for i, p in enumerate(phases):
            u[i] = pert_quantile(u[i], p.low, p.likely, p.high)
        return u
    low, likely, high = (np.array([getattr(p, k) for p in phases])[:, None]
                         for k in ("low", "likely", "high"))
    return triangular_from_uniform(u, low, likely, high)


def triangular_from_uniform(u: np.ndarray, low, likely, high) -> np.ndarray:
    """Triangular quantiles of uniforms ``u``; exactly ``low`` where the range has no width.

    numpy's own ``triangular`` refuses low == high, hence the inverse CDF.
    """
    a, m, b, width = _bounds(low, likely, high)
    safe = np.where(width > 0, width, 1.0)
    fc = np.where(width > 0, (m - a) / safe, 0.0)
    left = a + np.sqrt(np.clip(u * width * (m - a), 0.0, None))
    right = b - np.sqrt(np.clip((1.0 - u) * width * (b - m), 0.0, None))
    out = np.where(u < fc, left, right)
    return np.where(width > 0, out, a)


def triangular_sample(rng: np.random.Generator, low: float, likely: float, high: float,
                      size: int) -> np.ndarray:
    return triangular_from_uniform(rng.random(size), low, likely, high)


def _scalar_draw(method: str, r: random.Random, a: float, m: float, b: float) -> float:
    """One draw with the standard library (the loop baseline)."""
    if b <= a:
        return a
    if method == "pert":
        alpha = 1.0 + PERT_LAMBDA * (m - a) / (b - a)
        beta = 1.0 + PERT_LAMBDA * (b - m) / (b - a)
        return a + (b - a) * r.betavariate(alpha, beta)
    return r.triangular(a, b, m)


# --------------------------------------------------------------------------- result


def _r(x: float) -> float:
    return round(float(x), ROUND)


def _pcts(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": _r(p10), "p50": _r(p50), "p90": _r(p90), "mean": _r(values.mean())}


MIN_DRAWS = 10_000  # fewer draws leave the P10 and P90 unstable from seed to seed


def first_of_next_month(today: dt.date) -> dt.date:
    """The default start (decision date): decisions are dated to the start of a month."""
    return dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)


def add_months(start: dt.date, months: float) -> dt.date:
    """``start`` plus ``months`` of 30.4375 days, to the nearest day."""
    return start + dt.timedelta(days=int(round(float(months) * DAYS_PER_MONTH)))


def _histogram(values: np.ndarray) -> dict[str, list[float]]:
    lo, hi = math.floor(values.min()), math.ceil(values.max())
    if hi <= lo:
        hi = lo + 1
    n_bins = int(min(HIST_MAX_BINS, max(10, math.ceil((hi - lo) / 0.5))))
    counts, edges = np.histogram(values, bins=np.linspace(lo, hi, n_bins + 1))
    return {"edges": [_r(e) for e in edges], "counts": [int(c) for c in counts]}


@dataclass(frozen=True)
class TimelineResult:
    """Summary of a timeline simulation. Months are counted from ``start``.

    ``saved_draws`` keeps every draw of months saved (not serialised; ``histogram`` is its
    compact, serialisable form).
    """

    start: dt.date
    method: str
    draws: int
    seed: int
    routes: dict[str, dict[str, Any]]
    implementation: dict[str, float]
    months_saved: dict[str, float]
    prob_piggyback_faster: float
    phases: list[dict[str, Any]]
    histogram: dict[str, list[float]]
    value_of_time: dict[str, Any] | None = None
    saved_draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; identical for the same inputs and seed."""
        return {
            "start": self.start.isoformat(),
            "method": self.method,
            "draws": self.draws,
            "seed": self.seed,
            "days_per_month": DAYS_PER_MONTH,
            "routes": self.routes,
            "implementation": self.implementation,
            "months_saved": self.months_saved,
            "prob_piggyback_faster": self.prob_piggyback_faster,
            "phases": self.phases,
            "histogram": self.histogram,
            "value_of_time": self.value_of_time,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def phase_median(method: str, phase: Phase) -> float:
    """The median of a phase's distribution: its quantile function at one half.

    Every draw is the quantile function of one uniform, so this is the value half the draws fall
    below; taken from the distribution rather than sorted out of the draws, it is the same for
    both engines and costs nothing (sorting eleven rows of 100,000 draws cost about a third of
    the run).
    """
    if method == "pert":
        return float(pert_quantile(np.array([0.5]), phase.low, phase.likely, phase.high)[0])
    return float(triangular_from_uniform(0.5, phase.low, phase.likely, phase.high))


def _summarise(phases: Sequence[Phase], matrix: np.ndarray, *, start: dt.date, method: str,
               seed: int, value_draws: np.ndarray | None,
               value_per_month: tuple[float, float, float] | None) -> TimelineResult:
    """Shared by the vectorised engine and the loop baseline: ``matrix`` is phases x draws."""
    route_of = np.array([p.route for p in phases])
    impl = matrix[route_of == "implementation"].sum(axis=0)
    routes: dict[str, dict[str, Any]] = {}
    totals: dict[str, np.ndarray] = {}
    for route in ROUTES:
        award = matrix[route_of == route].sum(axis=0)
        total = award + impl
        totals[route] = total
        months = _pcts(total)
        routes[route] = {
            "label": ROUTE_LABELS[route],
            "award_months": _pcts(award),
            "months": months,
            "go_live": {k: add_months(start, months[k]).isoformat() for k in ("p10", "p50", "p90")},
        }
    saved = totals["traditional"] - totals["piggyback"]
    medians = [phase_median(method, p) for p in phases]
    means = matrix.mean(axis=1)
    phase_rows = [
        {"id": p.id, "route": p.route, "name": p.name, "low": _r(p.low), "likely": _r(p.likely),
         "high": _r(p.high), "median": _r(medians[i]), "mean": _r(means[i]), "kind": p.kind,
         "source_url": p.source_url}
        for i, p in enumerate(phases)
    ]
    value = None
    if value_draws is not None and value_per_month is not None:
        money = saved * value_draws
        value = {"per_month": [_r(v) for v in value_per_month], **_pcts(money)}
    return TimelineResult(
        start=start, method=method, draws=int(matrix.shape[1]), seed=int(seed), routes=routes,
        implementation=_pcts(impl), months_saved=_pcts(saved),
        prob_piggyback_faster=_r((saved > 0).mean()), phases=phase_rows,
        histogram=_histogram(saved), value_of_time=value, saved_draws=saved,
    )


def _check_args(phases, start, draws, method, value_per_month, correlation=0.0):
    _check_phases(phases)
    if not (isinstance(correlation, (int, float)) and 0.0 <= float(correlation) < 1.0):
        raise TimelineError("the correlation between phases must be a number from 0 (independent) "
                            "to just under 1 (they move together)")
    if isinstance(start, dt.datetime):
        raise TimelineError("start must be a date without a time (use .date())")
    if not isinstance(start, dt.date):
        raise TimelineError("start must be a date (the day the decision is taken)")
    if int(draws) < 1:
        raise TimelineError("draws must be at least 1 (10,000 or more for stable percentiles)")
    if method not in METHODS:
        raise TimelineError(f"method must be one of {METHODS}, not {method!r}")
    if value_per_month is not None:
        vals = tuple(float(v) for v in value_per_month)
        if len(vals) != 3 or not (vals[0] <= vals[1] <= vals[2]) or not all(map(math.isfinite, vals)):
            raise TimelineError("value_per_month must be (low, likely, high) with low <= likely <= high")
        return vals
    return None


def simulate_timeline(
    phases: Sequence[Phase],
    start: dt.date | None = None,
    draws: int = 10_000,
    seed: int = 0,
    method: Literal["pert", "triangular"] = "pert",
    value_per_month: tuple[float, float, float] | None = None,
    correlation: float = 0.0,
) -> TimelineResult:
    """Monte Carlo of both routes to go-live (numpy, one draws x phases matrix).

    ``value_per_month`` is the monthly benefit of going live sooner (low, likely, high; drawn
    PERT); the value of time is months saved times that benefit, per draw. ``correlation``
    (0 to < 1) makes the phases of a route move together (:func:`correlated_uniforms`).
    """
    start = dt.date.today() if start is None else start
    vpm = _check_args(phases, start, draws, method, value_per_month, correlation)
    rng = np.random.default_rng(seed)
    matrix = _draw_matrix(method, rng, phases, int(draws), correlation)
    value_draws = None if vpm is None else pert_sample(rng, *vpm, size=int(draws))
    return _summarise(phases, matrix, start=start, method=method, seed=seed,
                      value_draws=value_draws, value_per_month=vpm)


def simulate_timeline_loop(
    phases: Sequence[Phase],
    start: dt.date | None = None,
    draws: int = 10_000,
    seed: int = 0,
    method: Literal["pert", "triangular"] = "pert",
    value_per_month: tuple[float, float, float] | None = None,
) -> TimelineResult:
    """The same model drawn one value at a time with ``random.Random`` (benchmark baseline).

    Statistically equivalent to :func:`simulate_timeline`, not draw-for-draw identical.
    """
    start = dt.date.today() if start is None else start
    vpm = _check_args(phases, start, draws, method, value_per_month)
    r = random.Random(seed)
    bounds = [(p.low, p.likely, p.high) for p in phases]
    rows = []
    values = [] if vpm is not None else None
    for _ in range(int(draws)):
        rows.append([_scalar_draw(method, r, a, m, b) for a, m, b in bounds])
        if values is not None:
            values.append(_scalar_draw("pert", r, *vpm))
    matrix = np.array(rows, dtype=float).T
    value_draws = None if values is None else np.array(values)
    return _summarise(phases, matrix, start=start, method=method, seed=seed,
                      value_draws=value_draws, value_per_month=vpm)


def monthly_benefit(staff_hours_per_month: float, loaded_rate: float,
                    backlog_cost_per_month: float = 0.0) -> float:
    """Money a month of earlier go-live is worth: staff hours saved x loaded hourly rate,
    plus the monthly cost of the backlog the old system causes (same currency)."""
    for name, v in (("staff_hours_per_month", staff_hours_per_month),
                    ("loaded_rate", loaded_rate),
                    ("backlog_cost_per_month", backlog_cost_per_month)):
        if v is None or not math.isfinite(float(v)) or float(v) < 0:
            raise TimelineError(f"{name} must be a number of at least 0")
    return float(staff_hours_per_month) * float(loaded_rate) + float(backlog_cost_per_month)


# --------------------------------------------------------------------------- calibration


def _date_text(value: Any) -> str | None:
    """A partial ISO date as text; CSV readers may hand years over as 2002 or 2002.0."""
    if is_blank(value) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                               and float(value).is_integer()):
        return str(int(value))
    return str(value).strip()


def _precision(text: str) -> str:
    return {1: "year", 2: "month", 3: "day"}[len(text.split("-"))]


_PRECISION_RANK = {"day": 0, "month": 1, "year": 2}
SPANS = (("rfp_to_award", "rfp_issued", "contract_award"),
         ("award_to_golive", "contract_award", "go_live"),
         ("rfp_to_golive", "rfp_issued", "go_live"))


def peer_durations(deployments: pd.DataFrame) -> pd.DataFrame:
    """Months between the published dates of each peer deployment.

    Needs columns ``deployment_id, jurisdiction, rfp_issued, contract_award, go_live`` (partial
    ISO dates). Each date stands for the middle of the period it names
    (:func:`piggyback.core.models.partial_date_mid`). For each span (``rfp_to_award``,
    ``award_to_golive``, ``rfp_to_golive``) the frame gives ``<span>_months``, its
    ``<span>_precision`` (the coarser end: day, month or year) and ``<span>_approximate``
    (True when an end is year-only). A span with a blank end stays blank; a negative span is
    dropped (blank) and the reason is written to ``dropped``; it is never used.
    """
    needed = ["deployment_id", "jurisdiction", "rfp_issued", "contract_award", "go_live"]
    missing = [c for c in needed if c not in deployments.columns]
    if missing:
        raise TimelineError(f"deployments lack column(s) {missing}; need {needed}")
    out = []
    for rec in deployments[needed].to_dict("records"):
        did = str(rec["deployment_id"])
        texts: dict[str, str | None] = {}
        for col in needed[2:]:
            text = _date_text(rec[col])
            try:
                texts[col] = check_partial_date(text)
            except ValueError as exc:
                raise TimelineError(f"{did} {col}: {exc}") from None
        row: dict[str, Any] = {"deployment_id": did, "jurisdiction": rec["jurisdiction"], **texts}
        reasons = []
        for span, a_col, b_col in SPANS:
            a_txt, b_txt = texts[a_col], texts[b_col]
            months = precision = approx = None
            if a_txt and b_txt:
                days = (partial_date_mid(b_txt) - partial_date_mid(a_txt)).days
                pa, pb = _precision(a_txt), _precision(b_txt)
                if days < 0:
                    coarse = min(len(a_txt), len(b_txt))
                    why = ("is after" if b_txt[:coarse] < a_txt[:coarse]
                           else "may be after (dates too imprecise to order)")
                    reasons.append(f"{span}: {a_col} {a_txt} {why} {b_col} {b_txt}; "
                                   "dropped (e.g. a later renewal, not the original award)")
                else:
                    months = round(days / DAYS_PER_MONTH, 2)
                    precision = max(pa, pb, key=_PRECISION_RANK.__getitem__)
                    approx = precision == "year"
            row[f"{span}_months"] = months
            row[f"{span}_precision"] = precision
            row[f"{span}_approximate"] = approx
        row["dropped"] = "; ".join(reasons) or None
        out.append(row)
    cols = ["deployment_id", "jurisdiction", *needed[2:]]
    for span, _, _ in SPANS:
        cols += [f"{span}_months", f"{span}_precision", f"{span}_approximate"]
    cols.append("dropped")
    frame = pd.DataFrame(out, columns=cols)
    for span, _, _ in SPANS:
        frame[f"{span}_months"] = frame[f"{span}_months"].astype("Float64")
        frame[f"{span}_approximate"] = frame[f"{span}_approximate"].astype("boolean")
    return frame


def calibrate_implementation(durations: pd.DataFrame, similar_ids: list[str] | None = None,
                             min_peers: int = 1) -> dict[str, Any]:
    """Suggested implementation range (months) from peers' award -> go-live spans.

    low / likely / high are the min / median / max over the chosen peers that have both dates
    (``similar_ids``), or over all peers with data when no ids are given or fewer than
    ``min_peers`` chosen peers have data (``basis`` says which). When too few peers have data,
    low / likely / high are ``None`` and ``reason`` says why: no figure is invented.
    """
    col = "award_to_golive_months"
    if col not in durations.columns:
        raise TimelineError("durations must come from peer_durations()")
    have = durations[durations[col].notna()]
    empty = {"low": None, "likely": None, "high": None, "n_peers": 0, "peer_ids": [],
             "approximate": None, "basis": None}
    if min_peers < 1:
        raise TimelineError("min_peers must be at least 1")
    basis = "all peers with data"
    chosen = have
    note = None
    if similar_ids is not None:
        picked = have[have["deployment_id"].isin(list(similar_ids))]
        if len(picked) >= min_peers:
            chosen, basis = picked, "chosen peers"
        else:
            note = (f"only {len(picked)} of the {len(similar_ids)} chosen peers have both an award "
                    f"and a go-live date; used all peers with data instead")
    if len(chosen) < min_peers:
        return {**empty, "reason": (f"{len(chosen)} peer(s) have both a contract award and a "
                                    f"go-live date in order; need at least {min_peers}")}
    months = chosen[col].astype(float).to_numpy()
    return {
        "low": round(float(months.min()), 2),
        "likely": round(float(np.median(months)), 2),
        "high": round(float(months.max()), 2),
        "n_peers": int(len(chosen)),
        "peer_ids": chosen["deployment_id"].tolist(),
        "approximate": bool(chosen["award_to_golive_approximate"].fillna(False).any()),
        "basis": basis,
        "reason": note,
    }


def apply_calibration(phases: Sequence[Phase], calibration: Mapping[str, Any]) -> list[Phase]:
    """Replace the implementation phase(s) with one derived from :func:`calibrate_implementation`."""
    if calibration.get("likely") is None:
        raise TimelineError(calibration.get("reason") or "the calibration has no suggestion")
    ids = ", ".join(calibration["peer_ids"])
    derived = Phase(
        id="tl.impl.golive", route="implementation", name="Implementation: contract to go-live "
        "(from peers)", low=calibration["low"], likely=calibration["likely"],
        high=calibration["high"], kind="derived",
        note=f"min / median / max of award to go-live for {calibration['n_peers']} peer(s): {ids}"
        + (" (some dates year-only: approximate)" if calibration.get("approximate") else ""),
    )
    kept = [p for p in phases if p.route != "implementation"]
    return [*kept, derived]


def peer_actuals(durations: pd.DataFrame, deployment_id: str) -> dict[str, Any]:
    """One peer's published dates and spans from :func:`peer_durations` as plain values
    (None where unknown): what the peer actually took, for showing beside the model."""
    hit = durations[durations["deployment_id"] == deployment_id]
    if hit.empty:
        raise TimelineError(f"no peer deployment {deployment_id!r} in the durations")
    out: dict[str, Any] = {}
    for key, value in hit.iloc[0].to_dict().items():
        if is_blank(value):
            out[key] = None
        elif isinstance(value, (np.bool_, bool)):
            out[key] = bool(value)
        elif isinstance(value, (np.floating, float)):
            out[key] = float(value)
        else:
            out[key] = value
    return out


# vendor claims about durations -> the route whose procurement months they speak of
DURATION_CLAIMS: dict[str, str] = {"cx-rfp-duration": "traditional",
                                   "cx-piggyback-duration": "piggyback"}


def duration_claims(claims: pd.DataFrame) -> list[dict[str, Any]]:
    """The vendor's duration claims (table ``claims``) as plain rows, each with the route it
    speaks of; kind stays as stored (``vendor-stated``): shown beside the model, never used."""
    rows = []
    for cid, route in DURATION_CLAIMS.items():
        hit = claims[claims["claim_id"] == cid]
        if hit.empty:
            continue
        rec = hit.iloc[0]
        rows.append({"id": cid, "route": route,
                     **{k: (None if is_blank(rec.get(k)) else str(rec.get(k)))
                        for k in ("claimed_value", "claim", "kind", "status", "research_note",
                                  "source_id")}})
    return rows
