"""What the visitor and the host are told about a booking, queued in the booking's own transaction.

Each function adds outbox rows to the caller's session, so a message is sent exactly when the
change it describes is committed: the visitor's e-mail (with an iCalendar invitation, update or
cancellation and the manage link) and the host's e-mail and chat notice
(:func:`bot.notices.chat.enqueue_notice`: every chat the host uses gets it). The host is told
the visitor's answers to the page's questions too: in the e-mail, and in the chat notice as the
``answers`` parameter (JSON ``[[question, answer], ...]``). An e-mail that can never be delivered
tells the host instead (a chat notice, and an e-mail when it was the visitor's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking.events import answer_lines, booking_event, invitation_uid
from bot.calendar.ics.write import event_to_ics
from bot.notices.addresses import header_value
from bot.notices.chat import enqueue_notice, notice_message
from bot.notices.email import email_message, enqueue_email
from bot.notices.envelope import Message
from storage.models import Booking, User


def _when(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%A %d %B %Y, %H:%M} ({zone})"


def _invitation(host: User, title: str, booking: Booking, *, cancelled: bool = False,
                named: bool = True) -> str:
    event = booking_event(host, title, booking, uid=invitation_uid(booking), named=named)
    return event_to_ics(event, method="CANCEL" if cancelled else "REQUEST", sequence=booking.sequence,
                        cancelled=cancelled)


def _answers(answers: Mapping[str, Any] | None) -> str:
    """The visitor's answers as a paragraph of the host's e-mail (empty: none)."""
    lines = answer_lines(answers)
    return f"\n\n{lines}" if lines else ""


def tell_host(session: AsyncSession, host: User, *, subject: str, text: str) -> None:
    """E-mail the host (when they have an address) once the transaction commits."""
    if host.email:
        enqueue_email(session, to=host.email, to_name=host.display_name, subject=subject, text=text,
                      if_lost=_if_lost(host, host.email, subject))


def _tell_visitor(session: AsyncSession, host: User, booking: Booking, *, subject: str, text: str,
                  ics: str | None = None) -> None:
    """E-mail the visitor once the transaction commits; the host hears if it can never arrive."""
    enqueue_email(session, to=booking.visitor_email, to_name=booking.visitor_name, subject=subject,
                  text=text, ics=ics, if_lost=_if_lost(host, booking.visitor_email, subject))


def _if_lost(host: User, recipient: str, subject: str) -> tuple[Message, ...]:
    """What goes out when the e-mail to ``recipient`` fails for good: a chat notice to the host
    and, when the lost e-mail was someone else's, an e-mail to the host too."""
    to_host = recipient == host.email
    params = {"recipient": recipient, "subject": header_value(subject, "subject")}
    if to_host:
        params["to_host"] = "yes"
    told = [notice_message(host.id, "email_undeliverable", params)]
    if host.email and not to_host:
        told.append(email_message(
            to=host.email, to_name=host.display_name, subject=f"Slotbot could not e-mail {recipient}",
            text=(f"The e-mail “{params['subject']}” to {recipient} could not be delivered, and trying "
                  "again will not help (the address cannot receive mail from here).\n\n"
                  "The booking itself stands; please reach them another way."),
        ))
    return tuple(told)


def announce_booked(session: AsyncSession, host: User, title: str, booking: Booking, manage: str,
                    *, by_host: bool = False) -> None:
    """A new booking (or, offline, a request): the visitor's confirmation and the host's notice.

    ``by_host``: the host scheduled it from the contact's record, so the contact gets an
    invitation titled ``title`` alone and the host, who did it, is not told.
    """
    requested = booking.status == "requested"
    when = _when(booking.start_at, booking.timezone)
    if by_host:
        _tell_visitor(
            session, host, booking,
            subject=f"Invitation: {title}",
            text=(f"Hello {booking.visitor_name}, {host.display_name} invited you to “{title}” on "
                  f"{when}.\n\nCancel: {manage}"),
            ics=_invitation(host, title, booking, named=False),
        )
        return
    if requested:
        _tell_visitor(
            session, host, booking,
            subject=f"Requested: {title} with {host.display_name}",
            text=(f"Thank you, {booking.visitor_name}. You asked for {when}. "
                  f"{host.display_name} will confirm it.\n\nChange or cancel: {manage}"),
        )
    else:
        _tell_visitor(
            session, host, booking,
            subject=f"Booked: {title} with {host.display_name}",
            text=(f"Thank you, {booking.visitor_name}. You are booked for {when}.\n\n"
                  f"Change or cancel: {manage}"),
            ics=_invitation(host, title, booking),
        )
    enqueue_notice(session, host.id, "booking_created", {
        "visitor_name": booking.visitor_name, "visitor_email": booking.visitor_email, "title": title,
        "start": iso_utc(booking.start_at), "status": booking.status,
        "answers": json.dumps([[label, str(answer)] for label, answer in (booking.answers or {}).items()
                               if str(answer).strip()], ensure_ascii=False),
    })
    verb = "requested" if requested else "booked"
    tell_host(
        session, host,
        subject=f"{booking.visitor_name} {verb} {title}",
        text=(f"{booking.visitor_name} <{booking.visitor_email}> {verb} “{title}” for "
              f"{_when(booking.start_at, host.timezone)}.\n\nNote: {booking.note or '(none)'}"
              + _answers(booking.answers)
              + ("\n\nNo calendar is connected, so please confirm it yourself." if requested else "")),
    )


