"""Google Calendar's change feed for calendar sync: ``events.list`` with a ``syncToken``.

The first read (no cursor) lists the window's events from its start (``timeMin``; Google's
sync guide allows that filter on the full sync) with ``singleEvents=true`` so a series comes as
its instances, and ``showDeleted``; every page is followed and the last one's ``nextSyncToken``
is the cursor. Later reads pass only the token (Google refuses ``timeMin`` beside it) and get
what changed, deleted events as ``status: cancelled``. A token Google no longer knows answers 410
``fullSyncRequired`` (:class:`~bot.calendar.changes.CursorExpired`, mapped in ``provider.py``).

Which events are another program's (``foreign``, never synced onto a record): Slotbot's own
bookings (``extendedProperties.private.slotbotUid``), events with a ``source`` (set by the app
that created them), events carrying any other app's extended properties, and Google's generated
kinds (``eventType`` other than ``default``: focus time, out of office, working location,
events from Gmail). All-day events are not meetings and are left out; so are room resources
among the attendees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.calendar.base import ProviderUnavailable
from bot.calendar.changes import (
    Change,
    ChangeBatch,
    Channel,
    EventChange,
    EventRemoved,
    PushTarget,
    attendee_addresses,
)
from bot.calendar.google.mapping import event_instant
from bot.calendar.paging import MAX_PAGES

PAGE_SIZE = 250
OWN_PROPERTY = "slotbotUid"

Call = Callable[[Callable[[Any], Any]], Awaitable[Any]]
"""Runs one API request (the provider's ``_call`` with its retries and error mapping)."""


def change_of(resource: Mapping[str, Any]) -> Change | None:
    """One ``events.list`` item as a change (None: nothing sync records, e.g. an all-day event)."""
    event_id = str(resource.get("id", ""))
    if not event_id:
        return None
    start, end = resource.get("start"), resource.get("end")
    timed = isinstance(start, Mapping) and isinstance(end, Mapping) and "dateTime" in start
    if resource.get("status") == "cancelled" and not timed:
        return EventRemoved(event_id)  # what an incremental read gives for a deleted event
    if not timed:
        return None
    assert isinstance(start, Mapping) and isinstance(end, Mapping)
    try:
        begins, ends = event_instant(start), event_instant(end)
    except (KeyError, ValueError):
        return None
    guests = [a.get("email") for a in resource.get("attendees", [])
              if isinstance(a, Mapping) and not a.get("resource")]
    return EventChange(
        external_id=event_id,
        title=str(resource.get("summary", "")),
        start=begins,
        end=max(ends, begins),
        attendees=attendee_addresses(guests),
        cancelled=resource.get("status") == "cancelled",
        foreign=is_foreign(resource),
    )


def is_foreign(resource: Mapping[str, Any]) -> bool:
    """Whether Slotbot or another program wrote this event (see the module docstring)."""
    if resource.get("source") or resource.get("eventType", "default") != "default":
        return True
    properties = resource.get("extendedProperties")
    if isinstance(properties, Mapping):
        for scope in ("private", "shared"):
            values = properties.get(scope)
            if isinstance(values, Mapping) and values:
                return True  # ours (slotbotUid) or another app's: either way not the host's own
    return False


def _lister(params: dict[str, Any]) -> Callable[[Any], Any]:
    """The ``events.list`` request of ``params`` for the provider's client."""
    def make(service: Any) -> Any:
        return service.events().list(**params)
    return make


async def read_changes(call: Call, calendar_id: str, cursor: str | None, *,
                       start: datetime, end: datetime) -> ChangeBatch:
    """Every page of one ``events.list`` read (see the module docstring)."""
    changes: list[Change] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"calendarId": calendar_id, "singleEvents": True, "showDeleted": True,
                                  "maxResults": PAGE_SIZE}
        if cursor:
            params["syncToken"] = cursor
        else:
            params["timeMin"] = start.isoformat()
        if page:
            params["pageToken"] = page
        answer = await call(_lister(params))
        for item in answer.get("items", []):
            change = change_of(item) if isinstance(item, Mapping) else None
            if change is None:
                continue
            if isinstance(change, EventChange) and change.start >= end:
                continue  # beyond the window: recorded once it comes closer
            changes.append(change)
        page = answer.get("nextPageToken")
        if not page:
            token = answer.get("nextSyncToken")
            if not token:
                raise ProviderUnavailable("Google listed the events without a sync token.")
            return ChangeBatch(tuple(changes), str(token), full=cursor is None)
    raise ProviderUnavailable(f"Google's event list went on for more than {MAX_PAGES} pages.")


WATCH_SECONDS = 7 * 24 * 3600
"""The channel lifetime asked for (Google's maximum for events is a week; it may give less)."""


async def watch(call: Call, calendar_id: str, target: PushTarget, *, channel_id: str) -> Channel:
    """``events.watch``: a web_hook channel to ``target.address`` with its token."""
    ttl = max(60, min(WATCH_SECONDS, int((target.until - datetime.now(UTC)).total_seconds())))
    body = {"id": channel_id, "type": "web_hook", "address": target.address, "token": target.secret,
            "params": {"ttl": str(ttl)}}

    def make(service: Any) -> Any:
        return service.events().watch(calendarId=calendar_id, body=body)

    answer = await call(make)
    try:
        expires = datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC)
        return Channel(str(answer["id"]), str(answer["resourceId"]), expires)
    except (KeyError, TypeError, ValueError):
        raise ProviderUnavailable("Google opened a channel Slotbot cannot read.") from None


async def unwatch(call: Call, channel: Channel) -> None:
    """``channels.stop`` (a channel Google no longer knows is fine)."""
    body = {"id": channel.id, "resourceId": channel.resource or ""}

    def make(service: Any) -> Any:
        return service.channels().stop(body=body)

    await call(make)
