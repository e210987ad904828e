"""What a customer needs when something goes wrong: who to contact, a short reference to
quote, and whether trying again can help; and the wizard secret that binds a session to
the browser that started it.

- ``PORTAL_SUPPORT_CONTACT``: an e-mail address and/or a phone number, comma-separated
  (``suporte@example.pt, +351 210 000 000``); shown on every error and the last page.
- The support reference: 8 characters of an alphabet without look-alikes (no 0/O, 1/I),
  derived from the session id by SHA-256 and unique in the Portal (a collision takes the
  next derivation). Customers quote it; Ops gets it in onboarding.started. It is no
  credential: knowing it (or the session id) opens nothing.
- The wizard secret: 32 random bytes the browser holds in an HttpOnly, SameSite=Strict
  cookie (an API client may send it as ``X-Wizard-Secret``). Only its SHA-256 is stored;
  it is never logged, emitted or answered in a body.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from vm112_portal.errors import ConfigError

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 5 bits each
REFERENCE_LENGTH = 8
SECRET_COOKIE = "vm112_wizard"  # noqa: S105 (a cookie name)
SECRET_HEADER = "x-wizard-secret"  # noqa: S105 (a header name)
# What token_urlsafe(32) makes (43 characters); anything else is no secret of ours.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}\Z")
# The same plain address Ops accepts as a contact (vm122_ops/contacts.py): RFC 5322
# dot-atom local part, an ASCII domain of LDH labels with at least one dot.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z"
)
# ITU-T E.123 style: an optional +, digits and spaces, dots, hyphens, parentheses.
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,30}[0-9]\Z")


@dataclass(frozen=True)
class SupportContact:
    email: str | None = None
    phone: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"email": self.email, "phone": self.phone}


def is_email(value: str) -> bool:
    """One plain address of at most 254 characters (local part at most 64)."""
    return len(value) <= 254 and bool(_EMAIL.match(value)) and len(value.split("@")[0]) <= 64


def parse_support_contact(raw: str) -> SupportContact:
    """PORTAL_SUPPORT_CONTACT: at most one e-mail address and one phone number."""
    email = phone = None
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if "@" in item:
            if email is not None or not is_email(item):
                raise ConfigError(
                    "PORTAL_SUPPORT_CONTACT: give at most one e-mail address and one phone "
                    f"number, comma-separated; {item[:64]!r} is not a plain address"
                )
            email = item
        elif _PHONE.match(item) and phone is None:
            phone = item
        else:
            raise ConfigError(
                "PORTAL_SUPPORT_CONTACT: give at most one e-mail address and one phone "
                f"number (+351 210 000 000), comma-separated; {item[:64]!r} is neither"
            )
    return SupportContact(email, phone)


def support_reference(session_id: str, attempt: int = 0) -> str:
    """The session's reference; ``attempt`` > 0 when an earlier one was taken."""
    digest = hashlib.sha256(f"{attempt}:{session_id}".encode()).digest()
    number = int.from_bytes(digest[:5], "big")  # 40 bits: 8 symbols of 5 bits
    return "".join(
        REFERENCE_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(REFERENCE_LENGTH))
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed_secret(value: str | None) -> str | None:
    """``value`` when it looks like a secret we hand out, else None (never an error text)."""
    return value if value is not None and _SECRET.match(value) else None
