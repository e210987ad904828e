"""Browser login for the Desk: signed session cookies and a login rate limit.

The operator types OPS_API_TOKEN once; Ops answers with a cookie
``v1.<expiry>.<nonce>.<signature>``, signed with HMAC-SHA256 under a key derived from the
token (so no new secret to configure, and changing the token logs everyone out). The
cookie is HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS. Logout forgets the nonce
in this process until the cookie would have expired anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable

from servicekit.bearer import token_matches

COOKIE_NAME = "ops_desk"
SESSION_SECONDS = 12 * 3600
_KEY_LABEL = b"vm122-ops desk session cookie v1"
_MAX_REVOKED = 10_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class DeskSessions:
    """Issues and checks the Desk's session cookies."""

    def __init__(
        self,
        token: str,
        *,
        clock: Callable[[], float] = time.time,
        lifetime: int = SESSION_SECONDS,
    ) -> None:
        self._key = hmac.new(token.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._token = token
        self._clock = clock
        self.lifetime = lifetime
        self._revoked: dict[str, int] = {}  # nonce -> expiry

    def __repr__(self) -> str:
        return f"DeskSessions(lifetime={self.lifetime})"

    def token_matches(self, candidate: str) -> bool:
        return token_matches(candidate, self._token)  # an unconfigured token matches nothing

    def issue(self) -> str:
        expiry = int(self._clock()) + self.lifetime
        payload = f"v1.{expiry}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, cookie: str) -> bool:
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not (parts[1].isascii() and parts[1].isdigit()):
            return False
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(payload), parts[3]):
            return False
        return int(parts[1]) > self._clock() and parts[2] not in self._revoked

    def revoke(self, cookie: str) -> None:
        if not self.valid(cookie):
            return
        _, expiry, nonce, _ = cookie.split(".")
        now = self._clock()
        self._revoked = {n: e for n, e in self._revoked.items() if e > now}
        if len(self._revoked) < _MAX_REVOKED:
            self._revoked[nonce] = int(expiry)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


class LoginLimiter:
    """At most ``attempts`` failed logins per client address in ``period`` seconds."""

    def __init__(
        self,
        attempts: int = 5,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.attempts = attempts
        self.period = period
        self._clock = clock
        self._max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        failures = self._recent(client)
        if len(failures) < self.attempts:
            return 0
        return max(1, int(failures[0] + self.period - self._clock()) + 1)

    def failed(self, client: str) -> None:
        if client not in self._failures and len(self._failures) >= self._max_clients:
            now = self._clock()
            self._failures = {
                c: d for c, d in self._failures.items() if d and d[-1] > now - self.period
            }
            if len(self._failures) >= self._max_clients:
                return  # under a flood of addresses, forget rather than grow
        self._failures.setdefault(client, deque(maxlen=self.attempts)).append(self._clock())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        cutoff = self._clock() - self.period
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures
