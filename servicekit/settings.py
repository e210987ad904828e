"""Parsers for settings read from the environment; each raises ConfigError with one
sentence naming the variable, which the CLI prints before exiting with code 2."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from servicekit.errors import ConfigError

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix (Standard Webhooks), not a secret
# \Z, not $: $ would accept a trailing newline.
_TOKEN = re.compile(r"^[\x21-\x7e]{16,256}\Z")


def env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def webhook_secret(value: str, name: str = "OPS_WEBHOOK_SECRET") -> bytes:
    """One ``whsec_<base64>`` secret (Standard Webhooks), decoding to 24-64 bytes."""
    if not value.startswith(SECRET_PREFIX):
        raise ConfigError(f"{name} must start with whsec_ followed by base64.")
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not valid base64 after whsec_.") from None
    if not 24 <= len(key) <= 64:
        raise ConfigError(f"{name} decodes to {len(key)} bytes; it must be 24 to 64 bytes.")
    return key


def printable_token(value: str, name: str) -> str:
    """16-256 printable ASCII characters without spaces (a bearer token)."""
    if not _TOKEN.match(value):
        raise ConfigError(f"{name} must be 16 to 256 printable characters without spaces.")
    return value
