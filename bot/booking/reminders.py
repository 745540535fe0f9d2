"""Reminders before a booked meeting: e-mails to the visitor (and the host), a chat note to the host.

A page lists how long before a meeting its visitors are reminded (``reminders``, minutes, e.g.
``[1440, 60]``); with ``remind_host`` the host gets those e-mails too and a chat reminder
:data:`HOST_CHAT_MINUTES` before. :func:`plan_reminders` is called by
:class:`bot.booking.service.Bookings` inside the booking's own transaction (booking and moving):
one :data:`REMINDER_KIND` outbox message per reminder and recipient, due at the meeting's start
minus the offset. Offsets are elapsed time, so across a DST change "24 hours before" is 24 real
hours. Reminders already past are not planned. A *requested* booking (offline mode: the host has
not confirmed it) gets none; nor does a meeting the host scheduled from a contact's record.

Nothing is withdrawn when a meeting moves or is cancelled: each message carries the booking's
``sequence`` and start as they were when it was planned, and :class:`Reminders` (the outbox
handler) reads the booking when the message is due and sends nothing for a cancelled meeting, a
moved meeting's old time, or a meeting that has already begun. Moving plans the new time's
reminders. The handler queues the e-mail (or chat notice) with a de-duplication key of its own, so
a reminder run twice (delivery is at-least-once) is sent once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import booking_title
from bot.booking.notices import iso_utc
from bot.i18n import supported_locale, translations
from bot.notices.chat import notice_message
from bot.notices.email import email_message
from bot.notices.outbox import PermanentFailure, enqueue
from bot.pages.public import PublicPage
from storage.models import Booking, OutboxMessage, SchedulingPage, User, utcnow

log = logging.getLogger(__name__)

REMINDER_KIND = "booking.reminder"
DOMAIN = "reminders"
"""The gettext domain of the reminder e-mails."""
HOST_CHAT_MINUTES = 10
"""How long before a meeting the host is reminded in chat (pages with ``remind_host``)."""

VISITOR, HOST, HOST_CHAT = "visitor", "host", "host_chat"
RECIPIENTS = (VISITOR, HOST, HOST_CHAT)


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder to send: to whom, how many minutes before the start, and when it is due."""

    recipient: str
    offset_minutes: int
    due: datetime
    stale: datetime
    """When sending it no longer makes sense: the recipient's next reminder is due, or the meeting
    starts (a worker that was down for a day sends the 1 h reminder, not the 24 h one too)."""


def planned_reminders(start: datetime, offsets: Sequence[int], *, remind_host: bool,
                      now: datetime) -> list[Planned]:
    """The reminders of a meeting starting at ``start``: each offset (minutes, elapsed time) for the
    visitor and, with ``remind_host``, the host, plus the host's chat reminder; those already due
    at ``now`` are left out."""
    minutes = sorted({m for m in offsets if m > 0}, reverse=True)
    wanted = {VISITOR: minutes}
    if remind_host:
        wanted |= {HOST: minutes, HOST_CHAT: [HOST_CHAT_MINUTES]}
    start = start.astimezone(UTC)  # Python subtracts wall-clock time within one zone: wrong across DST
    planned = []
    for recipient, each in wanted.items():
        dues = [start - timedelta(minutes=m) for m in each]
        for index, (m, due) in enumerate(zip(each, dues, strict=True)):
            stale = dues[index + 1] if index + 1 < len(dues) else start
            if due > now:
                planned.append(Planned(recipient, m, due, stale))
    return planned


def reminder_key(booking_id: int, sequence: int, offset: int, recipient: str) -> str:
    """The de-duplication key of a planned reminder (one per booking version, offset, recipient)."""
    return f"reminder:{booking_id}:{sequence}:{offset}:{recipient}"


def plan_reminders(session: AsyncSession, booking: Booking, page: PublicPage, manage: str, *,
                   now: datetime) -> int:
    """Plan ``booking``'s reminders in the caller's transaction (see the module doc); how many.

    ``manage`` is the visitor's manage link (sealed while the reminder waits).
    """
    if booking.status != "confirmed":
        return 0  # a request the host has not confirmed: no meeting to remind anyone of yet
    plans = planned_reminders(booking.start_at, page.reminders, remind_host=page.remind_host, now=now)
    for plan in plans:
        enqueue(
            session, REMINDER_KIND,
            {"booking_id": booking.id, "sequence": booking.sequence,
             "start": booking.start_at.isoformat(), "offset": plan.offset_minutes,
             "recipient": plan.recipient, "stale": plan.stale.isoformat(), "manage": manage},
            secret=("manage",),
            audit={"booking_id": booking.id, "offset": plan.offset_minutes, "recipient": plan.recipient},
            dedupe_key=reminder_key(booking.id, booking.sequence, plan.offset_minutes, plan.recipient),
            delay=plan.due - now, now=now,
        )
    return len(plans)


@dataclass(frozen=True, slots=True)
class _Due:
    booking_id: int
    sequence: int
    start: datetime
    offset: int
    recipient: str
    stale: datetime
    manage: str


