"""Formatting for display, in one place. Values stay numbers everywhere else."""

from __future__ import annotations

import math
import re

import pandas as pd

BLANK = "—"  # shown for an unknown value: never a guess

CONFIDENCE_MARK = {"high": "● high", "medium": "◐ medium", "low": "○ low"}
KIND_LABEL = {
    "primary": "primary source", "secondary": "secondary source", "vendor-stated": "vendor-stated",
    "user-entered": "entered by user", "derived": "derived", "assumption": "assumption (editable)",
}


def missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def money(amount, currency: str | None = None, digits: int = 0) -> str:
    if missing(amount):
        return BLANK
    amount = float(amount)
    if abs(amount) >= 1e6 and digits == 0:
        text = f"{amount / 1e6:,.2f} M"
    else:
        text = f"{amount:,.{digits}f}"
    return f"{text} {currency}" if currency else text


def cost(amount, currency: str | None = None) -> str:
    """A cost to three significant figures, the precision the price evidence supports:
    '8.21 M CAD', '481,000 CAD', '19 CAD' (never spurious cents), '4.5 CAD', '0.99 USD'."""
    if missing(amount):
        return BLANK
    value = sig(float(amount), 3)
    if abs(value) < 100:
        value = round(value, 2)  # never finer than a cent
    if abs(value) >= 1e6:
        text = f"{value / 1e6:,.{max(0, 2 - int(math.floor(math.log10(abs(value) / 1e6))))}f} M"
    elif abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {currency}" if currency else text


def cost_range(low, high, currency: str | None = None) -> str:
    """'2.06 M – 3.70 M CAD': both ends of a range to three significant figures."""
    return f"{cost(low)} – {cost(high, currency)}"


def number(value, digits: int = 0) -> str:
    if missing(value):
        return BLANK
    return f"{float(value):,.{digits}f}"


def integer(value) -> str:
    return BLANK if missing(value) else f"{int(value):,}"


def pct(value, digits: int = 1, signed: bool = True) -> str:
    if missing(value):
        return BLANK
    return f"{float(value):+.{digits}f}%" if signed else f"{float(value):.{digits}f}%"


def months(value, digits: int = 1) -> str:
    if missing(value):
        return BLANK
    return f"{float(value):.{digits}f} months"


def months_range(low, high) -> str:
    """'P10–P90 6.5–12.3 months': a simulated range, to one decimal at most."""
    if missing(low) or missing(high):
        return BLANK
    return f"P10–P90 {float(low):.1f}–{float(high):.1f} months"


def month_date(iso) -> str:
    """A simulated date to the month ('Mar 2029'): the day would be false precision."""
    if missing(iso):
        return BLANK
    text = str(iso)
    import datetime as _dt
    return _dt.date.fromisoformat(text[:10]).strftime("%b %Y")


def ratio(a, b) -> str:
    if missing(a) or missing(b) or float(b) == 0:
        return BLANK
    r = float(a) / float(b)
    return f"{r:.1f}×" if r >= 1 or r == 0 else f"{r:.2f}×"


# Bare web addresses and e-mail addresses become links in Streamlit's Markdown (GFM autolinks)
# even when every special character is escaped: a zero-width joiner after "://", after "www"
# and after "@" breaks the pattern and is invisible on screen.
_ZWJ = "\u200d"
_AUTOLINK = re.compile(r"(://|(?i:\bwww)(?=\.)|@)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+\-!|~$:])")


def md_escape(text) -> str:
    """Show user or source text as text in Markdown: no links, images, HTML or formatting run from it.

    Use it for every dynamic value placed in ``st.markdown``, ``st.caption``, ``st.info`` and the
    other message boxes, ``help=`` tooltips and widget/expander/metric labels (all render Markdown).
    Line breaks and control characters become spaces: a value stays inside its sentence.
    """
    if missing(text):
        return BLANK
    text = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in str(text))
    text = _AUTOLINK.sub(lambda m: m.group(1) + _ZWJ, text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def confidence(value) -> str:
    return BLANK if missing(value) else CONFIDENCE_MARK.get(str(value), str(value))


def kind(value) -> str:
    return BLANK if missing(value) else ", ".join(KIND_LABEL.get(k, k) for k in str(value).split(","))


def sig(value: float, digits: int = 3) -> float:
    if value == 0 or missing(value):
        return value
    return round(value, -int(math.floor(math.log10(abs(value)))) + (digits - 1))


def probability(p) -> str:
    """A share of simulation draws: never '100%' or '0%', which would claim certainty."""
    if missing(p):
        return BLANK
    p = float(p)
    if p > 0.99:  # draws are not evidence of certainty: the same wording everywhere (issue #13)
        return "> 99%"
    if p < 0.01:
        return "< 1%"
    return f"{100 * p:.0f}%"
