"""Booking inside the widget on a real customer site: another site, Slotbot behind an https proxy.

The customer's site is ``http://localhost:<port>`` and Slotbot is served by a TLS-terminating
reverse proxy at ``https://127.0.0.1:<port>`` (:mod:`tests.support.tls_proxy`), so the booking page
is a *third-party* frame: Chromium takes and sends its cookies only when they are
``SameSite=None; Secure``, and with third-party cookies blocked (as Safari always does, and a fresh
Chromium profile does) none at all. A visitor books inside the frame either way: the cookie is
``Secure`` because the proxy is trusted, and embedded forms carry a signed token that needs none.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import BrowserContext, async_playwright
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import Booking
from tests.support.tls_proxy import TlsProxy, start_tls_proxy
from tests.support.widget_visitor import site_serving, widget_books

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TIMEOUT_MS = 15_000


@pytest.fixture
async def behind_proxy(
    start_demo: Callable[..., Awaitable[LiveDemo]], tmp_path: Path
) -> AsyncIterator[tuple[LiveDemo, TlsProxy]]:
    """The demo app behind an https proxy on 127.0.0.1, its public address the proxy's."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    public = f"https://127.0.0.1:{sock.getsockname()[1]}"
    demo = await start_demo(SLOTBOT_BASE_URL=public, SLOTBOT_TRUSTED_PROXIES="127.0.0.1")
    proxy = await start_tls_proxy(sock, demo.base_url, tmp_path)
    try:
        yield demo, proxy
    finally:
        await proxy.stop()
        sock.close()


@pytest.fixture
async def customer_site(behind_proxy: tuple[LiveDemo, TlsProxy]) -> AsyncIterator[str]:
    """A plain-http website on another site (``localhost``) with the widget pasted in."""
    proxy = behind_proxy[1]
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Kaffebar</title></head>"
        "<body><h1>Kaffebar Lisboa</h1>"
        f"<script src='{proxy.url}/widget.js?page=demo/intro' async></script></body></html>"
    )

    async with site_serving(html, host="localhost") as url:
        yield url


def _allow_third_party_cookies(profile: Path) -> None:
    """A new Chromium profile blocks third-party cookies; this one's preferences allow them."""
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(
        {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}))


@pytest.fixture(params=["third-party cookies allowed", "third-party cookies blocked"])
async def browsing(request: pytest.FixtureRequest, chromium_path: str,
                   tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Chromium allowing third-party cookies (a profile whose preferences say so), and blocking
    them as Safari does (a fresh off-the-record context, Chromium's default)."""
    from tests.support.browser import CHROMIUM_ARGS  # the plugin's module, imported by pytest

    options: dict[str, Any] = {"ignore_https_errors": True, "locale": "en-US",
                               "timezone_id": "Europe/Lisbon"}
    async with async_playwright() as playwright:
        chromium = playwright.chromium
        if request.param.endswith("allowed"):
            _allow_third_party_cookies(tmp_path / "profile")
            context = await chromium.launch_persistent_context(
                tmp_path / "profile", executable_path=chromium_path, args=CHROMIUM_ARGS, **options)
            try:
                context.set_default_timeout(TIMEOUT_MS)
                yield context
            finally:
                await context.close()
        else:
            browser = await chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(**options)
                context.set_default_timeout(TIMEOUT_MS)
                yield context
            finally:
                await browser.close()


async def test_a_visitor_books_in_the_widget_on_another_site_behind_an_https_proxy(
    behind_proxy: tuple[LiveDemo, TlsProxy], customer_site: str, browsing: BrowserContext
) -> None:
    demo = behind_proxy[0]
    page = await browsing.new_page()
    await page.goto(customer_site)
    frame = await widget_books(page, "can I book a meeting?", "Of course!", "Book here",
                               name="Rui Lopes", email="rui@example.com", booked="You're booked")
    assert "rui@example.com" in await frame.locator("main").inner_text()
    async with demo.app[SESSIONS]() as session:
        booking = (await session.execute(
            select(Booking).where(Booking.visitor_email == "rui@example.com"))).scalar_one()
    assert booking.status == "confirmed"
