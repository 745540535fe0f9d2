"""Tokens in paths and queries never reach the logs: the access log (as ``slotbot serve`` writes
it, Referer included) and the error log, in both log formats."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.logs import access_logger, configure_logging
from bot.settings import Settings

MANAGE = "mAnAgE-t0ken-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
BROKEN = "br0ken-page-t0ken-bbbbbbbbbbbbbbbbbbbbbbbbbbbb"
LOGIN = "l0gin-t0ken-cccccccccccccccccccccccccccccccc"
CODE = "4/0AoAuthC0de-dddddddddddd"
STATE = "0authSt4te-eeeeeeeeeeeeeeeeeeee"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The root logger writing to a buffer, restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, access_logger().level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    access_logger().setLevel(saved[2])


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_tokens_in_paths_queries_and_referers_are_redacted(
        settings: Settings, engine: AsyncEngine, log_stream: io.StringIO, fmt: str) -> None:
    configure_logging("INFO", fmt, settings.secret_values(), stream=log_stream)
    runner = web.AppRunner(create_app(settings, engine=engine), access_log=access_logger())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = site.name.rstrip("/")
    try:
        async with aiohttp.ClientSession() as http:
            for method, path, headers in [
                ("GET", f"/meetings-manage/{MANAGE}", {}),
                ("POST", f"/meetings-manage/{MANAGE}/cancel", {}),
                ("GET", f"/dashboard/login?token={LOGIN}&next=/dashboard", {}),
                ("GET", f"/oauth/google/callback?state={STATE}&code={CODE}", {}),
                ("GET", "/static/slotbot.css", {"Referer": f"{base}/meetings-manage/{MANAGE}"}),
            ]:
                async with http.request(method, base + path, headers=headers, allow_redirects=False):
                    pass
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE bookings RENAME TO bookings_gone"))
            async with http.get(f"{base}/meetings-manage/{BROKEN}") as broken:
                assert broken.status == 500
        for _ in range(100):  # an access log line follows its answer
            if log_stream.getvalue().count("aiohttp.access") == 6:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    logged = log_stream.getvalue()
    assert "/static/slotbot.css" in logged and "unhandled error" in logged
    assert "/meetings-manage/[redacted]" in logged and "token=[redacted]" in logged
    for secret in (MANAGE, BROKEN, LOGIN, CODE, STATE):
        assert secret not in logged, secret
