"""Scheduler: availability across stored calendars, problems never shown as free, the cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import (
    Attendee,
    CalendarBusy,
    CalendarInfo,
    CreatedEvent,
    NewEvent,
    ProviderRegistry,
    ReauthRequired,
)
from bot.calendar.local import LocalCalendarProvider, local_factory
from bot.demo.seed import seed
from bot.rules import RulesError, rules_from_json, rules_to_json
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import Booking, Calendar, CalendarConnection, LocalEvent

CPH = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2026, 11, 23, tzinfo=CPH)  # a Monday
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _registry(sessions: async_sessionmaker[AsyncSession], **extra: Any) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    for kind, factory in extra.items():
        registry.register(kind, factory)
    return registry


def _local(dt: datetime) -> tuple[int, int]:
    moment = dt.astimezone(CPH)
    return moment.hour, moment.minute


async def test_demo_calendar_busy_time_through_the_engine(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    scheduler = Scheduler(sessions, _registry(sessions), secrets)
    answer = await scheduler.availability(host.user_id, start=MONDAY,
                                          end=MONDAY + timedelta(days=1), now=NOW)
    assert answer.complete and answer.calendars == ("Demo calendar",)
    starts = [_local(slot.start) for slot in answer.result.slots]
    assert (9, 0) in starts
    assert (9, 30) not in starts  # stand-up 09:30-09:45
    assert (12, 0) in starts  # lunch is marked transparent
    assert (16, 0) not in starts and (16, 30) not in starts  # tentative call 15:00-16:00 UTC
    assert starts[-1] == (15, 30)


async def test_bookings_are_busy_and_created_events_land_in_the_local_calendar(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    start = datetime.combine(MONDAY.date(), time(11), CPH)
    async with sessions() as session, session.begin():
        session.add(Booking(host_id=host.user_id, start_at=start, end_at=start + timedelta(minutes=30),
                            timezone="Europe/Copenhagen", visitor_name="V",
                            visitor_email="v@example.com", manage_token_hash="h1"))
        connection_id = (await session.execute(select(CalendarConnection.id))).scalar_one()
    scheduler = Scheduler(sessions, _registry(sessions), secrets)
    day = dict(start=MONDAY, end=MONDAY + timedelta(days=1), now=NOW)
    starts = [_local(s.start) for s in (await scheduler.availability(host.user_id, **day)).result.slots]
    assert (11, 0) not in starts and (10, 30) in starts

    provider = LocalCalendarProvider(sessions, connection_id, zone="Europe/Copenhagen")
    event = NewEvent(uid="booking-1@slotbot", title="Intro call", start=start + timedelta(hours=3),
                     end=start + timedelta(hours=3, minutes=30), time_zone="Europe/Copenhagen",
                     attendees=(Attendee("v@example.com", "Visitor"),))
    created = await provider.create_event(event, calendar_id="demo")
    assert created.external_id == "booking-1@slotbot"
    scheduler.forget(host.user_id)
    starts = [_local(s.start) for s in (await scheduler.availability(host.user_id, **day)).result.slots]
    assert (14, 0) not in starts
    await provider.delete_event("booking-1@slotbot", calendar_id="demo")
    await provider.delete_event("booking-1@slotbot", calendar_id="demo")  # already gone: fine
    scheduler.forget(host.user_id)
    starts = [_local(s.start) for s in (await scheduler.availability(host.user_id, **day)).result.slots]
    assert (14, 0) in starts


class SlowOrBrokenProvider:
    """A stand-in for a remote service that is slow or refuses the credentials."""

    def __init__(self, mode: str, calls: list[str]) -> None:
        self.mode, self.calls = mode, calls

    async def list_calendars(self) -> list[CalendarInfo]:
        return []

    async def busy(self, *, start: datetime, end: datetime,
                   calendar_ids: Sequence[str]) -> Mapping[str, CalendarBusy]:
        self.calls.append(self.mode)
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "revoked":
            raise ReauthRequired("the account revoked access")
        return {cid: CalendarBusy() for cid in calendar_ids}

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        raise NotImplementedError

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        raise NotImplementedError


async def _add_remote(sessions: async_sessionmaker[AsyncSession], user_id: int, kind: str,
                      secrets: SecretBox) -> int:
    async with sessions() as session, session.begin():
        connection = CalendarConnection(user_id=user_id, provider=kind,
                                        account_email=f"{kind}@example.com",
                                        credentials=secrets.seal(json.dumps({}),
                                                                 purpose="connection.credentials"))
        session.add(connection)
        await session.flush()
        session.add(Calendar(connection_id=connection.id, user_id=user_id, external_id="work",
                             name=f"Work ({kind})", access_role="owner"))
        return connection.id


@pytest.mark.parametrize("mode", ["slow", "revoked"])
async def test_an_unreadable_calendar_is_unknown_never_free(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, mode: str
) -> None:
    host = await seed(sessions, secrets)
    calls: list[str] = []
    connection_id = await _add_remote(sessions, host.user_id, "remote", secrets)
    registry = _registry(sessions, remote=lambda ctx: SlowOrBrokenProvider(mode, calls))
    scheduler = Scheduler(sessions, registry, secrets, timeout=0.2)
    answer = await scheduler.availability(host.user_id, start=MONDAY,
                                          end=MONDAY + timedelta(days=1), now=NOW)
    assert not answer.complete
    assert answer.result.slots == ()
    assert answer.result.candidate_slots  # the demo calendar alone would have free time
    assert [p.name for p in answer.problems] == ["Work (remote)"]
    async with sessions() as session:
        status = (await session.get(CalendarConnection, connection_id)).status  # type: ignore[union-attr]
    assert status == ("needs_reauth" if mode == "revoked" else "active")
    if mode == "revoked":  # not asked again until reconnected
        await scheduler.availability(host.user_id, start=MONDAY,
                                     end=MONDAY + timedelta(days=1), now=NOW)
        assert calls == ["revoked"]


async def test_busy_answers_are_cached_but_live_asks_again(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    calls: list[str] = []
    await _add_remote(sessions, host.user_id, "remote", secrets)
    registry = _registry(sessions, remote=lambda ctx: SlowOrBrokenProvider("ok", calls))
    clock = [0.0]
    scheduler = Scheduler(sessions, registry, secrets, cache_seconds=60, clock=lambda: clock[0])
    window = dict(start=MONDAY, end=MONDAY + timedelta(days=1), now=NOW)
    await scheduler.availability(host.user_id, **window)
    await scheduler.availability(host.user_id, **window)
    assert calls == ["ok"]
    await scheduler.availability(host.user_id, live=True, **window)
    assert calls == ["ok", "ok"]
    clock[0] = 61
    await scheduler.availability(host.user_id, **window)
    assert len(calls) == 3


async def test_deleted_local_calendar_content_error_is_a_problem(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    async with sessions() as session, session.begin():
        event = (await session.execute(select(LocalEvent))).scalar_one()
        event.ical = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    scheduler = Scheduler(sessions, _registry(sessions), secrets)
    answer = await scheduler.availability(host.user_id, start=MONDAY,
                                          end=MONDAY + timedelta(days=1), now=NOW)
    assert answer.result.slots == () and answer.problems[0].name == "Demo calendar"


def test_rules_json_round_trip_and_errors() -> None:
    stored = {"weekly": {"mon": ["09:00-12:00", "13:00-24:00"]}, "overrides": {"2026-12-24": []},
              "notice": 120, "max_per_day": 3}
    rules = rules_from_json(stored, timezone="Europe/Copenhagen", durations=(30, 60))
    assert rules.weekly[0] == ((time(9), time(12)), (time(13), time(0)))
    assert rules.minimum_notice_minutes == 120 and rules.durations == (30, 60)
    again = rules_from_json(rules_to_json(rules), timezone="Europe/Copenhagen", durations=(30, 60))
    assert again == rules
    assert rules_from_json({}, timezone="UTC").weekly[4] == ((time(9), time(17)),)
    for bad in ({"weekly": {"funday": []}}, {"weekly": {"mon": ["17:00-09:00"]}},
                {"overrides": {"tomorrow": []}}, {"notice": "soon"}, {"max_per_day": -1}):
        with pytest.raises(RulesError):
            rules_from_json(bad, timezone="UTC")


async def test_unknown_provider_kind_is_a_problem(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    await _add_remote(sessions, host.user_id, "google", secrets)  # Google not configured here
    scheduler = Scheduler(sessions, _registry(sessions), secrets)
    answer = await scheduler.availability(host.user_id, start=MONDAY,
                                          end=MONDAY + timedelta(days=1), now=NOW)
    assert answer.problems[0].reason == "unavailable" and answer.result.slots == ()


class CountingProvider(SlowOrBrokenProvider):
    """Answers after a short wait, counting the questions."""

    async def busy(self, *, start: datetime, end: datetime,
                   calendar_ids: Sequence[str]) -> Mapping[str, CalendarBusy]:
        self.calls.append(start.isoformat())
        await asyncio.sleep(0.2)
        return {cid: CalendarBusy() for cid in calendar_ids}


async def test_the_same_question_asked_at_once_asks_each_calendar_once(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    calls: list[str] = []
    await _add_remote(sessions, host.user_id, "remote", secrets)
    registry = _registry(sessions, remote=lambda ctx: CountingProvider("ok", calls))
    scheduler = Scheduler(sessions, registry, secrets)
    end = MONDAY + timedelta(days=5)
    # "This week", asked twenty times within the same minute (the start moves by seconds).
    answers = await asyncio.gather(*(
        scheduler.availability(host.user_id, start=MONDAY + timedelta(seconds=n), end=end, now=NOW)
        for n in range(20)
    ))
    assert len(calls) == 1 and all(a.complete for a in answers)
    assert answers[0].result.slots == answers[19].result.slots
    # A booking (live) asks afresh, and so does everyone after the host's data changed.
    await scheduler.availability(host.user_id, start=MONDAY, end=end, now=NOW, live=True)
    scheduler.forget(host.user_id)
    await scheduler.availability(host.user_id, start=MONDAY, end=end, now=NOW)
    assert len(calls) == 3


async def test_busy_time_of_pushed_calendars_is_kept_longer_until_any_process_sees_a_change(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    from sqlalchemy import update

    from storage.models import CalendarSyncState, User

    host = await seed(sessions, secrets)
    calls: list[str] = []
    remote = await _add_remote(sessions, host.user_id, "remote", secrets)
    registry = _registry(sessions, remote=lambda ctx: SlowOrBrokenProvider("ok", calls))
    clock = [0.0]
    scheduler = Scheduler(sessions, registry, secrets, cache_seconds=60, pushed_cache_seconds=900,
                          clock=lambda: clock[0])
    window = dict(start=MONDAY, end=MONDAY + timedelta(days=1), now=NOW)
    async with sessions() as session:
        query = select(Calendar.id).where(Calendar.checks_conflicts).order_by(Calendar.id)
        checked = (await session.execute(query)).scalars().all()
    async with sessions() as session, session.begin():  # every checked calendar but one is pushed
        for calendar_id in checked[1:]:
            session.add(CalendarSyncState(calendar_id=calendar_id, mode="push"))
    await scheduler.availability(host.user_id, **window)
    clock[0] = 61
    await scheduler.availability(host.user_id, **window)
    assert len(calls) == 2  # a polled calendar among them: the usual minute

    async with sessions() as session, session.begin():
        session.add(CalendarSyncState(calendar_id=checked[0], mode="push"))
    clock[0] = 200
    await scheduler.availability(host.user_id, **window)
    clock[0] = 800
    await scheduler.availability(host.user_id, **window)
    assert len(calls) == 2  # all pushed now: the answer read at 61 s is still fresh at 800 s
    async with sessions() as session, session.begin():  # another process's sync saw a change
        await session.execute(
            update(User).where(User.id == host.user_id).values(busy_version=User.busy_version + 1))
    await scheduler.availability(host.user_id, **window)
    assert len(calls) == 3
    clock[0] = 1800
    await scheduler.availability(host.user_id, **window)
    assert len(calls) == 4 and remote  # and not kept forever
