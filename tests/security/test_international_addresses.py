"""Internationalised addresses are mailed: a UTF-8 local part through a server that offers
SMTPUTF8 (a real aiosmtpd), an IDNA domain in its ASCII form through any server. A server
without SMTPUTF8, or one refusing the mailbox for good (5xx), makes the e-mail fail at once, and
the host is told."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import SYNC_EVENT_KIND
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND, Mailer, enqueue_email
from bot.notices.outbox import OutboxWorker
from storage.crypto import SecretBox
from storage.models import OutboxMessage
from tests.security.test_unbuildable_mail import _book
from tests.support.mail import Inbox, body_of, smtp_server


async def _deliver(sessions: async_sessionmaker[AsyncSession], inbox: Inbox,
                   sync: Any) -> list[dict[str, Any]]:
    """Run the outbox against ``inbox``; return the chat notices it sent."""
    notices: list[dict[str, Any]] = []

    async def notice(payload: dict[str, Any]) -> None:
        notices.append(payload)

    worker = OutboxWorker(sessions, {EMAIL_KIND: Mailer(inbox.settings()).send_payload,
                                     SYNC_EVENT_KIND: sync, NOTICE_KIND: notice})
    await worker.run_once()
    return notices


async def _email_statuses(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.status, OutboxMessage.attempts)
                                     .where(OutboxMessage.kind == EMAIL_KIND).order_by(OutboxMessage.id))
        return [(status, attempts) for status, attempts in rows]


async def test_a_utf8_local_part_is_mailed_through_a_server_with_smtputf8(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
    handlers = await _book(sessions, secrets, name="Évé Ünï", email="évé@example.com")
    with smtp_server(smtputf8=True) as inbox:
        assert await _deliver(sessions, inbox, handlers["sync"])
    assert await _email_statuses(sessions) == [("done", 1), ("done", 1)]
    [visitor] = [r for r in inbox.received if r.recipients == ["évé@example.com"]]
    assert visitor.smtputf8 and str(visitor.message["To"]) == "Évé Ünï <évé@example.com>"
    assert "/meetings-manage/" in body_of(visitor.message)


@pytest.mark.parametrize("smtputf8", [True, False])
async def test_an_idna_domain_is_mailed_in_its_ascii_form(
        sessions: async_sessionmaker[AsyncSession], smtputf8: bool) -> None:
    # (The booking form takes ASCII domains only today; the mail side takes any.)
    async with sessions() as session, session.begin():
        enqueue_email(session, to="ana@Exämple.com", to_name="Ana", subject="Booked", text="See you.")
    with smtp_server(smtputf8=smtputf8) as inbox:
        await _deliver(sessions, inbox, None)
    assert await _email_statuses(sessions) == [("done", 1)]
    [mail] = inbox.received
    assert mail.recipients == ["ana@xn--exmple-cua.com"] and not mail.smtputf8


async def test_without_smtputf8_a_utf8_address_fails_at_once_and_the_host_is_told(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
    handlers = await _book(sessions, secrets, name="Évé", email="évé@example.com")
    with smtp_server(smtputf8=False) as inbox:
        notices = await _deliver(sessions, inbox, handlers["sync"])
    statuses = await _email_statuses(sessions)
    assert statuses[0] == ("dead", 1) and all(s == ("done", 1) for s in statuses[1:])
    told = [n["params"] for n in notices if n["notice"] == "email_undeliverable"]
    assert [p["recipient"] for p in told] == ["évé@example.com"]
    lost = [r for r in inbox.received if "could not e-mail" in str(r.message["Subject"])]
    assert [r.recipients for r in lost] == [["demo.host@example.com"]]


async def test_a_mailbox_refused_for_good_fails_at_once_and_the_host_is_told(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
    handlers = await _book(sessions, secrets, name="Ana", email="gone@example.com")
    with smtp_server() as inbox:
        inbox.refuse.add("gone@example.com")
        notices = await _deliver(sessions, inbox, handlers["sync"])
    assert (await _email_statuses(sessions))[0] == ("dead", 1)
    assert [n["params"]["recipient"] for n in notices if n["notice"] == "email_undeliverable"] == [
        "gone@example.com"]
