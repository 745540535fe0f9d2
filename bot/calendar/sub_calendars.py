"""Calendars Slotbot makes in the host's account: the optional protocol behind "Sync tasks to my calendar".

A provider that can add a calendar to the connected account implements :class:`SubCalendars`
beside :class:`~bot.calendar.base.CalendarProvider` (as :class:`~bot.calendar.changes.ChangeSource`
sits beside it for sync): Google with ``calendars.insert`` / ``calendars.delete``, Microsoft 365
with ``POST /me/calendars`` (a name already taken there is found and reused) and
``DELETE /me/calendars/{id}``, the local calendar with a new calendar of its own. Others (Exchange,
CalDAV, ICS feeds) do not, and the feature says it needs one of these.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.calendar.base import CalendarInfo


@runtime_checkable
class SubCalendars(Protocol):
    """A provider that can create and delete calendars in the connected account."""

    async def create_calendar(self, name: str, time_zone: str) -> CalendarInfo:
        """A new calendar the account owns named ``name`` (or the one it already has by that name)."""
        ...

    async def delete_calendar(self, external_id: str) -> None:
        """Delete a calendar made by :meth:`create_calendar` (one already gone is fine)."""
        ...
