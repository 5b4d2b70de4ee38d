"""The landscape of peer deployments at a glance (pure data and figure functions)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from piggyback.core.models import VEHICLES

CONF_COLOURS = {"high": "#1b6ca8", "medium": "#7fa7c9", "low": "#c9c9c9"}


def vendor_counts(peers: pd.DataFrame) -> pd.DataFrame:
    """Deployments per vendor and confidence; a blank vendor is counted as 'not known'."""
    vendor = peers["vendor"].fillna("Vendor not known")
    out = (peers.assign(vendor_label=vendor).groupby(["vendor_label", "confidence"]).size()
           .rename("deployments").reset_index())
    order = out.groupby("vendor_label")["deployments"].sum().sort_values(ascending=True).index
    out["vendor_label"] = pd.Categorical(out["vendor_label"], categories=list(order), ordered=True)
    return out.sort_values(["vendor_label", "confidence"])


def vendor_figure(peers: pd.DataFrame) -> go.Figure:
    counts = vendor_counts(peers)
    fig = go.Figure()
    for conf in ("high", "medium", "low"):
        part = counts[counts["confidence"] == conf]
        fig.add_bar(y=part["vendor_label"].astype(str), x=part["deployments"], orientation="h",
                    name=f"{conf} confidence", marker_color=CONF_COLOURS[conf],
                    hovertemplate="%{y}: %{x} deployment(s), " + conf + " confidence<extra></extra>")
    fig.update_layout(barmode="stack", title="Peer deployments by vendor and confidence of the record",
                      xaxis_title="deployments", height=max(320, 28 * counts["vendor_label"].nunique() + 120),
                      margin=dict(l=10, r=10, t=60, b=40), legend_title_text="Record confidence",
                      font=dict(size=15))
    return fig


def vehicle_summary(peers: pd.DataFrame) -> pd.DataFrame:
    return (peers["vehicle"].map(VEHICLES).value_counts().rename_axis("contract vehicle")
            .rename("deployments").reset_index())
