"""Reminders: planned with the booking at elapsed-time offsets (DST included), sent through the
outbox at their time and once, never for a cancelled meeting or a moved meeting's old time, in
the visitor's language; the host's e-mail and chat reminders."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.booking.events import SYNC_EVENT_KIND
from bot.booking.reminders import HOST_CHAT_MINUTES, REMINDER_KIND, Reminders, planned_reminders
from bot.booking.service import Bookings
from bot.booking.visitor import Visitor
from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.conversation.notices import notice_reply
from bot.demo.seed import seed
from bot.notices.chat import NOTICE_KIND, ChatNotifier
from bot.notices.email import EMAIL_KIND
from bot.notices.envelope import unwrap
from bot.notices.outbox import OutboxWorker
from bot.pages.links import Links
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.db import secret_box, session_factory
from storage.models import Booking, CalendarConnection, ChatIdentity, OutboxMessage, SchedulingPage, User
from tests.support.paths import ROOT

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 3, 24, 12, 0, tzinfo=UTC)  # a Wednesday; the EU clocks go forward on Sunday 28th
MEETING = datetime(2027, 3, 29, 10, 0, tzinfo=CPH)  # Monday, summer time: 08:00 UTC
VISITOR = Visitor(name="Ana Lúcia", email="ana@example.com", timezone="Europe/Copenhagen")
LOCALES = ROOT / "bot" / "locales"


def flat(text: str) -> str:
    """``text`` with Babel's narrow spaces as plain ones (e-mail subjects carry plain ones)."""
    return text.replace("\u202f", " ")


class Clock:
    """The "now" the outbox worker and the reminder handler both read."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """A demo host with a page reminding 24 h and 1 h before, and an outbox driven by hand."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], bookings: Bookings, page_id: int,
                 host_id: int) -> None:
        self.sessions, self.bookings, self.page_id, self.host_id = sessions, bookings, page_id, host_id
        self.clock = Clock(NOW)
        self.mail: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.handler = Reminders(sessions, clock=self.clock)
        self.worker = OutboxWorker(sessions, {
            REMINDER_KIND: self.handler.send, EMAIL_KIND: self._mail, NOTICE_KIND: self._notice,
            SYNC_EVENT_KIND: self._ignore,
        }, clock=self.clock)

    async def _mail(self, payload: dict[str, Any]) -> None:
        self.mail.append(payload)

    async def _notice(self, payload: dict[str, Any]) -> None:
        self.notices.append(payload)

    async def _ignore(self, payload: dict[str, Any]) -> None:
        pass

    async def at(self, moment: datetime) -> list[dict[str, Any]]:
        """Run the outbox at ``moment``; the reminder e-mails sent then."""
        self.clock.now = moment
        before = len(self.mail)
        await self.worker.run_once()
        return [m for m in self.mail[before:] if m["subject"].startswith(("Reminder", "Påmindelse",
                                                                          "Lembrete"))]

    async def book(self, start: datetime = MEETING) -> tuple[int, str]:
        made = await self.bookings.book(self.page_id, start=start, duration_minutes=30, visitor=VISITOR,
                                        now=NOW)
        return made.booking_id, made.manage_token

    async def reminders(self) -> list[OutboxMessage]:
        async with self.sessions() as session:
            return list((await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == REMINDER_KIND).order_by(OutboxMessage.next_attempt_at))).scalars())


@pytest.fixture
async def world(engine: AsyncEngine, secrets: SecretBox) -> World:
    sessions = session_factory(engine, secrets=secrets)  # outbox secrets sealed, as in the app
    host = await seed(sessions, secrets)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    async with sessions() as session, session.begin():
        page = (await session.execute(select(SchedulingPage))).scalar_one()
        page.reminders = [60, 1440]
    made = World(sessions, Bookings(sessions, scheduler, links=Links("http://slotbot.test")), page.id,
                 host.user_id)
    await made.worker.run_once()  # nothing yet
    return made


