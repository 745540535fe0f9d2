""""Leave your details" is only for a page whose booking is blocked, never a way to mail the host.

The blocked page's form posts ``mode=leave_details``; the host then gets a "your calendar cannot
be read" e-mail carrying the visitor's text. The same post to a healthy page, a page without a
calendar (which takes booking requests) or a page that is off must keep nothing and tell nobody
(:func:`bot.pages.public.booking_mode` is the one rule).
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, select, update

from bot.keys import SESSIONS
from storage.models import BookingAttempt, CalendarConnection, OutboxMessage, SchedulingPage, User
from tests.conftest import AppClient


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True)
    await client.get("/meetings/demo")  # the form cookie, got while the page was healthy
    return client


async def _leave_details(client: TestClient) -> tuple[int, str]:
    token = next(cookie.value for cookie in client.session.cookie_jar if cookie.key == "slotbot_form")
    response = await client.post("/meetings/demo", data={
        "csrf": token, "mode": "leave_details", "name": "Mallory",
        "email": "mallory@example.com", "note": "Your calendar is broken: log in at evil.example"})
    return response.status, await response.text()


async def _kept(client: TestClient) -> tuple[int, int]:
    """Attempts kept, and messages queued."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        attempts = (await session.execute(select(func.count()).select_from(BookingAttempt))).scalar_one()
        messages = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    return int(attempts), int(messages)


async def _change(client: TestClient, *statements: object) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        for statement in statements:
            await session.execute(statement)  # type: ignore[call-overload]


async def test_on_a_healthy_page_details_are_not_taken(client: TestClient) -> None:
    status, body = await _leave_details(client)
    assert status == 409 and "Booking is open" in body and 'class="slots"' in body  # times to pick
    assert await _kept(client) == (0, 0)


async def test_on_a_page_without_calendar_details_are_not_taken(client: TestClient) -> None:
    await _change(client, delete(CalendarConnection))
    status, _ = await _leave_details(client)
    assert status == 409
    assert await _kept(client) == (0, 0)


@pytest.mark.parametrize("switch", ["pages", "page"])
async def test_on_a_page_that_is_off_details_are_not_taken(client: TestClient, switch: str) -> None:
    await _change(client, update(CalendarConnection).values(status="inactive"),  # even when blocked
                  update(User).values(pages_enabled=False) if switch == "pages"
                  else update(SchedulingPage).values(enabled=False))
    status, body = await _leave_details(client)
    assert status == 400 and "not taking bookings" in body
    assert await _kept(client) == (0, 0)


async def test_on_a_blocked_page_details_are_kept_and_the_host_told(client: TestClient) -> None:
    await _change(client, update(CalendarConnection).values(status="needs_reauth"))
    status, body = await _leave_details(client)
    assert status == 200 and "has your details" in body
    attempts, messages = await _kept(client)
    assert attempts == 1 and messages >= 1
