"""HTTP handlers: the wizard's JSON API, /healthz and /metrics.

Every error answers the envelope ``{"ok": false, "error": "...", "status": N}``
(servicekit/envelope.py); bad input is a 4xx with the reason, never a 5xx.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from servicekit.addresses import address_key
from servicekit.bearer import bearer_matches
from servicekit.body import media_type, read_body
from servicekit.contract import LANGUAGES
from servicekit.contract import SESSION_ID as SESSION_ID
from servicekit.envelope import JSONResponse, error, exception_handlers, ok
from servicekit.logs import log_event
from servicekit.openapi import NO_QUERY
from vm112_portal.domains import normalise, printable
from vm112_portal.errors import (
    BadRequest,
    OutOfOrder,
    Reported,
    RequestError,
    UnsupportedMediaType,
)
from vm112_portal.mail_check import SessionNotOnboarded
from vm112_portal.metrics import DISABLED
from vm112_portal.outbox.ops_webhook import outbox_status
from vm112_portal.state import app_state
from vm112_portal.support import SECRET_COOKIE, SECRET_HEADER, is_email, well_formed_secret
from vm112_portal.wizard import REPLACEABLE, AccountRequest, Visitor

log = logging.getLogger("vm112_portal.routes")
# Failed and throttled /metrics credentials (the client address, never the token).
auth_log = logging.getLogger("vm112_portal.auth")

MAX_BODY = 16 * 1024
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

EXCEPTION_HANDLERS = exception_handlers(
    log, storage_message="the portal cannot save the wizard state right now; try again"
)


async def _request_error(request: Request, exc: Exception) -> Response:
    """The envelope, with a Reported refusal's ``reference`` and ``retry`` beside it."""
    assert isinstance(exc, RequestError)
    if not (isinstance(exc, Reported) and exc.fields):
        return error(exc.status, exc.message, exc.headers, code=exc.code)
    body: dict[str, Any] = {"ok": False, "error": exc.message, "status": exc.status}
    if exc.code is not None:
        body["code"] = exc.code
    return JSONResponse({**body, **exc.fields}, status_code=exc.status, headers=exc.headers)


EXCEPTION_HANDLERS[RequestError] = _request_error


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, with size and content-type checks."""
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    body = await read_body(request, MAX_BODY, f"the body is over {MAX_BODY} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise BadRequest("the body must be a JSON object")
    return document


def session_id_of(document: dict[str, Any]) -> str | None:
    """``session_id`` of an API client; the page sends none (its secret names the session)."""
    value = document.get("session_id")
    if value is None:
        return None
    if not isinstance(value, str) or not SESSION_ID.match(value):
        raise BadRequest("session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    return value


def visitor_of(request: Request, document: dict[str, Any]) -> Visitor:
    """The session named in the body (if any) and the wizard secret the request holds:
    the X-Wizard-Secret header, else the cookie."""
    header = well_formed_secret(request.headers.get(SECRET_HEADER))
    secret = header or well_formed_secret(request.cookies.get(SECRET_COOKIE))
    return Visitor(session_id_of(document), secret, chosen=header)


def set_secret(response: Response, request: Request, secret: str | None) -> None:
    """The wizard secret as an HttpOnly, SameSite=Strict cookie for the wizard's API only
    (Secure over HTTPS); ``None`` clears it."""
    secure = request.url.scheme == "https"
    if secret is None:
        response.delete_cookie(
            SECRET_COOKIE, path=API, secure=secure, httponly=True, samesite="strict"
        )
    else:
        response.set_cookie(
            SECRET_COOKIE, secret, path=API, secure=secure, httponly=True, samesite="strict"
        )


def contact_of(document: dict[str, Any]) -> str | None:
    """The optional ``contact``: one plain e-mail address (empty: none given)."""
    value = document.get("contact")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not is_email(value.strip()):
        raise BadRequest(
            "contact must be one e-mail address, like ana@example.pt", "contact_invalid"
        )
    return value.strip()


def language_of(document: dict[str, Any], accept_language: str | None) -> str | None:
    """The wizard's language (``pt`` or ``en``, servicekit.contract.LANGUAGES): the page
    sends the one it shows; else the first of Portuguese or English among the request's
    Accept-Language (highest q first), the rule the page itself chooses by
    (vm112_portal/static/js/i18n.js, ``pickLanguage``); None when neither says."""
    value = document.get("language")
    if value is not None:
        if value not in LANGUAGES:
            raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}", "language_invalid")
        return str(value)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:1024].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        name, _, raw = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(raw)
            except ValueError:
                continue
        if weight > 0:
            ranked.append((-weight, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        for language in LANGUAGES:
            if tag == language or tag.startswith(f"{language}-"):
                return language
    return None


def text_field(document: dict[str, Any], name: str, *, max_len: int) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required and must be a non-empty string")
    if len(value) > max_len:
        raise BadRequest(f"{name} is too long (at most {max_len} characters)")
    return value


def account_request(document: dict[str, Any]) -> AccountRequest:
    session_id = session_id_of(document) or ""
    domain = text_field(document, "domain", max_len=300)
    local = text_field(document, "admin_local_part", max_len=64).strip().lower()
    if not LOCAL_PART.match(local) or ".." in local:
        raise BadRequest(
            "admin_local_part must be 1-64 of a-z 0-9 . _ + -, starting and ending with a "
            "letter or digit",
            "local_part_rule",
        )
    display = text_field(document, "display_name", max_len=128).strip()
    if _CONTROL.search(display):
        raise BadRequest("display_name must not contain control characters")
    password = document.get("password")
    # The password's value never appears in a message, a log line or an event.
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        raise BadRequest("password is required: 8 to 256 characters", "password_rule")
    if _CONTROL.search(password):
        raise BadRequest("password must not contain control characters", "password_rule")
    return AccountRequest(session_id, domain, local, printable(display), password)


def throttle(request: Request, *kinds: str) -> None:
    """429 when this client (or the portal as a whole) is over a wizard budget. The write
    budget is checked before the body is read, so a refused request costs next to
    nothing; the provider budget only through ``spender``."""
    limiter = app_state(request).throttle
    if limiter is not None:
        limiter.check(request.client.host if request.client else None, *kinds)


def spender(request: Request) -> Callable[[], None]:
    """Takes a provider token for this client: the wizard calls it once the request is
    valid and its session may make the provider calls, so invalid requests and requests
    of no live session never spend the customers' budget."""
    return lambda: throttle(request, "provider")


