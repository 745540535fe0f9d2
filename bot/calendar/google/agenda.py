"""The host's own Google events with their titles, for the agenda: ``events.list`` per calendar.

``freeBusy`` (what the provider's ``busy`` reads) gives no titles, so the host's agenda reads
``events.list`` with ``singleEvents=true`` (a series expands inside the window only) in start
order, following every page. A calendar that cannot be read carries its error; only
:class:`~bot.calendar.base.ReauthRequired` (the connection cannot sign in) is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.calendar.base import (
    BusyBlock,
    CalendarBusy,
    CalendarError,
    ProviderUnavailable,
    ReauthRequired,
    check_window,
)
from bot.calendar.google.mapping import busy_block_from_event
from bot.calendar.paging import MAX_PAGES, collect_pages

EVENTS_PAGE_SIZE = 250
"""Events asked for per ``events.list`` page (Google's default; it allows up to 2500)."""

Call = Callable[[Callable[[Any], Any]], Awaitable[Any]]
"""Runs one API request (the provider's call, with its retries, error mapping and concurrency bound)."""


async def read_events(call: Call, *, start: datetime, end: datetime,
                      calendar_ids: Sequence[str]) -> Mapping[str, CalendarBusy]:
    """Each calendar's events in ``[start, end)`` with their titles, keyed by calendar id."""
    ids = list(dict.fromkeys(calendar_ids))
    empty = check_window(start, end, ids)
    if empty is not None or not ids:
        return empty or {}
    results = await asyncio.gather(*(_calendar_events(call, cid, start, end) for cid in ids),
                                   return_exceptions=True)
    out: dict[str, CalendarBusy] = {}
    for cid, result in zip(ids, results, strict=True):
        if isinstance(result, ReauthRequired):
            raise result
        if isinstance(result, CalendarError):
            out[cid] = CalendarBusy(error=result)
        elif isinstance(result, BaseException):
            raise result
        else:
            out[cid] = CalendarBusy(blocks=tuple(result))  # in start order (orderBy)
    return out


async def _calendar_events(call: Call, calendar_id: str, start: datetime, end: datetime) -> list[BusyBlock]:
    base: dict[str, Any] = {
        "calendarId": calendar_id, "singleEvents": True, "orderBy": "startTime",
        "timeMin": start.astimezone(UTC).isoformat(), "timeMax": end.astimezone(UTC).isoformat(),
        "maxResults": EVENTS_PAGE_SIZE,
    }

    async def page(token: str) -> tuple[list[BusyBlock], str | None]:
        params = {**base, "pageToken": token} if token else base
        answer = await call(lambda s: s.events().list(**params))
        try:
            found = [busy_block_from_event(item) for item in answer.get("items", [])
                     if isinstance(item, Mapping)]
        except (KeyError, TypeError, ValueError):
            raise ProviderUnavailable("Google sent an event that cannot be read.") from None
        following = answer.get("nextPageToken")
        return [b for b in found if b is not None], str(following) if following else None

    return await collect_pages(page, "", what="Google events", max_pages=MAX_PAGES)
