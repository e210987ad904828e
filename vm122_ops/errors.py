"""Exceptions of the Ops service.

OpsError
├── ConfigError               bad or missing environment; the CLI exits with code 2
├── StorageUnavailable        the database cannot be written (answered 503, never 2xx)
└── RequestError              a rejected request, answered with the JSON error envelope
    ├── BadRequest            400 malformed JSON, bad query parameter
    ├── Unauthorized          401 missing/invalid operator token or webhook signature
    ├── NotFound              404
    ├── PayloadTooLarge       413 body over the limit
    ├── UnsupportedMediaType  415 not JSON
    └── Unprocessable         422 well-formed JSON that breaks the event contract
"""

from __future__ import annotations


class OpsError(Exception):
    """Base of every error the Ops service raises on purpose."""


class ConfigError(OpsError):
    """The environment does not describe a usable configuration."""


class StorageUnavailable(OpsError):
    """The event could not be committed; the sender must retry."""

    status = 503


class RequestError(OpsError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
