"""Ops (VM122): stores onboarding webhooks exactly once, serves the funnel, session
timelines and Desk tickets."""
