"""Portal configuration, read once from the environment into a frozen dataclass.

Secrets (the webhook key, the Cloudflare token, the Carbonio password, the metrics token)
never appear in the repr, so logging the settings cannot leak them.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from servicekit.contract import RELEASE as RELEASE_PATTERN
from servicekit.settings import env_int, printable_token, webhook_secret
from vm112_portal.errors import ConfigError
from vm112_portal.release import RELEASE
from vm112_portal.support import SupportContact, parse_support_contact

_HOSTNAME = re.compile(r"^(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")

Providers = Literal["sandbox", "live"]


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8090
    db_path: Path = Path("var/portal.db")
    ops_url: str = "http://127.0.0.1:8080"
    webhook_secret: bytes = field(default=b"", repr=False)
    providers: Providers = "sandbox"
    cloudflare_base_url: str = "http://127.0.0.1:8090/sandbox/cloudflare/client/v4"
    cloudflare_api_token: str = field(default="sandbox-token", repr=False)
    carbonio_admin_url: str = "http://127.0.0.1:8090/sandbox/carbonio/service/admin/soap"
    carbonio_admin_user: str = "admin@sandbox.invalid"
    carbonio_admin_password: str = field(default="sandbox", repr=False)
    mail_host: str = "mail.sandbox.example.net"
    # Resolvers for live validation, (address, port); empty: the system's (resolv.conf).
    dns_resolvers: tuple[tuple[str, int], ...] = ()
    plan: str = "starter"
    mailbox_quota_mb: int = 5120
    # Timeouts in seconds: one Ops delivery attempt, one provider call, one DNS lookup.
    ops_timeout: float = 5.0
    provider_timeout: float = 10.0
    dns_timeout: float = 3.0
    # Outbox retry policy (seconds).
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    outbox_max_age: float = 86400.0
    outbox_poll: float = 1.0
    # Artificial latency of the sandbox providers, for benchmarks (milliseconds).
    sandbox_cloudflare_latency_ms: int = 0
    sandbox_carbonio_latency_ms: int = 0
    # Delivered outbox rows older than this are pruned (dead letters are kept).
    retention_days: int = 90
    # Bearer token of GET /metrics; empty: metrics disabled (404).
    metrics_token: str = field(default="", repr=False)
    # Domain ownership (vm112_portal/ownership.py): how long an unfinished session holds
    # its domain after its last activity; proof of control by a TXT record before any
    # provider write (default on in live mode); the first account a delegated admin.
    domain_hold_seconds: float = 3600.0
    domain_proof: bool = False
    delegated_admin: bool = False
    # Rate limits on the wizard's writes (vm112_portal/throttle.py): per client address and
    # for the whole portal. Off only for load tests and benchmarks.
    rate_limits: bool = True
    rate_writes_per_minute: int = 30
    rate_writes_global_per_minute: int = 300
    rate_provider_steps_per_hour: int = 20
    # At most this many provider steps at once from one address (an IPv6 /56: twice it).
    rate_provider_burst: int = 6
    rate_provider_steps_global_per_minute: int = 20
    # Open connections (and running requests) the server takes before answering 503:
    # uvicorn's limit_concurrency, well under the unit's LimitNOFILE.
    max_connections: int = 512
    # Emission of events to Ops; off only for benchmarks measuring its cost (no event is
    # queued while off, so nothing reaches Ops for those steps, ever).
    emit: bool = True
    # The mail check (vm112_portal/mail_check.py): at the account step, "check again" and
    # on its schedule. Off: none of them runs (tests that count the six stage events).
    mail_check: bool = True
    # The class of service whose password limits the account step checks before it
    # creates anything (GetCosRequest); the Portal's share of Cloudflare's 1,200 calls
    # per 5 minutes; CA bundles (PEM) for each HTTPS provider, e.g. Carbonio's
    # self-signed admin port 7071.
    carbonio_cos: str = "default"
    cloudflare_calls_per_5min: int = 900
    carbonio_ca_file: Path | None = None
    cloudflare_ca_file: Path | None = None
    # Who customers contact when a step fails (PORTAL_SUPPORT_CONTACT): shown on every
    # error and on the last page of the wizard.
    support_contact: SupportContact = field(default_factory=SupportContact)
    # The release onboarding.started names (PORTAL_RELEASE): the package's version unless
    # the operator names the build; None when neither is known (Ops: unknown).
    release: str | None = RELEASE

    @property
    def sandbox(self) -> bool:
        return self.providers == "sandbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        host = _get(env, "PORTAL_HOST", "127.0.0.1")
        port = env_int(env, "PORTAL_PORT", 8090, 1, 65535)
        providers = _get(env, "PORTAL_PROVIDERS", "sandbox").lower()
        if providers not in ("sandbox", "live"):
            raise ConfigError("PORTAL_PROVIDERS must be sandbox or live.")
        base = Settings()
        if providers == "sandbox":
            self_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
            if ":" in self_host:
                self_host = f"[{self_host}]"
            origin = f"http://{self_host}:{port}/sandbox"
            cf_url = _url(env, "CLOUDFLARE_BASE_URL", f"{origin}/cloudflare/client/v4")
            carbonio_url = _url(env, "CARBONIO_ADMIN_URL", f"{origin}/carbonio/service/admin/soap")
            cf_token = _get(env, "CLOUDFLARE_API_TOKEN", base.cloudflare_api_token)
            user = _get(env, "CARBONIO_ADMIN_USER", base.carbonio_admin_user)
            password = env.get("CARBONIO_ADMIN_PASSWORD", "") or base.carbonio_admin_password
            mail_host = _hostname(env, "PORTAL_MAIL_HOST", base.mail_host)
        else:
            cf_url = _url(env, "CLOUDFLARE_BASE_URL", "https://api.cloudflare.com/client/v4")
            carbonio_url = _required_url(env, "CARBONIO_ADMIN_URL")
            cf_token = _required(env, "CLOUDFLARE_API_TOKEN")
            user = _required(env, "CARBONIO_ADMIN_USER")
            password = env.get("CARBONIO_ADMIN_PASSWORD", "")
            if not password:
                raise ConfigError("CARBONIO_ADMIN_PASSWORD is required when PORTAL_PROVIDERS=live.")
            mail_host = _hostname(env, "PORTAL_MAIL_HOST", None)
        return cls(
            host=host,
            port=port,
            db_path=database_path(env),
            ops_url=_url(env, "OPS_URL", base.ops_url).rstrip("/"),
            webhook_secret=parse_webhook_secret(env.get("OPS_WEBHOOK_SECRET", "")),
            providers="sandbox" if providers == "sandbox" else "live",
            cloudflare_base_url=cf_url.rstrip("/"),
            cloudflare_api_token=cf_token,
            carbonio_admin_url=carbonio_url,
            carbonio_admin_user=user,
            carbonio_admin_password=password,
            mail_host=mail_host,
            dns_resolvers=parse_resolvers(env.get("PORTAL_DNS_RESOLVERS", "")),
            plan=_get(env, "PORTAL_PLAN", base.plan),
            mailbox_quota_mb=env_int(
                env, "PORTAL_MAILBOX_QUOTA_MB", base.mailbox_quota_mb, 1, 10**7
            ),
            ops_timeout=_seconds(env, "PORTAL_OPS_TIMEOUT", base.ops_timeout, 0.05, 120),
            provider_timeout=_seconds(
                env, "PORTAL_PROVIDER_TIMEOUT", base.provider_timeout, 0.05, 120
            ),
            backoff_max=_seconds(env, "PORTAL_OUTBOX_BACKOFF_MAX", base.backoff_max, 0.01, 3600),
            outbox_max_age=_seconds(
                env, "PORTAL_OUTBOX_MAX_AGE", base.outbox_max_age, 1, 30 * 86400
            ),
            sandbox_cloudflare_latency_ms=env_int(
                env, "PORTAL_SANDBOX_CLOUDFLARE_LATENCY_MS", 0, 0, 60000
            ),
            sandbox_carbonio_latency_ms=env_int(
                env, "PORTAL_SANDBOX_CARBONIO_LATENCY_MS", 0, 0, 60000
            ),
            emit=_switch(env, "PORTAL_EMIT"),
            mail_check=_switch(env, "PORTAL_MAIL_CHECK"),
            domain_hold_seconds=60.0 * env_int(env, "PORTAL_DOMAIN_HOLD_MINUTES", 60, 1, 10080),
            domain_proof=_switch(
                env, "PORTAL_DOMAIN_PROOF", "on" if providers == "live" else "off"
            ),
            delegated_admin=_switch(env, "PORTAL_DELEGATED_ADMIN", "off"),
            rate_limits=_switch(env, "PORTAL_RATE_LIMITS", "on"),
            max_connections=env_int(env, "PORTAL_MAX_CONNECTIONS", 512, 16, 60000),
            rate_writes_per_minute=env_int(env, "PORTAL_RATE_WRITES_PER_MINUTE", 30, 1, 10**6),
            rate_writes_global_per_minute=env_int(
                env, "PORTAL_RATE_WRITES_GLOBAL_PER_MINUTE", 300, 1, 10**6
            ),
            rate_provider_steps_per_hour=env_int(
                env, "PORTAL_RATE_PROVIDER_STEPS_PER_HOUR", 20, 1, 10**6
            ),
            rate_provider_burst=env_int(env, "PORTAL_RATE_PROVIDER_BURST", 6, 1, 10**6),
            rate_provider_steps_global_per_minute=env_int(
                env, "PORTAL_RATE_PROVIDER_STEPS_GLOBAL_PER_MINUTE", 20, 1, 10**6
            ),
            retention_days=read_retention_days(env),
            carbonio_cos=_get(env, "PORTAL_CARBONIO_COS", "default"),
            cloudflare_calls_per_5min=env_int(
                env, "PORTAL_CLOUDFLARE_CALLS_PER_5MIN", 900, 1, 1200
            ),
            carbonio_ca_file=_ca_file(env, "CARBONIO_CA_FILE"),
            cloudflare_ca_file=_ca_file(env, "CLOUDFLARE_CA_FILE"),
            metrics_token=parse_metrics_token(env.get("PORTAL_METRICS_TOKEN", "")),
            support_contact=parse_support_contact(env.get("PORTAL_SUPPORT_CONTACT", "")),
            release=parse_release(env.get("PORTAL_RELEASE", "")),
        )


def parse_release(raw: str) -> str | None:
    """PORTAL_RELEASE: the release the breakdowns split by, as the contract takes it
    (servicekit.contract.RELEASE: 1-32 characters, a digit first, then digits, letters,
    ``.``, ``+``, ``-``); unset or empty, the package's version (vm112_portal/release.py)."""
    value = raw.strip()
    if not value:
        return RELEASE
    if not RELEASE_PATTERN.match(value):
        raise ConfigError(
            "PORTAL_RELEASE must be 1 to 32 characters, a digit first, then digits, "
            "letters, '.', '+' or '-' (e.g. 2.0.1+g1a2b3c)."
        )
    return value


