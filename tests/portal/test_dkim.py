"""zmdkimkeyutil's output read into the one DKIM record (vm112_portal/dkim.py), and the
``mail-check`` and ``dkim publish`` commands' exit codes and output."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.portal.test_mail_check import CAPTURED, World, onboard, portal_on
from tests.support.credentials import SECRET
from tests.support.dns_server import dns_server
from vm112_portal.__main__ import main
from vm112_portal.dkim import DkimOutputError, parse, public_key_of, record_text

SELECTOR = "7B3E2A10-3C4D-11EF-9A6B-5F0E8C1D2A47"


def test_the_query_output_gives_the_joined_record_and_never_the_private_key() -> None:
    key = parse(CAPTURED.read_text(encoding="utf-8"), "loja-pronta.pt")
    assert key.selector == SELECTOR
    assert key.name == f"{SELECTOR}._domainkey.loja-pronta.pt"
    assert key.txt.startswith("v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A")
    assert key.txt.endswith("IDAQAB")
    assert " " not in key.public_key and len(key.public_key) == 392
    assert "PRIVATE" not in repr(key) and "TESTONLY" not in repr(key)


def test_the_add_output_and_a_bare_signature_read_the_same() -> None:
    query = parse(CAPTURED.read_text(encoding="utf-8"), "loja-pronta.pt")
    signature = CAPTURED.read_text(encoding="utf-8").split("DKIM Public signature:\n")[1]
    signature = signature.split("DKIM Identity:")[0]
    added = (
        f"DKIM Data added to LDAP for domain loja-pronta.pt with selector {SELECTOR}\n"
        f"Public signature to enter into DNS:\n{signature}"
    )
    assert parse(added, "loja-pronta.pt") == query
    assert parse(signature, "LOJA-PRONTA.PT.") == query


def test_zone_file_strings_are_unescaped_and_joined() -> None:
    text = 'sel._domainkey IN TXT ( "v=DKIM1; k=rsa; " "p=AB\\"C" "\\068E" ) ; comment'
    assert record_text(text) == 'v=DKIM1; k=rsa; p=AB"CDE'
    assert public_key_of("v=DKIM1; p=AB CD\n EF") == "ABCDEF"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("No DKIM Information for domain loja-pronta.pt\n", "has no DKIM key"),
        ("DKIM Domain:\noutra.pt\n\nDKIM Selector:\nx\n", "not loja-pronta.pt"),
        ("hello\n", "no DKIM selector"),
        ('s._domainkey IN TXT ( "v=DKIM1; k=rsa; " )\n', "no valid p="),
        ('s._domainkey IN TXT ( "k=rsa; p=AAAA" )\n', "no public signature"),
    ],
)
def test_other_text_is_refused_with_the_reason(output: str, reason: str) -> None:
    with pytest.raises(DkimOutputError, match=reason):
        parse(output, "loja-pronta.pt")


async def test_the_commands_run_the_check_and_print_the_manual_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World()
    domain = "nocf-loja.pt"
    with dns_server(world.answer) as server:
        async with portal_on(tmp_path, world, server.address) as portal:
            await onboard(portal, "k1", domain)
        env = {
            "PORTAL_DB": str(tmp_path / "portal.db"),
            "OPS_WEBHOOK_SECRET": SECRET,
            "PORTAL_DNS_RESOLVERS": server.address,
        }
        captured = tmp_path / "dkim.txt"
        captured.write_text(CAPTURED.read_text(encoding="utf-8").replace("loja-pronta.pt", domain))
        # Not ready, but the check ran: exit 0, the items printed.
        assert await asyncio.to_thread(main, ["mail-check", domain], env) == 0
        assert await asyncio.to_thread(main, ["mail-check", "k1"], env) == 0
        # No such domain or session: it could not run.
        assert await asyncio.to_thread(main, ["mail-check", "outro.pt"], env) == 2
        out = capsys.readouterr()
        assert "lookup failed" not in out.err
        assert "nocf-loja.pt (session k1, manual): not ready" in out.out
        assert "  mx: pending (mx_missing)" in out.out
        assert "neither a session" in out.err
        code = await asyncio.to_thread(
            main, ["dkim", "publish", domain, "--file", str(captured), "--wait", "0"], env
        )
        assert code == 0
        printed = capsys.readouterr().out
        # Manual onboarding: the one joined record to publish, Cloudflare never asked.
        joined = parse(captured.read_text(encoding="utf-8"), domain).txt
        assert f"(as one value: {joined})" in printed
        assert "  dkim: pending (dkim_not_visible)" in printed
        assert "TESTONLY" not in printed
        wrong = await asyncio.to_thread(
            main, ["dkim", "publish", "outro.pt", "--file", str(captured), "--wait", "0"], env
        )
        assert wrong == 2


async def test_a_check_whose_lookups_failed_exits_3_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SERVFAIL says nothing about the records: the check ran but its result is
    incomplete, so a script can tell "not ready" (0) from "could not look" (3)."""
    world = World()
    domain = "nocf-falha.pt"
    with dns_server(world.answer) as server:
        async with portal_on(tmp_path, world, server.address) as portal:
            await onboard(portal, "k2", domain)
        capsys.readouterr()
        world.failing.update({domain, f"_dmarc.{domain}", f"autodiscover.{domain}"})
        env = {
            "PORTAL_DB": str(tmp_path / "portal.db"),
            "OPS_WEBHOOK_SECRET": SECRET,
            "PORTAL_DNS_RESOLVERS": server.address,
        }
        assert await asyncio.to_thread(main, ["mail-check", domain], env) == 3
    out = capsys.readouterr()
    assert f"{domain} (session k2, manual): not ready" in out.out
    assert "  mx: failed (dns_error)" in out.out
    assert "  dmarc: failed (dns_error)" in out.out
    assert out.err.strip() == (
        "vm112_portal: 4 lookups failed (mx, spf, dmarc, autodiscover): the result is "
        "incomplete; check PORTAL_DNS_RESOLVERS and run mail-check again."
    )
