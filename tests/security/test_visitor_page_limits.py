"""Nobody closes a host's page for everyone: per-client limits refuse, the page only slows down.

Junk posts (a bad address, a time the page never offers) count against their sender only. Past
the per-page limit, plausible attempts (a valid form token, a time the page's rules offer) are
slowed by a short, bounded wait -- never refused -- so a crowd of addresses cannot lock real
visitors out. The website widget's per-page limit works the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.seed import seed
from bot.handlers.pages.visitor import MAX_SLOWDOWN, SLOWDOWN_STEP, RateLimiter
from bot.handlers.web_chat import widget
from bot.keys import SECRETS, SESSIONS
from bot.settings import Settings
from tests.conftest import AppClient
from tests.support.page_client import offered_starts, spread_starts

PROXY = {"SLOTBOT_TRUSTED_PROXIES": "127.0.0.1"}


class Visitor:
    """One visitor (an address behind the trusted proxy, a form token) of the demo page."""

    def __init__(self, client: TestClient, address: str) -> None:
        self.client, self.headers, self.token = client, {"X-Forwarded-For": address}, ""

    async def open(self) -> list[datetime]:
        """Open the page; the starts it offers."""
        response = await self.client.get("/meetings/demo", headers=self.headers)
        self.token = response.cookies["slotbot_form"].value
        return offered_starts(await response.text())

    async def post(self, start: datetime, email: str) -> int:
        """Post the booking form; the status."""
        response = await self.client.post("/meetings/demo", headers=self.headers, data={
            "csrf": self.token, "start": start.isoformat(), "d": "30", "tz": "Europe/Lisbon",
            "name": "Visitor", "email": email,
        })
        return response.status


async def test_junk_from_many_addresses_does_not_lock_out_a_real_visitor(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_BOOKING_LIMIT_PER_IP="3",
                              SLOTBOT_BOOKING_LIMIT_PER_PAGE="1", **PROXY)
    never = datetime.fromisoformat("2031-01-06T03:17:00+00:00")  # a time the page does not offer
    for number in range(1, 5):
        attacker = Visitor(client, f"198.51.100.{number}")
        offered = await attacker.open()
        statuses = [await attacker.post(offered[0], "not-an-address"),
                    await attacker.post(never, "a@example.com"), await attacker.post(never, "b@example.com")]
        assert statuses == [400, 409, 409]
        assert await attacker.post(offered[0], "bad") == 429  # the attacker's own limit
    visitor = Visitor(client, "203.0.113.7")
    start = (await visitor.open())[5]
    began = time.monotonic()
    assert await visitor.post(start, "real@example.com") == 200
    # Junk was not counted: this first plausible attempt did not wait (counted, it would wait 2 s).
    assert time.monotonic() - began < MAX_SLOWDOWN * 0.75


async def test_past_the_page_limit_plausible_attempts_wait_but_are_served(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_BOOKING_LIMIT_PER_PAGE="2", **PROXY)
    visitors = [Visitor(client, f"203.0.113.{number}") for number in range(1, 5)]
    starts = spread_starts(await visitors[0].open(), minutes=30, zone="Europe/Copenhagen", count=4)
    timings = []
    for number, (visitor, start) in enumerate(zip(visitors, starts, strict=True)):
        await visitor.open()
        began = time.monotonic()
        assert await visitor.post(start, f"v{number}@example.com") == 200
        timings.append(time.monotonic() - began)
    assert min(timings[2:]) >= SLOWDOWN_STEP  # the third and fourth were slowed down, not refused


def test_the_slowdown_grows_past_the_limit_and_is_bounded() -> None:
    limiter = RateLimiter(3, 60.0)
    waits = [limiter.slowdown("page:1", now=100.0 + n) for n in range(40)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == SLOWDOWN_STEP and waits[4] == 2 * SLOWDOWN_STEP
    assert max(waits) == MAX_SLOWDOWN and waits[-1] == MAX_SLOWDOWN
    assert limiter.slowdown("page:2", now=140.0) == 0.0  # pages are apart
    assert limiter.slowdown("page:1", now=500.0) == 0.0  # a quiet minute later, no wait at all


@pytest.fixture
async def widget_client(aiohttp_client: Any, make_settings: Callable[..., Settings],
                        engine: AsyncEngine) -> TestClient:
    """The app with a per-page widget limit of one message a minute."""
    app = create_app(make_settings(**PROXY), engine=engine)
    app[widget.PER_PAGE] = RateLimiter(1, 60.0)
    client: TestClient = await aiohttp_client(app)
    await seed(app[SESSIONS], app[SECRETS])
    return client


async def test_the_widget_page_limit_slows_and_never_refuses(widget_client: TestClient) -> None:
    statuses = []
    for number in range(1, 4):
        response = await widget_client.post("/widget/messages", json={"page": "demo/intro", "text": "hi"},
                                             headers={"X-Forwarded-For": f"203.0.113.{number}"})
        statuses.append(response.status)
    assert statuses == [200, 200, 200]


