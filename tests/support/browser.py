"""Fixtures for tests that drive the running app over real HTTP, and a real Chromium.

Register them with ``pytest_plugins = ["tests.support.browser"]`` in a test module.

* ``live_demo``: the app as ``slotbot demo`` runs it (``create_app`` with demo settings, the demo
  host ``demo`` seeded with its local calendar from ``bot/demo/data/sample.ics``) served by
  ``web.AppRunner`` on 127.0.0.1 at a free port, with its real outbox worker running. It yields a
  :class:`LiveDemo`: ``base_url``, ``app`` (for database assertions through ``app[SESSIONS]``),
  the seeded ids, and :meth:`LiveDemo.outbox_settled`. It uses the ``engine`` fixture, so a test
  asking for it runs on SQLite and on PostgreSQL.
* ``start_demo``: the same as a factory, for a test that must configure the app before it starts
  (``await start_demo(configure=lambda app: ...)``; aiohttp freezes the app at start-up).
* ``browser``: a Playwright (async API) ``Browser`` on the system Chromium (``/usr/bin/chromium``,
  no ``playwright install``). Without that browser the test is skipped, except when the ``CI``
  environment variable is set (CI installs Chromium): then it fails.

:func:`wait_until` polls an async condition with a deadline (e.g. for the outbox worker).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.seed import DemoHost, seed
from bot.keys import SECRETS, SESSIONS
from bot.settings import Settings
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
Configure = Callable[[web.Application], None]


def collect_problems(page: Page, problems: list[str]) -> None:
    """Append to ``problems`` every script error and console error of ``page`` (CSP refusals
    included); the favicon, which a browser may ask for at any time, does not count."""

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0, interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``check`` until it is true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class LiveDemo:
    """The running demo app: where it listens, the app itself and what the demo seeded."""

    base_url: str
    app: web.Application
    host: DemoHost

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    async def outbox_statuses(self) -> dict[int, tuple[str, str]]:
        """Every outbox message: id -> (kind, status)."""
        async with self.app[SESSIONS]() as session:
            rows = await session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status)
            )
            return {row.id: (row.kind, row.status) for row in rows}

    async def outbox_settled(self, seconds: float = 15.0) -> dict[int, tuple[str, str]]:
        """Wait until the worker has run every due message (none pending or running)."""

        async def settled() -> bool:
            statuses = await self.outbox_statuses()
            return all(status not in ("pending", "running") for _, status in statuses.values())

        await wait_until(settled, seconds=seconds, what="the outbox worker")
        return await self.outbox_statuses()


def demo_env(base_url: str, data_dir: Path) -> dict[str, str]:
    """The settings ``slotbot demo`` adds (see ``bot.cli.demo.demo_settings``) for a test server."""
    return {
        "SLOTBOT_DEMO": "true",
        "SLOTBOT_BASE_URL": base_url,
        "SLOTBOT_DATA_DIR": str(data_dir),
        "SMTP_HOST": "",  # mail goes to the log, as in the demo
    }


@pytest.fixture
async def start_demo(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[LiveDemo]]]:
    """A factory that serves the seeded demo app; everything it started stops at teardown."""
    runners: list[web.AppRunner] = []
    sockets: list[socket.socket] = []

    async def start(configure: Configure | None = None, **env: str) -> LiveDemo:
        # Bind first (as the demo does), so the app's base URL carries the real port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sockets.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = make_settings(**{**demo_env(base_url, tmp_path), **env})
        app = create_app(settings, engine=engine)
        if configure is not None:
            configure(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()  # runs the cleanup contexts: sessions, HTTP, the outbox worker
        runners.append(runner)
        host = await seed(app[SESSIONS], app[SECRETS])
        await web.SockSite(runner, sock).start()
        return LiveDemo(base_url, app, host)

    try:
        yield start
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        for sock in sockets:
            sock.close()


@pytest.fixture
async def live_demo(start_demo: Callable[..., Awaitable[LiveDemo]]) -> LiveDemo:
    """The demo app served on 127.0.0.1 (see the module doc)."""
    return await start_demo()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium; skipped when missing, but a failure when ``CI`` is set."""
    problem = None
    if not os.access(CHROMIUM, os.X_OK):
        problem = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need Chromium in CI: {problem}")
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    """A headless Chromium driven through Playwright's async API."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()

