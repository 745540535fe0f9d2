"""What a visitor request costs: database transactions and availability computations per request.

Counted through the real app: SQLAlchemy's engine events ``begin`` (split by the read-only option of
:func:`storage.db.read_session_factory`) and ``commit``, and the calls that reach the app's real
:class:`~bot.scheduling.scheduler.Scheduler` (its ``availability`` wrapped on the instance).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.booking.service import Bookings
from bot.booking.visitor import BookingBlocked, SlotTaken, Visitor
from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.demo.seed import seed
from bot.keys import DOMAINS, SCHEDULER, SESSIONS
from bot.pages.links import Links
from bot.pages.public import Mode, PublicPages, booking_mode
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.db import READ_ONLY_OPTION
from storage.models import Booking, BookingAttempt, Calendar, CalendarConnection
from tests.conftest import AppClient
from tests.support.page_client import offered_starts

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; Monday 23rd is bookable
MONDAY_11 = datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


@dataclass
class Cost:
    """What one request did to the database and the scheduler."""

    reads: int = 0  # read-only transactions (visitor reads, the scheduler's own read)
    other: int = 0  # transactions on write sessions that committed nothing (reads through them)
    commits: int = 0  # transactions that committed
    availability: int = 0  # availability computations asked of the scheduler


class Meter:
    """Counts transactions on ``engine`` and the app scheduler's availability calls."""

    def __init__(self, engine: AsyncEngine, client: TestClient) -> None:
        assert client.app is not None
        self.cost: Cost | None = None
        scheduler = client.app[SCHEDULER]
        real = scheduler.availability

        async def availability(*args: Any, **kwargs: Any) -> Any:
            if self.cost is not None:
                self.cost.availability += 1
            return await real(*args, **kwargs)

        scheduler.availability = availability  # type: ignore[method-assign]
        event.listen(engine.sync_engine, "begin", self._begin)
        event.listen(engine.sync_engine, "commit", self._commit)
        self._engine = engine

    def _begin(self, conn: Connection) -> None:
        if self.cost is not None:
            if conn.get_execution_options().get(READ_ONLY_OPTION, False):
                self.cost.reads += 1
            else:
                self.cost.other += 1

    def _commit(self, conn: Connection) -> None:
        if self.cost is not None:
            self.cost.commits += 1
            self.cost.other -= 1  # a committed transaction began on a write session

    @contextmanager
    def measure(self) -> Iterator[Cost]:
        """Count what happens inside the block."""
        self.cost = Cost()
        try:
            yield self.cost
        finally:
            self.cost = None

    def close(self) -> None:
        """Stop listening."""
        event.remove(self._engine.sync_engine, "begin", self._begin)
        event.remove(self._engine.sync_engine, "commit", self._commit)


@pytest.fixture
async def metered(app_client: AppClient, engine: AsyncEngine) -> Any:
    # The outbox worker polls once an hour here, so only the requests themselves are counted.
    client = await app_client(seed_demo=True, outbox_worker=False,
                              SLOTBOT_BOOKING_LIMIT_PER_IP="1")
    meter = Meter(engine, client)
    try:
        yield client, meter
    finally:
        meter.close()


async def _cost(meter: Meter, request: Callable[[], Awaitable[Any]]) -> tuple[Cost, Any]:
    with meter.measure() as cost:
        response = await request()
        await response.read()
    return cost, response


async def _booking_form(client: TestClient, pick: int = 3) -> dict[str, str]:
    """The booking form's fields for the ``pick``-th offered slot, as a visitor fills them in."""
    page = await (await client.get("/meetings/demo?tz=Europe/Lisbon")).text()
    raw = offered_starts(page)[pick].isoformat()
    form_page = await (await client.get("/meetings/demo", params={"start": raw, "d": "30",
                                                              "tz": "Europe/Lisbon"})).text()
    found = re.search(r'name="csrf" value="([^"]+)"', form_page)
    assert found
    return {"csrf": found.group(1), "start": raw, "d": "30", "tz": "Europe/Lisbon",
            "name": "Ana", "email": "ana@example.com"}


async def test_what_visitor_requests_cost(metered: tuple[TestClient, Meter]) -> None:
    client, meter = metered
    assert client.app is not None
    await client.app[DOMAINS].active()  # the custom domains, cached for every request after
    data = await _booking_form(client)  # also fills the busy-time cache

    get, response = await _cost(meter, lambda: client.get("/meetings/demo?tz=Europe/Lisbon"))
    assert response.status == 200
    assert get == Cost(reads=1)  # warm: the page's read only (the slots come from the slot cache)

    forged, response = await _cost(meter, lambda: client.post("/meetings/demo",
                                                             data={**data, "csrf": "forged"}))
    assert response.status == 403
    body = await response.text()
    assert "The form expired. Please try again." in body
    assert f'name="start" value="{data["start"]}"' in body  # the form comes back, ready to send
    assert forged == Cost(reads=1)  # refused before any availability is computed

    booked, response = await _cost(meter, lambda: client.post("/meetings/demo", data=data))
    assert response.status == 200 and "booked" in await response.text()
    # The page's read, the scheduler's read and the demo's local calendar read live (both for the
    # one availability computation), and the one write transaction.
    assert booked == Cost(reads=2, other=1, commits=1, availability=1)

    limited, response = await _cost(meter, lambda: client.post("/meetings/demo", data=data))
    assert response.status == 429 and "Too many attempts" in await response.text()
    assert limited == Cost(reads=1)


