"""Every response carries the security headers, error pages (404, 405, 413, 500) included."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import SECURITY_HEADERS, create_app
from bot.demo.seed import seed
from bot.keys import SECRETS, SESSIONS


@pytest.fixture
async def client(aiohttp_client: Any, make_settings: Any, engine: AsyncEngine) -> TestClient:
    app = create_app(make_settings(SLOTBOT_DEMO="true"), engine=engine)
    client: TestClient = await aiohttp_client(app)
    await seed(app[SESSIONS], app[SECRETS])
    return client


def _assert_secured(headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, dict(headers))


async def test_not_found_and_wrong_method_pages_are_secured(client: TestClient) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status == 404
    _assert_secured(missing.headers)
    wrong = await client.put("/healthz")
    assert wrong.status == 405 and "GET" in wrong.headers["Allow"]
    _assert_secured(wrong.headers)


async def test_a_body_over_the_size_limit_gets_a_secured_413(client: TestClient) -> None:
    response = await client.post("/meetings/demo", data={"note": "x" * (300 * 1024)})
    assert response.status == 413
    _assert_secured(response.headers)


async def test_an_unhandled_error_gets_a_secured_500(client: TestClient, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE login_tokens RENAME TO login_tokens_gone"))
    response = await client.get("/dashboard/login?token=anything")
    assert response.status == 500
    assert "Traceback" not in await response.text()
    _assert_secured(response.headers)


async def test_raised_redirects_are_secured(client: TestClient) -> None:
    response = await client.get("/demo/login", allow_redirects=False)
    assert response.status == 303
    _assert_secured(response.headers)
