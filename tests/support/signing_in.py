"""Helpers for dashboard tests: an app client with the demo host, signed in or not."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from bot.demo.seed import DemoHost, seed
from bot.keys import SECRETS, SESSIONS, TOKENS
from tests.conftest import AppClient


async def demo_client(app_client: AppClient, **env: str) -> tuple[TestClient, DemoHost]:
    """The app (``app_client``, settings from ``env``) with the demo host seeded."""
    client = await app_client(**env)
    assert client.app is not None
    return client, await seed(client.app[SESSIONS], client.app[SECRETS])


async def login_token(client: TestClient, user_id: int) -> str:
    """A fresh one-time login link token for ``user_id``."""
    assert client.app is not None
    return await client.app[TOKENS].login_link_token(user_id)


async def sign_in(client: TestClient, user_id: int) -> None:
    """Follow a login link, so the client's cookie jar holds a dashboard session."""
    response = await client.get(f"/dashboard/login?token={await login_token(client, user_id)}",
                                allow_redirects=False)
    assert response.status == 303, await response.text()
