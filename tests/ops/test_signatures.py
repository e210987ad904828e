"""Standard Webhooks verification: the spec's vector, the reference package, each failure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from vm122_ops.errors import Unauthorized
from vm122_ops.ingest.signatures import sign, verify

# The test vector published with the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SPEC_KEY = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))


def spec_headers(signature: str = SPEC_SIGNATURE, **overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": signature,
    }
    headers.update(overrides)
    return headers


def test_sign_matches_the_spec_vector() -> None:
    assert sign(SPEC_KEY, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verify_accepts_the_spec_vector() -> None:
    assert verify((SPEC_KEY,), spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


def test_sign_matches_the_standardwebhooks_package() -> None:
    moment = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)
    theirs = Webhook(SPEC_SECRET).sign(SPEC_ID, moment, SPEC_BODY.decode())
    assert theirs == SPEC_SIGNATURE == sign(SPEC_KEY, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


def test_any_signature_of_the_list_may_match() -> None:
    headers = spec_headers(f"v1,AAAA v2,zzz {SPEC_SIGNATURE}")
    assert verify((SPEC_KEY,), headers, SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


def test_an_old_secret_is_accepted_during_rotation() -> None:
    new_key = b"n" * 32
    assert verify((new_key, SPEC_KEY), spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


@pytest.mark.parametrize(
    ("headers", "body", "now", "reason"),
    [
        pytest.param(
            spec_headers(**{"webhook-id": ""}),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "missing signature header: webhook-id",
            id="no-id",
        ),
        pytest.param(
            spec_headers(""),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "missing signature header: webhook-signature",
            id="no-signature",
        ),
        pytest.param(
            spec_headers("v1" + SPEC_SIGNATURE[3:]),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "no v1,<base64> signature",
            id="no-comma",
        ),
        pytest.param(
            spec_headers("v1,not*base64"),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "no v1,<base64> signature",
            id="bad-base64",
        ),
        pytest.param(
            spec_headers(**{"webhook-timestamp": "1614265330.5"}),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "whole Unix seconds",
            id="fractional-timestamp",
        ),
        pytest.param(spec_headers(), SPEC_BODY, SPEC_TIMESTAMP + 301, "s old", id="stale"),
        pytest.param(spec_headers(), SPEC_BODY, SPEC_TIMESTAMP - 301, "in the future", id="future"),
        pytest.param(
            spec_headers(),
            b'{"test": 2432232315}',
            SPEC_TIMESTAMP,
            "does not match",
            id="altered-body",
        ),
        pytest.param(
            spec_headers(**{"webhook-id": "msg_other"}),
            SPEC_BODY,
            SPEC_TIMESTAMP,
            "does not match",
            id="other-id",
        ),
    ],
)
def test_rejections_carry_their_reason(
    headers: dict[str, str], body: bytes, now: float, reason: str
) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify((SPEC_KEY,), headers, body, now=now)
    assert reason in caught.value.message


def test_tolerance_is_five_minutes_either_way() -> None:
    for now in (SPEC_TIMESTAMP - 300, SPEC_TIMESTAMP + 300):
        assert verify((SPEC_KEY,), spec_headers(), SPEC_BODY, now=now) == SPEC_ID
