"""Who is acting, and what they may change.

A :class:`User` is an identity (``id``) with a role. The id comes from the deployment's login:

- ``local`` (the embedded default): one local user, named by ``PIGGYBACK_USER`` or the login
  name; the web user's role is ``PIGGYBACK_LOCAL_ROLE`` (member unless set).
- ``oidc``: Streamlit's own ``st.login`` against the provider in ``.streamlit/secrets.toml``;
  the id is the e-mail (or subject) the provider vouches for.
- ``proxy``: a header set by a trusted reverse proxy (``PIGGYBACK_AUTH_HEADER``).

The UI layer reads the login and calls :func:`from_login`; nothing here imports Streamlit.
Roles of named users come from ``PIGGYBACK_ROLES``; anyone else signed in has
``PIGGYBACK_DEFAULT_ROLE`` (viewer), and a visitor who is not signed in is an anonymous viewer.

The rules (enforced by every write function, whatever the page shows):

========  ====================================================================================
viewer    reads; opens shared links read-only; duplicates a scenario into their own
member    and: saves their own scenarios, records evidence and quotes as themselves
steward   and: edits peer data (imports, contacts), rebuilds the store, removes others' records
========  ====================================================================================

A scenario is changed, renamed or deleted only by its owner or a steward; evidence, a quote or
a contact is removed only by its author or a steward. Audit rows carry the identity's ``id``,
never a typed name (a typed name may be kept beside it as a display label).
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from piggyback.core import settings
from piggyback.core.errors import PiggybackError


class Role(IntEnum):
    viewer = 1
    member = 2
    steward = 3

    @classmethod
    def parse(cls, text: str, where: str) -> "Role":
        try:
            return cls[str(text).strip().lower()]
        except KeyError:
            raise PiggybackError(f"{where}: {text!r} is not a role; use viewer, member or steward.") from None


class PermissionDenied(PiggybackError):
    """The user's role (or ownership) does not allow this change; nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class User:
    id: str
    role: Role
    label: str = ""
    source: str = "local"  # local, cli, oidc, proxy, anonymous

    @property
    def signed_in(self) -> bool:
        return self.source != "anonymous"

    @property
    def display(self) -> str:
        return self.label or self.id


ANONYMOUS = User(id="anonymous", role=Role.viewer, label="Not signed in", source="anonymous")
_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")

AUTH_MODES = ("local", "oidc", "proxy")


def auth_mode() -> str:
    mode = (settings.get("PIGGYBACK_AUTH") or "local").strip().lower()
    if mode not in AUTH_MODES:
        raise PiggybackError(f"PIGGYBACK_AUTH is {mode!r}; use one of {', '.join(AUTH_MODES)}.")
    return mode


def _login_name() -> str:
    try:
        return settings.get("PIGGYBACK_USER") or getpass.getuser()
    except Exception:  # some containers have no login name
        return "unknown"


def role_table() -> dict[str, Role]:
    """``PIGGYBACK_ROLES`` as {id (lower-case): role}. The setting is a list or a file's path."""
    text = settings.get("PIGGYBACK_ROLES") or ""
    if text and "=" not in text and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8")
    table: dict[str, Role] = {}
    for part in re.split(r"[,\n]", text):
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        ident, _, role = part.partition("=")
        if not ident.strip() or not role.strip():
            raise PiggybackError(f"PIGGYBACK_ROLES: {part!r} is not 'id=role'.")
        table[ident.strip().lower()] = Role.parse(role, "PIGGYBACK_ROLES")
    return table


def local_user() -> User:
    """The embedded default's one web user."""
    role = Role.steward if settings.get("PIGGYBACK_ALLOW_EDITS") == "1" else \
        Role.parse(settings.get("PIGGYBACK_LOCAL_ROLE") or "member", "PIGGYBACK_LOCAL_ROLE")
    name = _login_name()
    return User(id=f"local:{name}", role=role, label=name, source="local")


def operator() -> User:
    """Whoever runs the CLI or calls the package from Python on this machine.

    They hold the files themselves, so they act as a steward; but only in the embedded
    default: where a login is configured, code that names no user gets no rights.
    """
    if auth_mode() != "local":
        return ANONYMOUS
    name = _login_name()
    return User(id=f"local:{name}", role=Role.steward, label=name, source="cli")


def from_login(ident: str | None, label: str | None = None, *, source: str) -> User:
    """The user a login vouches for (``source`` is 'oidc' or 'proxy'); no id -> anonymous viewer."""
    ident = (ident or "").strip()
    if not ident or not _ID.match(ident):
        return ANONYMOUS
    role = role_table().get(ident.lower())
    if role is None:
        role = Role.parse(settings.get("PIGGYBACK_DEFAULT_ROLE") or "viewer", "PIGGYBACK_DEFAULT_ROLE")
    return User(id=f"{source}:{ident.lower()}", role=role, label=(label or ident).strip()[:200], source=source)


def actor(user: User | None) -> User:
    """The user a write function acts for: the one given, else the machine's operator."""
    return operator() if user is None else user


# -- the rules ---------------------------------------------------------------------------------

_NEEDS = {
    "scenario.save": Role.member,
    "scenario.duplicate": Role.viewer,
    "evidence.record": Role.member,
    "quote.save": Role.member,
    "contact.add": Role.steward,
    "data.import": Role.steward,
    "store.rebuild": Role.steward,
}
_WHAT = {
    "scenario.save": "save scenarios", "scenario.duplicate": "keep a copy of a scenario",
    "evidence.record": "record compliance evidence", "quote.save": "enter quotes",
    "contact.add": "add contact points to peer data", "data.import": "import peer data",
    "store.rebuild": "rebuild the database",
}


def can(user: User, action: str) -> bool:
    if action not in _NEEDS:
        raise KeyError(action)
    if action == "scenario.duplicate" and not user.signed_in:
        return False  # a copy needs an owner
    return user.role >= _NEEDS[action]


def require(user: User, action: str) -> None:
    if not can(user, action):
        who = "You are not signed in" if not user.signed_in else f"{user.display} is a {user.role.name}"
        need = _NEEDS[action].name
        raise PermissionDenied(f"{who}: only a {need} or above may {_WHAT[action]}. Nothing was changed."
                               + (" Sign in first." if not user.signed_in else ""))


def may_change(user: User, owner: str | None) -> bool:
    """A record is changed or removed only by its owner (author) or a steward."""
    if user.role >= Role.steward:
        return True
    return bool(owner) and user.signed_in and owner == user.id


def require_owner(user: User, owner: str | None, what: str) -> None:
    if not may_change(user, owner):
        raise PermissionDenied(f"Only the person who saved {what}, or a steward, may change or remove it. "
                               "Nothing was changed." + (" You can keep a copy of your own instead."
                                                         if what.startswith("this scenario") else ""))
