"""The scheduling page's slot cache: after a booking, a move, a cancel, a page edit or a calendar
change the next view never offers a stale slot; a started slot is never served from the cache; the
plain list has an ETag (304, changed after a booking); zone, length and language are part of the key.
Also :class:`bot.pages.slot_cache.SlotCache` on its own (generations, expiry, size)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.visitor import Visitor
from bot.calendar.base import CalendarBusy
from bot.demo.seed import DEMO_TIMEZONE, seed
from bot.handlers.pages.page import SLOT_CACHE
from bot.keys import BOOKINGS, PUBLIC_PAGES, SESSIONS, SYNC
from bot.pages.slot_cache import SlotCache, SlotKey
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import LocalEvent, SchedulingPage
from tests.conftest import AppClient
from tests.support.page_client import FORM_COOKIE, offered_starts, spread_starts
from tests.support.signing_in import demo_client

PAGE = "/meetings/demo"
HOST_ZONE = ZoneInfo(DEMO_TIMEZONE)


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client, _ = await demo_client(app_client, SLOTBOT_BASE_URL="http://slotbot.test")
    assert client.app is not None
    await client.app[SYNC].stop()  # calendar sync runs by hand here
    return client


async def _starts(client: TestClient, query: str = "?tz=Europe/Lisbon") -> list[datetime]:
    response = await client.get(PAGE + query)
    assert response.status == 200, await response.text()
    return offered_starts(await response.text())


async def _book(client: TestClient, start: datetime) -> str:
    """Book ``start`` (30 minutes) through the service the page posts to; the manage token."""
    assert client.app is not None
    view = await client.app[PUBLIC_PAGES].view("demo")
    assert view is not None
    made = await client.app[BOOKINGS].book(
        view, start=start, duration_minutes=30, now=datetime.now(UTC),
        visitor=Visitor(name="Ana", email="ana@example.com", timezone="Europe/Lisbon"))
    return made.manage_token


def _later(starts: list[datetime], count: int) -> list[datetime]:
    return spread_starts(starts, minutes=30, zone=DEMO_TIMEZONE, count=count)


async def test_a_booking_a_move_and_a_cancel_are_seen_by_the_next_view(client: TestClient) -> None:
    assert client.app is not None
    first, second = _later(await _starts(client), 2)
    assert first in await _starts(client)  # served from the cache now
    token = await _book(client, first)
    offered = await _starts(client)
    assert first not in offered and second in offered

    await client.app[BOOKINGS].reschedule(token, start=second, now=datetime.now(UTC))
    assert second not in await _starts(client)  # at once: the booking itself is busy
    # The booking's event on the demo's own calendar follows through the outbox (which forgets too).
    offered = await _eventually(client, lambda offered: first in offered)
    assert second not in offered and first in offered

    await client.app[BOOKINGS].cancel(token)
    offered = await _eventually(client, lambda offered: second in offered)
    assert first in offered and second in offered


async def _eventually(client: TestClient, wanted: Callable[[list[datetime]], bool]) -> list[datetime]:
    """The offered starts once ``wanted`` holds (the outbox may still be moving the event)."""
    for _ in range(100):
        offered = await _starts(client)
        if wanted(offered):
            break
        await asyncio.sleep(0.1)
    return offered


async def test_a_booking_posted_on_the_page_is_gone_from_the_next_view(client: TestClient) -> None:
    response = await client.get(PAGE + "?tz=Europe/Lisbon")
    token = response.cookies[FORM_COOKIE].value
    (slot,) = _later(offered_starts(await response.text()), 1)
    booked = await client.post(PAGE, data={"csrf": token, "start": slot.isoformat(), "d": "30",
                                           "tz": "Europe/Lisbon", "name": "Bo", "email": "bo@example.com"})
    assert booked.status == 200
    assert slot not in await _starts(client)


async def test_a_page_edit_is_seen_by_the_next_view(client: TestClient) -> None:
    """Stored straight in the database (no call tells the cache): the view read on every request
    is part of the key."""
    assert client.app is not None
    starts = await _starts(client)
    horizon = datetime.combine(datetime.now(HOST_ZONE).date() + timedelta(days=3), datetime.min.time(),
                               HOST_ZONE)
    assert any(s >= horizon for s in starts)
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(rules={"horizon_days": 3}))
    short = await _starts(client)
    assert short and all(s < horizon for s in short)


def _event(uid: str, start: datetime, minutes: int) -> str:
    return "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20260101T000000Z", f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTEND:{(start + timedelta(minutes=minutes)).astimezone(UTC):%Y%m%dT%H%M%SZ}",
        "SUMMARY:Dentist", "END:VEVENT", "END:VCALENDAR", "",
    ])


async def test_a_calendar_change_is_seen_after_the_sync_reads_it(client: TestClient) -> None:
    assert client.app is not None
    (slot,) = _later(await _starts(client), 1)
    async with client.app[SESSIONS]() as session, session.begin():
        event = (await session.execute(select(LocalEvent).limit(1))).scalar_one()
        calendar_id = event.calendar_id
    await client.app[SYNC].sync_calendar(calendar_id)  # the calendar as it is
    assert slot in await _starts(client)
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(LocalEvent(calendar_id=calendar_id, uid="dentist@test",
                               ical=_event("dentist@test", slot, 30)))
    synced = await client.app[SYNC].sync_calendar(calendar_id)  # the change path: it forgets
    assert synced is not None and synced.changes
    assert slot not in await _starts(client)


async def test_a_started_slot_is_never_served_from_the_cache(client: TestClient) -> None:
    """The page's clock moves on within one day (the same key): the slots that started go."""
    assert client.app is not None
    cache = client.app[SLOT_CACHE]
    day = _weekday_ahead(2)
    cache.wall_clock = lambda: datetime.combine(day, time(6), HOST_ZONE)  # before the working day
    starts = [s for s in await _starts(client) if s.astimezone(HOST_ZONE).date() == day]
    assert len(starts) > 2 and len(cache) == 1
    cache.wall_clock = lambda: starts[1] + timedelta(minutes=1)  # the day's second slot has started
    later = await _starts(client)
    assert starts[0] not in later and starts[1] not in later and starts[2] in later


