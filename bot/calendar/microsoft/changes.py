"""Microsoft 365's change feed for calendar sync: ``calendarView/delta`` and its ``deltaLink``.

The first read (no cursor) asks ``/me/calendars/{id}/calendarView/delta`` for the window
(``startDateTime``/``endDateTime``, kept by Graph inside its tokens: later reads send only the
link), in UTC (``Prefer: outlook.timezone``) and pages of :data:`PAGE_SIZE`
(``Prefer: odata.maxpagesize``); every ``@odata.nextLink`` is followed and the last page's
``@odata.deltaLink`` is the cursor. A later read GETs that link and gets what changed: changed
events in full, deleted ones (or ones that left the window) as ``{"id", "@removed"}``. Links are
checked to stay on the configured Graph. A link Graph no longer knows answers 410
(:class:`~bot.calendar.changes.CursorExpired`).

Which events are another program's (``foreign``, never synced onto a record): those with a
``transactionId`` (Slotbot writes the booking's uid there; other integrations that create events
through Graph set theirs). All-day events are not meetings and are left out; so are rooms
(``resource`` attendees).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.calendar.base import AccessLost, ProviderUnavailable
from bot.calendar.changes import (
    Change,
    ChangeBatch,
    CursorExpired,
    EventChange,
    EventRemoved,
    attendee_addresses,
)
from bot.calendar.http import Gone
from bot.calendar.microsoft.graph import Graph
from bot.calendar.microsoft.mapping import graph_datetime, utc_text
from bot.calendar.paging import MAX_PAGES

PAGE_SIZE = 100
HEADERS = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={PAGE_SIZE}'}


def change_of(item: Mapping[str, Any]) -> Change | None:
    """One delta item as a change (None: nothing sync records, e.g. an all-day event)."""
    event_id = str(item.get("id", ""))
    if not event_id:
        return None
    if "@removed" in item:
        return EventRemoved(event_id)
    if item.get("isAllDay"):
        return None
    start, end = item.get("start"), item.get("end")
    if not isinstance(start, Mapping) or not isinstance(end, Mapping):
        return None
    try:
        begins, ends = graph_datetime(start), graph_datetime(end)
    except ValueError:
        return None
    guests = []
    for attendee in item.get("attendees") or []:
        if not isinstance(attendee, Mapping) or attendee.get("type") == "resource":
            continue
        address = attendee.get("emailAddress")
        if isinstance(address, Mapping):
            guests.append(address.get("address"))
    return EventChange(
        external_id=event_id,
        title=str(item.get("subject") or ""),
        start=begins,
        end=max(ends, begins),
        attendees=attendee_addresses(guests),
        cancelled=bool(item.get("isCancelled")),
        foreign=bool(item.get("transactionId")),
    )


async def read_changes(graph: Graph, calendar_id: str, cursor: str | None, *,
                       start: datetime, end: datetime) -> ChangeBatch:
    """Every page of one delta read (see the module docstring)."""
    if cursor:
        try:
            url = graph.next_link({"link": cursor}, "link")
        except ProviderUnavailable:
            url = None
        if url is None:
            raise CursorExpired("the stored delta link is not on this Graph")
    else:
        url = graph.url(f"/me/calendars/{quote(calendar_id, safe='')}/calendarView/delta", {
            "startDateTime": utc_text(start, round_up=False), "endDateTime": utc_text(end, round_up=True)})
    changes: list[Change] = []
    for _ in range(MAX_PAGES):
        try:
            data = await graph.get_json(url, headers=HEADERS) if not cursor else await _follow(graph, url)
        except Gone:
            raise CursorExpired("Microsoft Graph asks for a full sync again.") from None
        for item in data.get("value") or []:
            change = change_of(item) if isinstance(item, Mapping) else None
            if change is not None:
                changes.append(change)
        following = graph.next_link(data)
        if following is None:
            delta = graph.next_link(data, "@odata.deltaLink")
            if delta is None:
                raise ProviderUnavailable("Microsoft Graph listed the events without a delta link.")
            return ChangeBatch(tuple(changes), delta, full=cursor is None)
        url = following
    raise ProviderUnavailable(f"Microsoft Graph's event changes went on for more than {MAX_PAGES} pages.")


async def _follow(graph: Graph, url: str) -> dict[str, Any]:
    """GET a link from an earlier answer: 404/410 there mean Graph forgot the state."""
    body = await graph.request("GET", url, headers=HEADERS, missing_ok=True)
    if not isinstance(body, dict):
        raise AccessLost("Microsoft Graph gave an unexpected answer")
    return body
