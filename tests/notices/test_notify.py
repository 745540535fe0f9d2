"""E-mail through a real SMTP server (aiosmtpd), header injection refused, one notice per incident."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import AccessLost, CalendarBusy, ProviderRegistry, ReauthRequired
from bot.calendar.local import local_factory
from bot.demo.seed import seed
from bot.notices.email import EMAIL_KIND, HeaderInjection, Mailer, build_email, enqueue_email
from bot.notices.outbox import OutboxWorker
from bot.scheduling.scheduler import Scheduler
from bot.settings import SmtpSettings
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection, OutboxMessage


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_mail_reaches_a_real_smtp_server_with_its_invitation(
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=port, tls="none",
                                 sender="Slotbot <bot@example.com>"))
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    await mailer.send_payload({"to": "visitor@example.com", "to_name": "Ana Lúcia",
                               "subject": "Booked: Intro call", "text": "See you then.",
                               "ics": ics})
    sender, recipients, message = inbox.messages[0]
    assert sender == "bot@example.com" and recipients == ["visitor@example.com"]
    assert message["Subject"] == "Booked: Intro call"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "See you then." in parts["text/plain"].get_payload(decode=True).decode()
    assert parts["text/calendar"].get_param("method") == "REQUEST"


@pytest.mark.parametrize("field", ["subject", "to", "to_name"])
def test_line_breaks_in_headers_are_refused(field: str) -> None:
    values = {"to": "v@example.com", "to_name": "V", "subject": "Hi"}
    values[field] += "\r\nBcc: everyone@example.com"
    with pytest.raises(HeaderInjection):
        build_email(sender="s@example.com", text="x", **values)


async def test_unusable_payload_fails_for_good(sessions: async_sessionmaker[AsyncSession]) -> None:
    mailer = Mailer(SmtpSettings())
    async with sessions() as session, session.begin():
        session.add(OutboxMessage(kind=EMAIL_KIND, payload={"to": "x@example.com\nBcc: y",
                                                             "subject": "s", "text": "t"}))
    worker = OutboxWorker(sessions, {EMAIL_KIND: mailer.send_payload})
    await worker.run_once()
    async with sessions() as session:
        message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert message.status == "dead" and message.attempts == 1


def test_enqueue_validates_before_anything_is_stored() -> None:
    with pytest.raises(HeaderInjection):
        enqueue_email(None, to="a@example.com", subject="x\ny", text="t")  # type: ignore[arg-type]


class Broken:
    """A remote calendar that refuses the credentials or lost one calendar."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def list_calendars(self) -> list[Any]:
        return []

    async def busy(self, *, start: datetime, end: datetime, calendar_ids: Any) -> dict[str, Any]:
        if self.mode == "revoked":
            raise ReauthRequired("token revoked")
        return {cid: CalendarBusy(error=AccessLost("404 notFound")) for cid in calendar_ids}

    async def create_event(self, event: Any, *, calendar_id: str) -> Any:
        raise NotImplementedError

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        raise NotImplementedError


@pytest.mark.parametrize("mode", ["revoked", "lost"])
async def test_host_is_told_once_per_incident(sessions: async_sessionmaker[AsyncSession],
                                              secrets: SecretBox, mode: str) -> None:
    host = await seed(sessions, secrets)
    async with sessions() as session, session.begin():
        connection = CalendarConnection(user_id=host.user_id, provider="remote",
                                        account_email="work@example.com",
                                        credentials=secrets.seal("{}", purpose="connection.credentials"))
        session.add(connection)
        await session.flush()
        session.add(Calendar(connection_id=connection.id, user_id=host.user_id, external_id="w",
                             name="Work", access_role="owner"))
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    registry.register("remote", lambda ctx: Broken(mode))
    scheduler = Scheduler(sessions, registry, secrets, cache_seconds=0)
    start = datetime(2026, 11, 23, tzinfo=ZoneInfo("Europe/Copenhagen"))
    for _ in range(3):
        answer = await scheduler.availability(host.user_id, start=start,
                                              end=start + timedelta(days=1), now=start)
        assert answer.result.slots == ()
        await asyncio.sleep(0)
    async with sessions() as session:
        mails = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.kind == EMAIL_KIND))
        ).scalars().all()
    assert len(mails) == 1
    assert mails[0].payload["to"] == "demo.host@example.com"
    assert ("reconnect" if mode == "revoked" else "Work") in mails[0].payload["subject"]