def _weekday_ahead(days: int) -> date:
    day = datetime.now(HOST_ZONE).date() + timedelta(days=days)
    while day.weekday() not in (1, 2, 3):
        day += timedelta(days=1)
    return day


async def test_the_plain_list_has_an_etag_that_changes_with_a_booking(client: TestClient) -> None:
    first = await client.get(PAGE + "?tz=Europe/Lisbon")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = await client.get(PAGE + "?tz=Europe/Lisbon", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag and not await again.read()
    other_zone = await client.get(PAGE + "?tz=Asia/Tokyo", headers={"If-None-Match": etag})
    assert other_zone.status == 200 and other_zone.headers["ETag"] != etag

    (slot,) = _later(offered_starts(await first.text()), 1)
    await _book(client, slot)
    after = await client.get(PAGE + "?tz=Europe/Lisbon", headers={"If-None-Match": etag})
    assert after.status == 200 and after.headers["ETag"] != etag
    assert slot not in offered_starts(await after.text())


async def test_a_page_with_a_chosen_time_or_a_visitors_details_is_not_kept(client: TestClient) -> None:
    (slot,) = _later(await _starts(client), 1)
    chosen = await client.get(PAGE, params={"tz": "Europe/Lisbon", "start": slot.isoformat()})
    assert chosen.status == 200 and "ETag" not in chosen.headers
    assert chosen.headers["Cache-Control"] == "no-store"
    assert 'name="csrf"' in await chosen.text()
    named = await client.get(PAGE, params={"tz": "Europe/Lisbon", "name": "Ana Secret"})
    assert "ETag" not in named.headers and "Ana+Secret" in await named.text()


async def test_zone_length_and_language_are_part_of_the_key(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(durations=[30, 60]))
    lisbon = await (await client.get(PAGE + "?tz=Europe/Lisbon")).text()
    tokyo = await (await client.get(PAGE + "?tz=Asia/Tokyo")).text()
    assert 'value="Europe/Lisbon" id="tz"' in lisbon and 'value="Asia/Tokyo" id="tz"' in tokyo
    assert "Tokyo" in tokyo.split('id="zone-shown"')[1][:200]
    assert "Tokyo" not in lisbon.split('id="zone-shown"')[1][:200]

    short = offered_starts(await (await client.get(PAGE + "?tz=Europe/Lisbon&d=30")).text())
    long = offered_starts(await (await client.get(PAGE + "?tz=Europe/Lisbon&d=60")).text())
    assert short != long and len(long) < len(short)

    danish = await (await client.get(PAGE + "?tz=Europe/Lisbon&lang=da")).text()
    english = await (await client.get(PAGE + "?tz=Europe/Lisbon&lang=en")).text()
    assert '<html lang="da">' in danish and '<html lang="en">' in english
    assert "Tidszone" in danish and "Tidszone" not in english


# -- the cache on its own ----------------------------------------------------------------------

def _key(user_id: int = 1, page_id: int = 1, zone: str = "UTC") -> SlotKey:
    day = date(2026, 12, 1)
    return SlotKey(user_id=user_id, page_id=page_id, view="v", duration=30, zone=zone, lang="en",
                   clock="24", month=day, day=None, today=day, last=day + timedelta(days=60))


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STARTS = (NOW + timedelta(hours=1), NOW + timedelta(hours=2))


def test_an_answer_overtaken_by_a_change_is_not_kept() -> None:
    cache = SlotCache()
    generation = cache.generation(1)
    cache.invalidate_user(1)  # a booking while the slots were being computed
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(0), generation=generation, fresh_for=30)
    assert cache.get(_key(), NOW) is None
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(0), generation=cache.generation(1),
              fresh_for=30)
    assert cache.get(_key(), NOW) is not None
    cache.invalidate_user(2)
    assert cache.get(_key(), NOW) is not None  # another host's change
    cache.invalidate_page(1)
    assert cache.get(_key(), NOW) is None


