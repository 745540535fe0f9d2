"""Booking: live re-check, one winner per slot under a race, offline requests, blocked booking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import SYNC_EVENT_KIND, EventSync
from bot.booking.service import Bookings, token_hash
from bot.booking.visitor import (
    BookingBlocked,
    BookingError,
    InvalidVisitor,
    PagesOff,
    SlotTaken,
    SlotUnavailable,
    Visitor,
)
from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.demo.seed import seed
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND
from bot.notices.outbox import OutboxWorker
from bot.pages.links import Links
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import (
    Booking,
    BookingAttempt,
    CalendarConnection,
    Contact,
    LocalEvent,
    MeetingEngagement,
    OutboxMessage,
    SchedulingPage,
    User,
)

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; Monday 23rd is bookable


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CPH)


VISITOR = Visitor(name="Ana Lúcia", email="ana@example.com", timezone="America/Sao_Paulo",
                  note="About the pilot")


async def _setup(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
                 ) -> tuple[Bookings, Scheduler, int, int]:
    host = await seed(sessions, secrets)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    async with sessions() as session:
        page_id = (await session.execute(select(SchedulingPage.id))).scalar_one()
    return Bookings(sessions, scheduler, links=Links("http://slotbot.test")), scheduler, host.user_id, page_id


async def test_booking_writes_everything_and_the_event_lands_in_the_default_calendar(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, scheduler, host_id, page_id = await _setup(sessions, secrets)
    made = await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR,
                               now=NOW)
    assert made.status == "confirmed" and len(made.manage_token) >= 32
    async with sessions() as session:
        booking = await session.get(Booking, made.booking_id)
        assert booking is not None and booking.manage_token_hash == token_hash(made.manage_token)
        contact = (await session.execute(select(Contact))).scalar_one()
        engagement = (await session.execute(select(MeetingEngagement))).scalar_one()
        kinds = sorted(m.kind for m in (await session.execute(select(OutboxMessage))).scalars())
    assert contact.email == "ana@example.com" and engagement.booking_id == made.booking_id
    assert kinds == sorted([SYNC_EVENT_KIND, EMAIL_KIND, EMAIL_KIND, NOTICE_KIND])

    sent: list[dict[str, Any]] = []

    async def capture(payload: dict[str, Any]) -> None:
        sent.append(payload)

    sync = EventSync(sessions, scheduler).sync
    worker = OutboxWorker(sessions, {SYNC_EVENT_KIND: sync, EMAIL_KIND: capture, NOTICE_KIND: capture})
    assert await worker.run_once() == 4
    notice = next(p for p in sent if p.get("notice") == "booking_created")
    assert notice["params"]["visitor_email"] == "ana@example.com"
    assert notice["params"]["start"] == at(23, 11).astimezone(UTC).isoformat()
    async with sessions() as session:
        events = (await session.execute(select(LocalEvent.uid))).scalars().all()
        booking = await session.get(Booking, made.booking_id)
    assert f"slotbot-booking-{made.booking_id}@slotbot" in events
    assert booking is not None and booking.external_event_id
    visitor_mail = next(p for p in sent if p["to"] == "ana@example.com")
    invitation = icalendar.Calendar.from_ical(visitor_mail["ics"])
    assert str(invitation["METHOD"]) == "REQUEST"
    vevent = next(iter(invitation.walk("VEVENT")))
    assert vevent.decoded("DTSTART") == at(23, 11)
    assert "ana@example.com" in str(vevent["ATTENDEE"])
    assert "demo.host@example.com" in str(vevent["ORGANIZER"])
    assert f"http://slotbot.test/meetings-manage/{made.manage_token}" in visitor_mail["text"]

    # The slot is gone, and booking it again is refused.
    answer = await scheduler.availability(host_id, start=at(23, 0), end=at(24, 0), now=NOW)
    assert at(23, 11) not in [s.start for s in answer.result.slots]
    with pytest.raises(SlotTaken):
        await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR, now=NOW)


async def test_race_for_one_slot_has_exactly_one_winner(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    rounds = [at(23, 10), at(23, 14), at(24, 10), at(25, 11), at(26, 13)]
    for start in rounds:
        async def attempt(n: int, start: datetime = start) -> str:
            visitor = Visitor(name=f"Visitor {n}", email=f"v{n}@example.com")
            try:
                await bookings.book(page_id, start=start, duration_minutes=30, visitor=visitor,
                                    now=NOW)
            except SlotTaken:
                return "taken"
            return "booked"

        results = await asyncio.gather(*(attempt(n) for n in range(50)))
        assert results.count("booked") == 1 and results.count("taken") == 49
    async with sessions() as session:
        assert len((await session.execute(select(Booking))).all()) == len(rounds)


async def test_offline_mode_takes_requests_and_writes_no_calendar(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    async with sessions() as session, session.begin():
        await session.execute(update(CalendarConnection).values(status="active"))
        for connection in (await session.execute(select(CalendarConnection))).scalars():
            await session.delete(connection)
    made = await bookings.book(page_id, start=at(23, 9, 30), duration_minutes=30, visitor=VISITOR,
                               now=NOW)  # the stand-up is in the deleted calendar: free now
    assert made.status == "requested"
    async with sessions() as session:
        kinds = [m.kind for m in (await session.execute(select(OutboxMessage))).scalars()]
    assert SYNC_EVENT_KIND not in kinds and kinds.count(EMAIL_KIND) == 2


async def test_lost_calendar_blocks_booking_and_keeps_the_visitor(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    async with sessions() as session, session.begin():
        await session.execute(update(CalendarConnection).values(status="needs_reauth"))
    with pytest.raises(BookingBlocked):
        await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR, now=NOW)
    async with sessions() as session:
        attempt = (await session.execute(select(BookingAttempt))).scalar_one()
        rows = {m.kind: m for m in (await session.execute(select(OutboxMessage))).scalars()}
        mail, notice = rows[EMAIL_KIND], rows[NOTICE_KIND]
        assert len(rows) == 2
        assert (await session.execute(select(Booking))).first() is None
    assert notice.payload["notice"] == "booking_blocked"
    assert notice.payload["params"]["visitor_email"] == "ana@example.com"
    assert (attempt.visitor_email, attempt.note) == ("ana@example.com", "About the pilot")
    assert mail.payload["to"] == "demo.host@example.com" and "Ana Lúcia" in mail.payload["subject"]


@pytest.mark.parametrize(
    ("start", "duration", "error"),
    [
        (at(19, 11), 30, SlotTaken),  # in the past
        (at(23, 7), 30, SlotTaken),  # before working hours
        (at(23, 9, 30), 30, SlotTaken),  # the stand-up
        (at(23, 11, 10), 30, SlotTaken),  # off the slot grid
        (at(28, 11), 30, SlotTaken),  # Saturday
        (at(23, 11), 45, SlotUnavailable),  # not a duration of the page
    ],
)
async def test_times_the_page_does_not_offer_are_refused(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, start: datetime,
    duration: int, error: type[Exception],
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    with pytest.raises(error):
        await bookings.book(page_id, start=start, duration_minutes=duration, visitor=VISITOR,
                            now=NOW)
    async with sessions() as session:
        assert (await session.execute(select(Booking))).first() is None
        assert (await session.execute(select(OutboxMessage))).first() is None


@pytest.mark.parametrize(
    "visitor",
    [
        Visitor(name="", email="a@example.com"),
        Visitor(name="Eve\r\nBcc: all@example.com", email="eve@example.com"),
        Visitor(name="Eve", email="not-an-address"),
        Visitor(name="Eve", email="eve@example.com\nBcc: x@example.com"),
        Visitor(name="E" * 201, email="eve@example.com"),
        Visitor(name="Eve", email="eve@example.com", timezone="Mars/Base"),
    ],
)
async def test_bad_visitor_details_are_refused(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, visitor: Visitor
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    with pytest.raises(InvalidVisitor):
        await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=visitor, now=NOW)


async def test_pages_turned_off_take_no_bookings(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    async with sessions() as session, session.begin():
        await session.execute(update(User).values(pages_enabled=False))
    with pytest.raises(PagesOff):
        await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR, now=NOW)
    async with sessions() as session:
        assert (await session.get(SchedulingPage, page_id)) is not None  # not deleted



async def test_reschedule_moves_the_event_and_the_invitation_keeps_its_uid(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, scheduler, host_id, page_id = await _setup(sessions, secrets)
    sent: list[dict[str, Any]] = []

    async def capture(payload: dict[str, Any]) -> None:
        sent.append(payload)

    worker = OutboxWorker(sessions, {SYNC_EVENT_KIND: EventSync(sessions, scheduler).sync,
                                     EMAIL_KIND: capture, NOTICE_KIND: capture})
    made = await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR, now=NOW)
    await worker.run_once()
    other = await bookings.book(page_id, start=at(24, 10), duration_minutes=30,
                                visitor=Visitor(name="Bo", email="bo@example.com"), now=NOW)
    await worker.run_once()
    with pytest.raises(SlotTaken):
        await bookings.reschedule(made.manage_token, start=other.start, now=NOW)
    sent.clear()

    free = await scheduler.availability(host_id, start=at(25, 12), end=at(26, 0), now=NOW, live=True)
    target = free.result.slots[0].start
    moved = await bookings.reschedule(made.manage_token, start=target, now=NOW)
    assert (moved.booking_id, moved.start) == (made.booking_id, target)
    assert await worker.run_once() == 4  # event sync, visitor mail, host mail, host chat notice
    moved_notice = next(p for p in sent if p.get("notice") == "booking_rescheduled")
    assert moved_notice["params"]["start"] == target.astimezone(UTC).isoformat()
    async with sessions() as session:
        uids = set((await session.execute(select(LocalEvent.uid))).scalars())
        booking = await session.get(Booking, made.booking_id)
        engagement = (await session.execute(
            select(MeetingEngagement).where(MeetingEngagement.booking_id == made.booking_id))).scalar_one()
    assert f"slotbot-booking-{made.booking_id}@slotbot" not in uids
    assert f"slotbot-booking-{made.booking_id}-1@slotbot" in uids
    assert booking is not None and (booking.sequence, booking.event_sequence) == (1, 1)
    assert engagement.start_at == target
    visitor_mail = next(p for p in sent if p["to"] == "ana@example.com")
    vevent = next(iter(icalendar.Calendar.from_ical(visitor_mail["ics"]).walk("VEVENT")))
    assert str(vevent["UID"]) == f"slotbot-booking-{made.booking_id}@slotbot"
    assert int(vevent["SEQUENCE"]) == 1 and vevent.decoded("DTSTART") == target
    assert "Moved" in visitor_mail["subject"]
    answer = await scheduler.availability(host_id, start=at(23, 0), end=at(26, 0), now=NOW)
    offered = [s.start for s in answer.result.slots]
    assert at(23, 11) in offered and target not in offered

    # Running the sync again changes nothing; cancelling removes the moved event.
    await EventSync(sessions, scheduler).sync({"booking_id": made.booking_id})
    await bookings.cancel(made.manage_token)
    await worker.run_once()
    async with sessions() as session:
        uids = set((await session.execute(select(LocalEvent.uid))).scalars())
    assert not any(uid.startswith(f"slotbot-booking-{made.booking_id}") for uid in uids)
    assert f"slotbot-booking-{other.booking_id}@slotbot" in uids
    with pytest.raises(BookingError, match="cancelled"):
        await bookings.reschedule(made.manage_token, start=at(26, 10), now=NOW)
    with pytest.raises(BookingError, match="does not belong"):
        await bookings.reschedule("not-a-token", start=at(26, 10), now=NOW)


async def test_a_started_meeting_cannot_be_moved(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    bookings, _, _, page_id = await _setup(sessions, secrets)
    made = await bookings.book(page_id, start=at(23, 11), duration_minutes=30, visitor=VISITOR, now=NOW)
    later = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
    with pytest.raises(SlotUnavailable, match="already started"):
        await bookings.reschedule(made.manage_token, start=at(25, 14), now=later)


def test_only_the_overlap_guard_means_the_slot_was_taken() -> None:
    from sqlalchemy.exc import IntegrityError

    from bot.booking.service import _overlap_or

    overlap = IntegrityError("INSERT", {}, Exception('violates exclusion constraint "bookings_no_overlap"'))
    other = IntegrityError("INSERT", {}, Exception('duplicate key value violates "uq_contact_email"'))
    assert isinstance(_overlap_or(overlap), SlotTaken)
    assert _overlap_or(other) is other  # a bug, not a visitor's bad luck: never "taken"
