"""Google Calendar writes beyond bookings: the event body Slotbot inserts, and calendars it makes.

:func:`event_body` is the ``events.insert`` body of a :class:`~bot.calendar.base.NewEvent`: a
booking is timed, busy (Google's default) and invites its attendees (``sendUpdates=all``, see
:func:`send_updates`); a task is all-day (``start.date``) or timed, ``transparency: transparent``
(free) and tells nobody (``sendUpdates=none``). :func:`create_calendar` and
:func:`delete_calendar` are ``calendars.insert`` / ``calendars.delete``, the provider's side of
:class:`~bot.calendar.sub_calendars.SubCalendars`.

An event asking for a Google Meet (``NewEvent.conference``) carries
``conferenceData.createRequest`` (type ``hangoutsMeet``, a ``requestId`` derived from the uid, so
a retried insert asks for the same meeting) and is inserted with ``conferenceDataVersion=1``
(without it Google ignores ``conferenceData``); :func:`join_link` reads the Meet link back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.calendar.base import AccessRole, CalendarInfo, Conference, NewEvent, ProviderUnavailable
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
    if event.conference is Conference.GOOGLE_MEET:
        body["conferenceData"] = {"createRequest": {
            "requestId": conference_request_id(event.uid),
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }}
    return body


def conference_request_id(uid: str) -> str:
    """The ``createRequest.requestId`` of the event ``uid``: the same for a retried insert (Google
    ignores a repeated id), another for every booking version (its uid differs)."""
    return "slotbot-" + hashlib.sha256(uid.encode("utf-8")).hexdigest()[:32]


def join_link(created: Mapping[str, Any]) -> str | None:
    """The video link of a created event: its ``conferenceData`` video entry point, else
    ``hangoutLink``; None while the meeting is not made yet (or none was asked for)."""
    data = created.get("conferenceData")
    if isinstance(data, Mapping):
        for point in data.get("entryPoints") or ():
            if isinstance(point, Mapping) and point.get("entryPointType") == "video" and point.get("uri"):
                return str(point["uri"])
    link = created.get("hangoutLink")
    return str(link) if link else None


def conference_pending(created: Mapping[str, Any]) -> bool:
    """Whether Google is still making the event's meeting (``createRequest.status`` ``pending``)."""
    data = created.get("conferenceData")
    request = data.get("createRequest") if isinstance(data, Mapping) else None
    status = request.get("status") if isinstance(request, Mapping) else None
    return isinstance(status, Mapping) and status.get("statusCode") == "pending"


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
