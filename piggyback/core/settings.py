"""Every deployment setting Piggyback reads from the environment, in one registry.

Nothing else in the package reads ``os.environ``: modules ask :func:`get` for a setting by name,
and ``docs/ARCHITECTURE.md`` documents each one (a test checks that every setting here is
documented there). Values are read when asked for, so a test can set one with ``monkeypatch``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("PIGGYBACK_DB", None,
            "The reference DuckDB file, rebuilt from data/ (default .piggyback/piggyback.duckdb)."),
    Setting("PIGGYBACK_RECORD_DB", None,
            "The embedded users' record (scenarios, evidence, quotes, contacts, imports, audit); "
            "default: <name>-record.duckdb beside PIGGYBACK_DB. Never touched by a rebuild."),
    Setting("PIGGYBACK_DATABASE_URL", None,
            "postgresql://… keeps the users' record in a shared PostgreSQL server instead of the "
            "embedded file, so several app servers share it."),
    Setting("PIGGYBACK_AUTH", "local",
            "Who the user is: 'local' (one local user, no login), 'oidc' (Streamlit's st.login with "
            "the provider in .streamlit/secrets.toml) or 'proxy' (a header set by a trusted reverse proxy)."),
    Setting("PIGGYBACK_AUTH_HEADER", "X-Forwarded-Email",
            "With PIGGYBACK_AUTH=proxy: the request header that carries the signed-in user's id."),
    Setting("PIGGYBACK_ROLES", "",
            "Roles of named users, e.g. 'ana@city.ca=steward, bo@city.ca=member' (or a path to a "
            "file with one 'id=role' a line)."),
    Setting("PIGGYBACK_DEFAULT_ROLE", "viewer",
            "The role of a signed-in user who is not named in PIGGYBACK_ROLES."),
    Setting("PIGGYBACK_LOCAL_ROLE", "member",
            "With PIGGYBACK_AUTH=local: the role of the one local web user."),
    Setting("PIGGYBACK_ALLOW_EDITS", "",
            "'1' makes the local web user a steward (same as PIGGYBACK_LOCAL_ROLE=steward)."),
    Setting("PIGGYBACK_USER", None,
            "The local user's name in the audit log (default: the login name)."),
    Setting("PIGGYBACK_APP_URL", "http://localhost:8501",
            "The app's public address, used for scenario links printed by the CLI and reports."),
    Setting("BROWSER_PATH", None,
            "The Chromium that kaleido drives for charts in the PDF (default: the system chromium)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str | None:
    """The setting's value from the environment, else its default (blank counts as unset)."""
    try:
        setting = _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not a Piggyback setting; add it to piggyback.core.settings.SETTINGS") from None
    value = os.environ.get(name)
    return value if value not in (None, "") else setting.default