def database_path(env: Mapping[str, str]) -> Path:
    """PORTAL_DB: all the maintenance commands read (they need no secret)."""
    return Path(_get(env, "PORTAL_DB", "var/portal.db"))


def read_retention_days(env: Mapping[str, str]) -> int:
    """PORTAL_RETENTION_DAYS: also read by ``purge`` without the rest of the settings."""
    return env_int(env, "PORTAL_RETENTION_DAYS", 90, 1, 3650)


def parse_metrics_token(raw: str) -> str:
    """Empty (metrics disabled), or 16-256 printable characters without spaces."""
    token = raw.strip()
    return printable_token(token, "PORTAL_METRICS_TOKEN") if token else ""


def parse_webhook_secret(raw: str) -> bytes:
    """``whsec_<base64>`` decoding to 24-64 bytes (the same secret as Ops)."""
    value = raw.strip()
    if not value:
        raise ConfigError(
            "OPS_WEBHOOK_SECRET is not set: give the whsec_<base64> secret that Ops uses."
        )
    # During a rotation Ops accepts several secrets; the portal signs with the first.
    return webhook_secret(value.split()[0])


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required when PORTAL_PROVIDERS=live.")
    return value


def _switch(env: Mapping[str, str], name: str, default: str = "on") -> bool:
    value = _get(env, name, default).lower()
    if value not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off.")
    return value == "on"


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds from {low:g} to {high:g}.")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    return _check_url(name, raw) if raw else default


