"""What both services share, written once: the one package both import (docs/shared.md).
Each service keeps only what is its own: its error sentences, its header values, its
settings, its routes.

- ``servicekit.contract``: the event types and funnel stages, and the id patterns.
- ``servicekit.sqlfiles``: named queries, numbered migrations, online backups, 0600 files.
- ``servicekit.logs``: JSON-lines logging and the access-log middleware.

- ``servicekit.errors``: the exception base and the 4xx errors answered with the envelope.
- ``servicekit.envelope``: the orjson JSON response, ``{"ok": true, ...}`` /
  ``{"ok": false, "error", "status"}``, and the exception handlers that answer with it.
- ``servicekit.headers``: the security-header middleware (a strict CSP and companions).
- ``servicekit.failures``: failed credentials counted per key in a sliding window (the
  login and Bearer failure budgets).
- ``servicekit.bearer``: ``Authorization: Bearer`` compared in constant time, as bytes.
- ``servicekit.body``: the request body, refused with 413 before it outgrows a limit.
- ``servicekit.settings``: parsers for the environment (whole numbers in a range,
  ``whsec_`` secrets, printable tokens).
- ``servicekit.purge``: purging in short batches, and a job run now and then in the
  background (the retention purges).
- ``servicekit.background``: stopping a background task (cancelled, then awaited).
- ``servicekit.documents``: a JSON answer made of a dataclass's fields, in their order.
- ``servicekit.openapi``: the envelope's schemas and the endpoint serving a document.
- ``servicekit.serve``: JSON-lines logging, the "starting" line, then uvicorn.

The services never import each other; both import this package.
"""
