"""What every test suite shares, once (issue 10, item 5):

- ``credentials``: the one webhook key/secret and operator token the tests run with;
- ``poll``: ``wait_until`` (async) and ``wait_until_sync``, bounded in time;
- ``signer``: a Standard Webhooks signed event, as the Portal sends it;
- ``runner``: a free loopback port, and an ASGI app run in-process (lifespan), under a
  loopback uvicorn (in this event loop or in a thread), or as ``python -m ...``;
- ``apps``: Ops and the Portal wired for tests through those runners;
- ``peek``: read-only SQLite reads of a service's database file;
- ``views``: what an Ops answers (funnel, timelines, tickets), comparable across stores.

The Chromium (Playwright) fixture is in tests/conftest.py.
"""
