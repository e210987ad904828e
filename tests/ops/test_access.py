"""Operator access: the token guards every onboard and desk endpoint; /healthz is open."""

from __future__ import annotations

import pytest

from tests.ops.conftest import TOKEN, Ops

PROTECTED = [
    "/api/v1/onboard/funnel",
    "/api/v1/onboard/sessions/s/timeline",
    "/api/v1/desk/tickets",
    "/api/v1/desk/tickets/1",
]


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", f"Bearer {TOKEN}x", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"],
)
async def test_protected_endpoints_need_the_token(
    ops: Ops, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await ops.client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert TOKEN not in response.text


async def test_the_token_opens_them(ops: Ops) -> None:
    response = await ops.client.get(
        "/api/v1/desk/tickets", headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert response.status_code == 200


async def test_healthz_is_open(ops: Ops) -> None:
    response = await ops.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok"}
