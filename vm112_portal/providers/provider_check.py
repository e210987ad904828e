"""``python -m vm112_portal check-providers``: read-only calls with the configured
credentials, so an operator can check a deployment without onboarding a domain.

Cloudflare: GET /user/tokens/verify (the token is active) and GET /zones (what it can see).
Carbonio: AuthRequest with the admin account, then GetVersionInfoRequest. Nothing is
written anywhere. A failure is one sentence naming the provider and what to check; the
command then exits 2. Secrets never appear in the output.
"""

from __future__ import annotations

import cloudflare
import httpx
from cloudflare import AsyncCloudflare

from vm112_portal.errors import CarbonioFault, PortalError, ProviderError
from vm112_portal.providers.carbonio import CarbonioClient, cookieless_client, tls_failure
from vm112_portal.settings import Settings, tls_verify


class ProviderCheckFailed(PortalError):
    """A provider refused or could not be reached; the message is one sentence."""


async def check_providers(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> list[str]:
    """What each provider answered, one line each; raises ProviderCheckFailed."""
    return [*await _cloudflare(settings, transport), *await _carbonio(settings, transport)]


async def _cloudflare(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> list[str]:
    where = settings.cloudflare_base_url
    async with httpx.AsyncClient(
        transport=transport,
        timeout=settings.provider_timeout,
        verify=tls_verify(settings.cloudflare_ca_file),
    ) as http:
        client = AsyncCloudflare(
            api_token=settings.cloudflare_api_token,
            base_url=where,
            http_client=http,
            max_retries=0,
            timeout=settings.provider_timeout,
        )
        try:
            token = await client.user.tokens.verify()
            zones = await client.zones.list(per_page=50)
        except cloudflare.APIStatusError as exc:
            raise ProviderCheckFailed(
                f"Cloudflare at {where} refused the API token (HTTP {exc.status_code}): "
                "check CLOUDFLARE_API_TOKEN and its Zone:Read and DNS:Edit permissions."
            ) from None
        except cloudflare.APIConnectionError as exc:
            tls = tls_failure(exc)
            if tls is not None:
                raise ProviderCheckFailed(
                    f"Cloudflare at {where}: its TLS certificate was refused ({tls}): set "
                    "CLOUDFLARE_CA_FILE to the CA that signed it, or check "
                    "CLOUDFLARE_BASE_URL."
                ) from None
            raise ProviderCheckFailed(
                f"Cloudflare at {where} could not be reached: check CLOUDFLARE_BASE_URL and "
                "the network."
            ) from None
    status = getattr(token, "status", None) or "unknown"
    names = [zone.name for zone in zones.result]
    info = getattr(zones, "result_info", None)
    total = getattr(info, "total_count", None)
    count = total if isinstance(total, int) else len(names)
    shown = ", ".join(names[:5]) + (", …" if count > 5 else "")
    return [
        f"Cloudflare: token {status}; {count} zone(s) visible" + (f": {shown}" if names else "")
    ]


async def _carbonio(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> list[str]:
    where = settings.carbonio_admin_url
    async with cookieless_client(
        transport, settings.provider_timeout, verify=tls_verify(settings.carbonio_ca_file)
    ) as http:
        client = CarbonioClient(
            http,
            url=where,
            user=settings.carbonio_admin_user,
            password=settings.carbonio_admin_password,
            timeout=settings.provider_timeout,
        )
        try:
            await client.authenticate()
            version = await client.version()
        except CarbonioFault as fault:
            if fault.code == "account.AUTH_FAILED":
                raise ProviderCheckFailed(
                    f"Carbonio at {where} refused the admin login of "
                    f"{settings.carbonio_admin_user} (account.AUTH_FAILED): check "
                    "CARBONIO_ADMIN_USER and CARBONIO_ADMIN_PASSWORD."
                ) from None
            raise ProviderCheckFailed(
                f"Carbonio at {where} answered the fault {fault.code}: {fault.reason[:200]}."
            ) from None
        except ProviderError as exc:
            if exc.kind == "tls":
                raise ProviderCheckFailed(f"Carbonio at {where}: {exc.reason}.") from None
            raise ProviderCheckFailed(
                f"Carbonio at {where}: {exc.reason}; check CARBONIO_ADMIN_URL and the network."
            ) from None
    release = version.get("version", "unknown version")
    return [f"Carbonio: admin login of {settings.carbonio_admin_user} works; {release}"]
