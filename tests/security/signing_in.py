"""Helpers for the dashboard tests here: an app client with the demo host, signed in or not."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.seed import DemoHost, seed
from bot.keys import SECRETS, SESSIONS, TOKENS


async def demo_client(aiohttp_client: Any, make_settings: Any, engine: AsyncEngine,
                      **env: str) -> tuple[TestClient, DemoHost]:
    """The app on ``engine`` with the demo host seeded."""
    app = create_app(make_settings(**env), engine=engine)
    client: TestClient = await aiohttp_client(app)
    return client, await seed(app[SESSIONS], app[SECRETS])


async def login_token(client: TestClient, user_id: int) -> str:
    """A fresh one-time login link token for ``user_id``."""
    assert client.app is not None
    return await client.app[TOKENS].login_link_token(user_id)


async def sign_in(client: TestClient, user_id: int) -> None:
    """Follow a login link, so the client's cookie jar holds a dashboard session."""
    response = await client.get(f"/dashboard/login?token={await login_token(client, user_id)}",
                                allow_redirects=False)
    assert response.status == 303, await response.text()
