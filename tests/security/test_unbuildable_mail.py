"""Line separators in a name or page title never break a confirmation e-mail (header values are
normalised to spaces), and an e-mail that can never be built fails for good at once, and its
host is told: a chat notice and, when the lost mail was a visitor's, an e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import SYNC_EVENT_KIND, EventSync
from bot.booking.service import Visitor
from bot.conversation.notices import notice_reply
from bot.notices.chat import NOTICE_KIND, notice_message
from bot.notices.email import EMAIL_KIND, Mailer, build_email
from bot.notices.outbox import OutboxWorker, enqueue
from storage.crypto import SecretBox
from storage.models import OutboxMessage, SchedulingPage
from tests.booking.test_booking import NOW, _setup, at
from tests.support.mail import Inbox, body_of, smtp_server

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


async def _book(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, *, name: str, email: str,
                title: str = "Intro call") -> dict[str, Any]:
    bookings, scheduler, _host, page_id = await _setup(sessions, secrets)
    async with sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(title=title))
    await bookings.book(page_id, start=at(23, 11), duration_minutes=30, now=NOW,
                        visitor=Visitor(name=name, email=email, timezone="Europe/Lisbon", note=""))
    return {"sync": EventSync(sessions, scheduler).sync}


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


@pytest.mark.parametrize("separator", SEPARATORS)
def test_line_separators_in_header_values_become_spaces(separator: str) -> None:
    message = build_email(sender="Slotbot <bot@example.com>", to="ana@example.com",
                          to_name=f"Ana{separator}Lima", subject=f"Booked:{separator}Intro call", text="x")
    assert str(message["Subject"]) == "Booked: Intro call"
    assert str(message["To"]) == "Ana Lima <ana@example.com>"
    assert message.as_bytes()  # and it can be sent


async def test_a_title_with_line_separators_is_mailed(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, inbox: Inbox) -> None:
    # A visitor's name with one is refused when booking (tests/security/test_visitor_*); a title
    # stored with one (before the editor flattened titles) must still give a sendable e-mail.
    handlers = await _book(sessions, secrets, name="Ana Lima", email="ana@example.com",
                           title="Intro\u0085call\x0b")
    notices: list[dict[str, Any]] = []

    async def notice(payload: dict[str, Any]) -> None:
        notices.append(payload)

    worker = OutboxWorker(sessions, {EMAIL_KIND: Mailer(inbox.settings()).send_payload,
                                     SYNC_EVENT_KIND: handlers["sync"], NOTICE_KIND: notice})
    await worker.run_once()
    assert {m.status for m in await _messages(sessions)} == {"done"}
    subjects = sorted(str(r.message["Subject"]) for r in inbox.received)
    assert subjects == ["Ana Lima booked Intro call", "Booked: Intro call with Demo Host"]
    visitor = next(r for r in inbox.received if r.recipients == ["ana@example.com"])
    assert str(visitor.message["To"]) == "Ana Lima <ana@example.com>"


async def test_an_email_that_can_never_be_built_fails_at_once_and_the_host_is_told(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, inbox: Inbox) -> None:
    handlers = await _book(sessions, secrets, name="Ana Lima", email="ana..lima@example.com")
    notices: list[dict[str, Any]] = []

    async def notice(payload: dict[str, Any]) -> None:
        notices.append(payload)

    worker = OutboxWorker(sessions, {EMAIL_KIND: Mailer(inbox.settings()).send_payload,
                                     SYNC_EVENT_KIND: handlers["sync"], NOTICE_KIND: notice})
    await worker.run_once()  # the follow-ups are due at once, so this pass runs them too
    messages = await _messages(sessions)
    [lost] = [m for m in messages if m.kind == EMAIL_KIND and m.status == "dead"]
    assert lost.attempts == 1 and "ana..lima@example.com" in (lost.last_error or "")
    assert all(m.status == "done" for m in messages if m is not lost)

    told = [n for n in notices if n["notice"] == "email_undeliverable"]
    assert [n["params"]["recipient"] for n in told] == ["ana..lima@example.com"]
    assert told[0]["params"]["subject"] == "Booked: Intro call with Demo Host"
    for locale in ("en", "pt_BR", "da"):
        text = notice_reply("email_undeliverable", told[0]["params"], locale=locale,
                            timezone="Europe/Copenhagen").blocks[0].text  # type: ignore[attr-defined]
        assert "ana..lima@example.com" in text and "Booked: Intro call with Demo Host" in text

    host_mails = [r for r in inbox.received if r.recipients == ["demo.host@example.com"]]
    lost_notice = [r for r in host_mails if "could not" in str(r.message["Subject"])]
    assert len(lost_notice) == 1 and "ana..lima@example.com" in body_of(lost_notice[0].message)


async def test_a_message_given_up_after_its_last_retry_sends_its_follow_ups_too(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async def down(payload: dict[str, Any]) -> None:
        raise ConnectionError("smtp down")

    seen: list[dict[str, Any]] = []

    async def notice(payload: dict[str, Any]) -> None:
        seen.append(payload)

    async with sessions() as session, session.begin():
        enqueue(session, "flaky", {"n": 1}, max_attempts=2,
                on_dead=[notice_message(7, "email_undeliverable", {"recipient": "a@example.com",
                                                                    "subject": "Hi"})])
    moment = [datetime.now(UTC)]
    worker = OutboxWorker(sessions, {"flaky": down, NOTICE_KIND: notice}, base_delay=1, max_delay=1,
                          clock=lambda: moment[0])
    await worker.run_once()
    assert seen == []  # one failure: retried later, nobody told yet
    moment[0] += timedelta(seconds=2)
    await worker.run_once()
    assert [p["notice"] for p in seen] == ["email_undeliverable"]
    assert {m.kind: m.status for m in await _messages(sessions)} == {"flaky": "dead", NOTICE_KIND: "done"}
