"""Ops' SQL: the numbered migrations and the named queries under sql/ops/ (shipped in the
wheel as vm122_ops/_files/sql), loaded once.

Read functions (``tickets.ticket.get``, ``ingest.session_fold.timeline``...) and write
units take their statements from ``QUERIES`` by name; no other module holds SQL text.
"""

from __future__ import annotations

from servicekit.resources import folder
from servicekit.sqlfiles import Queries, load_queries

SQL_DIR = folder("vm122_ops", "sql", "sql/ops")
QUERIES: Queries = load_queries(SQL_DIR / "queries")
