"""CalDAV's vocabulary -> Slotbot's: privileges to access roles, event resources to BusyBlocks.

Each calendar object resource (one UID: a master and its overrides) is read by
:mod:`bot.calendar.ics` (recurrence, zones, TRANSP, STATUS, all-day events), expanded by Slotbot for
the window. The iCalendar reader does not know whose calendar it reads, so declined invitations
are found here: a component (the master or one override) where one of the host's own addresses is
an ATTENDEE with ``PARTSTAT=DECLINED``. Such a resource is read twice, once with the declined
components cancelled (the busy time the host kept) and once with only them (their occurrences,
marked ``declined``), so a declined series with an accepted override, or the reverse, comes out
right occurrence by occurrence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from bot.calendar.base import AccessRole, BusyBlock
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar
from bot.calendar.ics.parse import parse_ics


def access_role(writable: bool, *, primary: bool = False) -> AccessRole:
    """OWNER for the default calendar, WRITER for others the account may write, else READER."""
    if not writable:
        return AccessRole.READER
    return AccessRole.OWNER if primary else AccessRole.WRITER


def _address(value: Any) -> str:
    text = str(value).strip()
    return text[len("mailto:"):].lower() if text.lower().startswith("mailto:") else text.lower()


def _declined(component: Any, own: frozenset[str]) -> bool:
    attendees = component.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        params = getattr(attendee, "params", {})
        if _address(attendee) in own and str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            return True
    return False


def _cancel(component: Any) -> None:
    component.pop("STATUS", None)
    component.add("STATUS", "CANCELLED")


class Resource:
    """One parsed calendar object resource, ready to expand for any window."""

    def __init__(self, kept: IcsCalendar, declined: IcsCalendar | None = None) -> None:
        self._kept = kept
        self._declined = declined

    def blocks(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[BusyBlock]:
        """The resource's occurrences overlapping ``[start, end)``; declined ones marked so."""
        found = self._kept.busy_blocks(start, end, zone)
        if self._declined is not None:
            found.extend(
                replace(block, declined=True)
                for block in self._declined.busy_blocks(start, end, zone) if block.blocks_time()
            )
        return found


def read_resource(text: str, own: Iterable[str]) -> Resource:
    """Parse one resource's iCalendar text for the host whose addresses are ``own``.

    Raises :class:`~bot.calendar.ics.errors.IcsError` when the text cannot be read.
    """
    addresses = frozenset(a.lower() for a in own if a)
    if not addresses or "DECLINED" not in text.upper():
        return Resource(parse_ics(text))
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception:  # icalendar raises ValueError and others for broken text
        return Resource(parse_ics(text))  # the reader says what is wrong with it
    events = [c for c in calendar.walk("VEVENT")]
    declined = [_declined(event, addresses) for event in events]
    if not any(declined):
        return Resource(parse_ics(text))
    for event, refused in zip(events, declined, strict=True):
        if refused:
            _cancel(event)
    kept = parse_ics(calendar.to_ical())
    for event, refused in zip(events, declined, strict=True):
        event.pop("STATUS", None)
        if not refused:
            event.add("STATUS", "CANCELLED")
    return Resource(kept, parse_ics(calendar.to_ical()))


def client_scheduled(text: str) -> str:
    """``text`` with ``SCHEDULE-AGENT=CLIENT`` on every ATTENDEE (RFC 6638): Slotbot e-mails the
    invitation itself, so a server that schedules (iCloud, Fastmail, Nextcloud) must not send a second."""
    calendar = icalendar.Calendar.from_ical(text)
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE")
        for attendee in attendees if isinstance(attendees, list) else [attendees] if attendees else []:
            attendee.params["SCHEDULE-AGENT"] = "CLIENT"
    data: bytes = calendar.to_ical()
    return data.decode("utf-8")


class ResourceCache:
    """Parsed resources by content (and the host's addresses), bounded, shared by a factory."""

    def __init__(self, limit: int = 2048) -> None:
        self._limit = limit
        self._parsed: dict[str, Resource] = {}

    def get(self, text: str, own: Sequence[str]) -> Resource:
        """The parsed resource of ``text`` (raises :class:`IcsError` when unreadable)."""
        digest = hashlib.sha256("\n".join([*own, text]).encode("utf-8")).hexdigest()
        found = self._parsed.get(digest)
        if found is None:
            found = read_resource(text, own)
            if len(self._parsed) >= self._limit:
                self._parsed.clear()
            self._parsed[digest] = found
        return found


__all__ = ["IcsError", "Resource", "ResourceCache", "access_role", "client_scheduled", "read_resource"]
