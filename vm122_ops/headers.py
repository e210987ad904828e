"""Ops' security headers (servicekit/headers.py adds them to every answer): a strict
Content-Security-Policy (no inline script, no inline style, nothing from another origin;
the Desk's login form posts to itself) and its usual companions."""

from __future__ import annotations

from servicekit.headers import content_security_policy

CONTENT_SECURITY_POLICY = content_security_policy(form_action="'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
