"""Figures for peer similarity: contribution bars, a peer map and a contributions table.

Pure builders over the output of ``piggyback.engines.similarity.score_candidates``; each returns a
plotly ``go.Figure`` (or a DataFrame) and draws nothing itself. Colours are the Okabe–Ito
palette (distinguishable with the common colour-vision deficiencies) and text is large enough
for a projector at 1280x720.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from piggyback.engines.similarity import DIMENSION_LABELS, DIMENSIONS

# Okabe & Ito (2008) colour-blind-safe palette, one colour per dimension.
DIMENSION_COLOURS: dict[str, str] = {
    "size": "#0072B2",        # blue
    "growth": "#56B4E9",      # sky blue
    "households": "#009E73",  # bluish green
    "jtype": "#F0E442",       # yellow
    "legal": "#E69F00",       # orange
    "modules": "#D55E00",     # vermillion
    "legacy": "#CC79A7",      # reddish purple
    "permits": "#000000",     # black
}
FONT_SIZE = 16
AGENCY_COLOUR = "#D55E00"


def _names(frame: pd.DataFrame) -> list[str]:
    for col in ("jurisdiction", "name", "display_name"):
        if col in frame.columns:
            return frame[col].astype(str).tolist()
    return [str(i) for i in frame.index]


def _require_scored(frame: pd.DataFrame) -> None:
    missing = [c for c in ["score"] + [f"contrib_{d}" for d in DIMENSIONS] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the table has no {', '.join(missing[:3])} columns: score it with "
            "piggyback.engines.similarity.score_candidates first"
        )


def score_bar_figure(scored: pd.DataFrame, top: int = 10, title: str | None = None) -> go.Figure:
    """Stacked horizontal bars: each peer's score split into its dimensions' contributions.

    The best peer is at the top; bar length is the score (the lower bound, 0–1); hovering
    shows the raw similarity of each dimension, or says it was not known (it adds 0); the label
    gives the range the unknowns allow when it is wider than the score.
    """
    _require_scored(scored)
    if top < 1:
        raise ValueError("top must be at least 1")
    rows = scored[scored["score"].notna()].head(top)
    names = _names(rows)
    # Plotly draws the first category at the bottom; reverse so rank 1 is on top.
    y = names[::-1]
    rows_rev = rows.iloc[::-1]
    fig = go.Figure()
    for dim in DIMENSIONS:
        contrib = rows_rev[f"contrib_{dim}"].to_numpy(dtype=float)
        sim_col = f"sim_{dim}"
        sims = (rows_rev[sim_col].to_numpy(dtype=float) if sim_col in rows_rev
                else np.full(len(rows_rev), np.nan))
        if not np.any(contrib > 0) and np.all(np.isnan(sims)):
            continue
        hover = [
            f"{DIMENSION_LABELS[dim]}: not known, adds 0" if math.isnan(s)
            else f"{DIMENSION_LABELS[dim]}: similarity {s:.2f}, adds {c:.3f}"
            for s, c in zip(sims, contrib)
        ]
        fig.add_trace(go.Bar(
            y=y, x=contrib, name=DIMENSION_LABELS[dim], orientation="h",
            marker={"color": DIMENSION_COLOURS[dim], "line": {"color": "white", "width": 1}},
            hovertext=hover, hoverinfo="text+y",
        ))
    scores = rows_rev["score"].to_numpy(dtype=float)
    used = rows_rev["dims_used"].to_numpy() if "dims_used" in rows_rev else [None] * len(scores)
    highs = (rows_rev["score_high"].to_numpy(dtype=float) if "score_high" in rows_rev
             else np.full(len(scores), np.nan))
    fig.add_trace(go.Scatter(
        y=y, x=scores, mode="text", showlegend=False, hoverinfo="skip",
        text=[f"  {s:.2f}" + (f" (up to {h:.2f})" if h - s > 0.005 else "")
              + (f" ({int(u)} dimension{'s' if int(u) != 1 else ''} known)" if u is not None else "")
              for s, h, u in zip(scores, highs, used)],
        textposition="middle right", textfont={"size": FONT_SIZE - 2, "color": "#222222"},
    ))
    shown = len(rows)
    fig.update_layout(
        title={"text": title or f"Closest {shown} peer{'s' if shown != 1 else ''}: "
               "what each dimension adds to the score", "font": {"size": FONT_SIZE + 4}},
        barmode="stack",
        font={"size": FONT_SIZE},
        xaxis={"title": "similarity score (0 = nothing alike, 1 = alike in every way; unknowns add 0)",
               "range": [0, 1.35], "tickvals": [0, 0.25, 0.5, 0.75, 1.0]},
        yaxis={"automargin": True},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0,
                "traceorder": "normal", "font": {"size": FONT_SIZE - 2}},
        height=max(360, 140 + 48 * max(shown, 1)),
        margin={"l": 10, "r": 20, "t": 120, "b": 60},
        plot_bgcolor="white",
    )
    if shown == 0:
        fig.add_annotation(text="No peer could be scored: no dimension is known on both sides.",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def _coords(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lat_col = next((c for c in ("lat", "latitude") if c in frame.columns), None)
    lon_col = next((c for c in ("lon", "lng", "longitude") if c in frame.columns), None)
    n = len(frame)
    lat = pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(float) if lat_col else np.full(n, np.nan)
    lon = pd.to_numeric(frame[lon_col], errors="coerce").to_numpy(float) if lon_col else np.full(n, np.nan)
    return lat, lon


def _agency_value(agency: Any, key: str) -> Any:
    if hasattr(agency, key):
        return getattr(agency, key)
    if isinstance(agency, Mapping):
        return agency.get(key)
    return None


def peer_map_figure(agency: Any, peers: pd.DataFrame, title: str | None = None,
                    basemap: bool = False) -> go.Figure:
    """Peers (and the agency, when its coordinates are known) on a map of North America.

    Uses ``go.Scattergeo`` (no tile server). Rows without coordinates are not drawn; the title
    says how many were left off so nobody reads the map as complete.

    ``basemap=False`` (default) draws points on a latitude/longitude grid and needs nothing
    from the network, so it also exports to PDF offline. ``basemap=True`` adds land, country
    and state/province outlines, which plotly loads from its CDN in the viewer's browser.
    """
    lat, lon = _coords(peers)
    ok = ~(np.isnan(lat) | np.isnan(lon)) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    names = np.array(_names(peers), dtype=object)
    shown = peers[ok]
    fig = go.Figure()
    if ok.any():
        has_score = "score" in peers.columns
        scores = pd.to_numeric(shown["score"], errors="coerce").to_numpy(float) if has_score else None
        hover = [
            f"{n}<br>score {s:.2f}" if scores is not None and not math.isnan(s) else str(n)
            for n, s in zip(names[ok], scores if scores is not None else [math.nan] * int(ok.sum()))
        ]
        marker: dict[str, Any] = {"size": 14, "line": {"color": "white", "width": 1},
                                  "color": "#0072B2"}
        if scores is not None and np.isfinite(scores).any():
            marker.update({
                "color": np.nan_to_num(scores, nan=0.0), "cmin": 0, "cmax": 1,
                "colorscale": "Viridis", "reversescale": False,
                "colorbar": {"title": {"text": "score"}, "thickness": 16},
            })
        fig.add_trace(go.Scattergeo(
            lat=lat[ok], lon=lon[ok], mode="markers+text", text=list(names[ok]),
            textposition="top center", textfont={"size": FONT_SIZE - 2},
            hovertext=hover, hoverinfo="text", marker=marker, name="peers",
        ))
    a_lat, a_lon = _agency_value(agency, "lat"), _agency_value(agency, "lon")
    a_name = str(_agency_value(agency, "name") or "your agency")
    agency_drawn = False
    try:
        a_lat_f, a_lon_f = float(a_lat), float(a_lon)
        agency_drawn = math.isfinite(a_lat_f) and math.isfinite(a_lon_f)
    except (TypeError, ValueError):
        agency_drawn = False
    if agency_drawn:
        fig.add_trace(go.Scattergeo(
            lat=[a_lat_f], lon=[a_lon_f], mode="markers+text", text=[a_name],
            textposition="bottom center", textfont={"size": FONT_SIZE - 2, "color": AGENCY_COLOUR},
            marker={"symbol": "star", "size": 22, "color": AGENCY_COLOUR,
                    "line": {"color": "black", "width": 1}},
            hoverinfo="text", hovertext=[f"{a_name} (you)"], name="your agency",
        ))
    missing = int((~ok).sum())
    head = title or f"Peers of {a_name}"
    notes = []
    if missing:
        notes.append(f"{missing} of {len(peers)} peer{'s' if len(peers) != 1 else ''} "
                     "have no coordinates and are not shown")
    if not agency_drawn:
        notes.append("your agency has no coordinates on file")
    text = head + (f"<br><sup>{'; '.join(notes)}</sup>" if notes else "")
    grid = {"showgrid": True, "gridcolor": "#DDDDDD", "dtick": 10}
    if basemap:
        fig.update_geos(showland=True, landcolor="#F2F2F2", showcountries=True,
                        countrycolor="#888888", showsubunits=True, subunitcolor="#BBBBBB",
                        showlakes=True, lakecolor="#DDEEFF")
    else:
        # Every outline layer off: plotly then fetches no topojson at all.
        fig.update_geos(showland=False, showcountries=False, showcoastlines=False,
                        showsubunits=False, showlakes=False, showrivers=False,
                        showocean=False, showframe=True)
    fig.update_geos(scope="north america", lataxis=grid, lonaxis=grid,
                    fitbounds="locations" if (ok.any() or agency_drawn) else False)
    fig.update_layout(title={"text": text, "font": {"size": FONT_SIZE + 4}},
                      font={"size": FONT_SIZE}, height=560,
                      margin={"l": 0, "r": 0, "t": 90, "b": 0},
                      legend={"orientation": "h", "y": -0.02})
    fig.layout.meta = {"missing_coordinates": missing, "shown": int(ok.sum())}
    return fig


def contributions_table(scored: pd.DataFrame, top: int = 10, decimals: int = 3) -> pd.DataFrame:
    """The numbers behind ``score_bar_figure``: one row per peer, one column per dimension.

    A dimension that was not known for a peer is blank (not 0), so the table shows what was
    left out rather than hiding it.
    """
    _require_scored(scored)
    rows = scored.head(top)
    out = pd.DataFrame({"peer": _names(rows), "score": rows["score"].round(decimals).to_numpy()})
    if "dims_used" in rows.columns:
        out["dimensions known"] = rows["dims_used"].to_numpy()
    for dim in DIMENSIONS:
        contrib = rows[f"contrib_{dim}"].to_numpy(dtype=float)
        sim_col = f"sim_{dim}"
        if sim_col in rows.columns:
            contrib = np.where(rows[sim_col].isna().to_numpy(), np.nan, contrib)
        out[DIMENSION_LABELS[dim]] = np.round(contrib, decimals)
    return out
