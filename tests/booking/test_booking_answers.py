"""Answers to a page's own questions reach the host: in the calendar event, the e-mail, the chat notice.

They were stored with the booking and shown nowhere. Now the event's description (which the
visitor's invitation carries too) lists them under the note, the host's e-mail lists them, and
the chat notice shows each as a field. (There is no bookings view in the dashboard yet.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.booking.events import booking_event
from bot.conversation.core import notice_reply
from bot.conversation.reply import Fields
from bot.keys import SECRETS, SESSIONS
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND
from bot.notices.envelope import unwrap
from storage.models import Booking, CalendarConnection, OutboxMessage, SchedulingPage, User
from tests.conftest import AppClient
from tests.support.page_client import offered_starts

QUESTIONS = [{"label": "Company", "required": True}, {"label": "Phone", "required": False},
             {"label": "Team size", "required": False}]


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True, outbox_worker=False)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(questions=QUESTIONS))
    return client


async def test_the_host_is_told_the_answers(client: TestClient) -> None:
    page = await client.get("/meetings/demo")
    start = offered_starts(await page.text())[2]
    booked = await client.post("/meetings/demo", data={
        "csrf": page.cookies["slotbot_form"].value, "start": start.isoformat(), "d": "30",
        "tz": "Europe/Lisbon", "name": "Ana", "email": "ana@example.com", "note": "About pricing",
        "q1": "Acme", "q2": "", "q3": "12"})
    assert booked.status == 200
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        messages = list((await session.execute(select(OutboxMessage))).scalars())
        booking = (await session.execute(select(Booking))).scalar_one()
        host = (await session.execute(select(User))).scalars().first()
    assert host is not None and host.email
    # Waiting e-mails keep their text and invitation sealed: open them as the worker does.
    mails = {m.payload["to"]: unwrap(m.kind, m.payload, client.app[SECRETS])
             for m in messages if m.kind == EMAIL_KIND}
    assert "Company: Acme\nTeam size: 12" in mails[host.email]["text"]
    assert "Phone" not in mails[host.email]["text"]  # unanswered

    event = booking_event(host, "Intro call", booking)
    assert event.description == "About pricing\n\nCompany: Acme\nTeam size: 12"
    invitation = icalendar.Calendar.from_ical(mails["ana@example.com"]["ics"])
    assert "Company: Acme" in str(next(iter(invitation.walk("VEVENT")))["DESCRIPTION"])

    notice = next(m.payload for m in messages if m.kind == NOTICE_KIND)
    for locale in ("en", "pt_BR", "da"):
        reply = notice_reply(notice["notice"], notice["params"], locale=locale, timezone="Europe/Lisbon")
        pairs = [pair for block in reply.blocks if isinstance(block, Fields) for pair in block.pairs]
        assert ("Company", "Acme") in pairs and ("Team size", "12") in pairs


def test_a_notice_queued_before_answers_were_sent_still_renders() -> None:
    params = {"visitor_name": "Rui", "visitor_email": "rui@example.com", "title": "Intro",
              "start": "2026-03-27T13:00:00+00:00", "status": "confirmed"}
    reply = notice_reply("booking_created", params, locale="en", timezone="UTC")
    assert [len(b.pairs) for b in reply.blocks if isinstance(b, Fields)] == [2]


def test_an_event_without_note_or_answers_has_an_empty_description() -> None:
    host = User(id=1, slug="h", display_name="H", email=None, timezone="UTC", pages_enabled=True)
    start = datetime(2026, 3, 27, 13, tzinfo=UTC)
    booking = Booking(id=1, sequence=0, visitor_name="A", visitor_email="a@example.com", note="",
                      answers={}, start_at=start, end_at=start + timedelta(minutes=30))
    assert booking_event(host, "Intro", booking).description == ""


async def test_while_booking_is_blocked_the_host_gets_the_answers_too(client: TestClient) -> None:
    page = await client.get("/meetings/demo")
    start = offered_starts(await page.text())[2]
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(CalendarConnection).values(status="needs_reauth"))
    refused = await client.post("/meetings/demo", data={
        "csrf": page.cookies["slotbot_form"].value, "start": start.isoformat(), "d": "30",
        "name": "Ana", "email": "ana@example.com", "q1": "Acme"})
    assert refused.status == 503
    async with client.app[SESSIONS]() as session:
        texts = [unwrap(m.kind, m.payload, client.app[SECRETS])["text"]
                 for m in (await session.execute(select(OutboxMessage))).scalars() if m.kind == EMAIL_KIND]
    assert any("tried to book" in text and "Company: Acme" in text for text in texts)