def test_an_entry_expires_with_its_busy_time_at_most_max_age_and_before_its_first_start() -> None:
    moment = [0.0]
    cache = SlotCache(clock=lambda: moment[0], max_age=60)
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(0), generation=0, fresh_for=0)
    assert cache.get(_key(), NOW) is None  # busy time that was not cached: not kept
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(0), generation=0, fresh_for=20)
    moment[0] = 19.9
    assert cache.get(_key(), NOW) is not None
    moment[0] = 20.0
    assert cache.get(_key(), NOW) is None
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(0), generation=0, fresh_for=900)
    moment[0] = 79.0
    assert cache.get(_key(), NOW) is not None
    moment[0] = 80.0
    assert cache.get(_key(), NOW) is None
    cache.put(_key(), context={}, starts=STARTS, notice=timedelta(minutes=30), generation=0, fresh_for=30)
    assert cache.get(_key(), NOW + timedelta(minutes=29)) is not None
    assert cache.get(_key(), NOW + timedelta(minutes=31)) is None  # the first start is inside the notice


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache = SlotCache(size=2)
    for zone in ("UTC", "Asia/Tokyo", "Europe/Lisbon"):
        if zone == "Europe/Lisbon":
            assert cache.get(_key(zone="UTC"), NOW) is not None  # UTC used last: Tokyo goes
        cache.put(_key(zone=zone), context={}, starts=STARTS, notice=timedelta(0), generation=0,
                  fresh_for=30)
    assert len(cache) == 2
    assert cache.get(_key(zone="Asia/Tokyo"), NOW) is None
    assert cache.get(_key(zone="UTC"), NOW) is not None


class _GatedProvider:
    """A calendar that answers (free) only when the test opens the gate."""

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate

    async def busy(self, *, start: datetime, end: datetime,
                   calendar_ids: Sequence[str]) -> Mapping[str, CalendarBusy]:
        await self.gate.wait()
        return {cid: CalendarBusy() for cid in calendar_ids}


async def test_busy_time_read_while_the_host_changed_is_not_kept(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    """A calendar read that began before a change (forget) may have read the old calendar: the
    scheduler does not keep it, so nothing built on it (the slot cache) is kept either."""
    from tests.scheduling.test_scheduling import MONDAY, NOW, _add_remote, _registry

    host = await seed(sessions, secrets)
    await _add_remote(sessions, host.user_id, "remote", secrets)
    gate = asyncio.Event()
    scheduler = Scheduler(sessions, _registry(sessions, remote=lambda ctx: _GatedProvider(gate)), secrets)
    told: list[int] = []
    scheduler.on_forget(told.append)
    window = {"start": MONDAY, "end": MONDAY + timedelta(days=1)}
    asking = asyncio.create_task(scheduler.availability(host.user_id, now=NOW, **window))
    await asyncio.sleep(0.2)  # the read is under way
    scheduler.forget(host.user_id)
    gate.set()
    await asking
    assert told == [host.user_id]
    assert scheduler.fresh_for(host.user_id, **window) == 0  # not kept
    await scheduler.availability(host.user_id, now=NOW, **window)
    assert scheduler.fresh_for(host.user_id, **window) > 0  # asked afresh: kept
