"""The exceptions both services raise on purpose (each service's errors.py adds its own).

ServiceError
├── ConfigError               bad or missing environment; the CLI exits with code 2
├── StorageUnavailable        the database cannot be written (answered 503, never 2xx)
└── RequestError              a rejected request, answered with the JSON error envelope
    ├── BadRequest            400 malformed JSON, bad field or query parameter
    ├── Unauthorized          401 missing or invalid credentials
    ├── NotFound              404
    ├── PayloadTooLarge       413 body over the limit
    ├── UnsupportedMediaType  415 not the media type expected
    └── Unprocessable         422 well-formed input that breaks the contract
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""


class ConfigError(ServiceError):
    """The environment does not describe a usable configuration."""


class StorageUnavailable(ServiceError):
    """A write could not be committed; the caller must retry."""

    status = 503


class RequestError(ServiceError):
    """A request refused with ``status`` and a sentence saying why; ``code``, when set, is
    a stable name of the refusal for a client to choose its own words by (the Portal's
    page shows customers a localised message for it)."""

    status = 400
    # Headers sent with the error (e.g. Retry-After of a 429).
    headers: dict[str, str] | None = None
    default_code: str | None = None

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class BadRequest(RequestError):
    status = 400


class Unauthorized(RequestError):
    status = 401


class NotFound(RequestError):
    status = 404


class PayloadTooLarge(RequestError):
    status = 413


class UnsupportedMediaType(RequestError):
    status = 415


class Unprocessable(RequestError):
    status = 422
