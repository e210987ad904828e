"""Exceptions of the Portal service.

PortalError
├── ConfigError                bad or missing environment; the CLI exits with code 2
├── StorageUnavailable         the portal's SQLite cannot be written (answered 503)
├── RequestError               a rejected wizard request, answered with the JSON envelope
│   ├── BadRequest             400 malformed JSON, missing or invalid field, invalid domain
│   ├── NotFound               404
│   ├── PayloadTooLarge        413 body over the limit
│   ├── UnsupportedMediaType   415 not JSON
│   ├── OutOfOrder             409 a wizard step called before the one it needs
│   ├── Unprocessable          422 well-formed input the provider refused
│   ├── UpstreamFailed         502 a provider failed or answered something unusable
│   └── UpstreamTimeout        504 a provider did not answer in time
└── ProviderError              a provider call failed (raised by the clients)
    ├── CarbonioFault          a SOAP fault; ``code`` is Fault.Detail.Error.Code
    └── CloudflareFailed       the Cloudflare API refused or could not be reached
"""

from __future__ import annotations


class PortalError(Exception):
    """Base of every error the Portal raises on purpose."""


class ConfigError(PortalError):
    """The environment does not describe a usable configuration."""


class StorageUnavailable(PortalError):
    """The wizard state (and its outbox rows) could not be committed."""

    status = 503


class RequestError(PortalError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RequestError):
    status = 400


class NotFound(RequestError):
    status = 404


class PayloadTooLarge(RequestError):
    status = 413


class UnsupportedMediaType(RequestError):
    status = 415


class OutOfOrder(RequestError):
    status = 409


class Unprocessable(RequestError):
    status = 422


class UpstreamFailed(RequestError):
    status = 502


class UpstreamTimeout(RequestError):
    status = 504


class ProviderError(PortalError):
    """A provider call failed; ``reason`` is safe to show and to put in an event."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CarbonioFault(ProviderError):
    """A Carbonio/Zimbra SOAP fault, e.g. ``account.DOMAIN_EXISTS``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class CloudflareFailed(ProviderError):
    """The Cloudflare API refused a call (``code`` from its errors list) or was unreachable."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
