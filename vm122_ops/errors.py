"""Exceptions of the Ops service: the shared ones (servicekit/errors.py), named here.

OpsError (servicekit.errors.ServiceError)
├── ConfigError               bad or missing environment; the CLI exits with code 2
├── StorageUnavailable        the database cannot be written (answered 503, never 2xx)
└── RequestError              a rejected request, answered with the JSON error envelope
    ├── BadRequest            400 malformed JSON, bad query parameter
    ├── Unauthorized          401 missing/invalid operator token or webhook signature
    ├── NotFound              404
    ├── PayloadTooLarge       413 body over the limit
    ├── UnsupportedMediaType  415 not JSON
    └── Unprocessable         422 well-formed JSON that breaks the event contract

Ops raises no error of its own beyond these.
"""

from __future__ import annotations

from servicekit.errors import BadRequest as BadRequest
from servicekit.errors import ConfigError as ConfigError
from servicekit.errors import NotFound as NotFound
from servicekit.errors import PayloadTooLarge as PayloadTooLarge
from servicekit.errors import RequestError as RequestError
from servicekit.errors import ServiceError as OpsError
from servicekit.errors import StorageUnavailable as StorageUnavailable
from servicekit.errors import Unauthorized as Unauthorized
from servicekit.errors import Unprocessable as Unprocessable
from servicekit.errors import UnsupportedMediaType as UnsupportedMediaType

__all__ = [
    "BadRequest",
    "ConfigError",
    "NotFound",
    "OpsError",
    "PayloadTooLarge",
    "RequestError",
    "StorageUnavailable",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
]
