"""Scheduling from a contact's record in the dashboard, through the running app: the form, the free
times as buttons, scheduling with calendar sync on (booking, event, invitation) and off (only
recorded), moving and cancelling from the record, the sentences beside the form, another host's
contact or meeting (404) and a refused CSRF token (403)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.booking.events import event_uid
from bot.contacts.directory import ContactDetails
from bot.keys import CONTACTS, RECORD_MEETINGS, SESSIONS
from bot.notices.email import EMAIL_KIND
from storage.models import Booking, LocalEvent, MeetingEngagement, OutboxMessage, User
from tests.conftest import AppClient
from tests.contacts.test_record_meetings import settle, waiting_emails
from tests.support.signing_in import add_user, demo_client, sign_in_for_csrf

STARTS = re.compile(r'name="start" value="([^"]+)"')


async def _setup(app_client: AppClient) -> tuple[TestClient, str, int, int, int]:
    client, demo = await demo_client(app_client, outbox_worker=False)
    assert client.app is not None
    csrf = await sign_in_for_csrf(client, demo.user_id)
    contact = await client.app[CONTACTS].add(demo.user_id, ContactDetails("ana@example.com", "Ana Souza"))
    return client, csrf, demo.user_id, demo.calendar_id, contact


async def _rows(client: TestClient, model: Any) -> list[Any]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


async def _times(client: TestClient, path: str) -> list[str]:
    response = await client.get(path)
    body = await response.text()
    assert response.status == 200, body
    return [html.unescape(value) for value in STARTS.findall(body)]


async def test_schedule_move_and_cancel_with_calendar_sync_on(app_client: AppClient) -> None:
    client, csrf, _, calendar_id, contact = await _setup(app_client)
    record = f"/dashboard/contacts/{contact}"
    page = await (await client.get(record)).text()
    assert "Schedule a meeting" in page and f'action="{record}/schedule#schedule"' in page
    assert all(f'<option value="{m}"' in page for m in (15, 30, 45, 60))
    assert "ana@example.com gets an invitation" in page

    listed = await client.get(f"{record}/schedule?minutes=45&title=Pricing+%26+plans")
    body = await listed.text()
    starts = [html.unescape(v) for v in STARTS.findall(body)]
    assert listed.status == 200 and 1 <= len(starts) <= 8 and "First free times" in body
    assert 'value="Pricing &amp; plans"' in body and '<option value="45" selected>' in body
    assert all(datetime.fromisoformat(s) > datetime.now(UTC) for s in starts)

    made = await client.post(f"{record}/schedule", data={
        "csrf": csrf, "start": starts[0], "minutes": "45", "title": "Pricing & plans"}, allow_redirects=False)
    assert made.status == 303 and made.headers["Location"] == f"{record}?notice=meeting-sent"
    shown = await (await client.get(made.headers["Location"])).text()
    assert "Invitation sent to ana@example.com." in shown and "Pricing &amp; plans" in shown
    assert "Scheduled from the record" in shown
    [engagement] = await _rows(client, MeetingEngagement)
    [booking] = await _rows(client, Booking)
    assert booking.page_id is None and engagement.booking_id == booking.id
    assert f"/meetings/{engagement.id}/move" in shown and f"/meetings/{engagement.id}/cancel" in shown
    [mail] = await waiting_emails(client)
    assert mail["to"] == "ana@example.com" and "Pricing & plans" in mail["subject"]
    await settle(client)
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        uids = set((await session.execute(select(LocalEvent.uid).where(
            LocalEvent.calendar_id == calendar_id))).scalars())
    assert event_uid(booking) in uids

    taken = await client.post(f"{record}/schedule", data={
        "csrf": csrf, "start": starts[0], "minutes": "45", "title": "Again"})
    text = await taken.text()
    assert taken.status == 409 and "not free any more" in text and 'value="Again"' in text

    moves = await _times(client, f"{record}/meetings/{engagement.id}/move")
    assert moves and starts[0] not in moves
    moved = await client.post(f"{record}/meetings/{engagement.id}/move",
                              data={"csrf": csrf, "start": moves[-1]}, allow_redirects=False)
    assert moved.headers["Location"] == f"{record}?notice=meeting-moved"
    shown = await (await client.get(moved.headers["Location"])).text()
    assert "Meeting moved. ana@example.com has been sent the new time." in shown and ">Moved<" in shown
    [mail] = await waiting_emails(client)
    assert mail["subject"].startswith("Moved:")

    confirm = await (await client.get(f"{record}/meetings/{engagement.id}/cancel")).text()
    assert "Cancel “Pricing &amp; plans”?" in confirm and "ana@example.com is told" in confirm
    cancelled = await client.post(f"{record}/meetings/{engagement.id}/cancel", data={"csrf": csrf},
                                  allow_redirects=False)
    assert cancelled.headers["Location"] == f"{record}?notice=meeting-cancelled"
    shown = await (await client.get(cancelled.headers["Location"])).text()
    assert "Meeting cancelled. ana@example.com has been told." in shown and ">Cancelled<" in shown
    assert f"/meetings/{engagement.id}/move" not in shown
    [booking] = await _rows(client, Booking)
    assert booking.status == "cancelled"
    await settle(client)
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        left = (await session.execute(select(func.count()).select_from(LocalEvent).where(
            LocalEvent.uid.like(f"slotbot-booking-{booking.id}%")))).scalar_one()
    assert left == 0


async def test_with_calendar_sync_off_it_is_only_recorded(app_client: AppClient) -> None:
    client, csrf, host, _, contact = await _setup(app_client)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).where(User.id == host).values(calendar_sync=False))
    record = f"/dashboard/contacts/{contact}"
    assert "nothing is sent" in await (await client.get(record)).text()
    starts = await _times(client, f"{record}/schedule?minutes=15")
    made = await client.post(f"{record}/schedule", data={"csrf": csrf, "start": starts[0], "minutes": "15"},
                             allow_redirects=False)
    assert made.headers["Location"] == f"{record}?notice=meeting-recorded"
    shown = await (await client.get(made.headers["Location"])).text()
    assert "Recorded on the record (calendar sync is off, nothing was sent)." in shown
    assert "Meeting with Demo Host" in shown
    [engagement] = await _rows(client, MeetingEngagement)
    assert engagement.booking_id is None and await _rows(client, Booking) == []
    moved = await client.post(f"{record}/meetings/{engagement.id}/move",
                              data={"csrf": csrf, "start": starts[-1]}, allow_redirects=False)
    assert moved.headers["Location"] == f"{record}?notice=meeting-moved-recorded"
    confirm = await (await client.get(f"{record}/meetings/{engagement.id}/cancel")).text()
    assert "nobody is told" in confirm
    cancelled = await client.post(f"{record}/meetings/{engagement.id}/cancel", data={"csrf": csrf},
                                  allow_redirects=False)
    assert cancelled.headers["Location"] == f"{record}?notice=meeting-cancelled-recorded"
    async with client.app[SESSIONS]() as session:
        mails = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == EMAIL_KIND))).scalar_one()
    assert mails == 0 and (await _rows(client, MeetingEngagement))[0].status == "cancelled"


async def test_refusals_are_sentences_beside_the_form_with_the_values_kept(app_client: AppClient) -> None:
    client, csrf, _, _, contact = await _setup(app_client)
    record = f"/dashboard/contacts/{contact}"
    bad_length = await client.get(f"{record}/schedule?minutes=20&title=Kept")
    body = await bad_length.text()
    assert bad_length.status == 400 and "Choose a length from the list." in body and 'value="Kept"' in body
    past = await client.get(f"{record}/schedule?minutes=30&day=2020-01-06")
    body = await past.text()
    assert past.status == 400 and "That day is over" in body and 'value="2020-01-06"' in body
    not_a_day = await client.get(f"{record}/schedule?minutes=30&day=soon")
    assert not_a_day.status == 400 and "Enter the day as a date" in await not_a_day.text()
    later = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    from_day = await _times(client, f"{record}/schedule?minutes=30&day={later}")
    assert from_day and all(datetime.fromisoformat(s).date().isoformat() >= later for s in from_day)
    no_time = await client.post(f"{record}/schedule", data={"csrf": csrf, "start": "soon", "minutes": "30"})
    assert no_time.status == 400 and "Please pick a time from the list." in await no_time.text()
    naive = await client.post(f"{record}/schedule", data={"csrf": csrf, "start": "2030-01-07T10:00",
                                                          "minutes": "30"})
    assert naive.status == 400
    assert await _rows(client, MeetingEngagement) == []


async def test_another_hosts_contact_or_meeting_is_a_404_and_a_bad_csrf_a_403(app_client: AppClient) -> None:
    client, csrf, host, _, contact = await _setup(app_client)
    assert client.app is not None
    stranger = await add_user(client, "sam", "sam@example.com")
    theirs = await client.app[CONTACTS].add(stranger, ContactDetails("zoe@example.com", "Zoe"))
    meetings = client.app[RECORD_MEETINGS]
    now = datetime.now(UTC)
    their_start = (await meetings.free_times(stranger, 30, now=now)).starts[0]
    their_meeting = await meetings.schedule(stranger, theirs, their_start, 30, now=now)
    starts = await _times(client, f"/dashboard/contacts/{contact}/schedule?minutes=30")
    mine = await meetings.schedule(host, contact, datetime.fromisoformat(starts[0]), 30, now=now)

    for path in (f"/dashboard/contacts/{theirs}/schedule?minutes=30",
                 f"/dashboard/contacts/{theirs}/meetings/{their_meeting.engagement_id}/move",
                 f"/dashboard/contacts/{contact}/meetings/{their_meeting.engagement_id}/move",
                 f"/dashboard/contacts/{contact}/meetings/{their_meeting.engagement_id}/cancel"):
        assert (await client.get(path)).status == 404, path
    for path, data in ((f"/dashboard/contacts/{theirs}/schedule", {"start": starts[1], "minutes": "30"}),
                       (f"/dashboard/contacts/{contact}/meetings/{their_meeting.engagement_id}/cancel", {}),
                       (f"/dashboard/contacts/{theirs}/meetings/{their_meeting.engagement_id}/move",
                        {"start": starts[1]})):
        assert (await client.post(path, data={"csrf": csrf, **data})).status == 404, path
    assert [e.status for e in await _rows(client, MeetingEngagement)] == ["scheduled", "scheduled"]

    forged = await client.post(f"/dashboard/contacts/{contact}/meetings/{mine.engagement_id}/cancel",
                               data={"csrf": "forged"})
    assert forged.status == 403
    forged = await client.post(f"/dashboard/contacts/{contact}/schedule",
                               data={"csrf": "forged", "start": starts[1], "minutes": "30"})
    assert forged.status == 403
    assert [e.status for e in await _rows(client, MeetingEngagement)] == ["scheduled", "scheduled"]
