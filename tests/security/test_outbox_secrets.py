"""A mailed manage link is never kept in plaintext: sealed while the e-mail waits, and once it is
delivered the outbox row keeps only an audit record (recipient domain and hash, subject)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.keys import SESSIONS
from bot.notices.email import EMAIL_KIND, Mailer, enqueue_email, recipient_hash
from bot.notices.outbox import OutboxWorker
from bot.settings import Settings, SmtpSettings
from storage.crypto import SecretBox, generate_key
from storage.db import session_factory
from tests.support.mail import body_of, smtp_server

LINK = "http://127.0.0.1:8080/meetings-manage/s3cret-manage-t0ken-aaaaaaaaaaaaaaaaaaaaaaaa"
ICS = (f"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nDESCRIPTION:{LINK}\r\nEND:VEVENT\r\n"
       "END:VCALENDAR\r\n")


async def _rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    """The outbox rows as stored (the JSON text, parsed), with their status."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT status, attempts, payload FROM outbox"))).all()
    return [{"status": status, "attempts": attempts, "raw": str(raw),
             "payload": raw if isinstance(raw, dict) else json.loads(raw)} for status, attempts, raw in rows]


async def _enqueue(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        enqueue_email(session, to="Ana.Lima@Example.com", to_name="Ana Lima", subject="Booked: Intro call",
                      text=f"You are booked.\n\nChange or cancel: {LINK}", ics=ICS)


async def test_a_waiting_email_is_sealed_and_a_sent_one_keeps_only_its_audit_record(
        engine: AsyncEngine, secrets: SecretBox) -> None:
    sessions = session_factory(engine, secrets=secrets)
    await _enqueue(sessions)
    [waiting] = await _rows(engine)
    assert "meetings-manage" not in waiting["raw"] and "VCALENDAR" not in waiting["raw"]
    assert waiting["payload"]["to"] == "Ana.Lima@Example.com"  # who, until it is sent

    with smtp_server() as inbox:
        worker = OutboxWorker(sessions, {EMAIL_KIND: Mailer(inbox.settings()).send_payload})
        assert await worker.run_once() == 1
    [mail] = inbox.received
    assert LINK in body_of(mail.message)  # the recipient gets the link, opened for sending
    assert any(LINK in part.get_content() for part in mail.message.walk()
               if part.get_content_type() == "text/calendar")

    [sent] = await _rows(engine)
    assert (sent["status"], sent["attempts"]) == ("done", 1)
    assert sent["payload"] == {"to_domain": "example.com", "to_hash": recipient_hash("ana.lima@example.com"),
                               "subject": "Booked: Intro call", "redacted": True}
    assert "meetings-manage" not in sent["raw"] and "Ana.Lima" not in sent["raw"]


async def test_a_sent_email_is_redacted_without_a_key_too(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    await _enqueue(sessions)
    worker = OutboxWorker(sessions, {EMAIL_KIND: Mailer(SmtpSettings()).send_payload})
    assert await worker.run_once() == 1
    [sent] = await _rows(engine)
    assert sent["status"] == "done" and "meetings-manage" not in sent["raw"] and "Ana.Lima" not in sent["raw"]


async def test_a_payload_sealed_with_a_key_no_longer_configured_fails_for_good(
        engine: AsyncEngine, secrets: SecretBox) -> None:
    await _enqueue(session_factory(engine, secrets=secrets))
    other = SecretBox([base64.urlsafe_b64decode(generate_key() + "=")])
    sent: list[dict[str, Any]] = []

    async def capture(payload: dict[str, Any]) -> None:
        sent.append(payload)

    worker = OutboxWorker(session_factory(engine, secrets=other), {EMAIL_KIND: capture})
    assert await worker.run_once() == 1
    [dead] = await _rows(engine)
    assert (dead["status"], dead["attempts"], sent) == ("dead", 1, [])


async def test_the_app_seals_waiting_emails(settings: Settings, engine: AsyncEngine) -> None:
    app = create_app(settings, engine=engine)
    async with app[SESSIONS]() as session, session.begin():
        enqueue_email(session, to="ana@example.com", subject="Booked", text=f"Change or cancel: {LINK}")
    [waiting] = await _rows(engine)
    assert "meetings-manage" not in waiting["raw"]
