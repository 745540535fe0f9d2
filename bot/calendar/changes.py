"""Reading what changed in a calendar since last time: the optional protocol behind calendar sync.

A provider that can say which events changed implements :class:`ChangeSource` beside
:class:`~bot.calendar.base.CalendarProvider`: Google with ``events.list`` and a ``syncToken``,
Microsoft 365 with ``calendarView/delta`` and its ``deltaLink``, the local calendar by comparing
fingerprints. Each answer carries the next cursor, opaque to everyone but the provider; a cursor
the service no longer knows raises :class:`CursorExpired`, and the caller starts over without one
(a full listing, ``full=True``: an event it does not hold is gone).

Only what sync needs is read: the event's times, title and attendees, whether it is cancelled,
and whether another program wrote it (``foreign``: Slotbot's own bookings and other apps'
events, which are never synced onto a contact's record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.calendar.base import CalendarError, require_aware


@dataclass(frozen=True, slots=True)
class EventChange:
    """An event as it is now (new or changed): one instance, times aware."""

    external_id: str
    title: str
    start: datetime
    end: datetime
    attendees: frozenset[str] = frozenset()  # lower-case e-mail addresses
    cancelled: bool = False
    foreign: bool = False  # written by Slotbot itself or another integration: never synced

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")


@dataclass(frozen=True, slots=True)
class EventRemoved:
    """An event that was deleted (or left the window)."""

    external_id: str


Change = EventChange | EventRemoved


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """What changed since the cursor given, and the cursor for next time.

    ``full``: the answer lists every event of the window (no cursor was given, or the provider
    started over), so an event synced before that is not in it is gone.
    """

    changes: tuple[Change, ...]
    cursor: str
    full: bool


class CursorExpired(CalendarError):
    """The service no longer knows the cursor (Google 410 ``fullSyncRequired``, Graph 410)."""


@runtime_checkable
class ChangeSource(Protocol):
    """A provider that can list changed events (see the module docstring)."""

    async def changes(
        self, calendar_id: str, cursor: str | None, *, start: datetime, end: datetime
    ) -> ChangeBatch:
        """Events changed in ``calendar_id`` since ``cursor`` (all of ``[start, end)`` without one)."""
        ...


def attendee_addresses(addresses: Sequence[str | None]) -> frozenset[str]:
    """Lower-case, stripped addresses, ``mailto:`` removed, blanks dropped."""
    found = set()
    for address in addresses:
        if not address:
            continue
        text = address.strip()
        if text.lower().startswith("mailto:"):
            text = text[len("mailto:"):]
        if "@" in text:
            found.add(text.strip().lower())
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Channel:
    """A live push channel: Google's watch channel or Graph's subscription."""

    id: str
    resource: str | None  # Google's resourceId (needed to stop it); None for Graph
    expires_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.expires_at, "expires_at")


@dataclass(frozen=True, slots=True)
class PushTarget:
    """Where and how a provider should tell Slotbot about changes.

    ``secret`` is echoed back in every notification (Google's channel token, Graph's
    ``clientState``): Slotbot keeps only its hash. ``lifecycle`` is Graph's lifecycle URL.
    """

    address: str
    lifecycle: str
    secret: str
    until: datetime


@runtime_checkable
class PushSource(Protocol):
    """A provider that can push change notifications (Google watch channels, Graph subscriptions)."""

    async def watch(self, calendar_id: str, target: PushTarget) -> Channel:
        """Open a channel telling ``target`` about changes to ``calendar_id``."""
        ...

    async def renew(self, calendar_id: str, channel: Channel, target: PushTarget) -> Channel:
        """Keep notifications coming past ``channel.expires_at`` (the same or a new channel)."""
        ...

    async def unwatch(self, channel: Channel) -> None:
        """Stop a channel (one already gone is fine)."""
        ...
