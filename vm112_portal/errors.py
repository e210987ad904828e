"""Exceptions of the Portal service: the shared ones (servicekit/errors.py) and its own.

PortalError (servicekit.errors.ServiceError)
├── ConfigError                bad or missing environment; the CLI exits with code 2
├── StorageUnavailable         the portal's SQLite cannot be written (answered 503)
├── RequestError               a rejected wizard request, answered with the JSON envelope
│   ├── BadRequest             400 malformed JSON, missing or invalid field, invalid domain
│   ├── Forbidden              403 live mode: control of the domain not proven yet
│   ├── PayloadTooLarge        413 body over the limit
│   ├── UnsupportedMediaType   415 not JSON
│   ├── Forbidden              403 also: the request does not hold the session's secret
│   ├── Reported               a refusal whose answer carries ``fields`` for the page
│   │   ├── OutOfOrder         409 a wizard step called before the one it needs
│   │   │   └── DomainTaken    409 another session onboarded or holds the domain
│   │   ├── UpstreamFailed     502 a provider failed or answered something unusable
│   │   └── UpstreamTimeout    504 a provider did not answer in time
│   ├── Unprocessable          422 well-formed input the provider refused, a domain we
│   │                              never host, bidi or zero-width characters in a domain
│   ├── TooManyRequests        429 over a wizard rate limit; ``retry_after`` in seconds
│   ├── UpstreamFailed         502 a provider failed or answered something unusable
│   ├── ProviderBusy           503 a provider's rate limit: ask again after ``retry_after``
│   └── UpstreamTimeout        504 a provider did not answer in time
└── ProviderError              a provider call failed (raised by the clients)
    ├── CarbonioFault          a SOAP fault; ``code`` is Fault.Detail.Error.Code
    └── CloudflareFailed       the Cloudflare API refused or could not be reached
"""

from __future__ import annotations

from collections.abc import Mapping

from servicekit.errors import BadRequest as BadRequest
from servicekit.errors import ConfigError as ConfigError
from servicekit.errors import PayloadTooLarge as PayloadTooLarge
from servicekit.errors import RequestError
from servicekit.errors import ServiceError as PortalError
from servicekit.errors import StorageUnavailable as StorageUnavailable
from servicekit.errors import Unprocessable as Unprocessable
from servicekit.errors import UnsupportedMediaType as UnsupportedMediaType

__all__ = [
    "BadRequest",
    "CarbonioFault",
    "CloudflareFailed",
    "ConfigError",
    "DomainTaken",
    "Forbidden",
    "OutOfOrder",
    "PayloadTooLarge",
    "PortalError",
    "ProviderBusy",
    "ProviderError",
    "Reported",
    "RequestError",
    "StorageUnavailable",
    "TooManyRequests",
    "Unprocessable",
    "UnsupportedMediaType",
    "UpstreamFailed",
    "UpstreamTimeout",
]


class Forbidden(RequestError):
    status = 403


class Reported(RequestError):
    """A refusal whose envelope also carries ``fields`` for the customer's page: the
    support ``reference`` and whether a ``retry`` can help (a failed provider step)."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        fields: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, code)
        self.fields: dict[str, object] = dict(fields or {})


class OutOfOrder(Reported):
    status = 409
    default_code = "out_of_order"


class DomainTaken(OutOfOrder):
    """``domain_taken`` (another customer onboarded it) or ``domain_in_progress``."""

    status = 409
    default_code = "domain_taken"


class TooManyRequests(RequestError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class UpstreamFailed(Reported):
    status = 502
    default_code = "provider_failed"


class ProviderBusy(RequestError):
    """Cloudflare's rate limit (or the Portal's own budget of its calls): nothing failed,
    the same step works after ``retry_after`` seconds (sent as Retry-After)."""

    status = 503
    default_code = "provider_busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class UpstreamTimeout(Reported):
    status = 504
    default_code = "provider_timeout"


class ProviderError(PortalError):
    """A provider call failed; ``reason`` is safe to put in an event and a log line (never
    shown to customers, who get a short localised message and a support reference).

    ``kind`` says what the portal saw: ``timeout``, ``unreachable``, ``bad_answer``,
    ``fault`` (Carbonio) or ``http_<status>`` (Cloudflare without an error code);
    ``event_code`` is the machine-readable code of onboarding.failed
    (docs/webhook-funnel-events.md, "Failure codes").
    """

    def __init__(self, reason: str, *, kind: str = "bad_answer") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    @property
    def event_code(self) -> str:
        return f"portal:{self.kind}"


class CarbonioFault(ProviderError):
    """A Carbonio/Zimbra SOAP fault, e.g. ``account.DOMAIN_EXISTS``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason, kind="fault")
        self.code = code

    @property
    def event_code(self) -> str:
        return f"carbonio:{self.code}"


class CloudflareFailed(ProviderError):
    """The Cloudflare API refused a call (``code`` from its errors list) or was unreachable."""

    def __init__(self, reason: str, code: int | None = None, *, kind: str = "bad_answer") -> None:
        super().__init__(reason, kind=kind)
        self.code = code

    @property
    def event_code(self) -> str:
        if self.code is not None:
            return f"cloudflare:{self.code}"
        if self.kind.startswith("http_"):
            return f"cloudflare:{self.kind}"  # refused without an error code
        return f"portal:{self.kind}"