def test_offsets_are_elapsed_time_across_the_dst_change() -> None:
    planned = planned_reminders(MEETING, (2880, 1440, 60), remind_host=True, now=NOW)
    due = {(p.recipient, p.offset_minutes): p.due for p in planned}
    # 24 h before Monday 10:00 summer time is Sunday 08:00 UTC; 48 h before is Saturday 08:00 UTC,
    # which is 09:00 on the Copenhagen clock (winter time), not 10:00.
    assert due[("visitor", 1440)] == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    assert due[("visitor", 2880)] == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
    assert due[("visitor", 2880)].astimezone(CPH).hour == 9
    assert due[("host", 60)] == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert due[("host_chat", HOST_CHAT_MINUTES)] == datetime(2027, 3, 29, 7, 50, tzinfo=UTC)
    stale = {(p.recipient, p.offset_minutes): p.stale for p in planned}
    assert stale[("visitor", 2880)] == due[("visitor", 1440)]  # the next one makes it stale
    assert stale[("host", 60)] == stale[("host_chat", HOST_CHAT_MINUTES)] == MEETING
    # Reminders already past when the meeting is booked are not planned.
    late = planned_reminders(MEETING, (1440, 60), remind_host=False, now=datetime(2027, 3, 29, 6, tzinfo=UTC))
    assert [(p.recipient, p.offset_minutes) for p in late] == [("visitor", 60)]
    assert planned_reminders(MEETING, (), remind_host=False, now=NOW) == []
    chat_only = planned_reminders(MEETING, (), remind_host=True, now=NOW)
    assert [(p.recipient, p.offset_minutes) for p in chat_only] == [("host_chat", HOST_CHAT_MINUTES)]


async def test_a_booking_plans_its_reminders_and_each_is_sent_at_its_time_once(world: World) -> None:
    booking_id, token = await world.book()
    planned = await world.reminders()
    assert [m.next_attempt_at for m in planned] == [datetime(2027, 3, 28, 8, tzinfo=UTC),
                                                    datetime(2027, 3, 29, 7, tzinfo=UTC)]
    assert all(token not in str(m.payload) for m in planned)  # the manage link is sealed

    assert await world.at(datetime(2027, 3, 28, 7, 59, tzinfo=UTC)) == []  # not yet
    sent = await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    assert len(sent) == 1 and sent[0]["to"] == "ana@example.com"
    assert flat(sent[0]["subject"]) == ("Reminder: Intro call with Demo Host — "
                                        "Monday, March 29, 2027 at 10:00 AM")
    assert "Monday, March 29, 2027 at 10:00 AM (Europe/Copenhagen)" in flat(sent[0]["text"])
    assert f"Change or cancel: http://slotbot.test/meetings-manage/{token}" in sent[0]["text"]
    assert await world.at(datetime(2027, 3, 28, 9, 0, tzinfo=UTC)) == []  # once
    assert len(await world.at(datetime(2027, 3, 29, 7, 1, tzinfo=UTC))) == 1  # the 1 h one
    assert await world.at(datetime(2027, 3, 29, 9, 0, tzinfo=UTC)) == []
    async with world.sessions() as session:
        statuses = set((await session.execute(select(OutboxMessage.status).where(
            OutboxMessage.kind == REMINDER_KIND))).scalars())
    assert statuses == {"done"} and booking_id


async def test_a_late_worker_sends_only_the_latest_reminder_and_none_once_the_meeting_began(
    world: World,
) -> None:
    await world.book()
    sent = await world.at(datetime(2027, 3, 29, 7, 30, tzinfo=UTC))  # down since before the 24 h one
    assert len(sent) == 1 and sent[0]["to"] == "ana@example.com"
    assert await world.at(datetime(2027, 3, 29, 9, 0, tzinfo=UTC)) == []
    _, token = await world.book(datetime(2027, 3, 30, 10, 0, tzinfo=CPH))
    assert await world.at(datetime(2027, 3, 30, 8, 1, tzinfo=UTC)) == []  # it has begun
    assert token


async def test_a_requested_booking_gets_no_reminders(world: World) -> None:
    async with world.sessions() as session, session.begin():
        for connection in (await session.execute(select(CalendarConnection))).scalars():
            await session.delete(connection)  # offline: a booking is a request
    await world.book()
    assert await world.reminders() == []


async def test_a_cancelled_meeting_is_not_reminded(world: World) -> None:
    _, token = await world.book()
    await world.bookings.cancel(token)
    assert await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC)) == []
    assert await world.at(datetime(2027, 3, 29, 7, 30, tzinfo=UTC)) == []
    async with world.sessions() as session:
        statuses = set((await session.execute(select(OutboxMessage.status).where(
            OutboxMessage.kind == REMINDER_KIND))).scalars())
    assert statuses == {"done"}  # dropped, not retried


