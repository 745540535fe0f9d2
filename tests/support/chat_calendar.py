"""A known day for chat tests: the demo host works every day 08:00-18:00 and tomorrow has one meeting.

:func:`known_tomorrow` rewrites the seeded demo data (the demo page's hours and the demo calendar's
events) so that "when am I free tomorrow?" has the same answer whatever day the tests run:
free 08:00-10:00 and 11:00-18:00 in Copenhagen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo.seed import DEMO_TIMEZONE
from storage.models import LocalEvent, SchedulingPage

ZONE = ZoneInfo(DEMO_TIMEZONE)
EVERY_DAY = {day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def known_tomorrow(sessions: async_sessionmaker[AsyncSession]) -> date:
    """Make tomorrow (Copenhagen) free 08:00-10:00 and 11:00-18:00 for the demo host; return it."""
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(10), ZONE)
    ical = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Slotbot tests//EN",
        "BEGIN:VEVENT", "UID:known-meeting@tests", f"DTSTAMP:{_stamp(start)}",
        f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(start + timedelta(hours=1))}",
        "SUMMARY:Known meeting", "END:VEVENT", "END:VCALENDAR", "",
    ])
    async with sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).values(rules={"weekly": EVERY_DAY}))
        await session.execute(update(LocalEvent).where(LocalEvent.uid == "sample").values(ical=ical))
    return tomorrow


def free_ranges(tomorrow: date) -> list[tuple[datetime, datetime]]:
    """The free ranges :func:`known_tomorrow` leaves on ``tomorrow``."""
    def at(hour: int) -> datetime:
        return datetime.combine(tomorrow, time(hour), ZONE)

    return [(at(8), at(10)), (at(11), at(18))]
