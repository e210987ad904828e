"""The database: one writer thread and reader threads (db.py), the named queries of
sql/ops/queries (sql.py), a stored event as every view shows it (stored_events.py), the
retention purge (retention.py) and the check of a restored store (recovery.py)."""