async def test_a_moved_meeting_is_reminded_at_its_new_time_only(world: World) -> None:
    _, token = await world.book()
    later = datetime(2027, 3, 30, 14, 0, tzinfo=CPH)  # Tuesday 12:00 UTC
    await world.bookings.reschedule(token, start=later, now=NOW)
    assert await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC)) == []  # the old time's 24 h
    assert await world.at(datetime(2027, 3, 29, 7, 0, tzinfo=UTC)) == []  # the old time's 1 h
    sent = await world.at(datetime(2027, 3, 29, 12, 0, tzinfo=UTC))
    assert len(sent) == 1 and "Tuesday, March 30, 2027 at 2:00 PM" in flat(sent[0]["subject"])
    assert len(await world.at(datetime(2027, 3, 30, 11, 0, tzinfo=UTC))) == 1


async def test_a_danish_booking_is_reminded_in_danish(world: World) -> None:
    booking_id, token = await world.book()
    async with world.sessions() as session, session.begin():
        await session.execute(update(Booking).where(Booking.id == booking_id).values(
            language="da", location="Kontoret, Vesterbrogade 1", join_url="https://meet.example/abc"))
    sent = await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    assert sent[0]["subject"] == "Påmindelse: Intro call med Demo Host — mandag den 29. marts 2027 kl. 10.00"
    text = sent[0]["text"]
    assert text.startswith("Hej Ana Lúcia")
    assert "Hvor: Kontoret, Vesterbrogade 1" in text and "Deltag: https://meet.example/abc" in text
    assert f"Flyt eller aflys: http://slotbot.test/meetings-manage/{token}" in text


async def test_without_a_visitor_language_the_page_language_is_used(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(language="pt_BR"))
    await world.book()
    async with world.sessions() as session, session.begin():
        # A booking made before bookings kept the visitor's language has none.
        await session.execute(update(Booking).values(language=None))
    sent = await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    assert sent[0]["subject"].startswith("Lembrete: Intro call com Demo Host — segunda-feira, 29 de março")


async def test_the_handler_run_twice_sends_once(world: World) -> None:
    await world.book()
    world.clock.now = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    async with world.sessions() as session:
        message = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == REMINDER_KIND).order_by(OutboxMessage.next_attempt_at))).scalars().first()
    assert message is not None
    async with world.sessions() as session:
        payload = unwrap(REMINDER_KIND, message.payload, secret_box(session))
    await world.handler.send(payload)
    await world.handler.send(payload)  # a worker died after the first run: at-least-once
    await asyncio.gather(world.handler.send(payload), world.handler.send(payload))
    sent = await world.at(world.clock.now)
    assert len(sent) == 1


async def test_the_host_is_reminded_by_e_mail_and_in_chat(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(remind_host=True))
        await session.execute(update(User).values(locale="da"))
    await world.book()
    assert len(await world.at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))) == 2  # 24 h: both
    sent = await world.at(datetime(2027, 3, 29, 7, 0, tzinfo=UTC))
    to_host = [m for m in sent if m["to"] == "demo.host@example.com"]
    assert len(sent) == 2 and len(to_host) == 1
    assert to_host[0]["subject"] == ("Påmindelse: Intro call med Ana Lúcia — "
                                     "mandag den 29. marts 2027 kl. 10.00")
    assert "<ana@example.com>" in to_host[0]["text"]
    assert "meetings-manage" not in to_host[0]["text"]  # the visitor's link is theirs
    reminded = [n for n in world.notices if n["notice"] == "meeting_reminder"]
    assert reminded == []
    await world.at(datetime(2027, 3, 29, 7, 49, tzinfo=UTC))
    assert [n for n in world.notices if n["notice"] == "meeting_reminder"] == []
    await world.at(datetime(2027, 3, 29, 7, 50, tzinfo=UTC))
    reminded = [n for n in world.notices if n["notice"] == "meeting_reminder"]
    assert len(reminded) == 1
    params = reminded[0]["params"]
    assert params["title"] == "Intro call" and params["visitor_name"] == "Ana Lúcia"
    assert datetime.fromisoformat(params["start"]) == MEETING
    reply = notice_reply("meeting_reminder", params, locale="da", timezone="Europe/Copenhagen")
    assert reply.plain_text() == "Om 10 min.: Intro call med Ana Lúcia (kl. 10.00)."
    english = notice_reply("meeting_reminder", params, locale="en", timezone="America/New_York")
    assert flat(english.plain_text()) == "In 10 min: Intro call with Ana Lúcia (at 4:00 AM)."


