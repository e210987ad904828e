"""Issue 17, finding 2: every identifier pattern of both services is a full match.

A ``$`` anchor matches before a trailing newline, so ``^[A-Za-z0-9_-]{1,128}$`` accepted
``"poison\\n"`` as a session id; the Portal queued it into a webhook-id that no HTTP client
can send. Every module-level pattern is found by walking the packages, so a new pattern
without a sample here fails the inventory test.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = ("vm112_portal", "vm122_ops", "servicekit")
# Anchored patterns that search inside text (line by line, or a prefix) rather than match
# a whole value. Unanchored patterns (character classes searched for: _CONTROL...) are
# searches by construction and need no sample.
SEARCHING = {
    "servicekit.sqlfiles.queries._LABEL",
    "vm112_portal.dkim._ZONE_NAME",  # the record's name, searched in zone-file text
    "vm112_portal.dkim_publish._POLICY",  # the p=none tag, searched in a DMARC record
}
# A valid value for each identifier pattern.
SAMPLES = {
    "vm112_portal.settings._HOSTNAME": "mail.example.com",
    "vm112_portal.routes.SESSION_ID": "sess_1",
    "vm112_portal.routes.LOCAL_PART": "admin",
    "vm112_portal.domains._LABEL": "example",
    "vm112_portal.support._EMAIL": "suporte@example.pt",
    "vm112_portal.support._PHONE": "+351 210 000 000",
    "vm112_portal.support._SECRET": "A" * 43,
    "vm122_ops.ingest.signatures._TIMESTAMP": "1764000000",
    "vm122_ops.tickets.ticket._CURSOR": "12:34",
    "vm122_ops.funnel.cohort._CURSOR": "1764000000000:sess_1",
    "vm122_ops.tickets.contacts._ADDRESS": "admin@loja.pt",
    "vm122_ops.ingest.events.SESSION_ID": "sess_1",
    "vm122_ops.ingest.events.WEBHOOK_ID": "evt_1",
    "vm122_ops.ingest.events._RFC3339": "2026-11-29T10:00:00Z",
    "vm122_ops.tickets.work.TAG": "dns_failed",
    "vm122_ops.desk.accounts.NAME": "ana.silva",
    "vm122_ops.desk.browser_sessions._COOKIE": "A" * 43,
    "vm122_ops.routes.stream._STREAM_ID": "12.3",
    "servicekit.logs.access.REQUEST_ID": "req-1",
    "servicekit.sqlfiles.migrations._NUMBERED": "0001_init.sql",
    "servicekit.settings._TOKEN": "0123456789abcdef0123",
    "servicekit.contract.SESSION_ID": "sess_1",
    "servicekit.contract.WEBHOOK_ID": "onboarding-started-s1",
    "servicekit.contract.REFERENCE": "K7Q2M9XP",
    "servicekit.contract.REFUSAL_CODE": "mailbox_provider",
    "servicekit.contract.RELEASE": "2.0.1+g1a2b3c",
    "vm112_portal.dkim._ADDED": "DKIM Data added to LDAP for domain loja.pt with selector S1",
    "vm112_portal.dkim._SELECTOR": "7B3E2A10-3C4D-11EF-9A6B-5F0E8C1D2A47",
    "vm112_portal.dkim._BASE64": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA+/IDAQAB",
}
TERMINATORS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]


def _modules() -> Iterator[str]:
    for package in PACKAGES:
        try:
            root = importlib.import_module(package)
        except ModuleNotFoundError:
            continue
        yield package
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                yield info.name


def patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            # Only patterns defined here (not imported from another module).
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                key = f"{name}.{attr}"
                if key in SAMPLES or key in SEARCHING or _defined_in(module, attr):
                    found[key] = value
    return found


def _defined_in(module: object, attr: str) -> bool:
    source = getattr(module, "__file__", None)
    if not source:
        return False
    text = Path(source).read_text(encoding="utf-8")
    return re.search(rf"^{re.escape(attr)}\s*=\s*re\.compile", text, re.MULTILINE) is not None


def test_every_pattern_has_a_sample() -> None:
    anchored = {name for name, p in patterns().items() if p.pattern.startswith("^")}
    unknown = sorted(anchored - set(SAMPLES) - SEARCHING)
    assert unknown == [], "add a valid sample for each new pattern to SAMPLES"
    assert set(SAMPLES) <= set(patterns()), "a pattern in SAMPLES no longer exists"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_sample_matches(name: str) -> None:
    assert patterns()[name].match(SAMPLES[name])


@pytest.mark.parametrize("terminator", TERMINATORS, ids=[repr(t) for t in TERMINATORS])
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_line_terminator_after_a_valid_value_is_refused(name: str, terminator: str) -> None:
    pattern = patterns()[name]
    value = SAMPLES[name] + terminator
    # The pattern itself refuses, whichever method the code calls (match or fullmatch).
    assert pattern.match(value) is None
    assert pattern.fullmatch(value) is None
