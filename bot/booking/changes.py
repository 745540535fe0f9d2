"""A booking moved or cancelled inside the caller's transaction, whoever asked for it.

The visitor's manage link (:class:`bot.booking.service.Bookings`) and the host's contact record
(:mod:`bot.contacts.scheduling`) change bookings the same way: the booking's time or status, its
iCalendar sequence, the meeting engagements linked to it (shown moved or cancelled on the
contact's record) and the outbox row that brings its calendar event in step
(:func:`bot.booking.events.enqueue_sync`). What each side tells whom stays with the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking.events import enqueue_sync
from storage.models import Booking, MeetingEngagement, utcnow


async def linked_engagements(session: AsyncSession, booking_id: int) -> list[MeetingEngagement]:
    """The meeting engagements recorded for a booking."""
    query = select(MeetingEngagement).where(MeetingEngagement.booking_id == booking_id)
    return list((await session.execute(query)).scalars())


async def move_booking(session: AsyncSession, booking: Booking, start: datetime, end: datetime) -> datetime:
    """Give ``booking`` a new time (its engagements move with it); the time it had before."""
    previous = booking.start_at
    booking.start_at, booking.end_at = start, end
    booking.sequence += 1
    await session.flush()  # the database refuses an overlap here
    for item in await linked_engagements(session, booking.id):
        item.move(start, end)  # shown as moved on the contact's record
    if booking.status == "confirmed":
        enqueue_sync(session, booking)
    return previous


async def cancel_booking(session: AsyncSession, booking: Booking) -> None:
    """Cancel ``booking``: the time is free again, its event goes, its engagements are cancelled."""
    was_confirmed = booking.status == "confirmed"
    booking.status, booking.cancelled_at = "cancelled", utcnow()
    booking.sequence += 1
    for item in await linked_engagements(session, booking.id):
        item.cancelled = True
    if was_confirmed:
        enqueue_sync(session, booking)
