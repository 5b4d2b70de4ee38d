"""Figures for the timeline comparison: a Gantt of both routes and the months-saved histogram.

Both take a :class:`piggyback.engines.timeline.TimelineResult` or its ``to_dict()`` (so a page can
cache the JSON). Every bar and line carries its meaning in text, not in colour alone, and the
fonts are sized for a projector.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Mapping

import plotly.graph_objects as go

from piggyback.core import fmt
from piggyback.engines.timeline import RANGE_KEYS, ROUTE_LABELS, ROUTES, TimelineResult

if TYPE_CHECKING:  # the tables import pandas where they are built
    import pandas as pd

FONT = dict(size=18)
TICK_FONT = dict(size=15)
LABEL_WIDTH = 40  # characters per line of a row label (long phase names wrap)
ROUTE_COLOURS = {"traditional": "#8c510a", "piggyback": "#01665e"}
IMPLEMENTATION_COLOUR = "#9e9e9e"


def _data(result: TimelineResult | Mapping[str, Any]) -> Mapping[str, Any]:
    return result.to_dict() if isinstance(result, TimelineResult) else result


def _short(name: str) -> str:
    """'New RFP: drafting & approvals' -> 'drafting & approvals' (the route is on its own)."""
    return name.split(":", 1)[1].strip() if ":" in name else name


def _row_label(route_label: str, text: str) -> str:
    """'New RFP · drafting & approvals …' wrapped onto lines a projector can still read."""
    return "<br>".join(textwrap.wrap(f"{route_label} · {text}", LABEL_WIDTH)) or route_label


def gantt_figure(result: TimelineResult | Mapping[str, Any]) -> go.Figure:
    """Both routes as consecutive median phases (months from the start), one row per phase,
    with the go-live P10-P90 range drawn as a whisker around the median go-live.

    Bars use each phase's median, so they end at the sum of medians, which can differ a little
    from the median go-live marker (a median of a sum is not the sum of medians).
    """
    data = _data(result)
    fig = go.Figure()
    rows: list[str] = []
    impl = [p for p in data["phases"] if p["route"] == "implementation"]
    for route in ROUTES:
        label = ROUTE_LABELS[route]
        phases = [p for p in data["phases"] if p["route"] == route] + impl
        start = 0.0
        ys, xs, bases, texts, colours, hovers = [], [], [], [], [], []
        for p in phases:
            y = _row_label(label, _short(p["name"]))
            rows.append(y)
            ys.append(y)
            xs.append(p["median"])
            bases.append(start)
            texts.append(f"{p['median']:.1f} mo")
            colours.append(IMPLEMENTATION_COLOUR if p["route"] == "implementation"
                           else ROUTE_COLOURS[route])
            hovers.append(f"{p['name']}<br>median {p['median']:.1f} months "
                          f"(range {p['low']:g}-{p['high']:g}; {p['kind']})")
            start += p["median"]
        fig.add_trace(go.Bar(
            y=ys, x=xs, base=bases, orientation="h", name=label, text=texts,
            textposition="outside", cliponaxis=False, marker_color=colours,
            hovertext=hovers, hoverinfo="text", showlegend=False,
        ))
        months = data["routes"][route]["months"]
        go_live = data["routes"][route]["go_live"]
        y = _row_label(label, "go-live (P10-P90)")
        rows.append(y)
        fig.add_trace(go.Scatter(
            y=[y], x=[months["p50"]], mode="markers+text", marker=dict(
                size=16, symbol="diamond", color=ROUTE_COLOURS[route]),
            error_x=dict(type="data", symmetric=False, array=[months["p90"] - months["p50"]],
                         arrayminus=[months["p50"] - months["p10"]], thickness=3, width=10),
            text=[f"P50 {months['p50']:.1f} mo ({go_live['p50']})"], textposition="top left",
            cliponaxis=False,
            hovertext=[f"{label} go-live: P10 {go_live['p10']}, P50 {go_live['p50']}, "
                       f"P90 {go_live['p90']}"], hoverinfo="text", showlegend=False,
        ))
    saved = data["months_saved"]
    longest = max(data["routes"][r]["months"]["p90"] for r in ROUTES)
    fig.update_layout(
        title=dict(text=f"Piggyback saves {saved['p50']:.1f} months (P10-P90 "
                        f"{saved['p10']:.1f}-{saved['p90']:.1f})<br><sup>months to go-live "
                        f"from {data['start']}</sup>"),
        font=FONT, barmode="overlay", height=max(480, 48 * len(rows) + 160),
        margin=dict(l=20, r=60, t=90, b=70), plot_bgcolor="white",
    )
    fig.update_xaxes(title_text="months from start (bars: median of each phase)",
                     range=[0, longest * 1.12], showgrid=True, gridcolor="#e0e0e0",
                     tickfont=TICK_FONT)
    fig.update_yaxes(categoryorder="array", categoryarray=rows[::-1], automargin=True,
                     tickfont=TICK_FONT)
    return fig


def savings_histogram(result: TimelineResult | Mapping[str, Any]) -> go.Figure:
    """Distribution of months saved (share of draws per bin) with P10 / P50 / P90 lines."""
    data = _data(result)
    hist = data["histogram"]
    edges, counts = hist["edges"], hist["counts"]
    total = sum(counts) or 1
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(
        x=centres, y=[100 * c / total for c in counts], width=widths, marker_color="#80cdc1",
        marker_line=dict(color="#01665e", width=1), name="share of draws",
        hovertemplate="%{x:.1f} months saved: %{y:.1f}% of draws<extra></extra>",
        showlegend=False,
    ))
    saved = data["months_saved"]
    for key, dash in (("p10", "dot"), ("p50", "solid"), ("p90", "dash")):
        fig.add_vline(x=saved[key], line=dict(color="#333333", width=3, dash=dash),
                      annotation_text=f"{key.upper()} {saved[key]:.1f} mo",
                      annotation_position="top", annotation_font=FONT)
    prob = data["prob_piggyback_faster"]
    fig.update_layout(
        title=dict(text=f"Months saved by piggybacking<br><sup>{data['draws']:,} draws: "
                        f"piggyback is sooner in {fmt.probability(prob)} of them</sup>"),
        font=FONT, bargap=0, height=520, margin=dict(l=20, r=20, t=110, b=70),
        plot_bgcolor="white",
    )
    fig.update_xaxes(title_text="months saved (new RFP minus piggyback)", showgrid=True,
                     gridcolor="#e0e0e0", tickfont=TICK_FONT)
    fig.update_yaxes(title_text="share of draws (%)", gridcolor="#e0e0e0", tickfont=TICK_FONT)
    return fig


# --------------------------------------------------------------------------- tables for the page
# Plain DataFrames built from the timeline analysis, so the page only lays them out.


def track_record_table(track: Mapping[str, Any]) -> "pd.DataFrame":
    """The recorded contract-to-go-live spans: agency, route, what the span ends at, months,
    dates, precision and sources (one row per agency)."""
    import pandas as pd

    rows = [{"agency": o["agency"], "route": o["route"], "ends_at": o["status"],
             "months": f"{'≈' if o['approximate'] else ''}{o['months']:.1f}",
             "from": f"{o['from']} ({o['from_event']})", "to": f"{o['to']} ({o['to_event']})",
             "precision": o["precision"], "source": (o["sources"] or [None])[0],
             "more_sources": len(o["sources"]) - 1}
            for o in track.get("implementation", [])]
    return pd.DataFrame(rows, columns=["agency", "route", "ends_at", "months", "from", "to", "precision",
                                       "source", "more_sources"])


def procurement_record_table(rows: list[Mapping[str, Any]]) -> "pd.DataFrame":
    """Recorded procurement spans beside the model's decision-to-contract P10–P90 for that route."""
    import pandas as pd

    out = [{"agency": o["agency"], "route": o["route"], "months": f"{'≈' if o['approximate'] else ''}{o['months']:.1f}",
            "from": f"{o['from']} ({o['from_event']})", "to": f"{o['to']} ({o['to_event']})",
            "model": ("—" if o.get("model_p10") is None else
                      f"{ROUTE_LABELS[o['model_route']]} {o['model_p10']:.1f}–{o['model_p90']:.1f}"),
            "precision": o["precision"], "source": (o["sources"] or [None])[0]} for o in rows]
    return pd.DataFrame(out, columns=["agency", "route", "months", "from", "to", "model", "precision", "source"])


