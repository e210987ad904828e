"""Issue 23, item 8: Carbonio's admin port (7071) usually has a self-signed certificate.

The sandbox stand-ins served over TLS on 127.0.0.1 with a certificate the test makes
(``openssl req -x509``): without CARBONIO_CA_FILE / CLOUDFLARE_CA_FILE the client and
``check-providers`` name the failure as TLS (not "could not be reached"); with the CA
file the same calls work.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.runner import Loopback
from vm112_portal.__main__ import main
from vm112_portal.errors import ProviderError
from vm112_portal.providers.carbonio import CarbonioClient, cookieless_client
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.settings import tls_verify

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (what a fresh Carbonio install has)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_sandbox(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    cert, key = self_signed(tmp_path)
    sandbox = Sandbox(admin_user="admin@x.example", admin_password="pw-sandbox")
    server = Loopback(options={"ssl_certfile": str(cert), "ssl_keyfile": str(key)})
    await server.start(sandbox.app())
    try:
        yield f"https://127.0.0.1:{server.port}", cert
    finally:
        await server.stop()


async def test_carbonio_self_signed_is_named_tls_and_works_with_the_ca_file(
    tls_sandbox: tuple[str, Path],
) -> None:
    origin, cert = tls_sandbox
    url = f"{origin}/carbonio/service/admin/soap"
    async with cookieless_client(timeout=5) as http:
        client = CarbonioClient(http, url=url, user="admin@x.example", password="pw-sandbox")
        with pytest.raises(ProviderError) as refused:
            await client.authenticate()
    assert refused.value.kind == "tls"
    assert "TLS" in refused.value.reason and "CARBONIO_CA_FILE" in refused.value.reason
    assert "could not be reached" not in refused.value.reason
    async with cookieless_client(timeout=5, verify=tls_verify(cert)) as http:
        client = CarbonioClient(http, url=url, user="admin@x.example", password="pw-sandbox")
        assert await client.authenticate()
        assert (await client.version())["version"].startswith("25.6")


async def test_check_providers_names_tls_and_passes_with_the_ca_files(
    tls_sandbox: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, cert = tls_sandbox
    env = {
        "PORTAL_PROVIDERS": "live",
        "PORTAL_DB": str(tmp_path / "portal.db"),
        "OPS_WEBHOOK_SECRET": "whsec_" + "A" * 32,
        "CLOUDFLARE_BASE_URL": f"{origin}/cloudflare/client/v4",
        "CLOUDFLARE_API_TOKEN": "sandbox-token",
        "CARBONIO_ADMIN_URL": f"{origin}/carbonio/service/admin/soap",
        "CARBONIO_ADMIN_USER": "admin@x.example",
        "CARBONIO_ADMIN_PASSWORD": "pw-sandbox",
        "PORTAL_MAIL_HOST": "mail.example.net",
        "PORTAL_PROVIDER_TIMEOUT": "5",
    }
    assert await asyncio.to_thread(main, ["check-providers"], env) == 2
    err = capsys.readouterr().err
    assert "Cloudflare" in err and "TLS" in err and "CLOUDFLARE_CA_FILE" in err
    with_cloudflare_ca = {**env, "CLOUDFLARE_CA_FILE": str(cert)}
    assert await asyncio.to_thread(main, ["check-providers"], with_cloudflare_ca) == 2
    err = capsys.readouterr().err
    assert "Carbonio" in err and "TLS" in err and "CARBONIO_CA_FILE" in err
    both = {**with_cloudflare_ca, "CARBONIO_CA_FILE": str(cert)}
    assert await asyncio.to_thread(main, ["check-providers"], both) == 0
    out = capsys.readouterr().out
    assert "Cloudflare: token active" in out and "Carbonio: admin login" in out
