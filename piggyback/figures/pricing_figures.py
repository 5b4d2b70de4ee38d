"""Figures of the pricing engine: pure functions from results to ``plotly`` figures.

Sized for a projector: large type, a colour-blind-safe palette (Okabe-Ito), money with
thousands separators, and the currency in every axis title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from piggyback.engines.pricing import COST_LINES, TCOResult

FONT_SIZE = 18
#: Okabe-Ito, in the order the cost lines are stacked.
COLOURS: dict[str, str] = {
    "licence": "#0072B2", "subscription": "#56B4E9", "implementation": "#E69F00", "data_migration": "#D55E00",
    "training": "#CC79A7", "hosting": "#009E73", "maintenance": "#F0E442", "contingency": "#999999",
    "procurement": "#000000",
}
LOW_COLOUR, HIGH_COLOUR = "#56B4E9", "#D55E00"


def _as_dict(result: TCOResult | Mapping[str, Any]) -> Mapping[str, Any]:
    return result.to_dict() if isinstance(result, TCOResult) else result


def _layout(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        font={"size": FONT_SIZE},
        template="plotly_white",
        margin={"l": 20, "r": 20, "t": 90, "b": 20},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0,
                "traceorder": "normal"},
        **kwargs,
    )
    return fig


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": FONT_SIZE + 2})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title)


def _end(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def cost_by_year_figure(result: TCOResult | Mapping[str, Any]) -> go.Figure:
    """Stacked bars: each year's cost by category (and procurement), in the result's currency."""
    data = _as_dict(result)
    rows, cur = data["by_year"], data["currency"]
    title = (f"Cost by year: {_money(data['total'], cur)} over {data['horizon_years']} years "
             f"(NPV {_money(data['npv'], cur)})")
    if not rows:
        return _empty(title, "No price schedule on file")
    years = [row["calendar_year"] for row in rows]
    fig = go.Figure()
    for key, label in COST_LINES.items():
        values = [row.get(key, 0.0) or 0.0 for row in rows]
        if not any(values):
            continue
        fig.add_trace(go.Bar(
            x=years, y=values, name=label, marker_color=COLOURS[key],
            hovertemplate=f"{label}<br>%{{x}}: %{{y:,.0f}} {cur}<extra></extra>",
        ))
    fig.update_xaxes(title_text="Year", tickmode="array", tickvals=years, tickformat="d")
    fig.update_yaxes(title_text=cur, tickformat=",.0f", rangemode="tozero")
    return _layout(fig, title, barmode="stack")


def tornado_figure(tornado_rows: Sequence[Mapping[str, Any]], include_zero: bool = False) -> go.Figure:
    """Horizontal bars from the base total to the total at each assumption's low and high end."""
    rows = [r for r in tornado_rows if include_zero or r["swing"] > 0]
    metric = rows[0]["metric"] if rows else "total"
    cur = rows[0]["currency"] if rows else ""
    title = f"What moves the {'NPV' if metric == 'npv' else 'total'} most"
    if not rows:
        return _empty(title, "No assumption with a range moves this cost")
    rows = list(reversed(rows))  # plotly draws the first category at the bottom
    labels = [f"{r['name']} ({_end(r['low'])}–{_end(r['high'])} {r['unit']})" for r in rows]
    base = rows[0]["base"]
    title += f" (base {_money(base, cur)})"
    fig = go.Figure()
    for end, colour, key in (("Low end", LOW_COLOUR, "at_low"), ("High end", HIGH_COLOUR, "at_high")):
        fig.add_trace(go.Bar(
            y=labels, x=[r[key] - base for r in rows], base=[base] * len(rows), orientation="h",
            name=f"Assumption at its {end.lower()}", marker_color=colour,
            customdata=[[r[key], r["low"] if key == "at_low" else r["high"]] for r in rows],
            hovertemplate=f"%{{y}}<br>{end} (%{{customdata[1]:g}}): %{{customdata[0]:,.0f}} {cur}<extra></extra>",
        ))
    fig.add_vline(x=base, line_width=2, line_color="#000000")
    fig.update_xaxes(title_text=cur, tickformat=",.0f")
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, barmode="overlay", height=max(360, 110 + 70 * len(rows)))


def peer_compare_figure(results_by_peer: Mapping[str, TCOResult | Mapping[str, Any] | None],
                        labels: Mapping[str, str] | None = None) -> go.Figure:
    """Side by side: each peer's contract scaled to the agency, stacked by category, with its range.

    A peer mapped to ``None`` has no price schedule on file and is shown as such, not as zero.
    """
    labels = dict(labels or {})
    title = "Peer contracts scaled to the agency"
    if not results_by_peer:
        return _empty(title, "No peers chosen")
    priced = {k: _as_dict(v) for k, v in results_by_peer.items() if v is not None}
    missing = [k for k, v in results_by_peer.items() if v is None]
    currencies = {d["currency"] for d in priced.values()}
    if len(currencies) > 1:
        raise ValueError(f"peer results are in several currencies {sorted(currencies)}: cost them in one")
    cur = currencies.pop() if currencies else ""
    order = sorted(priced, key=lambda k: priced[k]["total"]) + missing
    names = [labels.get(k, k) for k in order]
    horizons = {d["horizon_years"] for d in priced.values()}
    if len(horizons) == 1:
        title += f": {horizons.pop()}-year total cost of ownership"
    fig = go.Figure()
    for key, label in COST_LINES.items():
        values = [sum(row.get(key, 0.0) or 0.0 for row in priced[k]["by_year"]) if k in priced else 0.0
                  for k in order]
        if not any(values):
            continue
        fig.add_trace(go.Bar(x=names, y=values, name=label, marker_color=COLOURS[key],
                             hovertemplate=f"%{{x}}<br>{label}: %{{y:,.0f}} {cur}<extra></extra>"))
    if priced:
        shown = [k for k in order if k in priced]
        fig.add_trace(go.Scatter(
            x=[labels.get(k, k) for k in shown], y=[priced[k]["total"] for k in shown], mode="markers",
            name="Total (range: low–high)", marker={"color": "#000000", "size": 10, "symbol": "diamond"},
            error_y={"type": "data", "symmetric": False, "thickness": 2, "width": 8, "color": "#000000",
                     "array": [priced[k]["high"] - priced[k]["total"] for k in shown],
                     "arrayminus": [priced[k]["total"] - priced[k]["low"] for k in shown]},
            customdata=[[priced[k]["low"], priced[k]["high"]] for k in shown],
            hovertemplate=(f"%{{x}}<br>Total %{{y:,.0f}} {cur}<br>Range %{{customdata[0]:,.0f}}"
                           f"–%{{customdata[1]:,.0f}}<extra></extra>"),
        ))
    if missing:
        fig.add_trace(go.Scatter(x=[labels.get(k, k) for k in missing], y=[0] * len(missing), mode="markers",
                                 marker={"opacity": 0}, showlegend=False, hoverinfo="skip"))
    for k in missing:
        fig.add_annotation(x=labels.get(k, k), y=0, text="no price schedule<br>on file", showarrow=False,
                           yanchor="bottom", font={"size": FONT_SIZE - 2, "color": "#555555"})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=names)
    fig.update_yaxes(title_text=cur, tickformat=",.0f", rangemode="tozero")
    return _layout(fig, title, barmode="stack")