def adjustments_table(adjustments: list[Mapping[str, Any]]) -> "pd.DataFrame":
    """What this agency and contract change: phase, input, most likely before → after, why."""
    import pandas as pd

    rows = [{"phase": a["phase_id"], "input": a["key"].replace("_", " "),
             "before": " / ".join(f"{v:.1f}" for v in a["before"]),
             "after": " / ".join(f"{v:.1f}" for v in a["after"]), "assumption": a["assumption_id"] or "—",
             "why": a["reason"]} for a in adjustments]
    return pd.DataFrame(rows, columns=["phase", "input", "before", "after", "assumption", "why"])


def assumption_rows(result: Any, pending: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The assumptions table of an analysed timeline (``analyse_timeline``'s result): one row per
    phase with its range, kind and source; a row still in error (``pending``) shows as typed."""
    edited = {p.id for p in result.phases if p.kind == "user-entered"}
    return [{"id": p.id, "name": p.name, **{k: pending.get(p.id, {}).get(k, getattr(p, k)) for k in RANGE_KEYS},
             "kind": ("edited by user (not valid yet)" if p.id in pending else
                      "edited by user" if p.id in edited else fmt.kind(p.kind)), "source": p.source_url,
             "note": p.note} for p in result.phases]


def settings_summary(result: Any, peer_label: str | None = None) -> str:
    """The settings an analysed timeline rests on, in plain sentences (meeting mode shows them
    instead of the inputs): the peer, the start, the contract value with its basis, the authority."""
    inputs, settings = result.inputs, result.settings
    cur, auth = inputs["currency"], inputs.get("delegated_authority")
    if auth is None or auth.get("council_above") is None:
        authority = "not on file, so a council cycle is assumed"
    else:
        authority = (f"staff may award up to {fmt.money(auth['council_above'], cur)} ("
                     + ("entered by user" if auth.get("entered_by_user") else
                        f"on file: {auth.get('bylaw') or 'data/compliance/delegated_authority.csv'}") + ")")
    peer = peer_label or (result.peer or {}).get("jurisdiction") or "none chosen"
    return (f"Peer contract: {peer}. Start date {settings['start']}; contract value "
            f"{fmt.money(inputs['contract_value'], cur)} ({inputs['contract_value_basis']}); delegated "
            f"authority: {authority}.")


def peer_spans_table(durations: "pd.DataFrame", blank: str = "—") -> "pd.DataFrame":
    """Peers' published dates and spans (from :func:`piggyback.engines.timeline.peer_durations`), most
    complete first; a span shows its precision and ≈ when a date is year-only."""
    import pandas as pd

    dated = durations[durations[["rfp_issued", "contract_award", "go_live"]].notna().any(axis=1)]
    known = dated[["rfp_to_award_months", "award_to_golive_months", "rfp_to_golive_months"]].notna().sum(axis=1)
    dated = dated.assign(_known=known).sort_values(["_known", "jurisdiction"], ascending=[False, True])

    def span(row, name: str) -> str:
        months = row[f"{name}_months"]
        if pd.isna(months):
            return blank
        approx = row[f"{name}_approximate"]
        approx = False if pd.isna(approx) else bool(approx)
        return f"{'≈' if approx else ''}{months:.1f} mo ({row[f'{name}_precision']})"

    return pd.DataFrame({
        "peer": dated["jurisdiction"],
        **{c: dated[c].fillna(blank) for c in ("rfp_issued", "contract_award", "go_live")},
        **{n: [span(r, n) for _, r in dated.iterrows()] for n in ("rfp_to_award", "award_to_golive", "rfp_to_golive")},
        "dropped": dated["dropped"].fillna(blank),
    })
