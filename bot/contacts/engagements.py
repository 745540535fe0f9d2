"""The meetings on a contact's record: read for the record page, recorded by whoever made them.

A :class:`~storage.models.MeetingEngagement` comes from one of three places (its ``source``):
a booking through a scheduling page (written by :mod:`bot.booking.service`, which also moves and
cancels it with the booking), the host's calendar (calendar sync), or the record itself
("schedule from a record"). :func:`record` and :func:`cancel` are the one way the last two write
them, inside the caller's transaction: one engagement per meeting and contact (its
``source_key``), a changed time shows as *moved*. :func:`engagements_of` reads a record's meetings,
newest first, as :class:`EngagementView` values worded in the host's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ENGAGEMENT_SOURCES, MeetingEngagement

SOURCE_WORDS = {
    "booking": "Booked through a page",
    "calendar_sync": "Synced from the calendar",
    "contact_record": "Scheduled from the record",
}
DASH = "\u2013"
STATUS_WORDS = {"scheduled": "Scheduled", "moved": "Moved", "cancelled": "Cancelled"}


@dataclass(frozen=True, slots=True)
class EngagementView:
    """One meeting on a record, worded for the host."""

    id: int
    start: datetime
    when: str
    title: str
    source: str
    source_words: str
    status: str
    status_words: str


def when_words(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``Mon 23 Nov 2026, 11:00-11:30`` (an en dash) in ``zone``; the end's day too when it differs."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = f"{local_start:%a} {local_start.day} {local_start:%b %Y}"
    if local_end.date() == local_start.date():
        return f"{day}, {local_start:%H:%M}{DASH}{local_end:%H:%M}"
    end_day = f"{local_end:%a} {local_end.day} {local_end:%b}"
    return f"{day}, {local_start:%H:%M} {DASH} {end_day}, {local_end:%H:%M}"


def view_of(engagement: MeetingEngagement, zone: ZoneInfo) -> EngagementView:
    """How the record page shows ``engagement``."""
    status = engagement.status
    return EngagementView(
        id=engagement.id,
        start=engagement.start_at,
        when=when_words(engagement.start_at, engagement.end_at, zone),
        title=engagement.title,
        source=engagement.source,
        source_words=SOURCE_WORDS.get(engagement.source, engagement.source),
        status=status,
        status_words=STATUS_WORDS[status],
    )


async def engagements_of(session: AsyncSession, contact_id: int, zone: ZoneInfo) -> list[EngagementView]:
    """The meetings on a contact's record, newest first."""
    rows = (await session.execute(
        select(MeetingEngagement).where(MeetingEngagement.contact_id == contact_id)
        .order_by(MeetingEngagement.start_at.desc(), MeetingEngagement.id.desc())
    )).scalars().all()
    return [view_of(row, zone) for row in rows]


async def record(
    session: AsyncSession, *, contact_id: int, source: str, source_key: str, title: str,
    start: datetime, end: datetime, booking_id: int | None = None,
) -> MeetingEngagement:
    """Record a meeting on a contact (calendar sync, scheduling from the record), or bring the
    one already recorded for ``source_key`` up to date: a new time shows as moved, a meeting
    recorded again after it was cancelled is no longer cancelled. Inside the caller's transaction.
    """
    if source not in ENGAGEMENT_SOURCES:
        raise ValueError(f"unknown engagement source {source!r}")
    if end <= start:
        raise ValueError("a meeting must end after it starts")
    found = await _by_key(session, contact_id, source_key)
    if found is None:
        found = MeetingEngagement(contact_id=contact_id, booking_id=booking_id, source=source,
                                  source_key=source_key, title=title[:255], start_at=start, end_at=end)
        session.add(found)
    else:
        found.move(start, end)
        found.title, found.cancelled = title[:255], False
    await session.flush()
    return found


async def cancel(session: AsyncSession, *, contact_id: int, source_key: str) -> bool:
    """Mark the meeting recorded for ``source_key`` cancelled; whether there was one."""
    found = await _by_key(session, contact_id, source_key)
    if found is not None:
        found.cancelled = True
    return found is not None


async def _by_key(session: AsyncSession, contact_id: int, source_key: str) -> MeetingEngagement | None:
    query = select(MeetingEngagement).where(
        MeetingEngagement.contact_id == contact_id, MeetingEngagement.source_key == source_key
    )
    return (await session.execute(query)).scalar_one_or_none()
