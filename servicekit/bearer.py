"""Tokens compared in constant time, as UTF-8 bytes: ``hmac.compare_digest`` refuses a
str with non-ASCII characters (TypeError), and a header is whatever a client sends."""

from __future__ import annotations

import hmac


def token_matches(candidate: str, token: str) -> bool:
    """Whether ``candidate`` is ``token``; an empty token matches nothing."""
    if not token or not candidate:
        return False
    return hmac.compare_digest(_bytes(candidate), _bytes(token))


def bearer_matches(authorization: str, token: str) -> bool:
    """``Authorization: Bearer <token>`` (scheme case-insensitive, RFC 9110 §11.1)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return token_matches(value.strip(), token)


def _bytes(text: str) -> bytes:
    # surrogatepass: even a lone surrogate (from a lax decoder) becomes bytes, not an error.
    return text.encode("utf-8", "surrogatepass")
