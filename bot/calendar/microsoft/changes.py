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
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.calendar.base import AccessLost, ProviderUnavailable
from bot.calendar.changes import (
    Change,
    ChangeBatch,
    Channel,
    CursorExpired,
    EventChange,
    EventRemoved,
    PushTarget,
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


SUBSCRIPTION_MINUTES = 4200
"""How long a subscription is asked for: under every limit Graph has documented for Outlook events
(4,230 minutes, later 10,080); Slotbot renews it well before."""


def _until(target: PushTarget) -> str:
    latest = datetime.now(UTC) + timedelta(minutes=SUBSCRIPTION_MINUTES)
    return min(target.until, latest).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _channel(answer: object) -> Channel:
    if not isinstance(answer, Mapping):
        raise ProviderUnavailable("Microsoft Graph gave an unexpected answer")
    try:
        expires = graph_datetime({"dateTime": str(answer["expirationDateTime"]), "timeZone": "UTC"})
        return Channel(str(answer["id"]), None, expires)
    except (KeyError, ValueError):
        raise ProviderUnavailable("Microsoft Graph made a subscription Slotbot cannot read.") from None


async def subscribe(graph: Graph, calendar_id: str, target: PushTarget) -> Channel:
    """``POST /subscriptions`` on the calendar's events (Graph validates both URLs before answering)."""
    body = {"changeType": "created,updated,deleted", "notificationUrl": target.address,
            "lifecycleNotificationUrl": target.lifecycle,
            "resource": f"me/calendars/{calendar_id}/events", "expirationDateTime": _until(target),
            "clientState": target.secret}
    return _channel(await graph.request("POST", graph.url("/subscriptions"), json_body=body))


async def renew(graph: Graph, calendar_id: str, channel: Channel, target: PushTarget) -> Channel:
    """``PATCH /subscriptions/{id}`` with a later expiry; a subscription Graph dropped is made anew."""
    url = graph.url(f"/subscriptions/{quote(channel.id, safe='')}")
    try:
        answer = await graph.request("PATCH", url, json_body={"expirationDateTime": _until(target)},
                                     missing_ok=True)
    except Gone:
        return await subscribe(graph, calendar_id, target)
    return _channel(answer)


async def unsubscribe(graph: Graph, channel: Channel) -> None:
    """``DELETE /subscriptions/{id}`` (one already gone is fine)."""
    try:
        await graph.request("DELETE", graph.url(f"/subscriptions/{quote(channel.id, safe='')}"),
                            missing_ok=True)
    except Gone:
        return
