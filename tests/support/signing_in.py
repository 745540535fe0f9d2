"""Helpers for dashboard tests: an app client with the demo host, signed in or not."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient

from bot.demo.seed import DemoHost, seed
from bot.keys import SCHEDULER, SECRETS, SESSIONS, TOKENS
from storage.models import User
from tests.conftest import AppClient


async def demo_client(app_client: AppClient, *, outbox_worker: bool = True,
                      **env: str) -> tuple[TestClient, DemoHost]:
    """The app (``app_client``, settings from ``env``; see it for ``outbox_worker``) with the demo
    host seeded."""
    client = await app_client(outbox_worker=outbox_worker, **env)
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


async def add_user(client: TestClient, slug: str, email: str | None) -> int:
    """A new host (zone Europe/Copenhagen) in the app's database; returns its id."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        user = User(display_name=slug.title(), email=email, slug=slug, timezone="Europe/Copenhagen")
        session.add(user)
        await session.flush()
        return user.id


async def sign_in_for_csrf(client: TestClient, user_id: int) -> str:
    """Sign in through a login link and return the dashboard's CSRF token."""
    await sign_in(client, user_id)
    page = await (await client.get("/dashboard")).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def free_starts(client: TestClient, user_id: int, monday: datetime) -> set[datetime]:
    """The host's free slot starts in the week from ``monday`` (in its zone), asked of the scheduler."""
    assert client.app is not None
    answer = await client.app[SCHEDULER].availability(
        user_id, start=monday, end=monday + timedelta(days=7), now=monday - timedelta(days=1)
    )
    assert answer.complete, answer.problems
    return {slot.start.astimezone(monday.tzinfo) for slot in answer.result.slots}