API = "/api/v1/onboarding"


@NO_QUERY
async def validate_domain(request: Request) -> Response:
    throttle(request, "write")
    document = await read_json(request)
    visitor = visitor_of(request, document)
    domain = text_field(document, "domain", max_len=300)
    contact = contact_of(document)
    language = language_of(document, request.headers.get("accept-language"))
    wizard = app_state(request).wizard
    try:
        answer = ok(**await wizard.validate_domain(visitor, domain, contact, language))
    except RequestError as exc:
        if visitor.issued is not None:  # the session started: the browser keeps it
            carrier = Response()
            set_secret(carrier, request, visitor.issued)
            exc.headers = {**(exc.headers or {}), "set-cookie": carrier.headers["set-cookie"]}
        raise
    if visitor.issued is not None:
        set_secret(answer, request, visitor.issued)
    return answer


@NO_QUERY
async def plan_dns(request: Request) -> Response:
    throttle(request, "write")
    document = await read_json(request)
    visitor = visitor_of(request, document)
    domain = text_field(document, "domain", max_len=300)
    wizard = app_state(request).wizard
    return ok(**await wizard.plan_dns(visitor, domain, spend=spender(request)))


@NO_QUERY
async def restart(request: Request) -> Response:
    """ "Start again": the session releases its domain and the browser forgets its secret,
    also when the answer is a 409 (a finished session has nothing to release)."""
    throttle(request, "write")
    document = await read_json(request)
    try:
        released = await app_state(request).wizard.restart(visitor_of(request, document))
    except RequestError as exc:
        carrier = Response()
        set_secret(carrier, request, None)
        exc.headers = {**(exc.headers or {}), "set-cookie": carrier.headers["set-cookie"]}
        raise
    answer = ok(released=released)
    set_secret(answer, request, None)
    return answer


@NO_QUERY
async def support(request: Request) -> Response:
    """Who customers contact (PORTAL_SUPPORT_CONTACT): the page shows it on every error."""
    return ok(contact=app_state(request).settings.support_contact.as_dict())


