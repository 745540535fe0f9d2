"""A booking as the visitor adds it to their calendar: the invitation, its .ics file, web links.

:func:`invitation` is the iCalendar event the visitor's e-mails carry (the booking's event,
:func:`bot.booking.events.booking_event`, with its stable uid and sequence; the manage link in
its description, in the visitor's language). :func:`calendar_file` reads a booking by its manage
token and gives the same event as a file to download (``METHOD:PUBLISH``; a cancelled booking's
is ``METHOD:CANCEL``, which removes it from a calendar that has it). :func:`google_link` and
:func:`outlook_link` open a new event in Google Calendar and Outlook (outlook.com, or Microsoft
365 with ``office=True``) with the same time, title, details and place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import booking_description, booking_event, booking_title, invitation_uid
from bot.booking.meeting_time import emails_gettext, where_lines
from bot.calendar.ics.write import event_to_ics
from bot.pages.links import Links
from bot.pages.public import token_hash
from storage.models import Booking, User

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"
OFFICE = "https://outlook.office.com/calendar/0/deeplink/compose"


def invitation(host: User, title: str, booking: Booking, *, cancelled: bool = False, named: bool = True,
               manage: str | None = None, method: str | None = None) -> str:
    """The visitor's invitation (``REQUEST``; ``CANCEL`` when ``cancelled``; or ``method``).

    Where the meeting is (``bookings.location``, else its video link) is its ``LOCATION`` unless
    the event has one; the video link and ``manage`` (the booking's manage link) are added to the
    description, in the visitor's language.
    """
    event = booking_event(host, title, booking, uid=invitation_uid(booking), named=named)
    _ = emails_gettext(booking.language or host.locale)
    place = booking.location or booking.join_url or ""
    where = where_lines(booking.location, booking.join_url, booking.language or host.locale)
    link = _("Change or cancel: {link}").format(link=manage) if manage else ""
    # The description in the visitor's words: where it is, their note and answers, the manage link.
    event = dataclasses.replace(
        event, location=event.location or place,
        description="\n\n".join(part for part in (
            where, booking_description(booking, place=False), link) if part))
    return event_to_ics(event, method=method or ("CANCEL" if cancelled else "REQUEST"),
                        sequence=booking.sequence, cancelled=cancelled)


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """A booking's event as a file: its iCalendar text and a file name."""

    ics: str
    filename: str
    cancelled: bool


async def calendar_file(sessions: async_sessionmaker[AsyncSession], links: Links,
                        token: str) -> CalendarFile | None:
    """The event of the booking whose manage token is ``token`` (None: no such booking)."""
    async with sessions() as session:
        booking = (await session.execute(
            select(Booking).where(Booking.manage_token_hash == token_hash(token)))).scalar_one_or_none()
        host = None if booking is None else await session.get(User, booking.host_id)
        if booking is None or host is None:
            return None
        title, named = await booking_title(session, booking)
        manage = links.manage(token, hostname=await links.hostname_of(session, host))
    cancelled = booking.status == "cancelled"
    ics = invitation(host, title, booking, cancelled=cancelled, named=named, manage=manage,
                     method="CANCEL" if cancelled else "PUBLISH")
    return CalendarFile(ics, "meeting.ics", cancelled)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def google_link(title: str, start: datetime, end: datetime, *, details: str = "",
                location: str = "") -> str:
    """Google Calendar's "new event" page for this time (``dates`` in UTC, ``YYYYMMDDTHHMMSSZ``)."""
    dates = f"{_utc(start):%Y%m%dT%H%M%SZ}/{_utc(end):%Y%m%dT%H%M%SZ}"
    query = {"action": "TEMPLATE", "text": title, "dates": dates, "details": details}
    if location:
        query["location"] = location
    return f"{GOOGLE}?{urlencode(query)}"


def outlook_link(title: str, start: datetime, end: datetime, *, details: str = "", location: str = "",
                 office: bool = False) -> str:
    """Outlook's "new event" form for this time (ISO 8601 UTC times); ``office``: Microsoft 365."""
    query = {"path": "/calendar/action/compose", "rru": "addevent", "subject": title,
             "startdt": f"{_utc(start):%Y-%m-%dT%H:%M:%SZ}", "enddt": f"{_utc(end):%Y-%m-%dT%H:%M:%SZ}",
             "body": details}
    if location:
        query["location"] = location
    return f"{OFFICE if office else OUTLOOK}?{urlencode(query)}"
