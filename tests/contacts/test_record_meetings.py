"""Meetings scheduled from a contact's record, through the running app and its outbox: with
calendar sync on a booking without a page, its event in the demo host's local default calendar and
the contact's invitation; with sync off only the engagement; taken times refused; moved and
cancelled both ways; another host's contact or meeting not found."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.booking.events import event_uid
from bot.contacts.directory import ContactDetails
from bot.contacts.scheduling import MeetingNotFound, MeetingRefused, RecordMeetings, name_from_address
from bot.keys import CONTACTS, RECORD_MEETINGS, SECRETS, SESSIONS
from bot.notices.email import EMAIL_KIND
from bot.notices.envelope import unwrap
from storage.models import Booking, LocalEvent, MeetingEngagement, OutboxMessage, User
from tests.conftest import AppClient
from tests.support.outbox import settle
from tests.support.signing_in import add_user, demo_client

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
MONDAY = date(2026, 11, 23)


async def waiting_emails(client: TestClient) -> list[dict[str, Any]]:
    """The e-mails waiting in the outbox, opened as the worker opens them."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == EMAIL_KIND, OutboxMessage.status == "pending"))).scalars().all()
    return [unwrap(row.kind, row.payload, client.app[SECRETS]) for row in rows]


async def outbox_count(client: TestClient) -> int:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()


async def one(client: TestClient, model: Any) -> Any:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(model))).scalar_one()


async def local_uids(client: TestClient, calendar_id: int) -> set[str]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return set((await session.execute(select(LocalEvent.uid).where(
            LocalEvent.calendar_id == calendar_id))).scalars())


def summary(ics: str) -> str:
    return str(next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))["SUMMARY"])


async def setup(app_client: AppClient) -> tuple[TestClient, RecordMeetings, int, int, int]:
    """The app, the service, the demo host and its calendar, and a contact Ana."""
    client, demo = await demo_client(app_client, outbox_worker=False)  # settle() runs it
    assert client.app is not None
    contact = await client.app[CONTACTS].add(demo.user_id, ContactDetails("ana@example.com", "Ana Souza"))
    return client, client.app[RECORD_MEETINGS], demo.user_id, demo.calendar_id, contact


async def test_with_sync_on_a_meeting_is_written_to_the_calendar_and_the_contact_invited(
    app_client: AppClient
) -> None:
    client, meetings, host, calendar_id, contact = await setup(app_client)
    assert await meetings.sends_invitations(host)
    free = await meetings.free_times(host, 30, day=MONDAY, now=NOW)
    assert len(free.starts) == 8 and free.zone == "Europe/Copenhagen"
    assert all(s.astimezone(CPH).date() >= MONDAY for s in free.starts)
    assert list(free.starts) == sorted(free.starts)
    start = free.starts[0]

    made = await meetings.schedule(host, contact, start, 30, now=NOW)
    assert made.sent and made.title == "Meeting with Demo Host" and made.start == start
    booking = await one(client, Booking)
    assert booking.page_id is None and booking.visitor_email == "ana@example.com"
    assert (booking.visitor_name, booking.timezone, booking.status) == ("Ana Souza", "Europe/Copenhagen",
                                                                         "confirmed")
    engagement = await one(client, MeetingEngagement)  # exactly one: none with source "booking"
    assert (engagement.source, engagement.booking_id, engagement.status) == ("contact_record", booking.id,
                                                                             "scheduled")
    [mail] = await waiting_emails(client)  # the contact only: the host made it
    assert mail["to"] == "ana@example.com" and mail["subject"] == "Invitation: Meeting with Demo Host"
    assert summary(mail["ics"]) == "Meeting with Demo Host"
    manage = re.search(r"https?://\S+/meetings-manage/\S+", mail["text"])
    assert manage is not None

    await settle(client)
    assert event_uid(booking) in await local_uids(client, calendar_id)
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        event = (await session.execute(
            select(LocalEvent).where(LocalEvent.uid == event_uid(booking)))).scalar_one()
    written = next(iter(icalendar.Calendar.from_ical(event.ical).walk("VEVENT")))
    assert str(written["SUMMARY"]) == "Meeting with Demo Host"
    assert str(written["ATTENDEE"]).lower() == "mailto:ana@example.com"
    after = await meetings.free_times(host, 30, day=MONDAY, now=NOW)
    assert start not in after.starts

    # The contact's manage link works although the meeting has no page (it can be cancelled there).
    page = await client.get(urlsplit(manage.group(0)).path)
    assert page.status == 200 and "Cancel this meeting" in await page.text()


