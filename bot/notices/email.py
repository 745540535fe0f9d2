"""Notifications: e-mail through SMTP (aiosmtplib), sent by the outbox.

Services call :func:`enqueue_email` inside their transaction; the outbox worker runs
:meth:`Mailer.send_payload`. The body and invitation are sealed while the e-mail waits (sessions
given the secret box); once sent, its outbox row keeps only :func:`audit_record` (recipient domain
and hash, subject). Internationalised addresses go out as :mod:`bot.notices.addresses` allows. With no
``SMTP_HOST`` mail is not sent: the demo shows each e-mail in full on its console
(:func:`console_text`: headers, body with its manage link, the invitation), which is the point of a
local demo; ``serve`` logs one warning naming the recipient's domain and the subject, never the
body, because the log must not carry manage links.
Header values with CR or LF are refused, so form input can never inject headers; other line
separators become spaces. An e-mail that can never be built fails for good at once, and the
messages it was enqueued with for that case (``if_lost``: telling the host) go out instead.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import make_msgid
from typing import Any, TextIO

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notices.addresses import HeaderInjection as HeaderInjection  # raised by build_email
from bot.notices.addresses import UnusableAddress as UnusableAddress  # raised by build_email
from bot.notices.addresses import header_value, mailbox, needs_smtputf8
from bot.notices.envelope import Message
from bot.notices.outbox import PermanentFailure, enqueue
from bot.settings import SmtpSettings

log = logging.getLogger(__name__)
EMAIL_KIND = "email.send"
SECRET_FIELDS = ("text", "ics")
"""Sealed while the e-mail waits, dropped once it is sent: the body (manage links) and invitation."""


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
    """A plain-text e-mail, optionally with an iCalendar invitation part.

    Header values are made one line (:func:`~bot.notices.addresses.header_value`); a value with
    CR or LF raises :class:`HeaderInjection`, an address mail cannot go to
    :class:`~bot.notices.addresses.UnusableAddress`, and a message that cannot be serialised
    raises too: all are :class:`ValueError`, and no retry can change them.
    """
    message = EmailMessage()
    message["From"] = header_value(sender, "sender")
    local, domain = mailbox(to)
    message["To"] = Address(display_name=header_value(to_name, "name"), username=local, domain=domain)
    message["Subject"] = header_value(subject, "subject")
    message["Message-ID"] = make_msgid(domain="slotbot.local")
    message.set_content(text)
    if ics is not None:
        message.add_alternative(ics, subtype="calendar", params={"method": ics_method})
    message.as_bytes(policy=SMTPUTF8)  # what sending will do: fail now, for good, if it cannot
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
    if_lost: Sequence[Message] = (),
) -> None:
    """Send an e-mail once the surrounding transaction commits (validated now, not later).

    ``if_lost`` are the messages to send if this one fails for good (see :func:`email_message`).
    """
    message = email_message(to=to, subject=subject, text=text, to_name=to_name, ics=ics, if_lost=if_lost)
    enqueue(session, message.kind, dict(message.payload), secret=message.secret, audit=message.audit,
            on_dead=message.on_dead, dedupe_key=dedupe_key)


def email_message(
    *,
    to: str,
    subject: str,
    text: str,
    to_name: str = "",
    ics: str | None = None,
    if_lost: Sequence[Message] = (),
) -> Message:
    """The outbox message of an e-mail: its text and invitation secret, its audit record, and
    ``if_lost``, what to send if it fails for good (telling the host). CR or LF in a header
    value raises :class:`HeaderInjection` now; other separators become spaces."""
    subject, to_name = header_value(subject, "subject"), header_value(to_name, "name")
    header_value(to, "address")
    payload: dict[str, Any] = {"to": to, "to_name": to_name, "subject": subject, "text": text}
    if ics is not None:
        payload["ics"] = ics
    return Message(EMAIL_KIND, payload, secret=SECRET_FIELDS, audit=audit_record(to, subject),
                   on_dead=tuple(if_lost))


def audit_record(to: str, subject: str) -> dict[str, str]:
    """What a delivered e-mail's outbox row keeps: the recipient's domain and hash, the subject."""
    return {"to_domain": to.rpartition("@")[2].lower(), "to_hash": recipient_hash(to), "subject": subject}


def recipient_hash(address: str) -> str:
    """A recipient's pseudonym in the audit record (SHA-256 of the lower-cased address, 16 hex
    digits): enough to answer "was X mailed?", without keeping the address."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:16]


class Mailer:
    """Delivers e-mail through the configured SMTP server; without one, shows it on the console
    (the demo) or logs that it was not sent."""

    def __init__(self, settings: SmtpSettings, *, console: TextIO | None = None) -> None:
        self._settings = settings
        self._console = console

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` (SMTP errors propagate, so the outbox retries)."""
        smtp = self._settings
        if not smtp.host:
            self._not_sent(message)
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

    def _not_sent(self, message: EmailMessage) -> None:
        if self._settings.print_unsent:
            print(console_text(message), file=self._console or sys.stdout, flush=True)
            return
        log.warning(
            "e-mail not sent: SMTP_HOST is not set",
            extra={"to_domain": str(message["To"]).rpartition("@")[2].rstrip(">"),
                   "subject": str(message["Subject"])},
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
        except (KeyError, TypeError, ValueError) as exc:  # HeaderInjection, UnusableAddress...
            raise PermanentFailure(f"the e-mail can never be sent: {_describe(exc)}") from None
        try:
            await self.send(message)
        except aiosmtplib.SMTPNotSupported as exc:
            if needs_smtputf8(str(payload["to"])):
                raise PermanentFailure(
                    f"the mail server does not take internationalised addresses (SMTPUTF8): {exc}"
                ) from None
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(refusal.code >= 500 for refusal in exc.recipients):  # 5xx: for good; 4xx: later
                raise PermanentFailure(f"the mail server refused the recipient: {exc}") from None
            raise


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def console_text(message: EmailMessage) -> str:
    """``message`` as the demo shows it: headers, the text, then each other part (the invitation)."""
    rule = "-" * 72
    lines = [f"----- e-mail (demo: shown here, not sent) {rule}"[:72]]
    lines += [f"{name}: {message[name]}" for name in ("From", "To", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    lines += ["", body.get_content().rstrip() if body is not None else ""]
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        params = "".join(f"; {k}={v}" for k, v in (part.get_params() or [])[1:] if k != "charset")
        lines += ["", f"----- {part.get_content_type()}{params}", str(part.get_content()).rstrip()]
    lines.append(rule)
    return "\n".join(lines)
