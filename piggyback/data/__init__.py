"""Stores and readers: the reference DuckDB, the users' record, census files, imports, lookups."""