def _required_url(env: Mapping[str, str], name: str) -> str:
    return _check_url(name, _required(env, name))


def _check_url(name: str, raw: str) -> str:
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw[:80]!r}.")
    return raw


def _hostname(env: Mapping[str, str], name: str, default: str | None) -> str:
    raw = env.get(name, "").strip().lower().rstrip(".")
    if not raw:
        if default is None:
            raise ConfigError(f"{name} is required when PORTAL_PROVIDERS=live.")
        return default
    if not _HOSTNAME.match(raw):
        raise ConfigError(f"{name} must be a host name such as mail.example.com.")
    return raw


def _ca_file(env: Mapping[str, str], name: str) -> Path | None:
    """A CA bundle (PEM) that must exist and be readable, or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{name}: {raw[:120]} cannot be read ({exc.strerror}).") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigError(f"{name}: {raw[:120]} holds no PEM certificate.")
    return path


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify`` for a provider: the system's CAs, or only the given bundle."""
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


def parse_resolvers(raw: str) -> tuple[tuple[str, int], ...]:
    """PORTAL_DNS_RESOLVERS: comma-separated ``address[:port]`` (IPv6 as ``[addr]:port``)."""
    found: list[tuple[str, int]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        address, port = item, 53
        if item.startswith("["):
            address, _, rest = item[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"), item)
        elif item.count(":") == 1:
            address, _, text = item.partition(":")
            port = _port(text, item)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(
                f"PORTAL_DNS_RESOLVERS: {item[:60]!r} is not an IP address[:port]; give e.g. "
                "9.9.9.9,1.1.1.1:53,[2620:fe::fe]:53."
            ) from None
        found.append((address, port))
    return tuple(found)


def _port(text: str, item: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ConfigError(f"PORTAL_DNS_RESOLVERS: the port of {item[:60]!r} must be 1-65535.")
    return int(text)