async def test_a_calendar_that_cannot_be_read_blocks_every_visitor_surface(
    metered: tuple[TestClient, Meter], engine: AsyncEngine
) -> None:
    """The connection must be reconnected and none of its calendars is checked: the scheduler sees
    no unreadable calendar, yet the page, the widget, the manage link and booking all refuse."""
    client, meter = metered
    assert client.app is not None
    data = await _booking_form(client)
    booked = await client.post("/meetings/demo", data=data)
    manage = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"]+)"', await booked.text())
    assert manage
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(Calendar).values(checks_conflicts=False))
        await session.execute(update(CalendarConnection).values(status="needs_reauth"))

    page, response = await _cost(meter, lambda: client.get("/meetings/demo"))
    assert "Booking is temporarily unavailable" in await response.text()
    assert page.availability == 0

    widget, response = await _cost(meter, lambda: client.post(
        "/widget/messages", data=json.dumps({"page": "demo/intro", "text": "can I book a meeting?"}),
        headers={"Content-Type": "application/json"}))
    reply = (await response.json())["reply"]
    assert reply["text"].startswith("Of course!") and any(b["type"] == "book" for b in reply["blocks"])
    assert not any(b["type"] == "section" for b in reply["blocks"])  # no time is offered
    assert widget.availability == 0

    view, response = await _cost(meter, lambda: client.get(manage.group(1)))
    assert "cannot be checked right now" in await response.text()
    assert view.availability == 0

    form = await (await client.get(manage.group(1), params={"cancel": "1"})).text()  # a form's token
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    moved, response = await _cost(meter, lambda: client.post(
        manage.group(1) + "/reschedule", data={"csrf": csrf.group(1), "start": data["start"]}))
    assert response.status == 503 and moved.availability == 0
    async with client.app[SESSIONS]() as session:
        reasons = (await session.execute(select(BookingAttempt.reason))).scalars().all()
    assert reasons == ["calendar_access"]  # the visitor's details are kept, the host is told


async def test_the_write_transaction_rechecks_the_connections_the_view_was_read_with(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    links = Links("http://slotbot.test")
    bookings = Bookings(sessions, Scheduler(sessions, registry, secrets), links=links)
    public = PublicPages(sessions, links=links)
    visitor = Visitor(name="Ana", email="ana@example.com")
    view = await public.view("demo")
    assert view is not None and view.mode is Mode.BOOKABLE and view.host.id == host.user_id
    assert view.url == "http://slotbot.test/meetings/demo" and view.page.slug == "intro"

    # Read while every calendar could be read; then the connection must be reconnected (and its
    # calendar is not checked, so the live availability check alone would not notice).
    async with sessions() as session, session.begin():
        await session.execute(update(Calendar).values(checks_conflicts=False))
        await session.execute(update(CalendarConnection).values(status="needs_reauth"))
    with pytest.raises(BookingBlocked):
        await bookings.book(view, start=MONDAY_11, duration_minutes=30, visitor=visitor, now=NOW)
    async with sessions() as session:
        assert (await session.execute(select(Booking))).first() is None
        assert (await session.execute(select(BookingAttempt.reason))).scalar_one() == "calendar_access"

    # Read while no calendar was connected (a request); then one is connected again: the time was
    # not checked against it, so the visitor picks again.
    async with sessions() as session, session.begin():
        connection = (await session.execute(select(CalendarConnection))).scalar_one()
        await session.delete(connection)
    offline = await public.view("demo", "intro")
    assert offline is not None and offline.mode is Mode.OFFLINE
    await seed_connection(sessions, secrets, host.user_id)
    with pytest.raises(SlotTaken):
        await bookings.book(offline, start=MONDAY_11, duration_minutes=30, visitor=visitor, now=NOW)
    async with sessions() as session:
        assert (await session.execute(select(Booking))).first() is None


async def seed_connection(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                          user_id: int) -> None:
    """A fresh, readable local calendar connection for ``user_id``."""
    async with sessions() as session, session.begin():
        session.add(CalendarConnection(
            user_id=user_id, provider="local", account_email="other@example.com",
            credentials=secrets.seal("{}", purpose="connection.credentials"),
        ))


def test_the_booking_mode() -> None:
    assert booking_mode([]) is Mode.OFFLINE
    assert booking_mode(["active", "active"]) is Mode.BOOKABLE
    assert booking_mode(["active", "needs_reauth"]) is Mode.BLOCKED
    assert booking_mode(["inactive"]) is Mode.BLOCKED
    assert booking_mode(["active"], pages_on=False) is Mode.OFF
