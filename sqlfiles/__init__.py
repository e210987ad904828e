"""Handwritten SQL kept in files, shared by both services.

- ``load_queries(folder)`` reads ``-- name: label`` blocks (aiosql syntax) from ``*.sql``.
- ``apply_migrations(conn, folder)`` applies numbered, append-only schema files, tracked
  with ``PRAGMA user_version``.

The services never import each other; both import this small package.
"""

from sqlfiles.migrations import SchemaTooNewError, apply_migrations, migration_files
from sqlfiles.queries import Queries, load_queries

__all__ = [
    "Queries",
    "SchemaTooNewError",
    "apply_migrations",
    "load_queries",
    "migration_files",
]
