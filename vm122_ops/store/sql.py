"""Ops' SQL: the numbered migrations and the named queries under sql/ops/, loaded once.

Read functions (``tickets.get``, ``sessions.timeline``, ``funnel.compute``...) and write
units take their statements from ``QUERIES`` by name; no other module holds SQL text.
"""

from __future__ import annotations

from pathlib import Path

from servicekit.sqlfiles import Queries, load_queries

SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "ops"
QUERIES: Queries = load_queries(SQL_DIR / "queries")
