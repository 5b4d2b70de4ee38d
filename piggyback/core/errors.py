"""Errors a user can act on. Pages show them with st.error; the CLI prints them and exits non-zero."""

from __future__ import annotations


class PiggybackError(Exception):
    """Base class: the message is written for the person using the tool."""

    exit_code = 2


class UnknownAgency(PiggybackError):
    pass


class AmbiguousAgency(PiggybackError):
    def __init__(self, query: str, candidates: list[str]):
        self.candidates = candidates
        shown = "\n  ".join(candidates[:15])
        more = f"\n  … and {len(candidates) - 15} more" if len(candidates) > 15 else ""
        super().__init__(f"{query!r} matches {len(candidates)} jurisdictions; say which one "
                         f"(add the province or state, or use the id):\n  {shown}{more}")


class UnknownPeer(PiggybackError):
    pass


class AmbiguousPeer(PiggybackError):
    def __init__(self, query: str, candidates: list[str]):
        self.candidates = candidates
        super().__init__(f"{query!r} matches several peers; use one of: {', '.join(candidates)}")


class StoreError(PiggybackError):
    pass


class StoreCorrupt(StoreError):
    pass


class StoreBusy(StoreError):
    """Another process holds the database for writing (DuckDB allows one writer)."""


class ReadOnlyStore(StoreError):
    pass


class ImportRejected(PiggybackError):
    """The file was not imported; nothing was written. ``problems`` lists (row, column, reason)."""

    def __init__(self, problems: list[tuple[int | None, str | None, str]], path: str = ""):
        self.problems = problems
        lines = []
        for row, column, reason in problems[:200]:
            where = f"row {row}" if row is not None else "file"
            if column:
                where += f", column {column}"
            lines.append(f"  {where}: {reason}")
        more = f"\n  … and {len(problems) - 200} more" if len(problems) > 200 else ""
        super().__init__(f"Nothing was imported from {path or 'the file'}: "
                         f"{len(problems)} problem(s).\n" + "\n".join(lines) + more)
