"""TXT record content as RFC 1035 character-strings, read and written faithfully.

A TXT record is one or more character-strings of at most 255 bytes each (RFC 1035
§3.3.14, §3.3). Its presentation form, which Cloudflare's API uses for ``content``, is
quoted strings separated by spaces, ``"\\""`` and ``\\\\`` escaped and ``\\DDD`` a byte in
decimal (RFC 1035 §5.1); cloudflare-python's TXTRecord.content: "The content must consist
of quoted "character strings" (RFC 1035), each with a length of up to 255 bytes. Strings
exceeding this allowed maximum length are automatically split." An unquoted content (how
older records and the dashboard show a single string) is one string.

SPF joins the strings of a record with nothing between them (RFC 7208 §3.3): ``"v=spf1
include:a" " " "include:b ~all"`` is ``v=spf1 include:a include:b ~all``; a whitespace-only
string is text like any other and is kept.
"""

from __future__ import annotations

MAX_STRING = 255  # bytes in one character-string (RFC 1035 §3.3)


def parse(content: str) -> list[bytes]:
    """The character-strings of a TXT content (quoted presentation form, or one bare
    string when it does not start with a quote)."""
    text = content.strip()
    if not text.startswith('"'):
        return [content.encode("utf-8")]
    strings: list[bytes] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] != '"':  # an unquoted word between quoted strings: one string
            j = i
            while j < n and not text[j].isspace():
                j += 1
            strings.append(text[i:j].encode("utf-8"))
            i = j
            continue
        i += 1
        current = bytearray()
        while i < n and text[i] != '"':
            if text[i] == "\\" and i + 1 < n:
                if text[i + 1 : i + 4].isdigit() and len(text[i + 1 : i + 4]) == 3:
                    current.append(int(text[i + 1 : i + 4]) & 0xFF)  # \DDD
                    i += 4
                    continue
                current.extend(text[i + 1].encode("utf-8"))
                i += 2
                continue
            current.extend(text[i].encode("utf-8"))
            i += 1
        strings.append(bytes(current))
        i += 1  # the closing quote
    return strings


def joined(content: str) -> str:
    """The record's text: its strings concatenated (RFC 7208 §3.3)."""
    return b"".join(parse(content)).decode("utf-8", "replace")


def split(text: str) -> list[bytes]:
    """``text`` cut into character-strings of at most 255 bytes, never inside a UTF-8
    character; joining them gives ``text`` back."""
    data = text.encode("utf-8")
    strings: list[bytes] = []
    while data:
        cut = min(MAX_STRING, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte
            cut -= 1
        strings.append(data[:cut])
        data = data[cut:]
    return strings or [b""]


def quote(string: bytes) -> str:
    """One character-string in presentation form (RFC 1035 §5.1): quoted, escaped."""
    out = []
    for byte in string:
        if byte in (0x22, 0x5C):  # " and \
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def render(text: str) -> str:
    """The content to send for a TXT record holding ``text``: unchanged when it is one
    plain string (at most 255 bytes, printable ASCII, no quote or backslash), else the
    quoted strings of ``split(text)``."""
    simple = len(text.encode("utf-8")) <= MAX_STRING and all(
        0x20 <= ord(ch) < 0x7F and ch not in '"\\' for ch in text
    )
    if simple and not text.startswith('"'):
        return text
    return " ".join(quote(s) for s in split(text))
