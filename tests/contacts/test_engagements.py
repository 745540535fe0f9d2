"""Meetings on a contact's record: a booking's engagement follows it when moved and cancelled
(:mod:`bot.booking.service`), and the recording seam for calendar sync and the record itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.service import Bookings
from bot.booking.visitor import Visitor
from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.contacts import engagements
from bot.contacts.directory import ContactDetails, Contacts
from bot.demo.seed import seed
from bot.pages.links import Links
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import Contact, MeetingEngagement, SchedulingPage

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; the week after is bookable


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CPH)


async def _views(sessions: async_sessionmaker[AsyncSession], email: str) -> list[engagements.EngagementView]:
    async with sessions() as session:
        contact = (await session.execute(select(Contact).where(Contact.email == email))).scalar_one()
        return await engagements.engagements_of(session, contact.id, CPH)


async def test_a_bookings_engagement_is_moved_and_cancelled_with_it(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    bookings = Bookings(sessions, scheduler, links=Links("http://slotbot.test"))
    async with sessions() as session:
        page_id = (await session.execute(select(SchedulingPage.id))).scalar_one()
    visitor = Visitor("Ana", "Ana@Example.com", "America/Sao_Paulo")
    made = await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=visitor, now=NOW)
    [view] = await _views(sessions, "ana@example.com")
    assert (view.status, view.status_words, view.source_words, view.title) == (
        "scheduled",
        "Scheduled",
        "Booked through a page",
        "Intro call",
    )
    assert view.when == "Mon 23 Nov 2026, 11:00\u201311:30"

    free = await scheduler.availability(host.user_id, start=at(25, 12), end=at(26, 0), now=NOW, live=True)
    target = free.result.slots[0].start
    await bookings.reschedule(made.manage_token, start=target, now=NOW)
    [view] = await _views(sessions, "ana@example.com")
    local = target.astimezone(CPH)
    assert (view.status, view.start) == ("moved", target)
    assert view.when == f"Wed 25 Nov 2026, {local:%H:%M}\u2013{local + timedelta(minutes=30):%H:%M}"
    await bookings.cancel(made.manage_token)
    [view] = await _views(sessions, "ana@example.com")
    assert (view.status, view.status_words) == ("cancelled", "Cancelled")

    other = await bookings.book(page_id, start=at(24, 10), duration_minutes=60, visitor=visitor, now=NOW)
    views = await _views(sessions, "ana@example.com")
    assert [(v.status, v.start) for v in views] == [("cancelled", target), ("scheduled", at(24, 10))]
    async with sessions() as session:
        stored = (
            await session.execute(
                select(MeetingEngagement).where(MeetingEngagement.booking_id == other.booking_id)
            )
        ).scalar_one()
    assert stored.moved_at is None


async def test_recording_seam_for_synced_and_scheduled_meetings(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    host = await seed(sessions, secrets)
    contact_id = await Contacts(sessions).add(host.user_id, ContactDetails("bo@example.com", "Bo"))
    start = at(23, 9)
    async with sessions() as session, session.begin():
        await engagements.record(
            session,
            contact_id=contact_id,
            source="calendar_sync",
            source_key="event:1:abc",
            title="Lunch",
            start=start,
            end=start + timedelta(hours=1),
        )
        # Seen again unchanged (a sync replays it): still scheduled, still one.
        await engagements.record(
            session,
            contact_id=contact_id,
            source="calendar_sync",
            source_key="event:1:abc",
            title="Lunch",
            start=start,
            end=start + timedelta(hours=1),
        )
        await engagements.record(
            session,
            contact_id=contact_id,
            source="contact_record",
            source_key="record:1",
            title="Kick-off",
            start=at(27, 23, 30),
            end=at(28, 0, 30),
        )
    views = await _views(sessions, "bo@example.com")
    assert [(v.title, v.status, v.source_words) for v in views] == [
        ("Kick-off", "scheduled", "Scheduled from the record"),
        ("Lunch", "scheduled", "Synced from the calendar"),
    ]
    assert views[0].when == "Fri 27 Nov 2026, 23:30 \u2013 Sat 28 Nov, 00:30"

    async with sessions() as session, session.begin():
        await engagements.record(
            session,
            contact_id=contact_id,
            source="calendar_sync",
            source_key="event:1:abc",
            title="Lunch (moved)",
            start=start + timedelta(days=1),
            end=start + timedelta(days=1, hours=1),
        )
        assert await engagements.cancel(session, contact_id=contact_id, source_key="record:1")
        assert not await engagements.cancel(session, contact_id=contact_id, source_key="record:nope")
    views = await _views(sessions, "bo@example.com")
    assert [(v.title, v.status) for v in views] == [("Kick-off", "cancelled"), ("Lunch (moved)", "moved")]

    async with sessions() as session:
        with pytest.raises(ValueError, match="source"):
            await engagements.record(
                session,
                contact_id=contact_id,
                source="chat",
                source_key="x",
                title="x",
                start=start,
                end=start + timedelta(hours=1),
            )
        with pytest.raises(ValueError, match="end after"):
            await engagements.record(
                session,
                contact_id=contact_id,
                source="contact_record",
                source_key="x",
                title="x",
                start=start,
                end=start,
            )