async def test_the_chat_reminder_reaches_the_hosts_chat(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(remind_host=True))
        session.add(ChatIdentity(user_id=world.host_id, channel="slack", tenant="T1", external_id="U1",
                                 locale="pt_BR"))
    delivered: list[str] = []

    async def deliver(identity: ChatIdentity, reply: Any) -> None:
        delivered.append(reply.plain_text())

    notifier = ChatNotifier(world.sessions)
    notifier.register("slack", deliver)
    world.worker = OutboxWorker(world.sessions, {
        REMINDER_KIND: world.handler.send, EMAIL_KIND: world._mail, NOTICE_KIND: notifier.handle,
        SYNC_EVENT_KIND: world._ignore}, clock=world.clock)
    await world.book()
    await world.at(datetime(2027, 3, 29, 7, 50, tzinfo=UTC))
    assert delivered[-1] == "Em 10 min: Intro call com Ana Lúcia (às 10:00)."
    assert len(delivered) == 2  # the booking's own notice, then the reminder


async def test_a_cancelled_meeting_gets_no_chat_reminder(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(remind_host=True))
    _, token = await world.book()
    await world.bookings.cancel(token)
    await world.at(datetime(2027, 3, 29, 7, 55, tzinfo=UTC))
    assert [n for n in world.notices if n["notice"] == "meeting_reminder"] == []


async def test_the_worker_sleeps_until_the_next_reminder_is_due(world: World) -> None:
    await world.book()
    await world.at(NOW)  # the booking's own messages go
    world.clock.now = datetime(2027, 3, 28, 7, 59, 59, tzinfo=UTC)
    assert await world.worker.idle_seconds() == pytest.approx(1.0)
    world.clock.now = datetime(2027, 3, 28, 8, 0, 30, tzinfo=UTC)
    assert await world.worker.idle_seconds() == 0.0  # overdue: look again at once
    world.clock.now = NOW
    assert await world.worker.idle_seconds() == 2.0  # far off: the poll interval


async def test_run_forever_sends_a_reminder_at_its_time_without_a_new_enqueue(world: World) -> None:
    real_soon = datetime.now(UTC) + timedelta(seconds=1)
    world.worker = OutboxWorker(world.sessions, {
        REMINDER_KIND: Reminders(world.sessions).send, EMAIL_KIND: world._mail, NOTICE_KIND: world._notice,
        SYNC_EVENT_KIND: world._ignore}, poll_seconds=30)
    await world.book()
    async with world.sessions() as session, session.begin():  # the 24 h reminder is due in a second
        first = (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == REMINDER_KIND)
                                       .order_by(OutboxMessage.next_attempt_at))).scalars().first()
        assert first is not None
        first.next_attempt_at = real_soon
    world.worker.start()
    try:
        for _ in range(100):
            if any(m["subject"].startswith("Reminder") for m in world.mail):
                break
            await asyncio.sleep(0.05)
    finally:
        await world.worker.stop()
    # Sent at its time, long before the 30 s poll interval would have looked again.
    assert [m["to"] for m in world.mail if m["subject"].startswith("Reminder")] == ["ana@example.com"]


PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _catalog(locale: str) -> dict[str, str]:
    with (LOCALES / locale / "LC_MESSAGES" / "reminders.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=locale, domain="reminders") if m.id}


@pytest.mark.parametrize("locale", ["en", "pt_BR", "da"])
def test_the_reminders_catalog_translates_every_message(locale: str) -> None:
    source = {str(m) for _, m, _, _ in extract_from_file("python", str(ROOT / "bot/booking/reminders.py"))}
    with (LOCALES / "reminders.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == source
    catalog = _catalog(locale)
    assert set(catalog) == source and len(source) >= 8
    if locale != "en":
        for message_id, text in catalog.items():
            assert text, f"untranslated in {locale}: {message_id}"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message_id))
    assert Path(LOCALES / "reminders.pot").is_file()
