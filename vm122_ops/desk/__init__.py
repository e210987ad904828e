"""The Desk's people and live wiring: operator accounts (accounts.py) and the users
command (users.py), browser sessions (browser_sessions.py), who is asking (auth.py), the
failed-login budget (login_throttle.py), the live fan-out to streams (broker.py) and the
banner's conditions (banner_conditions.py)."""
