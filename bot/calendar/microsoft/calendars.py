"""Microsoft Graph writes beyond bookings: the event body Slotbot posts, and calendars it makes.

:func:`event_body` is the ``POST .../events`` body of a :class:`~bot.calendar.base.NewEvent`:
times in UTC (not every zone Slotbot knows is one Graph accepts on create), ``showAs: busy`` for a
booking and ``free`` for a task, ``isAllDay`` with midnight-to-midnight dates for an all-day one,
the uid in ``transactionId`` so a retried create returns the first event; one asking for a Teams
meeting has ``isOnlineMeeting`` with ``teamsForBusiness`` (:func:`join_url_of` reads
``onlineMeeting.joinUrl`` back). Graph invites the
attendees there are; a task has none. :func:`create_calendar` (``POST /me/calendars``; a 409
``ErrorFolderExists`` means the account already has one by that name: it is found and reused) and
:func:`delete_calendar` (``DELETE /me/calendars/{id}``) are the provider's side of
:class:`~bot.calendar.sub_calendars.SubCalendars`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.calendar.base import AccessRole, CalendarInfo, Conference, NewEvent, ProviderUnavailable
from bot.calendar.http import Conflict, Gone
from bot.calendar.microsoft.graph import Graph
from bot.calendar.microsoft.mapping import CALENDAR_FIELDS
from bot.calendar.paging import MAX_PAGES, collect_pages


def _utc(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def _day(moment: datetime) -> dict[str, str]:
    return {"dateTime": f"{moment.date().isoformat()}T00:00:00", "timeZone": "UTC"}


def event_body(event: NewEvent) -> dict[str, Any]:
    """The Graph event resource Slotbot creates for ``event``."""
    body: dict[str, Any] = {
        "subject": event.title,
        "body": {"contentType": "text", "content": event.description},
        "start": _day(event.start) if event.all_day else _utc(event.start),
        "end": _day(event.end) if event.all_day else _utc(event.end),
        "attendees": [
            {
                "emailAddress": {"address": person.email, "name": person.name or person.email},
                "type": "required",
            }
            for person in event.attendees
        ],
        "showAs": "free" if event.free else "busy",
        "transactionId": event.uid,
    }
    if event.all_day:
        body["isAllDay"] = True
    if event.location:
        body["location"] = {"displayName": event.location}
    if event.conference is Conference.TEAMS:
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = "teamsForBusiness"
    return body


def join_url_of(created: Mapping[str, Any]) -> str | None:
    """The Teams link of a created event (``onlineMeeting.joinUrl``); None when Graph made no
    meeting (a calendar that does not allow Teams creates the event without one)."""
    meeting = created.get("onlineMeeting")
    url = meeting.get("joinUrl") if isinstance(meeting, Mapping) else None
    return str(url) if url else None


def _info(item: object, fallback: str) -> CalendarInfo | None:
    if not isinstance(item, dict) or not item.get("id"):
        return None
    return CalendarInfo(external_id=str(item["id"]), name=str(item.get("name") or fallback),
                        access_role=AccessRole.OWNER)


async def create_calendar(graph: Graph, name: str, account_email: str) -> CalendarInfo:
    """``POST /me/calendars``, or the account's calendar of that name when it has one (409)."""
    try:
        created = await graph.request("POST", graph.url("/me/calendars"), json_body={"name": name})
    except Conflict as taken:
        if "ErrorFolderExists" not in taken.reasons:
            raise
        found = await _named(graph, name, account_email)
        if found is None:
            raise ProviderUnavailable("Microsoft Graph did not list its calendar of that name") from None
        return found
    info = _info(created, name)
    if info is None:
        raise ProviderUnavailable("Microsoft Graph did not return the created calendar")
    return info


async def _named(graph: Graph, name: str, account_email: str) -> CalendarInfo | None:
    async def page(url: str) -> tuple[list[dict[str, Any]], str | None]:
        data = await graph.get_json(url)
        return [item for item in data.get("value") or [] if isinstance(item, dict)], graph.next_link(data)

    first = graph.url("/me/calendars", {"$select": CALENDAR_FIELDS, "$top": "100"})
    items = await collect_pages(page, first, what="Microsoft Graph calendars", max_pages=MAX_PAGES)
    for item in items:
        owner = item.get("owner")
        owner = owner if isinstance(owner, dict) else {}
        mine = str(owner.get("address") or account_email).casefold() == account_email.casefold()
        if str(item.get("name") or "").casefold() == name.casefold() and mine:
            return _info(item, name)
    return None


async def delete_calendar(graph: Graph, external_id: str) -> None:
    """``DELETE /me/calendars/{id}`` with its events; a calendar already gone is fine."""
    try:
        await graph.request("DELETE", graph.url(f"/me/calendars/{quote(external_id, safe='')}"),
                            missing_ok=True)
    except Gone:
        return
