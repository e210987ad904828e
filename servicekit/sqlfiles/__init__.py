"""Handwritten SQL kept in files, shared by both services.

- ``load_queries(folder)`` reads ``-- name: label`` blocks (aiosql syntax) from ``*.sql``.
- ``migrate(conn, folder)`` (sqlite3) and ``apply_migrations(conn, folder)`` (aiosqlite)
  apply numbered, append-only schema files, tracked with ``PRAGMA user_version``.
- ``backup_database(source, target, tables)`` takes a verified online copy of a live
  database.
- ``private_file(path)`` creates (or tightens) a database file with mode 0600.

The services never import each other; both import this small package.
"""

from servicekit.sqlfiles.backup import BackupError, BackupReport, backup_database
from servicekit.sqlfiles.migrations import (
    SchemaTooNewError,
    apply_migrations,
    migrate,
    migration_files,
)
from servicekit.sqlfiles.private import private_file
from servicekit.sqlfiles.queries import Queries, load_queries

__all__ = [
    "BackupError",
    "BackupReport",
    "Queries",
    "SchemaTooNewError",
    "apply_migrations",
    "backup_database",
    "load_queries",
    "migrate",
    "migration_files",
    "private_file",
]
