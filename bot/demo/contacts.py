"""The demo's sample contacts: a few people with past meetings on their records, and tasks.

:func:`seed_contacts` runs once per demo database (after :func:`bot.demo.seed.seed`, from
``slotbot demo``), so the dashboard's Contacts and Tasks have something to show. The tests' seed
of the demo host does not add them, so their counts of contacts stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo.seed import DEMO_TIMEZONE, DemoHost
from storage.models import Contact, LocalEvent, MeetingEngagement, Task, utcnow


@dataclass(frozen=True, slots=True)
class _Meeting:
    title: str
    source: str
    days_ago: int
    hour: int
    minutes: int = 30
    moved: bool = False
    cancelled: bool = False


SAMPLES = (
    ("ana.souza@example.com", "Ana Lúcia Souza", "Pilot Labs", "+55 11 91234 5678",
     "Met at the Lisbon fair. Prefers mornings.",
     (_Meeting("Intro call", "booking", 16, 10),
      _Meeting("Project check-in", "contact_record", 4, 14, 60, moved=True))),
    ("bo.berg@example.org", "Bo Berg", "Nordlys ApS", "+45 20 30 40 50", "",
     (_Meeting("Intro call", "booking", 9, 11, cancelled=True),)),
    ("chen.wei@example.net", "Chen Wei", "Harbor & Co", "", "Asked for a demo in the spring.", ()),
)


SYNCED_MEETINGS = (
    # (uid, title, days from today, hour, minutes, guests)
    ("demo-pilot-review", "Pilot review", -2, 9, 45, ("bo.berg@example.org",)),
    ("demo-roadmap", "Roadmap workshop", 6, 11, 60, ("ana.souza@example.com", "chen.wei@example.net")),
)


def meetings_ics(today: date, zone: ZoneInfo) -> str:
    """The demo calendar's meetings with sample contacts (one-off events with guests), as iCalendar."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Slotbot//Demo meetings//EN"]
    for uid, title, days, hour, minutes, guests in SYNCED_MEETINGS:
        start = datetime.combine(today + timedelta(days=days), time(hour), zone).astimezone(UTC)
        end = start + timedelta(minutes=minutes)
        lines += ["BEGIN:VEVENT", f"UID:{uid}@slotbot.invalid", "DTSTAMP:20260101T000000Z",
                  f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{end:%Y%m%dT%H%M%SZ}", f"SUMMARY:{title}",
                  "ORGANIZER;CN=Demo Host:mailto:demo.host@example.com"]
        lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{guest}" for guest in guests]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


async def seed_contacts(sessions: async_sessionmaker[AsyncSession], host: DemoHost,
                        *, today: date | None = None) -> bool:
    """Add the sample contacts, their meetings and two tasks, unless already there; whether it did."""
    zone = ZoneInfo(DEMO_TIMEZONE)
    today = today or utcnow().astimezone(zone).date()
    emails = [sample[0] for sample in SAMPLES]
    async with sessions() as session, session.begin():
        known = (await session.execute(select(Contact.id).where(
            Contact.owner_id == host.user_id, Contact.email.in_(emails)))).first()
        if known is not None:
            return False
        ids: list[int] = []
        for email, name, company, phone, notes, meetings in SAMPLES:
            contact = Contact(owner_id=host.user_id, email=email, name=name, company=company,
                              phone=phone, notes=notes)
            session.add(contact)
            await session.flush()
            ids.append(contact.id)
            for n, meeting in enumerate(meetings):
                start = datetime.combine(today - timedelta(days=meeting.days_ago), time(meeting.hour), zone)
                session.add(MeetingEngagement(
                    contact_id=contact.id, source=meeting.source, source_key=f"demo:{email}:{n}",
                    title=meeting.title, start_at=start, end_at=start + timedelta(minutes=meeting.minutes),
                    cancelled=meeting.cancelled,
                    moved_at=start - timedelta(days=1) if meeting.moved else None,
                ))
        # Meetings in the demo calendar with these people as guests: calendar sync records them.
        session.add(LocalEvent(calendar_id=host.calendar_id, uid="demo-meetings",
                               ical=meetings_ics(today, zone)))
        session.add_all([
            Task(owner_id=host.user_id, contact_id=ids[0], title="Send the proposal to Ana",
                 due_date=today + timedelta(days=2), due_time=time(14, 0), timezone=DEMO_TIMEZONE),
            Task(owner_id=host.user_id, contact_id=ids[1], title="Follow up with Bo about the pilot",
                 due_date=today, timezone=DEMO_TIMEZONE),
            Task(owner_id=host.user_id, title="Prepare the quarterly review",
                 due_date=today + timedelta(days=7), timezone=DEMO_TIMEZONE),
        ])
    return True
