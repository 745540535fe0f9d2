"""A write that waits out the database's lock timeout gets a readable 503 with Retry-After, not
a 500, and nothing is lost: the request changed nothing and works once the lock is free.

SQLite: another connection holds the write lock longer than the busy timeout (the database URL's
``?timeout=``). PostgreSQL: another connection locks the table longer than ``lock_timeout`` (set on
the database, as an operator would)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.seed import seed
from bot.keys import SECRETS, SESSIONS, TOKENS


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def _short_lock_waits(database_url: str) -> str:
    """The app's database URL, with lock waits cut to a fraction of a second."""
    if database_url.startswith("sqlite"):
        return database_url + "?timeout=0.3"
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '300ms'")
    finally:
        await conn.close()
    return database_url


@asynccontextmanager
async def _lock_held(database_url: str) -> AsyncIterator[None]:
    """Another connection holding the lock a sign-in needs, until the block ends."""
    if database_url.startswith("sqlite"):
        # Wait, off the event loop, for the app's own short writes (start-up, the outbox) to end:
        # blocking the loop would keep them from ever committing.
        other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None, timeout=30,
                                check_same_thread=False)
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    conn = await asyncpg.connect(_dsn(database_url))
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("LOCK TABLE login_tokens IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await transaction.rollback()
        await conn.close()


async def test_a_locked_database_answers_busy_and_loses_nothing(
    aiohttp_client: Any, make_settings: Any, database_url: str, engine: AsyncEngine,
) -> None:
    settings = make_settings(DATABASE_URL=await _short_lock_waits(database_url))
    client: TestClient = await aiohttp_client(create_app(settings))
    assert client.app is not None
    host = (await seed(client.app[SESSIONS], client.app[SECRETS])).user_id
    token = await client.app[TOKENS].login_link_token(host)

    async with _lock_held(database_url):
        page = await client.get(f"/dashboard/login?token={token}", allow_redirects=False)
        assert page.status == 503
        assert page.headers["Retry-After"].isdigit()
        assert page.content_type == "text/html"
        body = await page.text()
        assert "busy" in body.lower() and "try again" in body.lower() and "Traceback" not in body
        as_json = await client.get(f"/dashboard/login?token={token}",
                                   headers={"Accept": "application/json"}, allow_redirects=False)
        assert as_json.status == 503 and "busy" in (await as_json.json())["error"].lower()

    signed_in = await client.get(f"/dashboard/login?token={token}", allow_redirects=False)
    assert signed_in.status == 303  # the link survived the busy answers
