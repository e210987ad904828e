"""The shared resolver factory, TXT character-strings and SPF lookup counting (issue 23,
items 1, 4 and 9), against a DNS server on 127.0.0.1 run by the test."""

from __future__ import annotations

import pytest

from tests.support.dns_server import dns_server, zone_answers
from vm112_portal import spf, txt_strings
from vm112_portal.resolvers import DnsFailure, DnsTxt, resolver_for, txt_texts

# What a zone with Google Workspace, Microsoft 365 and SendGrid includes resolves to
# (shapes as those providers publish them: Google's _spf.google.com includes three
# _netblocks names, Outlook's one more name, SendGrid's none).
PROVIDERS = {
    ("_spf.google.com", "TXT"): [
        '"v=spf1 include:_netblocks.google.com include:_netblocks2.google.com '
        'include:_netblocks3.google.com ~all"'
    ],
    ("_netblocks.google.com", "TXT"): ['"v=spf1 ip4:35.190.247.0/24 ~all"'],
    ("_netblocks2.google.com", "TXT"): ['"v=spf1 ip6:2001:4860:4000::/36 ~all"'],
    ("_netblocks3.google.com", "TXT"): ['"v=spf1 ip4:172.217.0.0/19 ~all"'],
    ("spf.protection.outlook.com", "TXT"): [
        '"v=spf1 ip4:40.92.0.0/15 include:spfd.protection.outlook.com -all"'
    ],
    ("spfd.protection.outlook.com", "TXT"): ['"v=spf1 ip4:51.4.72.0/24 -all"'],
    ("sendgrid.net", "TXT"): ['"v=spf1 ip4:167.89.0.0/17 ~all"'],
    ("split.example", "TXT"): ['"v=spf1 include:sendgrid.net" " " "-all"'],
    ("nospf.example", "TXT"): ['"google-site-verification=abc"'],
}


async def test_a_record_with_three_providers_counts_nested_includes() -> None:
    """Google (4), Outlook (2), SendGrid (1) and our a: (1) make 8 lookups, not the 4 the
    record's own terms show; two more mx/a terms take it to 10, a third over."""

    with dns_server(zone_answers(PROVIDERS)) as server:
        lookup = DnsTxt(resolver_for((("127.0.0.1", server.port),), 2.0), 2.0)

        async def fetch(name: str) -> list[str]:
            return await txt_texts(lookup, name)

        record = (
            "v=spf1 a:mail.example.net include:_spf.google.com "
            "include:spf.protection.outlook.com include:sendgrid.net ~all"
        )
        cache: dict[str, list[str] | DnsFailure] = {}
        counted = await spf.count(record, fetch, cache)
        assert spf.own_lookups(record) == 4
        assert counted.lookups == 8
        assert not counted.over_limit
        assert counted.unresolved == []
        asked = len(server.queries)
        again = await spf.count(record.replace("~all", "mx a ~all"), fetch, cache)
        assert again.lookups == 10 and not again.over_limit
        assert len(server.queries) == asked  # cached per plan: nothing asked twice
        over = await spf.count(record.replace("~all", "mx a a:x.example ~all"), fetch, cache)
        assert over.lookups == 11 and over.over_limit


async def test_unresolvable_include_and_dns_errors_are_reported() -> None:
    def answer(name: str, rdtype: str) -> list[str] | str | None:
        if name == "broken.example":
            return "servfail"
        return zone_answers(PROVIDERS)(name, rdtype)

    with dns_server(answer) as server:
        lookup = DnsTxt(resolver_for((("127.0.0.1", server.port),), 2.0), 2.0)

        async def fetch(name: str) -> list[str]:
            return await txt_texts(lookup, name)

        counted = await spf.count(
            "v=spf1 include:nospf.example include:missing.example include:broken.example -all",
            fetch,
            {},
        )
    assert counted.lookups == 3
    assert counted.void == 1  # missing.example: NXDOMAIN
    reasons = dict(counted.unresolved)
    assert "permerror" in reasons["nospf.example"]
    assert "permerror" in reasons["missing.example"]
    assert reasons["broken.example"].startswith("dns_servfail")


async def test_servfail_and_timeout_are_not_not_found() -> None:
    def answer(name: str, rdtype: str) -> list[str] | str | None:
        return {"sf.example": "servfail", "slow.example": "drop"}.get(name)

    with dns_server(answer) as server:
        lookup = DnsTxt(resolver_for((("127.0.0.1", server.port),), 0.5), 0.5)
        assert await lookup.txt_records("none.example") == []
        with pytest.raises(DnsFailure) as servfail:
            await lookup.txt_records("sf.example")
        with pytest.raises(DnsFailure) as timeout:
            await lookup.txt_records("slow.example")
    assert servfail.value.code == "dns_servfail"
    assert timeout.value.code == "dns_timeout"


async def test_split_txt_strings_come_back_as_dns_holds_them() -> None:
    with dns_server(zone_answers(PROVIDERS)) as server:
        lookup = DnsTxt(resolver_for((("127.0.0.1", server.port),), 2.0), 2.0)
        (record,) = await lookup.txt_records("split.example")
    assert record.strings == (b"v=spf1 include:sendgrid.net", b" ", b"-all")
    assert record.text == "v=spf1 include:sendgrid.net -all"


def test_character_strings_parsed_and_written_faithfully() -> None:
    # RFC 1035 §5.1 presentation form: a whitespace-only string is kept, escapes decoded.
    assert txt_strings.parse('"v=spf1 include:a" " " "include:b ~all"') == [
        b"v=spf1 include:a",
        b" ",
        b"include:b ~all",
    ]
    assert txt_strings.joined('"v=spf1 include:a" " " "include:b ~all"') == (
        "v=spf1 include:a include:b ~all"
    )
    assert txt_strings.joined('"v=spf1 a:x" "~all"') == "v=spf1 a:x~all"  # RFC 7208 §3.3
    assert txt_strings.parse(r'"say \"hi\" \092 \255"') == [b'say "hi" \\ \xff']
    assert txt_strings.parse("v=spf1 -all") == [b"v=spf1 -all"]
    long = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(40)) + " -all"
    content = txt_strings.render(long)
    strings = txt_strings.parse(content)
    assert len(long) > 255 and all(len(s) <= 255 for s in strings) and len(strings) == 3
    assert txt_strings.joined(content) == long
    assert txt_strings.render("v=spf1 mx ~all") == "v=spf1 mx ~all"
