"""Notifications: e-mail through SMTP (aiosmtplib), sent by the outbox.

Services call :func:`enqueue_email` inside their transaction; the outbox worker runs
:meth:`Mailer.send_payload`. With no ``SMTP_HOST`` (the demo) mail is written to the log instead.
Header values with CR or LF are refused, so form input can never inject headers.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices.outbox import PermanentFailure, enqueue
from bot.settings import SmtpSettings

log = logging.getLogger(__name__)
EMAIL_KIND = "email.send"


class HeaderInjection(ValueError):
    """A header value contained a line break."""


def _clean(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"{what} must be a single line")
    return value


def build_email(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    to_name: str = "",
    ics: str | None = None,
    ics_method: str = "REQUEST",
) -> EmailMessage:
    """A plain-text e-mail, optionally with an iCalendar invitation part."""
    message = EmailMessage()
    message["From"] = _clean(sender, "sender")
    message["To"] = formataddr((_clean(to_name, "name"), _clean(to, "address")))
    message["Subject"] = _clean(subject, "subject")
    message["Message-ID"] = make_msgid(domain="slotbot.local")
    message.set_content(text)
    if ics is not None:
        message.add_alternative(ics, subtype="calendar", params={"method": ics_method})
    return message


def enqueue_email(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    text: str,
    to_name: str = "",
    ics: str | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Send an e-mail once the surrounding transaction commits (validated now, not later)."""
    for value, what in ((to, "address"), (to_name, "name"), (subject, "subject")):
        _clean(value, what)
    payload: dict[str, Any] = {"to": to, "to_name": to_name, "subject": subject, "text": text}
    if ics is not None:
        payload["ics"] = ics
    enqueue(session, EMAIL_KIND, payload, dedupe_key=dedupe_key)


class Mailer:
    """Delivers e-mail through the configured SMTP server, or to the log when there is none."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` (SMTP errors propagate, so the outbox retries)."""
        smtp = self._settings
        if not smtp.host:
            log.info(
                "e-mail (no SMTP_HOST: printed instead of sent)",
                extra={"to": message["To"], "subject": message["Subject"], "body": _body(message)},
            )
            return
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            use_tls=smtp.tls == "tls",
            start_tls=True if smtp.tls == "starttls" else False,
            timeout=smtp.timeout,
        )

    async def send_payload(self, payload: dict[str, Any]) -> None:
        """The outbox handler for :data:`EMAIL_KIND`."""
        try:
            message = build_email(
                sender=self._settings.sender,
                to=str(payload["to"]),
                to_name=str(payload.get("to_name", "")),
                subject=str(payload["subject"]),
                text=str(payload["text"]),
                ics=payload.get("ics"),
            )
        except (KeyError, HeaderInjection) as exc:
            raise PermanentFailure(f"unusable e-mail payload: {exc}") from None
        await self.send(message)


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
