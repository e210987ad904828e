"""Issue 23, item 1: the proof of control is looked up through PORTAL_DNS_RESOLVERS (a DNS
server on 127.0.0.1 run by the test), never when the token is issued, and a DNS error is
said as such; "check again" minutes later sees a record published meanwhile."""

from __future__ import annotations

from pathlib import Path

from tests.portal.conftest import make_settings, running_portal
from tests.support.dns_server import Answer, dns_server

PROOF = "_vm112-verify.acme.pt"


async def test_proof_is_read_through_the_configured_resolvers(tmp_path: Path) -> None:
    published: dict[str, list[str] | str] = {}

    def answer(name: str, rdtype: str) -> Answer:
        return published.get(name)  # NXDOMAIN until published

    with dns_server(answer) as server:
        settings = make_settings(
            tmp_path, domain_proof=True, dns_resolvers=(("127.0.0.1", server.port),)
        )
        async with running_portal(settings) as portal:
            first = (await portal.validate("s1", "acme.pt")).json()
            proof = first["proof"]
            assert proof["verified"] is False
            # Issuing the token asks nothing: no negative answer cached anywhere (RFC 2308).
            assert [q for q in server.queries if q[0] == PROOF] == []
            # A check before publishing: not found, said as "not there yet".
            again = (await portal.validate("s1", "acme.pt")).json()["proof"]
            assert again["verified"] is False and "dns_error" not in again
            assert again["record"] == proof["record"]
            published[PROOF] = ['"v=spf1 -all"', f'"{proof["record"]["content"]}"']
            later = (await portal.validate("s1", "acme.pt")).json()["proof"]
            assert later == {"verified": True, "by": "txt"}
            assert [q for q in server.queries if q[0] == PROOF] == [(PROOF, "TXT")] * 2
            assert (await portal.dns("s1", "acme.pt")).status_code == 200


async def test_dns_errors_are_reported_as_dns_errors(tmp_path: Path) -> None:
    mode: dict[str, Answer] = {"now": "servfail"}

    def answer(name: str, rdtype: str) -> Answer:
        return mode["now"] if name == PROOF else None

    with dns_server(answer) as server:
        settings = make_settings(
            tmp_path,
            domain_proof=True,
            dns_resolvers=(("127.0.0.1", server.port),),
            dns_timeout=0.5,
        )
        async with running_portal(settings) as portal:
            await portal.validate("s1", "acme.pt")
            failed = (await portal.validate("s1", "acme.pt")).json()["proof"]
            assert failed["verified"] is False
            assert failed["dns_error"]["code"] == "dns_servfail"
            assert "SERVFAIL" in failed["dns_error"]["message"]
            assert failed["record"]["name"] == PROOF  # still shown: check again later
            mode["now"] = "drop"
            slow = (await portal.validate("s1", "acme.pt")).json()["proof"]
            assert slow["dns_error"]["code"] == "dns_timeout"
            assert (await portal.dns("s1", "acme.pt")).status_code == 403
