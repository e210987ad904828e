"""The Portal application: ``create_app(settings)`` wires storage, clients and routes.

Resources open in the lifespan: the SQLite database, one httpx client for the providers
(shared by AsyncCloudflare and the Carbonio client), the outbox dispatcher (a thread with
its own loop, Ops client and connection: vm112_portal/outbox/dispatcher.py) and the hourly
outbox purge (vm112_portal/retention.py). In
sandbox mode the fake providers are mounted at /sandbox and the real clients call them over
HTTP. One metrics registry per app (vm112_portal/metrics.py) is fed by the access log, the
dispatcher and both clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from cloudflare import AsyncCloudflare
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from servicekit.background import stop
from servicekit.headers import SecurityHeaders, content_security_policy
from servicekit.logs.access import AccessLog
from vm112_portal import openapi, retention, routes
from vm112_portal.db import Database
from vm112_portal.domains import DnsLookup, DomainChecker, NoLookup
from vm112_portal.mail_check import MailChecker, MailDns, ResolverDns
from vm112_portal.metrics import PortalMetrics
from vm112_portal.outbox.dispatcher import Dispatcher
from vm112_portal.outbox.in_flight import CountRequests, InFlight
from vm112_portal.outbox.ops_webhook import RetryPolicy, emit_event, emit_nothing
from vm112_portal.ownership import DnsTxt, NoTxt, Ownership, TxtResolver
from vm112_portal.providers.carbonio import CarbonioClient, cookieless_client
from vm112_portal.providers.cloudflare_dns import CallBudget, CloudflareDns
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.providers.sandbox.dns import SandboxDns
from vm112_portal.resolvers import DnsTxt as TxtRecords
from vm112_portal.resolvers import resolver_for
from vm112_portal.settings import Settings, tls_verify
from vm112_portal.state import AppState
from vm112_portal.throttle import Throttle, limits_of
from vm112_portal.wizard import Wizard

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The wizard posts no form (its API is JSON): form-action 'none'.
SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(form_action="'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

log = logging.getLogger("vm112_portal")


def mail_lookup(settings: Settings, sandbox: Sandbox | None, *, shows: bool = True) -> MailDns:
    """The world's DNS for the mail check and for manual mode's previous provider (the
    wizard's MX lookup at the DNS step): PORTAL_DNS_RESOLVERS (or the host's) in live mode
    or when set; the sandbox's table in sandbox mode without resolvers. ``shows``: the
    answers reach the customer as records still to publish (the mail check's; in the
    sandbox a ``nocflater…`` customer publishes once shown them, sandbox/dns.py)."""
    if sandbox is not None and not settings.dns_resolvers:
        return SandboxDns(sandbox, settings.mail_host, shows_customer=shows)
    return ResolverDns(
        resolver_for(settings.dns_resolvers, settings.dns_timeout), settings.dns_timeout
    )


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})


def create_app(
    settings: Settings,
    *,
    ops_transport: httpx.AsyncBaseTransport | None = None,
    providers_in_process: bool = False,
    sandbox: Sandbox | None = None,
    proof_resolver: TxtResolver | None = None,
) -> Starlette:
    """Build the portal.

    ``ops_transport`` replaces the network for the Ops client (tests: MockTransport or the
    real Ops app through ASGITransport). ``providers_in_process`` makes the provider
    clients call this very app in-process instead of over a socket (sandbox only).
    ``proof_resolver`` replaces the DNS TXT lookups of the proof of control (tests).
    """
    if settings.sandbox and sandbox is None:
        sandbox = Sandbox(
            admin_user=settings.carbonio_admin_user,
            admin_password=settings.carbonio_admin_password,
            cloudflare_latency=settings.sandbox_cloudflare_latency_ms / 1000,
            carbonio_latency=settings.sandbox_carbonio_latency_ms / 1000,
            cloudflare_token=settings.cloudflare_api_token,
            mail_host=settings.mail_host,
        )
    metrics = PortalMetrics()
    in_flight = InFlight()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.db_path)
        await db.open()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(db.close)
            provider_transport = (
                httpx.ASGITransport(app=app) if providers_in_process and settings.sandbox else None
            )
            provider_http = httpx.AsyncClient(
                transport=provider_transport,
                timeout=settings.provider_timeout,
                verify=tls_verify(settings.cloudflare_ca_file),
            )
            stack.push_async_callback(provider_http.aclose)
            # No SDK retry: after a 429 Cloudflare blocks the token for up to 5 minutes and
            # the SDK's retry (retry-after honoured up to 60 s) lands inside the block;
            # CloudflareDns waits as told and the wizard answers 503.
            cloudflare = AsyncCloudflare(
                api_token=settings.cloudflare_api_token,
                base_url=settings.cloudflare_base_url,
                http_client=provider_http,
                max_retries=0,
                timeout=settings.provider_timeout,
            )
            # Carbonio's own client keeps no cookies: its ZM_ADMIN_AUTH_TOKEN cookie would
            # ride along with a re-login after the token expired (vm112_portal/carbonio.py).
            carbonio_http = cookieless_client(
                provider_transport,
                settings.provider_timeout,
                verify=tls_verify(settings.carbonio_ca_file),
            )
            stack.push_async_callback(carbonio_http.aclose)
            carbonio = CarbonioClient(
                carbonio_http,
                url=settings.carbonio_admin_url,
                user=settings.carbonio_admin_user,
                password=settings.carbonio_admin_password,
                timeout=settings.provider_timeout,
                metrics=metrics,
            )
            # One resolver for every lookup of the Portal (PORTAL_DNS_RESOLVERS).
            resolver = resolver_for(settings.dns_resolvers, settings.dns_timeout)
            txt_records = TxtRecords(resolver, settings.dns_timeout)
            checker: DomainChecker = (
                NoLookup() if settings.sandbox else DnsLookup(settings.dns_timeout, resolver)
            )
            dispatcher = Dispatcher(
                db,
                ops_url=settings.ops_url,
                secret=settings.webhook_secret,
                policy=RetryPolicy(
                    timeout=settings.ops_timeout,
                    backoff_base=settings.backoff_base,
                    backoff_max=settings.backoff_max,
                    max_age=settings.outbox_max_age,
                    poll=settings.outbox_poll,
                ),
                metrics=metrics,
                transport=ops_transport,
                in_flight=in_flight,
            )
            if settings.emit:
                await dispatcher.start()
                stack.push_async_callback(dispatcher.stop)
            else:
                log.warning("PORTAL_EMIT=off: wizard steps emit no events to Ops")
            ownership = Ownership(
                db,
                hold_seconds=settings.domain_hold_seconds,
                proof_required=settings.domain_proof,
                resolver=proof_resolver
                or (DnsTxt(txt_records) if settings.domain_proof else NoTxt()),
                delegated_admin=settings.delegated_admin,
            )
            wizard = Wizard(
                db,
                settings,
                checker,
                CloudflareDns(
                    cloudflare,
                    metrics,
                    # SPF planning follows includes: the sandbox answers from its own
                    # table, live mode asks PORTAL_DNS_RESOLVERS.
                    txt=sandbox.txt if sandbox is not None and settings.sandbox else txt_records,
                    # PORTAL_RATE_LIMITS=off (load tests against the sandbox) lifts this
                    # limit of the Portal's own too.
                    budget=CallBudget(
                        settings.cloudflare_calls_per_5min if settings.rate_limits else sys.maxsize
                    ),
                ),
                carbonio,
                ownership,
                emit=emit_event if settings.emit else emit_nothing,
                previous_mx=mail_lookup(settings, sandbox, shows=False),
            )
            mail = MailChecker(
                db,
                mail_lookup(settings, sandbox),
                settings.mail_host,
                emit_event if settings.emit else emit_nothing,
            )
            app.state.portal = AppState(
                settings=settings,
                db=db,
                metrics=metrics,
                wizard=wizard,
                sandbox=sandbox,
                ownership=ownership,
                throttle=Throttle(limits_of(settings)) if settings.rate_limits else None,
                mail=mail if settings.mail_check else None,
            )
            if settings.mail_check:
                checks = asyncio.create_task(mail.run_periodically(), name="portal-mail-checks")
                stack.push_async_callback(stop, checks)
            purger = asyncio.create_task(
                retention.purge_periodically(db, settings.retention_days),
                name="portal-retention",
            )
            stack.push_async_callback(stop, purger)
            yield

    api = "/api/v1/onboarding"
    route_list: list[BaseRoute] = [
        Route("/", index, methods=["GET"], name="index"),
        Route("/healthz", routes.healthz, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi.endpoint, methods=["GET"], name="openapi"),
        Route("/metrics", routes.metrics, methods=["GET"], name="metrics"),
        Route(
            f"{api}/validate-domain",
            routes.validate_domain,
            methods=["POST"],
            name="validate_domain",
        ),
        Route(f"{api}/dns/cloudflare/plan", routes.plan_dns, methods=["POST"], name="plan_dns"),
        Route(f"{api}/dns/cloudflare/apply", routes.apply_dns, methods=["POST"], name="apply_dns"),
        Route(
            f"{api}/account/create", routes.create_account, methods=["POST"], name="create_account"
        ),
        Route(f"{api}/mail/check", routes.check_mail, methods=["POST"], name="check_mail"),
        Route(f"{api}/restart", routes.restart, methods=["POST"], name="restart"),
        Route(f"{api}/support", routes.support, methods=["GET"], name="support"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    if settings.sandbox and sandbox is not None:
        # Only with sandbox providers: with live ones nothing may answer as a provider.
        route_list.append(Mount("/sandbox", app=sandbox.app(), name="sandbox"))
    return Starlette(
        routes=route_list,
        middleware=[
            # Outermost: sees every answer, errors included.
            Middleware(AccessLog, logger="vm112_portal.access", on_response=metrics.count_request),
            Middleware(SecurityHeaders, headers=SECURITY_HEADERS),
            # The outbox dispatcher waits for a moment with no request in flight.
            Middleware(CountRequests, in_flight=in_flight),
        ],
        exception_handlers=routes.EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
