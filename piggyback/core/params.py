"""Strict readers for URL parameters: a link is typed by anyone, so nothing in it is trusted.

Each reader takes the raw text (``None`` when the parameter is absent) and returns a
:class:`Param`: the value to use and, when the text was present but not usable, a plain
sentence saying what was ignored and what is used instead. A reader never raises: whatever
the text, the caller gets a value inside its bounds (or the default) and may show ``problem``.

No Streamlit here: the pages and ``piggyback.ui.widgets`` read ``st.query_params`` only through
these functions and show the ``problem`` as a warning.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

# Ids in this app: deployment slugs (``ottawa-on``), census ids (``CA-CSD-3525005``,
# ``US-MCD-34-013-some-town``), scenario ids (hex). Letters, digits, '-', '_' and '.' only.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII digits only: "²".isdigit() is True, int("²") fails
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
MAX_RAW = 4096  # no parameter of this app is longer; longer text is not even looked at
JSON_MAX_CHARS = 2000
JSON_MAX_DEPTH = 4


@dataclass(frozen=True)
class Param:
    """A URL parameter as read: ``value`` is always usable; ``problem`` says what was ignored."""

    value: Any
    problem: str | None = None
    given: bool = False  # the parameter was in the link (even if unusable)


def _missing(raw) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def _raw_text(raw) -> str | None:
    """The parameter as text, or None when it is not text or is absurdly long."""
    if isinstance(raw, (list, tuple)):  # a repeated parameter: Streamlit gives the last one
        raw = raw[-1] if raw else None
    if not isinstance(raw, str) or len(raw) > MAX_RAW:
        return None
    return raw


def _default_text(default) -> str:
    return "nothing" if default is None else f"{default}"


def whole_number(raw, name: str, low: int, high: int, default: int | None = None) -> Param:
    """An ASCII whole number from ``low`` to ``high``; anything else gives ``default``."""
    if _missing(raw):
        return Param(default)
    text = _raw_text(raw)
    text = text.strip() if text is not None else None
    if text is not None and DIGITS.fullmatch(text) and low <= int(text) <= high:
        return Param(int(text), given=True)
    using = "it is left blank" if default is None else f"using {default}"
    return Param(default, f"The link's '{name}' value is not a whole number from {low:,} to {high:,}; {using}.",
                 given=True)


def flag(raw, name: str, default: bool = False) -> Param:
    """A yes/no switch: 1/0, true/false, yes/no, on/off (any case)."""
    if _missing(raw):
        return Param(default)
    text = _raw_text(raw)
    word = text.strip().lower() if text is not None else None
    if word in TRUE_WORDS:
        return Param(True, given=True)
    if word in FALSE_WORDS:
        return Param(False, given=True)
    return Param(default, f"The link's '{name}' value is not 1 or 0; it is {'on' if default else 'off'}.",
                 given=True)


def identifier(raw, name: str, *, known: Iterable[str] | None = None, pattern: re.Pattern = ID_PATTERN,
               what: str = "id", default: str | None = None) -> Param:
    """An id of the app (letters, digits, '-', '_', '.'), optionally one of ``known``.

    The message never repeats the rejected text (it may be crafted to look like a link).
    """
    if _missing(raw):
        return Param(default)
    text = _raw_text(raw)
    text = text.strip() if text is not None else None
    if text is None or not pattern.fullmatch(text):
        return Param(default, f"The link's '{name}' value is not a valid {what}; it is ignored.", given=True)
    if known is not None and text not in set(known):
        return Param(default, f"The link's '{name}' value names no {what} on file; it is ignored.", given=True)
    return Param(text, given=True)


def choice(raw, name: str, options: Iterable[str], default: str | None = None, *, fold=None) -> Param:
    """One of a fixed set of words; ``fold`` (e.g. ``str.lower``) normalizes the text first."""
    if _missing(raw):
        return Param(default)
    allowed = list(options)
    text = _raw_text(raw)
    key = text.strip() if text is not None else None
    if key is not None and fold is not None:
        key = fold(key)
    if key in allowed:
        return Param(key, given=True)
    return Param(default, f"The link's '{name}' value is not one of {', '.join(allowed)}; "
                          f"using {_default_text(default)}.", given=True)


def choices(raw, name: str, options: Iterable[str], *, sep: str = ",", empty_word: str | None = None,
            default: list[str] | None = None) -> Param:
    """A list of words from a fixed set, e.g. ``modules=building,planning``; unknown ones are dropped.

    ``empty_word`` (e.g. ``none``) stands for the empty list.
    """
    if _missing(raw):
        return Param(default)
    allowed = list(options)
    text = _raw_text(raw)
    if text is None:
        return Param(default, f"The link's '{name}' value is too long; it is ignored.", given=True)
    text = text.strip()
    if empty_word is not None and text == empty_word:
        return Param([], given=True)
    parts = [p.strip() for p in text.split(sep) if p.strip()]
    kept = list(dict.fromkeys(p for p in parts if p in allowed))
    unknown = sum(1 for p in parts if p not in allowed)
    if not unknown:
        return Param(kept, given=True)
    if not kept:
        return Param(default, f"The link's '{name}' value names nothing known ({', '.join(allowed)}); "
                              "it is ignored.", given=True)
    return Param(kept, f"The link's '{name}' value has {unknown} unknown entr{'y' if unknown == 1 else 'ies'}; "
                       f"{len(kept)} kept.", given=True)


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (newlines, tabs, escape); Cf: invisible format characters such as the
    # bidirectional overrides (U+202E) that make text read differently from what it is.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != " "


def clean_text(text: str) -> str:
    """Text with control and invisible format characters removed and spaces collapsed."""
    return " ".join("".join(" " if _is_control(c) else c for c in text).split())


def text(raw, name: str, max_len: int = 200, default: str | None = None) -> Param:
    """Short free text: control characters removed, cut to ``max_len`` characters (with a notice)."""
    if _missing(raw):
        return Param(default)
    value = _raw_text(raw)
    if value is None:
        return Param(default, f"The link's '{name}' value is too long; it is ignored.", given=True)
    value = clean_text(value)
    if not value:
        return Param(default, given=True)
    if len(value) > max_len:
        return Param(value[:max_len].rstrip(), f"The link's '{name}' value was cut to {max_len} characters.",
                     given=True)
    return Param(value, given=True)


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text, counted without recursion (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def json_value(raw, name: str, *, max_chars: int = JSON_MAX_CHARS, max_depth: int = JSON_MAX_DEPTH,
               default: Any = None) -> Param:
    """A small JSON value: refused when longer than ``max_chars`` or nested deeper than ``max_depth``
    (both checked before parsing, so a hostile link cannot exhaust the parser)."""
    if _missing(raw):
        return Param(default)
    value = _raw_text(raw)
    if value is None or len(value) > max_chars:
        return Param(default, f"The link's '{name}' value is too long (over {max_chars:,} characters); "
                              "it is ignored.", given=True)
    if json_depth(value) > max_depth:
        return Param(default, f"The link's '{name}' value is nested too deeply; it is ignored.", given=True)
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return Param(default, f"The link's '{name}' value is not valid JSON; it is ignored.", given=True)
    return Param(parsed, given=True)


def _no_constant(word: str):
    raise ValueError(f"{word} is not allowed")  # NaN / Infinity are not JSON
