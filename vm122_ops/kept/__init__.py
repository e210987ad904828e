"""Answers kept in memory between requests while their inputs stay the same: the one memo
every kept answer uses, keyed by the request and the database's stamp (memo.py); the
funnel's basis per start hour and its JSON (funnel_basis.py) and the drill-down's pages
(cohort_answers.py), kept in it until the next boundary. The step durations' cache is
DurationCache in funnel/rollups.py."""
