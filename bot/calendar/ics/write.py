"""iCalendar text for events Slotbot writes: local calendar entries and e-mailed invitations.

Start with :func:`event_to_ics`: a :class:`~bot.calendar.base.NewEvent` in, VCALENDAR text out.
Times are written in UTC (unambiguous in every client); an all-day event has DATE values
(``start``'s and ``end``'s own dates), and one shown as free ``TRANSP:TRANSPARENT``. The place is
``LOCATION``; a join link is ``CONFERENCE;VALUE=URI;FEATURE=VIDEO`` (RFC 7986) and is in the
``DESCRIPTION`` too (many clients ignore ``CONFERENCE``). All values
go through icalendar, which escapes text and folds lines, so form input cannot inject properties.
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from bot.calendar.base import NewEvent


def event_to_ics(event: NewEvent, *, method: str | None = None, sequence: int = 0,
                 cancelled: bool = False) -> str:
    """One event as VCALENDAR text; ``method`` (REQUEST, CANCEL) makes it an invitation."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Slotbot//Slotbot//EN")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", datetime.now(UTC))
    if event.all_day:
        vevent.add("dtstart", event.start.date())
        vevent.add("dtend", event.end.date())
    else:
        vevent.add("dtstart", event.start.astimezone(UTC))
        vevent.add("dtend", event.end.astimezone(UTC))
    if event.free:
        vevent.add("transp", "TRANSPARENT")
    vevent.add("summary", event.title)
    vevent.add("sequence", sequence)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    description = event.description
    if event.join_url and event.join_url not in description:
        description = f"{description}\n\n{event.join_url}" if description else event.join_url
    if description:
        vevent.add("description", description)
    if event.location:
        vevent.add("location", event.location)
    if event.join_url:
        try:  # a URI value is not escaped: one with a line break is refused (and left out)
            conference = icalendar.vUri(event.join_url)
        except ValueError:
            pass
        else:
            conference.params["value"] = "URI"
            conference.params["feature"] = "VIDEO"
            vevent.add("conference", conference)
    if event.organizer is not None:
        organizer = icalendar.vCalAddress(f"mailto:{event.organizer.email}")
        if event.organizer.name:
            organizer.params["cn"] = event.organizer.name
        vevent.add("organizer", organizer)
    for attendee in event.attendees:
        address = icalendar.vCalAddress(f"mailto:{attendee.email}")
        if attendee.name:
            address.params["cn"] = attendee.name
        address.params["role"] = "REQ-PARTICIPANT"
        address.params["rsvp"] = "TRUE"
        vevent.add("attendee", address)
    calendar.add_component(vevent)
    data: bytes = calendar.to_ical()
    return data.decode("utf-8")
