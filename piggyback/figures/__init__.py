"""Plotly figures as pure functions of analysis results (screen and PDF)."""