def _due(payload: dict[str, Any]) -> _Due:
    try:
        due = _Due(int(payload["booking_id"]), int(payload["sequence"]),
                   datetime.fromisoformat(str(payload["start"])), int(payload["offset"]),
                   str(payload["recipient"]),
                   datetime.fromisoformat(str(payload.get("stale") or payload["start"])),
                   str(payload.get("manage", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"unusable reminder payload: {exc!r}") from None
    if due.start.tzinfo is None or due.stale.tzinfo is None or due.recipient not in RECIPIENTS:
        raise PermanentFailure("unusable reminder payload: naive start or unknown recipient")
    return due


class Reminders:
    """The outbox handler of :data:`REMINDER_KIND`: checks the meeting is still on, then sends."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def send(self, payload: dict[str, Any]) -> None:
        """Queue the reminder's e-mail or chat notice, unless the meeting changed or began."""
        due = _due(payload)
        key = f"{reminder_key(due.booking_id, due.sequence, due.offset, due.recipient)}:sent"
        try:
            async with self._sessions() as session, session.begin():
                booking = await session.get(Booking, due.booking_id)
                if not _still_on(booking, due, self._clock()):
                    return  # cancelled, moved, begun, or a later reminder is due: nothing to send
                assert booking is not None
                if (await session.execute(
                        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))).first():
                    return  # this reminder ran before (at-least-once delivery)
                host = await session.get(User, booking.host_id)
                if host is None:
                    return
                await _queue(session, booking, host, due, key, self._clock())
        except IntegrityError:  # another worker queued it at the same moment
            log.info("reminder already sent", extra={"booking_id": due.booking_id})


def _still_on(booking: Booking | None, due: _Due, now: datetime) -> bool:
    return (booking is not None and booking.status == "confirmed" and booking.sequence == due.sequence
            and booking.start_at == due.start and now < due.stale)


async def _queue(session: AsyncSession, booking: Booking, host: User, due: _Due, key: str,
                 now: datetime) -> None:
    """Queue the reminder's e-mail or chat notice under ``key``, due at ``now`` (the worker's clock)."""
    title, _named = await booking_title(session, booking)
    if due.recipient == HOST_CHAT:
        message = notice_message(host.id, "meeting_reminder", {
            "title": title, "visitor_name": booking.visitor_name, "start": iso_utc(booking.start_at),
            "minutes": str(due.offset),
        })
    elif due.recipient == HOST:
        if not host.email:
            return
        subject, text = host_reminder(booking, title, locale=host.locale, zone=host.timezone)
        message = email_message(to=host.email, to_name=host.display_name, subject=subject, text=text)
    else:
        page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
        locale = booking.language or (page.language if page is not None else None) or "en"
        subject, text = visitor_reminder(booking, title, host.display_name, due.manage, locale=locale)
        message = email_message(to=booking.visitor_email, to_name=booking.visitor_name,
                                subject=subject, text=text)
    enqueue(session, message.kind, dict(message.payload), secret=message.secret, audit=message.audit,
            on_dead=message.on_dead, dedupe_key=key, now=now)


def _moment(moment: datetime, zone: str, locale: str) -> dict[str, str]:
    local = moment.astimezone(ZoneInfo(zone))
    return {"date": format_date(local.date(), "full", locale=locale),
            "time": format_time(local, "short", locale=locale), "zone": zone}


def _where(booking: Booking, _: Callable[[str], str]) -> str:
    lines = []
    if booking.location:
        lines.append(_("Where: {location}").format(location=booking.location))
    if booking.join_url and booking.join_url != booking.location:
        lines.append(_("Join: {url}").format(url=booking.join_url))
    return "".join(f"\n{line}" for line in lines)


def visitor_reminder(booking: Booking, title: str, host_name: str, manage: str, *,
                     locale: str) -> tuple[str, str]:
    """The visitor's reminder e-mail (subject, text) in ``locale``, times in the booking's zone."""
    locale = supported_locale(locale)
    _ = translations(locale, DOMAIN).gettext
    when = _moment(booking.start_at, booking.timezone, locale)
    subject = _("Reminder: {title} with {host} — {date} at {time}").format(
        title=title, host=host_name, **when)
    text = (_("Hello {name},").format(name=booking.visitor_name) + "\n\n"
            + _("This is a reminder of {title} with {host} on {date} at {time} ({zone}).").format(
                title=title, host=host_name, **when)
            + _where(booking, _))
    if manage:
        text += "\n\n" + _("Change or cancel: {link}").format(link=manage)
    return subject, text


def host_reminder(booking: Booking, title: str, *, locale: str, zone: str) -> tuple[str, str]:
    """The host's reminder e-mail (subject, text) in ``locale``, times in ``zone`` (the host's)."""
    locale = supported_locale(locale)
    _ = translations(locale, DOMAIN).gettext
    when = _moment(booking.start_at, zone, locale)
    subject = _("Reminder: {title} with {visitor} — {date} at {time}").format(
        title=title, visitor=booking.visitor_name, **when)
    text = (_("{title} with {visitor} <{email}> is on {date} at {time} ({zone}).").format(
        title=title, visitor=booking.visitor_name, email=booking.visitor_email, **when)
        + _where(booking, _))
    return subject, text

