"""The domain's DKIM key as Carbonio's ``zmdkimkeyutil`` prints it, read into the one TXT
record to publish at ``<selector>._domainkey.<domain>``.

Source: zextras/carbonio-core-utils, src/libexec/zmdkimkeyutil (Perl). It prints:

- with ``-a`` (add) or ``-u`` (update): ``DKIM Data added to LDAP for domain D with
  selector S``, then ``Public signature to enter into DNS:`` and the public signature;
- with ``-q -d D`` (query): ``DKIM Domain:``, ``DKIM Selector:``, ``DKIM Private Key:``,
  ``DKIM Public signature:`` and ``DKIM Identity:``, each header on its own line with its
  value on the following lines (the LDAP attributes DKIMDomain, DKIMSelector, DKIMKey,
  DKIMPublicKey, DKIMIdentity);
- ``No DKIM Information for domain D`` (exit 1) when the domain has no key yet.

The public signature is the ``<selector>.txt`` file opendkim-genkey writes, in zone-file
form: ``S._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=MIIB..." "...IDAQAB" )  ;
----- DKIM key S for D`` (parenthesised, the key split into quoted strings of at most
255 bytes, RFC 1035 §3.3.14 / §5.1; the form docker-mailserver's DKIM docs show). The
record's text is those strings joined with nothing between (RFC 6376 §3.6.2.2: the
strings of a DKIM TXT record are concatenated).

The query output also holds the **private key**: this parser skips it and never keeps,
prints or logs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADERS = (
    "DKIM Domain:",
    "DKIM Selector:",
    "DKIM Private Key:",
    "DKIM Public signature:",
    "DKIM Identity:",
    "Public signature to enter into DNS:",
)
_ADDED = re.compile(r"^DKIM Data added to LDAP for domain (\S+) with selector (\S+)\Z")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(\d{3}|.)")
_ZONE_NAME = re.compile(r"^\s*([A-Za-z0-9_.-]+)\._domainkey(?:\.([A-Za-z0-9.-]+?))?\.?\s", re.M)
_SELECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+=*\Z")


class DkimOutputError(ValueError):
    """The text is not zmdkimkeyutil's output for the domain (the reason says why)."""


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    txt: str  # the record's text: "v=DKIM1; h=sha256; k=rsa; p=MIIB..."

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def public_key(self) -> str:
        return public_key_of(self.txt) or ""


def public_key_of(text: str) -> str | None:
    """The ``p=`` tag of a DKIM key record (RFC 6376 §3.6.1), whitespace removed."""
    for tag in text.split(";"):
        key, sep, value = tag.partition("=")
        if sep and key.strip() == "p":
            return re.sub(r"\s+", "", value)
    return None


def _unescape(text: str) -> str:
    """RFC 1035 §5.1 escapes in a quoted string: ``\\X`` is X, ``\\DDD`` the byte DDD."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1), text)


def _sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        header = next((h for h in _HEADERS if stripped == h), None)
        if header is not None:
            current = header
            found.setdefault(header, [])
            continue
        if current is not None:
            found[current].append(line)
    return found


def record_text(signature: str) -> str:
    """The TXT text of a public signature in zone-file form: its quoted strings joined;
    a bare ``v=DKIM1; ...`` line is taken as it is."""
    body = signature
    start, end = body.find("("), body.rfind(")")
    if start != -1 and end > start:
        body = body[start + 1 : end]
    strings = [_unescape(s) for s in _QUOTED.findall(body)]
    if strings:
        return "".join(strings)
    bare = signature.strip()
    return bare if bare.startswith("v=DKIM1") else ""


def parse(output: str, domain: str) -> DkimKey:
    """The key zmdkimkeyutil printed for ``domain`` (``-q`` or ``-a``/``-u`` output, or the
    public signature alone); DkimOutputError with the reason otherwise."""
    domain = domain.strip().lower().rstrip(".")
    if re.search(r"^No DKIM Information for", output, re.M):
        raise DkimOutputError(
            f"zmdkimkeyutil has no DKIM key for {domain}: create it first with "
            f"zmdkimkeyutil -a -d {domain}"
        )
    sections = _sections(output)
    printed_domain = next((v.strip() for v in sections.get("DKIM Domain:", []) if v.strip()), None)
    selector = next((v.strip() for v in sections.get("DKIM Selector:", []) if v.strip()), None)
    added = next((m for line in output.splitlines() if (m := _ADDED.match(line.strip()))), None)
    if added is not None:
        printed_domain, selector = added.group(1), added.group(2)
    signature_lines = sections.get("DKIM Public signature:") or sections.get(
        "Public signature to enter into DNS:"
    )
    signature = "\n".join(signature_lines) if signature_lines else output
    named = _ZONE_NAME.search(signature)
    if named is not None:
        if selector is None:
            selector = named.group(1)
        elif named.group(1) != selector:
            raise DkimOutputError(
                f"the public signature is for selector {named.group(1)!r}, the output "
                f"names {selector!r}"
            )
    if printed_domain is not None and printed_domain.lower().rstrip(".") != domain:
        raise DkimOutputError(
            f"this key is for {printed_domain}, not {domain}: run zmdkimkeyutil -q -d {domain}"
        )
    if selector is None or not _SELECTOR.match(selector):
        raise DkimOutputError("no DKIM selector found: give zmdkimkeyutil -q -d DOMAIN's output")
    txt = record_text(signature)
    if not txt.replace(" ", "").lower().startswith("v=dkim1"):
        raise DkimOutputError("no public signature (v=DKIM1; ... p=...) found in the output")
    key = public_key_of(txt)
    if not key or not _BASE64.match(key):
        raise DkimOutputError("the public signature has no valid p= key (base64)")
    return DkimKey(domain=domain, selector=selector, txt=txt)
