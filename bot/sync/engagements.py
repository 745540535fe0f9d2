"""Calendar changes -> meeting engagements on contact records (S12): the rules, in one place.

For each changed event of a synced calendar:

* an event another program wrote (``foreign``: Slotbot's own bookings, which have their own
  engagement, and other integrations' events) is never recorded;
* an event whose attendees include known contacts of the host (the host's own addresses aside)
  becomes, or updates, one engagement per contact (source ``calendar_sync``, keyed
  ``event:<calendar id>:<event id>``); new times on an existing one mark it moved;
* a cancelled or deleted event cancels its engagements, and so does a contact leaving the
  attendees; an event that comes back (or a contact invited again) revives its engagement;
* a deletion reported for an event that began before the sync window (it only left the window:
  the meeting happened) changes nothing.

Nothing is ever deleted here: what was recorded stays on the record (turning sync off keeps it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar.changes import ChangeBatch, EventChange, EventRemoved
from storage.models import Contact, MeetingEngagement

SOURCE = "calendar_sync"
TITLE_LIMIT = 255


def source_key(calendar_id: int, external_id: str) -> str:
    """The engagement key of an event of a calendar (Slotbot's calendar row id)."""
    return f"event:{calendar_id}:{external_id}"


@dataclass(frozen=True, slots=True)
class Applied:
    """What one batch did to the records."""

    recorded: int = 0  # engagements created
    updated: int = 0  # engagements whose title, times or state changed
    cancelled: int = 0


class EngagementSync:
    """Applies :class:`~bot.calendar.changes.ChangeBatch` es to one host's contact records."""

    def __init__(self, session: AsyncSession, host_id: int, own_addresses: Collection[str]) -> None:
        self._session = session
        self._host_id = host_id
        self._own = {a.lower() for a in own_addresses}

    async def apply(self, calendar_id: int, batch: ChangeBatch, *, window_start: datetime) -> Applied:
        """Record ``batch`` of calendar ``calendar_id`` (see the module docstring for the rules)."""
        totals = [0, 0, 0]
        seen: set[str] = set()
        for change in batch.changes:
            key = source_key(calendar_id, change.external_id)
            seen.add(key)
            if isinstance(change, EventRemoved):
                await self._cancel(key, totals, window_start=window_start)
            elif not change.foreign:
                await self._record(key, change, totals)
        if batch.full:
            # A full listing: an event synced before that it no longer holds is gone.
            prefix = source_key(calendar_id, "")
            for engagement in await self._engagements_like(prefix):
                if engagement.source_key not in seen:
                    await self._cancel(engagement.source_key, totals, window_start=window_start)
        return Applied(*totals)

    async def _contacts(self, addresses: Collection[str]) -> dict[str, Contact]:
        wanted = sorted(a for a in addresses if a not in self._own)
        if not wanted:
            return {}
        rows = await self._session.execute(
            select(Contact).where(Contact.owner_id == self._host_id, Contact.email.in_(wanted)))
        return {contact.email.lower(): contact for contact in rows.scalars()}

    async def _engagements(self, key: str) -> list[MeetingEngagement]:
        rows = await self._session.execute(
            select(MeetingEngagement).join(Contact, Contact.id == MeetingEngagement.contact_id).where(
                Contact.owner_id == self._host_id, MeetingEngagement.source == SOURCE,
                MeetingEngagement.source_key == key))
        return list(rows.scalars())

    async def _engagements_like(self, prefix: str) -> list[MeetingEngagement]:
        rows = await self._session.execute(
            select(MeetingEngagement).join(Contact, Contact.id == MeetingEngagement.contact_id).where(
                Contact.owner_id == self._host_id, MeetingEngagement.source == SOURCE,
                MeetingEngagement.source_key.startswith(prefix, autoescape=True),
                MeetingEngagement.cancelled.is_(False)))
        return list(rows.scalars())

    async def _record(self, key: str, event: EventChange, totals: list[int]) -> None:
        contacts = {} if event.cancelled else await self._contacts(event.attendees)
        existing = {e.contact_id: e for e in await self._engagements(key)}
        title = (event.title or "Meeting")[:TITLE_LIMIT]
        for contact in contacts.values():
            engagement = existing.pop(contact.id, None)
            if engagement is None:
                self._session.add(MeetingEngagement(
                    contact_id=contact.id, source=SOURCE, source_key=key, title=title,
                    start_at=event.start, end_at=event.end, cancelled=False))
                totals[0] += 1
                continue
            if _set(engagement, title, event.start, event.end, cancelled=False):
                totals[1] += 1
        for engagement in existing.values():  # cancelled, or these contacts left the meeting
            if not engagement.cancelled:
                engagement.cancelled = True
                totals[2] += 1

    async def _cancel(self, key: str, totals: list[int], *, window_start: datetime) -> None:
        for engagement in await self._engagements(key):
            if engagement.cancelled or engagement.start_at < window_start:
                continue
            engagement.cancelled = True
            totals[2] += 1


def _set(engagement: MeetingEngagement, title: str, start: datetime, end: datetime, *,
         cancelled: bool) -> bool:
    """Bring ``engagement`` up to date (a new time shows as moved); whether anything changed."""
    before = (engagement.title, engagement.start_at, engagement.end_at, engagement.cancelled)
    engagement.title, engagement.cancelled = title, cancelled
    engagement.move(start, end)
    return before != (engagement.title, engagement.start_at, engagement.end_at, engagement.cancelled)
