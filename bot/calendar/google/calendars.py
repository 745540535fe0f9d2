"""Google Calendar writes beyond bookings: the event body Slotbot inserts, and calendars it makes.

:func:`event_body` is the ``events.insert`` body of a :class:`~bot.calendar.base.NewEvent`: a
booking is timed, busy (Google's default) and invites its attendees (``sendUpdates=all``, see
:func:`send_updates`); a task is all-day (``start.date``) or timed, ``transparency: transparent``
(free) and tells nobody (``sendUpdates=none``). :func:`create_calendar` and
:func:`delete_calendar` are ``calendars.insert`` / ``calendars.delete``, the provider's side of
:class:`~bot.calendar.sub_calendars.SubCalendars`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.calendar.base import AccessRole, CalendarInfo, NewEvent, ProviderUnavailable
from bot.calendar.google.mapping import event_id_for
from bot.calendar.http import Gone

Call = Callable[[Callable[[Any], Any]], Awaitable[Any]]
"""Runs one API request (the provider's ``_call`` with its retries and error mapping)."""


def send_updates(event: NewEvent) -> str:
    """Google's ``sendUpdates`` for ``event``: ``all`` (invite the attendees) or ``none``."""
    return "all" if event.send_invitations else "none"


def event_body(event: NewEvent) -> dict[str, Any]:
    """The ``events.insert`` body of ``event`` (its id derived from the uid: :func:`event_id_for`)."""
    if event.all_day:
        start: dict[str, str] = {"date": event.start.date().isoformat()}
        end: dict[str, str] = {"date": event.end.date().isoformat()}
    else:
        start = {"dateTime": event.start.isoformat(), "timeZone": event.time_zone}
        end = {"dateTime": event.end.isoformat(), "timeZone": event.time_zone}
    body: dict[str, Any] = {
        "id": event_id_for(event.uid),
        "summary": event.title,
        "start": start,
        "end": end,
        "attendees": [
            {"email": a.email, **({"displayName": a.name} if a.name else {})} for a in event.attendees
        ],
        "extendedProperties": {"private": {"slotbotUid": event.uid}},
    }
    if event.free:
        body["transparency"] = "transparent"
    if event.description:
        body["description"] = event.description
    if event.location:
        body["location"] = event.location
    return body


async def create_calendar(call: Call, name: str, time_zone: str) -> CalendarInfo:
    """``calendars.insert``: a secondary calendar the account owns."""
    created = await call(lambda s: s.calendars().insert(body={"summary": name, "timeZone": time_zone}))
    if not isinstance(created, dict) or not created.get("id"):
        raise ProviderUnavailable("Google did not return the created calendar")
    return CalendarInfo(external_id=str(created["id"]), name=str(created.get("summary") or name),
                        access_role=AccessRole.OWNER, time_zone=str(created.get("timeZone") or time_zone))


async def delete_calendar(call: Call, external_id: str) -> None:
    """``calendars.delete``, with its events; a calendar already gone is fine."""
    try:
        await call(lambda s: s.calendars().delete(calendarId=external_id))
    except Gone:
        return
