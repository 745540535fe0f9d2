"""A visitor of a website with the Slotbot widget, in a real Chromium (Playwright's async API).

:func:`widget_books` opens the bubble, asks, opens the scheduling page inside the widget's frame
and books the first offered time; it returns the frame, showing the page that answered the post.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from playwright.async_api import FrameLocator, Page, expect


async def widget_books(page: Page, ask: str, opening: str, book_label: str, *, name: str,
                       email: str, booked: str, zone: str = "Europe/Lisbon") -> FrameLocator:
    """Open the bubble, ask, open the page inside the widget and book the first offered time.

    ``zone`` is the browser's: the page reloads itself once in it (``tz.js``) before a time is
    picked, so the booking is made in the visitor's zone.
    """
    bubble = page.locator("[data-slotbot-widget] .sb-bubble")
    await expect(bubble).to_be_visible()
    await bubble.click()
    greeting = page.locator("[data-slotbot-widget] .sb-message.sb-bot").first
    await expect(greeting).to_contain_text("Demo Host")
    await page.locator("[data-slotbot-widget] .sb-input").fill(ask)
    await page.locator("[data-slotbot-widget] .sb-input").press("Enter")
    answer = page.locator("[data-slotbot-widget] .sb-message.sb-bot").last
    await expect(answer).to_contain_text(opening)
    link = answer.locator("a.sb-newtab")
    await expect(link).to_have_attribute("href", re.compile(r"/meetings/demo$"))
    await answer.get_by_role("button", name=book_label).click()
    frame = page.frame_locator("[data-slotbot-widget] iframe.sb-frame")
    await expect(frame.locator("#tz")).to_have_value(zone)
    slots = frame.locator("ul.slots a")
    await expect(slots.first).to_be_visible()
    await slots.first.click()
    await frame.locator("input[name=name]").fill(name)
    await frame.locator("input[name=email]").fill(email)
    await frame.locator("#book button[type=submit]").click()
    await expect(frame.locator("h1")).to_have_text(booked)
    return frame


@asynccontextmanager
async def site_serving(html: str, *, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """A customer's website (one page, ``html``) on a port of its own; yields its URL on ``host``."""

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", home)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        await web.SockSite(runner, sock).start()
        yield f"http://{host}:{sock.getsockname()[1]}/"
    finally:
        await runner.cleanup()
        sock.close()