def announce_moved(
    session: AsyncSession, host: User, title: str, booking: Booking, previous: datetime, manage: str,
    *, by_host: bool = False,
) -> None:
    """A booking moved to a new time through its manage link (``by_host``: the host moved a meeting
    scheduled from the contact's record; only the contact is told)."""
    lead = f"{host.display_name} moved your meeting" if by_host else "Your meeting moved"
    _tell_visitor(
        session, host, booking,
        subject=f"Moved: {title}" if by_host else f"Moved: {title} with {host.display_name}",
        text=(f"{lead} from {_when(previous, booking.timezone)} to "
              f"{_when(booking.start_at, booking.timezone)}.\n\n"
              f"{'Cancel' if by_host else 'Change or cancel'}: {manage}"),
        ics=None if booking.status == "requested" else _invitation(host, title, booking,
                                                                   named=not by_host),
    )
    if by_host:
        return
    enqueue_notice(session, host.id, "booking_rescheduled", {
        "visitor_name": booking.visitor_name, "title": title, "start": iso_utc(booking.start_at),
        "previous_start": iso_utc(previous),
    })
    tell_host(
        session, host,
        subject=f"{booking.visitor_name} moved {title}",
        text=(f"{booking.visitor_name} <{booking.visitor_email}> moved “{title}” from "
              f"{_when(previous, host.timezone)} to {_when(booking.start_at, host.timezone)}."),
    )


def announce_cancelled(session: AsyncSession, host: User, title: str, booking: Booking, *,
                       by_host: bool = False, named: bool = True) -> None:
    """A booking cancelled through its manage link, or (``by_host``) by the host from the contact's
    record, when only the contact is told. ``named``: the event's title names the visitor."""
    _tell_visitor(
        session, host, booking,
        subject=f"Cancelled: {title}" if not named else f"Cancelled: {title} with {host.display_name}",
        text=(f"{host.display_name} cancelled your meeting on {_when(booking.start_at, booking.timezone)}."
              if by_host else f"Your meeting on {_when(booking.start_at, booking.timezone)} is cancelled."),
        ics=_invitation(host, title, booking, cancelled=True, named=named),
    )
    if by_host:
        return
    enqueue_notice(session, host.id, "booking_cancelled", {
        "visitor_name": booking.visitor_name, "title": title, "start": iso_utc(booking.start_at),
    })
    tell_host(
        session, host,
        subject=f"{booking.visitor_name} cancelled {title}",
        text=(f"{booking.visitor_name} <{booking.visitor_email}> cancelled "
              f"{_when(booking.start_at, host.timezone)}."),
    )


def announce_blocked(
    session: AsyncSession, host: User, title: str, name: str, email: str, note: str,
    start: datetime | None, answers: Mapping[str, Any] | None = None,
) -> None:
    """Someone tried to book while a calendar could not be read: tell the host how to fix it."""
    when = _when(start, host.timezone) if start is not None else "a time to be agreed"
    enqueue_notice(session, host.id, "booking_blocked", {
        "visitor_name": name, "visitor_email": email, "title": title,
        "start": iso_utc(start) if start is not None else "",
    })
    tell_host(
        session, host,
        subject=f"Slotbot: {name} tried to book you",
        text=(f"{name} <{email}> tried to book “{title}” for {when}, but booking is blocked "
              "because one of your calendars cannot be read.\n\n"
              f"Their note: {note or '(none)'}{_answers(answers)}\n\n"
              "To take bookings again, reconnect the calendar or remove the inactive one in your "
              "settings (\"settings\" in chat)."),
    )


def iso_utc(moment: datetime) -> str:
    """An instant as ISO-8601 in UTC (the form chat notices carry)."""
    return moment.astimezone(UTC).isoformat()