async def test_a_taken_time_and_a_time_never_offered_are_refused(app_client: AppClient) -> None:
    client, meetings, host, _, contact = await setup(app_client)
    assert client.app is not None
    other = await client.app[CONTACTS].add(host, ContactDetails("bo@example.org", "Bo"))
    start = (await meetings.free_times(host, 30, day=MONDAY, now=NOW)).starts[0]
    await meetings.schedule(host, contact, start, 30, now=NOW)
    with pytest.raises(MeetingRefused) as taken:
        await meetings.schedule(host, other, start, 30, now=NOW)
    assert taken.value.code == "taken" and "not free any more" in str(taken.value)
    with pytest.raises(MeetingRefused):
        await meetings.schedule(host, other, datetime(2026, 11, 23, 3, tzinfo=CPH), 30, now=NOW)
    with pytest.raises(ValueError):
        await meetings.schedule(host, other, datetime(2026, 11, 23, 14), 30, now=NOW)
    with pytest.raises(MeetingRefused):
        await meetings.schedule(host, other, start, 600, now=NOW)
    assert len(await waiting_emails(client)) == 1


async def test_with_sync_on_a_move_updates_the_event_and_a_cancel_removes_it(app_client: AppClient) -> None:
    client, meetings, host, calendar_id, contact = await setup(app_client)
    free = await meetings.free_times(host, 45, day=MONDAY, now=NOW)
    made = await meetings.schedule(host, contact, free.starts[0], 45, now=NOW, title="Pricing\nreview")
    assert made.title == "Pricing review"
    await settle(client)
    first = await one(client, Booking)

    moved = await meetings.move(host, made.engagement_id, free.starts[-1], now=NOW)
    assert moved.sent and moved.start == free.starts[-1]
    booking = await one(client, Booking)
    assert booking.start_at == free.starts[-1] and booking.sequence == 1
    assert (booking.end_at - booking.start_at).total_seconds() == 45 * 60
    assert booking.manage_token_hash != first.manage_token_hash  # the new e-mail holds the link
    engagement = await one(client, MeetingEngagement)
    assert engagement.status == "moved" and engagement.start_at == free.starts[-1]
    [mail] = await waiting_emails(client)
    assert mail["subject"] == "Moved: Pricing review" and summary(mail["ics"]) == "Pricing review"
    await settle(client)
    uids = await local_uids(client, calendar_id)
    assert event_uid(booking) in uids and event_uid(first) not in uids

    with pytest.raises(MeetingRefused) as past:
        await meetings.move(host, made.engagement_id, free.starts[1], now=free.starts[-1])
    assert past.value.code == "started"

    cancelled = await meetings.cancel(host, made.engagement_id)
    assert cancelled.sent
    booking = await one(client, Booking)
    assert booking.status == "cancelled" and (await one(client, MeetingEngagement)).status == "cancelled"
    [mail] = await waiting_emails(client)
    assert mail["subject"] == "Cancelled: Pricing review" and mail["to"] == "ana@example.com"
    await settle(client)
    assert event_uid(booking) not in await local_uids(client, calendar_id)
    assert event_uid(first) not in await local_uids(client, calendar_id)
    again = await meetings.cancel(host, made.engagement_id)  # nothing more happens
    assert not again.sent and await waiting_emails(client) == []
    with pytest.raises(MeetingRefused) as gone:
        await meetings.move(host, made.engagement_id, free.starts[2], now=NOW)
    assert gone.value.code == "cancelled"


