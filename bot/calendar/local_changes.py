"""What changed in a local calendar (the demo's) since last time: :class:`ChangeSource` by fingerprints.

A local calendar has no change log, so the cursor is the fingerprints of the events seen last
time (JSON, ``{uid: digest}``): the events whose digest changed are reported as changes and the
uids that disappeared as removed. Only one-off timed events are read (a meeting with people);
recurring series and all-day events are left out of sync, documented in ``docs/architecture.md``.
Slotbot's own bookings (uid ``slotbot-booking-...``) are marked ``foreign``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar as IcsCalendar

from bot.calendar.changes import ChangeBatch, EventChange, EventRemoved, attendee_addresses

OWN_UID_PREFIX = "slotbot-booking-"


def _aware(value: Any, zone: ZoneInfo, fallback: tzinfo | None = None) -> datetime | None:
    if not isinstance(value, datetime):
        return None  # a date: an all-day event
    if value.tzinfo is None:
        return value.replace(tzinfo=fallback or zone)
    return value


def read_events(texts: Iterable[str], zone: ZoneInfo) -> list[EventChange]:
    """The one-off timed events of ``texts`` (iCalendar), their times placed in ``zone`` if floating."""
    found: dict[str, EventChange] = {}
    for text in texts:
        try:
            calendar = IcsCalendar.from_ical(text)
        except ValueError:
            continue  # unreadable text: busy time reports it; sync has nothing to say about it
        events: list[Any] = list(calendar.walk("VEVENT"))  # icalendar's property types are a union
        for event in events:
            if any(name in event for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
                continue
            uid = str(event.get("UID", "")).strip()
            start_prop = event.get("DTSTART")
            if not uid or start_prop is None:
                continue
            start = _aware(start_prop.dt, zone)
            if start is None:
                continue
            end: datetime | None
            if "DTEND" in event:
                end = _aware(event["DTEND"].dt, zone, fallback=start.tzinfo)
            elif "DURATION" in event and isinstance(event["DURATION"].dt, timedelta):
                end = start + event["DURATION"].dt
            else:
                end = start
            if end is None or end < start:
                continue
            attendees = event.get("ATTENDEE", [])
            if not isinstance(attendees, list):
                attendees = [attendees]
            found[uid] = EventChange(
                external_id=uid,
                title=str(event.get("SUMMARY", "")).strip(),
                start=start,
                end=end,
                attendees=attendee_addresses([str(a) for a in attendees]),
                cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
                foreign=uid.startswith(OWN_UID_PREFIX),
            )
    return list(found.values())


def fingerprint(event: EventChange) -> str:
    """A short digest of what sync records about ``event``."""
    text = json.dumps([event.title, event.start.isoformat(), event.end.isoformat(),
                       sorted(event.attendees), event.cancelled, event.foreign])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def diff(events: Iterable[EventChange], cursor: str | None, *, start: datetime, end: datetime) -> ChangeBatch:
    """The changes of ``events`` inside ``[start, end)`` since the fingerprints in ``cursor``."""
    seen: dict[str, str] = {}
    if cursor:
        try:
            loaded = json.loads(cursor)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            seen = {str(k): str(v) for k, v in loaded.items()}
        else:
            cursor = None
    now: dict[str, str] = {}
    changes: list[EventChange | EventRemoved] = []
    for event in events:
        if not (event.start < end and event.end > start):
            continue
        digest = fingerprint(event)
        now[event.external_id] = digest
        if seen.get(event.external_id) != digest:
            changes.append(event)
    changes.extend(EventRemoved(uid) for uid in seen if uid not in now)
    return ChangeBatch(tuple(changes), json.dumps(now, sort_keys=True, separators=(",", ":")),
                       full=cursor is None)
