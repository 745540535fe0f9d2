"""The web application: health, robots, error pages, security headers, outbox wiring."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.keys import HTTP, OUTBOX, SESSIONS
from bot.notices.outbox import enqueue
from bot.settings import Settings


async def test_healthz_reports_database(aiohttp_client: Any, settings: Settings,
                                        engine: AsyncEngine) -> None:
    client: TestClient = await aiohttp_client(create_app(settings, engine=engine))
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}
    assert client.app is not None
    assert not client.app[HTTP].closed


async def test_healthz_503_when_database_unreachable(aiohttp_client: Any, make_settings: Any,
                                                     tmp_path: Any) -> None:
    settings = make_settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    client: TestClient = await aiohttp_client(create_app(settings))
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "unreachable"


async def test_robots_and_headers(aiohttp_client: Any, settings: Settings,
                                  engine: AsyncEngine) -> None:
    client: TestClient = await aiohttp_client(create_app(settings, engine=engine))
    response = await client.get("/robots.txt", headers={"Host": "meet.example.com"})
    assert "Disallow: /meetings*" in await response.text()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


async def test_unknown_path_is_a_readable_page(aiohttp_client: Any, settings: Settings,
                                               engine: AsyncEngine) -> None:
    client: TestClient = await aiohttp_client(create_app(settings, engine=engine))
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert response.content_type == "text/html"
    body = await response.text()
    assert "Not Found" in body and "Traceback" not in body


async def test_outbox_worker_runs_inside_the_app(aiohttp_client: Any, settings: Settings,
                                                 engine: AsyncEngine) -> None:
    import asyncio

    seen: list[dict[str, Any]] = []
    app = create_app(settings, engine=engine)

    def register(app: Any, worker: Any) -> None:
        async def handler(payload: dict[str, Any]) -> None:
            seen.append(payload)
        worker.register("test.ping", handler)

    from bot.app import add_outbox_handlers

    add_outbox_handlers(app, register)
    client: TestClient = await aiohttp_client(app)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        enqueue(session, "test.ping", {"n": 1})
    client.app[OUTBOX].wake()
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert seen == [{"n": 1}]
