"""A real SMTP server for the tests here (aiosmtpd on 127.0.0.1), with or without SMTPUTF8."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from bot.settings import SmtpSettings


@dataclass
class Received:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    smtputf8: bool


@dataclass
class Inbox:
    """What the server received, and its address."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Recipients answered ``550`` (no such mailbox)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """aiosmtpd's hook: refuse the addresses in :attr:`refuse`."""
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message."""
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed,
                                      bool(envelope.smtp_utf8)))
        return "250 OK"

    def settings(self, sender: str = "Slotbot <bot@example.com>") -> SmtpSettings:
        """Slotbot's SMTP settings for this server."""
        return SmtpSettings(host="127.0.0.1", port=self.port, tls="none", sender=sender)


@contextmanager
def smtp_server(*, smtputf8: bool = True) -> Iterator[Inbox]:
    """Serve SMTP on a free port until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def body_of(message: EmailMessage) -> str:
    """The plain-text body."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
