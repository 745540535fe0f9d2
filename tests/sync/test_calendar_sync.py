"""Calendar sync through the running app, on the demo host's local calendar (the same path as every
provider): events with known contacts become engagements, changes move or cancel them, Slotbot's
own bookings and unknown people are left alone, sync off keeps what was recorded, and a sync that
saw a change drops the host's cached busy time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update

from bot.demo.seed import DemoHost
from bot.keys import SCHEDULER, SESSIONS, SYNC
from bot.sync.service import CalendarSync
from storage.models import CalendarSyncState, Contact, LocalEvent, MeetingEngagement, User
from tests.conftest import AppClient
from tests.support.signing_in import demo_client, sign_in_for_csrf

_TODAY = datetime.now(ZoneInfo("Europe/Copenhagen")).replace(hour=10, minute=0, second=0, microsecond=0)
# Next week's Wednesday at 10:00 in the demo host's zone: inside the sync window, and an hour the
# sample calendar leaves free (its stand-up ends at 9:45).
SOON = (_TODAY + timedelta(days=7 - _TODAY.weekday() + 2)).astimezone(UTC)


def _event(uid: str, start: datetime, *, minutes: int = 30, attendees: tuple[str, ...] = (),
           title: str = "Project kick-off", status: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20260101T000000Z", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
             f"DTEND:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%SZ}", f"SUMMARY:{title}",
             "ORGANIZER:mailto:demo.host@example.com"]
    lines += [f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{a}" for a in attendees]
    if status:
        lines.append(f"STATUS:{status}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
async def demo(app_client: AppClient) -> tuple[TestClient, DemoHost, CalendarSync]:
    client, host = await demo_client(app_client)
    assert client.app is not None
    sync = client.app[SYNC]
    await sync.stop()  # the test syncs by hand
    async with client.app[SESSIONS]() as session, session.begin():
        session.add_all([Contact(owner_id=host.user_id, email="ana@example.com", name="Ana"),
                         Contact(owner_id=host.user_id, email="bo@example.com", name="Bo")])
    return client, host, sync


async def _put(client: TestClient, host: DemoHost, uid: str, text: str) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        found = (await session.execute(select(LocalEvent).where(
            LocalEvent.calendar_id == host.calendar_id, LocalEvent.uid == uid))).scalar_one_or_none()
        if found is None:
            session.add(LocalEvent(calendar_id=host.calendar_id, uid=uid, ical=text))
        else:
            found.ical = text


async def _remove(client: TestClient, host: DemoHost, uid: str) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(delete(LocalEvent).where(LocalEvent.uid == uid))


async def _statuses(client: TestClient) -> dict[str, str]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(
            select(Contact.email, MeetingEngagement).join(Contact, Contact.id == MeetingEngagement.contact_id)
            .where(MeetingEngagement.source == "calendar_sync"))
        return {email: e.status for email, e in rows}


async def _engagements(client: TestClient) -> dict[str, tuple[str, datetime, bool, str]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(
            select(Contact.email, MeetingEngagement).join(Contact, Contact.id == MeetingEngagement.contact_id)
            .where(MeetingEngagement.source == "calendar_sync"))
        return {email: (e.title, e.start_at.replace(tzinfo=UTC) if e.start_at.tzinfo is None else e.start_at,
                        e.cancelled, e.source_key) for email, e in rows}


async def test_an_event_with_a_known_contact_becomes_an_engagement_and_follows_changes(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    first = await sync.sync_calendar(host.calendar_id)
    assert first is not None and first.full  # the first read is a full one
    guests = ("Ana@Example.com", "zed@example.org", "demo.host@example.com")
    await _put(client, host, "kickoff", _event("kickoff", SOON, attendees=guests))
    synced = await sync.sync_calendar(host.calendar_id)
    assert synced is not None and synced.changes == 1 and not synced.full
    found = await _engagements(client)
    assert set(found) == {"ana@example.com"}  # not the unknown guest, not the host
    assert found["ana@example.com"][:3] == ("Project kick-off", SOON, False)
    assert found["ana@example.com"][3] == f"event:{host.calendar_id}:kickoff"

    unchanged = await sync.sync_calendar(host.calendar_id)
    assert unchanged is not None and unchanged.changes == 0
    assert await _statuses(client) == {"ana@example.com": "scheduled"}

    later = SOON + timedelta(days=1, hours=2)
    both = ("ana@example.com", "bo@example.com")
    await _put(client, host, "kickoff", _event("kickoff", later, attendees=both, title="Kick-off (moved)"))
    moved = await sync.sync_calendar(host.calendar_id)
    assert moved is not None and moved.applied.updated == 1 and moved.applied.recorded == 1
    found = await _engagements(client)
    assert found["ana@example.com"][:3] == ("Kick-off (moved)", later, False)
    assert found["bo@example.com"][:3] == ("Kick-off (moved)", later, False)
    assert await _statuses(client) == {"ana@example.com": "moved", "bo@example.com": "scheduled"}

    await _put(client, host, "kickoff", _event("kickoff", later, attendees=("bo@example.com",)))
    await sync.sync_calendar(host.calendar_id)
    found = await _engagements(client)
    assert found["ana@example.com"][2] and not found["bo@example.com"][2]  # Ana left the meeting

    cancelled = _event("kickoff", later, attendees=("bo@example.com",), status="CANCELLED")
    await _put(client, host, "kickoff", cancelled)
    await sync.sync_calendar(host.calendar_id)
    assert (await _engagements(client))["bo@example.com"][2]

    await _put(client, host, "kickoff", _event("kickoff", later, attendees=both))
    await sync.sync_calendar(host.calendar_id)
    found = await _engagements(client)
    assert not found["bo@example.com"][2] and not found["ana@example.com"][2]  # back on

    await _remove(client, host, "kickoff")
    gone = await sync.sync_calendar(host.calendar_id)
    assert gone is not None and gone.applied.cancelled == 2
    assert all(cancelled for _, _, cancelled, _ in (await _engagements(client)).values())


async def test_slotbot_bookings_and_events_without_contacts_are_not_synced(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    await _put(client, host, "slotbot-booking-7@slotbot",
               _event("slotbot-booking-7@slotbot", SOON, attendees=("ana@example.com",)))
    await _put(client, host, "dentist", _event("dentist", SOON + timedelta(hours=3)))
    synced = await sync.sync_calendar(host.calendar_id)
    assert synced is not None and synced.changes >= 2
    assert await _engagements(client) == {}


async def test_sync_off_stops_and_keeps_what_was_recorded(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    assert client.app is not None
    await _put(client, host, "review", _event("review", SOON, attendees=("ana@example.com",)))
    await sync.sync_calendar(host.calendar_id)
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).where(User.id == host.user_id).values(calendar_sync=False))
    await _remove(client, host, "review")
    assert await sync.sync_calendar(host.calendar_id) is None
    assert host.calendar_id not in await sync.eligible()
    assert not (await _engagements(client))["ana@example.com"][2]  # still recorded, not cancelled


async def test_an_unreadable_cursor_starts_over_and_a_full_read_cancels_what_is_gone(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    assert client.app is not None
    await _put(client, host, "a", _event("a", SOON, attendees=("ana@example.com",)))
    await _put(client, host, "b", _event("b", SOON + timedelta(hours=2), attendees=("bo@example.com",)))
    await sync.sync_calendar(host.calendar_id)
    await _remove(client, host, "b")
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(CalendarSyncState).values(cursor="not json"))
    again = await sync.sync_calendar(host.calendar_id)
    assert again is not None and again.full
    found = await _engagements(client)
    assert not found["ana@example.com"][2] and found["bo@example.com"][2]


async def test_run_due_syncs_checked_calendars_once_and_a_change_drops_the_cached_busy_time(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    assert client.app is not None
    assert await sync.eligible() == [host.calendar_id]
    assert await sync.run_due() == 1
    assert await sync.run_due() == 0  # not due again before the poll interval

    start, end = SOON - timedelta(hours=1), SOON + timedelta(hours=8)
    scheduler = client.app[SCHEDULER]
    before = await scheduler.availability(host.user_id, start=start, end=end, now=start - timedelta(days=1))
    assert any(s.start == SOON for s in before.result.slots)
    await _put(client, host, "blocker", _event("blocker", SOON, minutes=60))
    cached = await scheduler.availability(host.user_id, start=start, end=end, now=start - timedelta(days=1))
    assert any(s.start == SOON for s in cached.result.slots)  # the warm cache has not seen it yet
    async with client.app[SESSIONS]() as session:
        version = (await session.get(User, host.user_id)).busy_version  # type: ignore[union-attr]
    await sync.sync_calendar(host.calendar_id)
    after = await scheduler.availability(host.user_id, start=start, end=end, now=start - timedelta(days=1))
    assert not any(s.start == SOON for s in after.result.slots)
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, host.user_id)
    assert user is not None and user.busy_version == version + 1  # other processes' caches too


async def test_the_demos_meetings_with_sample_contacts_reach_their_records(app_client: AppClient) -> None:
    from bot.demo.contacts import seed_contacts

    client, host = await demo_client(app_client)
    assert client.app is not None
    await client.app[SYNC].stop()
    assert await seed_contacts(client.app[SESSIONS], host)
    await client.app[SYNC].run_due()
    found = {(email, title, status) for email, title, status in await _titled(client)}
    assert found == {("bo.berg@example.org", "Pilot review", "scheduled"),
                     ("ana.souza@example.com", "Roadmap workshop", "scheduled"),
                     ("chen.wei@example.net", "Roadmap workshop", "scheduled")}


async def _titled(client: TestClient) -> list[tuple[str, str, str]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(
            select(Contact.email, MeetingEngagement).join(Contact, Contact.id == MeetingEngagement.contact_id)
            .where(MeetingEngagement.source == "calendar_sync"))
        return [(email, e.title, e.status) for email, e in rows]


async def test_the_dashboard_switch_turns_sync_off_and_on_and_shows_each_calendars_mode(
        demo: tuple[TestClient, DemoHost, CalendarSync]) -> None:
    client, host, sync = demo
    await sync.run_due()
    csrf = await sign_in_for_csrf(client, host.user_id)
    page = await (await client.get("/dashboard")).text()
    assert "Turn calendar sync off" in page and "Synced to contacts: read every 5 min, last " in page
    refused = await client.post("/dashboard/sync", data={"csrf": "wrong", "enabled": "off"},
                                allow_redirects=False)
    assert refused.status == 403
    off = await client.post("/dashboard/sync", data={"csrf": csrf, "enabled": "off"})
    text = await off.text()
    assert off.status == 200 and "Calendar sync is off" in text and "Turn calendar sync on" in text
    assert "Synced to contacts" not in text
    assert await sync.eligible() == []
    on = await client.post("/dashboard/sync", data={"csrf": csrf, "enabled": "on"})
    assert "Calendar sync is on" in await on.text() and await sync.eligible() == [host.calendar_id]
