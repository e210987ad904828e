"""The funnel and what it is made of: hourly rollups and the window (rollups.py), the
drill-down cohort (cohort.py), step durations (durations.py), failures and their codes
(failures.py, failure_codes.py), session states (session_states.py), the conversion trend
(trend.py), minute activity (activity.py), the health read of /metrics and the banner
(health.py), and the mail readiness of completed sessions (mail_readiness.py)."""
