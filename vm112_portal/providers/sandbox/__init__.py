"""Local stand-ins for Cloudflare and Carbonio, speaking their wire formats over HTTP.

Mounted in the portal at /sandbox, so the real clients (``cloudflare.AsyncCloudflare`` and
``CarbonioClient``) call them exactly as they would call the providers. Each behaviour is
copied from the provider's public source or documentation, named beside the rule:
Cloudflare in vm112_portal/providers/sandbox/cloudflare.py, Carbonio in
vm112_portal/providers/sandbox/carbonio.py, and the zones a person can try by hand (chosen by the
domain's first label: ``m365…``, ``cpanel…``, ``spf…``, ``dmarc…``, ``nocf…``) in
vm112_portal/providers/sandbox/zones.py. docs/portal.md lists them.

State is in memory: it lasts as long as the process. Optional latency per provider
(seconds), for benchmarks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vm112_portal.providers.sandbox.carbonio import TOKEN_LIFETIME, FakeCarbonio, soap_fault
from vm112_portal.providers.sandbox.cloudflare import FakeCloudflare
from vm112_portal.providers.sandbox.spf_table import SandboxTxt
from vm112_portal.providers.sandbox.zones import SANDBOX_MAIL_HOST

__all__ = ["Sandbox", "soap_fault"]

Endpoint = Callable[[Request], Awaitable[Response]]


def _delayed(
    endpoint: Endpoint,
    seconds: Callable[[], float],
    gate: Callable[[Request], Response | None] | None = None,
) -> Endpoint:
    async def handle(request: Request) -> Response:
        await asyncio.sleep(seconds())
        refused = gate(request) if gate is not None else None
        return refused if refused is not None else await endpoint(request)

    return handle


class Sandbox:
    """Both stand-ins, and the shortcuts tests use (records, accounts, tokens...)."""

    def __init__(
        self,
        admin_user: str,
        admin_password: str,
        *,
        cloudflare_latency: float = 0.0,
        carbonio_latency: float = 0.0,
        cloudflare_token: str = "sandbox-token",  # noqa: S107 (the sandbox's default)
        fault_status: int = 422,
        token_lifetime: float = TOKEN_LIFETIME,
        mail_host: str = SANDBOX_MAIL_HOST,
    ) -> None:
        self.cloudflare_latency = cloudflare_latency
        self.carbonio_latency = carbonio_latency
        self.cloudflare = FakeCloudflare(token=cloudflare_token, mail_host=mail_host)
        # nocf… domains' records at the customer's own DNS host (sandbox/dns.py).
        self.customer_dns: dict[str, list[dict[str, Any]]] = {}
        # nocflater… domains whose customer a mail check has shown the records to publish.
        self.customer_shown: set[str] = set()
        # TXT answers for SPF planning: the zones and well-known providers' SPF records.
        self.txt = SandboxTxt(self.cloudflare)
        # One log of every provider call, in order: Carbonio's and Cloudflare's together.
        self.calls: list[str] = []
        self.cloudflare.calls = self.calls
        self.carbonio = FakeCarbonio(
            admin_user=admin_user,
            admin_password=admin_password,
            fault_status=fault_status,
            token_lifetime=token_lifetime,
            calls=self.calls,
        )

    def __repr__(self) -> str:
        return f"Sandbox(admin_user={self.carbonio.admin_user!r})"

    # -- shortcuts --------------------------------------------------------------------

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        return self.cloudflare.records

    @property
    def domains(self) -> dict[str, dict[str, Any]]:
        return self.carbonio.domains

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return self.carbonio.accounts

    @property
    def tokens(self) -> dict[str, float]:
        return self.carbonio.tokens

    @property
    def admin_password(self) -> str:
        return self.carbonio.admin_password

    @admin_password.setter
    def admin_password(self, value: str) -> None:
        self.carbonio.admin_password = value

    def expire_tokens(self) -> None:
        """Make every Carbonio auth token stale (the next use faults AUTH_EXPIRED)."""
        self.carbonio.expire_tokens()

    def app(self) -> Starlette:
        cf = self.cloudflare

        def cf_delay() -> float:
            return self.cloudflare_latency

        def carbonio_delay() -> float:
            return self.carbonio_latency

        base = "/cloudflare/client/v4"
        return Starlette(
            routes=[
                Route(
                    f"{base}/zones",
                    _delayed(cf.list_zones, cf_delay, cf.gate),
                    methods=["GET"],
                    name="cloudflare_zones",
                ),
                Route(
                    f"{base}/user/tokens/verify",
                    _delayed(cf.verify_token, cf_delay, cf.gate),
                    methods=["GET"],
                    name="cloudflare_token_verify",
                ),
                Route(
                    f"{base}/zones/{{zone_id}}/dns_records",
                    _delayed(cf.dns_records, cf_delay, cf.gate),
                    methods=["GET", "POST"],
                    name="cloudflare_dns_records",
                ),
                Route(
                    f"{base}/zones/{{zone_id}}/dns_records/batch",
                    _delayed(cf.batch, cf_delay, cf.gate),
                    methods=["POST"],
                    name="cloudflare_dns_batch",
                ),
                Route(
                    f"{base}/zones/{{zone_id}}/dns_records/{{record_id}}",
                    _delayed(cf.dns_record, cf_delay, cf.gate),
                    methods=["PATCH", "DELETE"],
                    name="cloudflare_dns_record",
                ),
                Route(
                    "/carbonio/service/admin/soap",
                    _delayed(self.carbonio.soap, carbonio_delay),
                    methods=["POST"],
                    name="carbonio_soap",
                ),
            ]
        )