def replace_choices(document: dict[str, Any]) -> frozenset[str]:
    """``replace``: the conflicts the customer confirmed replacing (absent: keep them all)."""
    value = document.get("replace", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("replace must be a list of record purposes")
    unknown = set(value) - REPLACEABLE
    if unknown:
        raise BadRequest(
            f"replace names unknown purposes {sorted(unknown)[:4]}; "
            f"expected some of {sorted(REPLACEABLE)}"
        )
    return frozenset(value)


@NO_QUERY
async def apply_dns(request: Request) -> Response:
    throttle(request, "write")
    document = await read_json(request)
    visitor = visitor_of(request, document)
    domain = text_field(document, "domain", max_len=300)
    replace = replace_choices(document)
    wizard = app_state(request).wizard
    return ok(**await wizard.apply_dns(visitor, domain, replace, spend=spender(request)))


@NO_QUERY
async def create_account(request: Request) -> Response:
    throttle(request, "write")
    document = await read_json(request)
    visitor = visitor_of(request, document)
    account = account_request(document)
    state = app_state(request)
    # The session the step completed: resolving the visitor again could find it changed.
    done = await state.wizard.create_account(visitor, account, spend=spender(request))
    answer = done.answer
    if state.mail is not None:
        answer["mail"] = await first_mail_check(request, done.session_id)
    return ok(**answer)


def _for_the_page(document: dict[str, Any]) -> dict[str, Any]:
    """A mail check's answer without the session id: the page never sees one."""
    return {key: value for key, value in document.items() if key != "session_id"}


async def first_mail_check(request: Request, session_id: str) -> dict[str, Any] | None:
    """The mail check run as the account step completes (vm112_portal/mail_check.py); the
    account exists whatever it finds, so a check that cannot run answers null (the
    schedule, "check again" and the mail-check command try again)."""
    mail = app_state(request).mail
    assert mail is not None
    try:
        return _for_the_page((await mail.check(session_id, "account")).document())
    except Exception:
        log.exception("the first mail check of session %s could not run", session_id)
        return None


@NO_QUERY
async def check_mail(request: Request) -> Response:
    """The customer's "check again": the session's domain checked in DNS now (the last
    result when it is under 30 s old). Needs the session's secret like every step."""
    throttle(request, "write")
    document = await read_json(request)
    visitor = visitor_of(request, document)
    domain = text_field(document, "domain", max_len=300)
    # Normalised as every other step does (IDNA, case, the root dot): the Unicode form
    # the customer typed at step 1 is the session's domain too.
    typed = normalise(domain).name
    state = app_state(request)
    session_id = await state.wizard.session_of(visitor)
    assert session_id is not None
    if state.mail is None:
        raise OutOfOrder("the mail check is not available", "out_of_order")
    try:
        result = await state.mail.check_again(session_id)
    except SessionNotOnboarded:
        raise OutOfOrder(
            "create the account first: the mail check looks at an onboarded domain",
            "out_of_order",
        ) from None
    if result.domain != typed:
        raise OutOfOrder(
            f"domain {domain[:80]!r} is not this session's ({result.domain})", "out_of_order"
        )
    return ok(**_for_the_page(result.document()))


@NO_QUERY
async def healthz(request: Request) -> Response:
    state = app_state(request)
    db = state.db
    reachable = await db.ping()
    outbox = await outbox_status(db) if reachable else None
    status = 200 if reachable else 503
    return JSONResponse(
        {
            "ok": reachable,
            "database": "ok" if reachable else "unreachable",
            "providers": state.settings.providers,
            "outbox": outbox,
        },
        status_code=status,
    )


@NO_QUERY
async def metrics(request: Request) -> Response:
    """Prometheus metrics for the operators; never open, like the rest of the API is."""
    state = app_state(request)
    token = state.settings.metrics_token
    if not token:
        return error(404, DISABLED)
    # Throttled like Ops' Bearer check: 10 wrong tokens from an address in 10 minutes,
    # then 429 whatever it sends until the oldest leaves the window.
    client = address_key(request.client.host if request.client else None)
    wait = state.metrics_failures.retry_after(client)
    if wait:
        log_event(auth_log, "bearer throttled", client=client, path="/metrics")
        state.metrics.auth_events.labels(event="bearer_throttled").inc()
        return error(
            429,
            "too many failed attempts from this address; try again later",
            {"Retry-After": str(wait)},
        )
    if not bearer_matches(request.headers.get("authorization", ""), token):
        state.metrics_failures.add(client)
        log_event(auth_log, "bearer failed", client=client, path="/metrics")
        state.metrics.auth_events.labels(event="bearer_failed").inc()
        return error(
            401,
            "metrics need Authorization: Bearer <PORTAL_METRICS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="portal-metrics"'},
        )
    state.metrics_failures.forgive(client)
    return await state.metrics.render(state.db)
