"""Google Calendar's vocabulary -> Slotbot's: event resources, freeBusy entries, calendar list entries.

:func:`busy_block_from_event` maps an event resource (from ``events.list``) to a
:class:`~bot.calendar.base.BusyBlock`; :func:`freebusy_outcome` reads one calendar of a
``freeBusy`` answer; :func:`calendar_info` one ``calendarList`` entry; :func:`event_id_for` is
the event id a booking gets (derived from its uid, so a retried insert finds the first one).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    BusyBlock,
    CalendarError,
    CalendarInfo,
    ProviderUnavailable,
    ShowAs,
    TimedSpan,
)

_ROLES = {
    "owner": AccessRole.OWNER,
    "writer": AccessRole.WRITER,
    "reader": AccessRole.READER,
    "freeBusyReader": AccessRole.FREE_BUSY,
}


def event_id_for(uid: str) -> str:
    """The Google event id Slotbot uses for the booking ``uid`` (base32hex, as Google requires)."""
    digest = hashlib.sha256(uid.encode()).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def busy_block_from_event(resource: Mapping[str, Any]) -> BusyBlock | None:
    """Map a Calendar v3 event resource to a :class:`BusyBlock` (``None``: a stub without times).

    ``transparency: transparent`` and working-location events show as free; out-of-office as
    ``OUT_OF_OFFICE``; ``status: cancelled`` sets ``cancelled``; the connected account's own
    attendee entry (``self: true``) with ``responseStatus: declined`` sets ``declined`` and
    ``tentative`` shows as tentative. ``start.date`` makes an :class:`AllDaySpan`, ``start.dateTime``
    a :class:`TimedSpan` (an offset-less dateTime takes the ``timeZone`` given beside it).
    ``summary`` is the block's title.
    """
    start, end = resource.get("start"), resource.get("end")
    if not isinstance(start, Mapping) or not isinstance(end, Mapping):
        return None  # cancelled instances of recurring events may carry no times at all
    span: TimedSpan | AllDaySpan
    if "date" in start and "dateTime" not in start:
        span = AllDaySpan(date.fromisoformat(start["date"]), date.fromisoformat(end["date"]))
    else:
        span = TimedSpan(event_instant(start), event_instant(end))
    me = next(
        (a for a in resource.get("attendees", []) if isinstance(a, Mapping) and a.get("self")),
        None,
    )
    response = me.get("responseStatus") if me is not None else None
    event_type = resource.get("eventType")
    if resource.get("transparency") == "transparent" or event_type == "workingLocation":
        show_as = ShowAs.FREE
    elif event_type == "outOfOffice":
        show_as = ShowAs.OUT_OF_OFFICE
    elif response == "tentative":
        show_as = ShowAs.TENTATIVE
    else:
        show_as = ShowAs.BUSY
    return BusyBlock(
        span=span,
        show_as=show_as,
        cancelled=resource.get("status") == "cancelled",
        declined=response == "declined",
        title=summary.strip() if isinstance(summary := resource.get("summary"), str) else "",
    )


def event_instant(part: Mapping[str, Any]) -> datetime:
    """An event's ``start``/``end`` ``dateTime`` as an aware instant (its ``timeZone`` when offset-less)."""
    value = datetime.fromisoformat(part["dateTime"])
    if value.tzinfo is None:
        zone = part.get("timeZone")
        if not zone:
            raise ValueError("an event time without offset or time zone")
        try:
            value = value.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
    return value


def freebusy_outcome(entry: object) -> list[BusyBlock] | CalendarError:
    """One calendar of a ``freeBusy`` answer: its busy blocks, or why it could not be read.

    ``notFound``/``forbidden`` mean the account lost access (:class:`AccessLost`); any other
    per-calendar error, a missing entry or unusable times are :class:`ProviderUnavailable`.
    """
    if not isinstance(entry, dict):
        return ProviderUnavailable("Google returned no busy times for a calendar.")
    errors = entry.get("errors") or []
    if errors:
        reasons = {e.get("reason") for e in errors if isinstance(e, dict)}
        if reasons & {"notFound", "forbidden"}:
            return AccessLost("The Google account can no longer read this calendar.")
        reason = next(iter(sorted(r for r in reasons if isinstance(r, str))), "unknown")
        return ProviderUnavailable(f"Google could not read this calendar ({reason}).")
    try:
        spans = [(_instant(span["start"]), _instant(span["end"])) for span in entry.get("busy", [])]
    except (KeyError, TypeError, ValueError):
        return ProviderUnavailable("Google sent unusable busy times for a calendar.")
    return [BusyBlock(TimedSpan(b0, b1)) for b0, b1 in spans if b1 > b0]


def calendar_info(item: Mapping[str, Any]) -> CalendarInfo | None:
    """A ``calendarList`` entry as :class:`CalendarInfo` (None: an entry Slotbot cannot use)."""
    role = _ROLES.get(str(item.get("accessRole")))
    cid = item.get("id")
    if role is None or not isinstance(cid, str):
        return None
    return CalendarInfo(
        external_id=cid,
        name=str(item.get("summaryOverride") or item.get("summary") or cid),
        access_role=role,
        is_primary=bool(item.get("primary", False)),
        time_zone=item.get("timeZone") or None,
    )


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("Google returned a time without offset")
    return value