async def test_with_sync_off_only_the_engagement_is_recorded(app_client: AppClient) -> None:
    client, meetings, host, calendar_id, contact = await setup(app_client)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).where(User.id == host).values(calendar_sync=False))
    assert not await meetings.sends_invitations(host)
    other = await client.app[CONTACTS].add(host, ContactDetails("bo@example.org", "Bo"))
    before, events = await outbox_count(client), await local_uids(client, calendar_id)
    free = await meetings.free_times(host, 30, day=MONDAY, now=NOW)

    made = await meetings.schedule(host, contact, free.starts[0], 30, now=NOW)
    assert not made.sent and made.booking_id is None
    engagement = await one(client, MeetingEngagement)
    assert (engagement.source, engagement.booking_id) == ("contact_record", None)
    assert engagement.source_key.startswith("record:")
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(func.count()).select_from(Booking))).scalar_one() == 0
    assert await outbox_count(client) == before

    # No booking holds the time, but a second recorded meeting cannot overlap it.
    assert free.starts[0] not in (await meetings.free_times(host, 30, day=MONDAY, now=NOW)).starts
    with pytest.raises(MeetingRefused) as taken:
        await meetings.schedule(host, other, free.starts[0], 30, now=NOW)
    assert taken.value.code == "taken"

    moved = await meetings.move(host, made.engagement_id, free.starts[3], now=NOW)
    assert not moved.sent and (await one(client, MeetingEngagement)).status == "moved"
    await meetings.cancel(host, made.engagement_id)
    assert (await one(client, MeetingEngagement)).status == "cancelled"
    assert await outbox_count(client) == before and await local_uids(client, calendar_id) == events


async def test_another_hosts_contact_or_meeting_is_not_found(app_client: AppClient) -> None:
    client, meetings, host, _, contact = await setup(app_client)
    stranger = await add_user(client, "sam", "sam@example.com")
    start = (await meetings.free_times(host, 30, day=MONDAY, now=NOW)).starts[0]
    with pytest.raises(MeetingNotFound):
        await meetings.schedule(stranger, contact, start, 30, now=NOW)
    made = await meetings.schedule(host, contact, start, 30, now=NOW)
    with pytest.raises(MeetingNotFound):
        await meetings.cancel(stranger, made.engagement_id)
    with pytest.raises(MeetingNotFound):
        await meetings.move(stranger, made.engagement_id, start, now=NOW)
    assert (await one(client, MeetingEngagement)).status == "scheduled"


async def test_a_contact_is_found_or_made_by_address(app_client: AppClient) -> None:
    _, meetings, host, _, contact = await setup(app_client)
    found, made = await meetings.contact_for(host, " ANA@example.com")
    assert (found.id, made) == (contact, False)
    new, made = await meetings.contact_for(host, "rui.costa-lima@example.pt")
    assert made and new.name == "Rui Costa Lima" and new.email == "rui.costa-lima@example.pt"
    with pytest.raises(MeetingRefused):
        await meetings.contact_for(host, "not an address")
    assert name_from_address("ana@example.com") == "Ana"


async def test_the_contact_cancels_from_the_invitation_and_the_host_is_told(app_client: AppClient) -> None:
    client, meetings, host, calendar_id, contact = await setup(app_client)
    start = (await meetings.free_times(host, 30, day=MONDAY, now=NOW)).starts[0]
    await meetings.schedule(host, contact, start, 30, now=NOW)
    [mail] = await waiting_emails(client)
    await settle(client)
    found = re.search(r"https?://\S+/meetings-manage/\S+", mail["text"])
    assert found is not None
    path = urlsplit(found.group(0)).path
    page = await client.get(path)
    body = await page.text()
    assert page.status == 200 and "Move it to another time" not in body  # no page: cancel only
    done = await client.post(path + "/cancel", data={"csrf": page.cookies["slotbot_form"].value})
    assert done.status == 200 and "cancelled" in (await done.text()).lower()
    assert (await one(client, MeetingEngagement)).status == "cancelled"
    assert (await one(client, Booking)).status == "cancelled"
    told = {m["to"]: m["subject"] for m in await waiting_emails(client)}
    assert told == {"ana@example.com": "Cancelled: Meeting with Demo Host",
                    "demo.host@example.com": "Ana Souza cancelled Meeting with Demo Host"}
    await settle(client)
    assert not any(uid.startswith("slotbot-booking-") for uid in await local_uids(client, calendar_id))
