"""Calendar sync against the fake Google through google-api-python-client and the running app:
incremental reads by sync token (a full read after 410), engagements that follow the host's edits
in Google, Slotbot's own and other apps' events left alone, and push: a watch channel whose
notifications reach the app over HTTP, are checked, and bring a change to the contact's record
and the free time within seconds; the channel stopped on disconnect."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import CONNECTIONS, SCHEDULER, SESSIONS, SYNC
from bot.sync.service import CalendarSync
from storage.models import CalendarConnection, CalendarSyncState, MeetingEngagement
from tests.conftest import AppClient
from tests.support.google_host import google_host

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

START = (datetime.now(UTC) + timedelta(days=9)).replace(hour=10, minute=0, second=0, microsecond=0)


def _meeting(start: datetime = START, minutes: int = 30, **extra: Any) -> dict[str, Any]:
    return {"summary": "Pilot review", "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
            "attendees": [{"email": "ana@example.com", "responseStatus": "needsAction"}], **extra}


async def _engagements(client: TestClient) -> list[tuple[str, str, datetime]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(MeetingEngagement).order_by(MeetingEngagement.id))).scalars()
        return [(e.title, e.status, e.start_at.astimezone(UTC)) for e in rows]


@pytest.fixture
async def polled(app_client: AppClient, google_fake: FakeGoogle) -> tuple[TestClient, CalendarSync]:
    client = await app_client(SLOTBOT_SYNC_PUSH="off", **google_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()  # the test syncs by hand
    return client, client.app[SYNC]


async def test_google_edits_reach_the_record_by_sync_token(
        polled: tuple[TestClient, CalendarSync], google_fake: FakeGoogle) -> None:
    client, sync = polled
    _, calendar_id = await google_host(client, google_fake)
    primary = google_fake.account_email
    event = google_fake.add_event(primary, _meeting())
    google_fake.add_event(primary, _meeting(summary="Booked through Slotbot", extendedProperties={
        "private": {"slotbotUid": "slotbot-booking-9@slotbot"}}))
    google_fake.add_event(primary, _meeting(summary="CRM sync", source={"title": "CRM", "url": "https://crm.example"}))

    first = await sync.sync_calendar(calendar_id)
    assert first is not None and first.full and first.applied.recorded == 1
    assert await _engagements(client) == [("Pilot review", "scheduled", START)]
    [listing] = [c for c in google_fake.api_calls("events.list")]
    assert "timeMin" in listing.query and "syncToken" not in listing.query

    later = START + timedelta(days=1)
    google_fake.update_event(primary, event["id"], start=later, end=later + timedelta(minutes=45),
                             summary="Pilot review (moved)")
    moved = await sync.sync_calendar(calendar_id)
    assert moved is not None and not moved.full and moved.changes == 1
    assert await _engagements(client) == [("Pilot review (moved)", "moved", later)]
    incremental = google_fake.api_calls("events.list")[-1]
    assert "syncToken" in incremental.query and "timeMin" not in incremental.query

    google_fake.expire_sync_tokens()
    again = await sync.sync_calendar(calendar_id)
    assert again is not None and again.full  # 410 fullSyncRequired: read everything again
    assert await _engagements(client) == [("Pilot review (moved)", "moved", later)]

    google_fake.delete_event(primary, event["id"])
    await sync.sync_calendar(calendar_id)
    assert await _engagements(client) == [("Pilot review (moved)", "cancelled", later)]


async def test_push_brings_a_google_change_to_the_record_and_the_free_time_within_seconds(
        app_client: AppClient, google_fake: FakeGoogle) -> None:
    client = await app_client(own_address=True, SLOTBOT_SYNC_PUSH="on", SLOTBOT_OUTBOX_POLL_SECONDS="0.2",
                              **google_fake.env())
    assert client.app is not None
    sync = client.app[SYNC]
    await sync.stop()
    user_id, calendar_id = await google_host(client, google_fake)
    primary = google_fake.account_email
    await sync.run_due()  # the first read, then a channel is opened
    [channel] = google_fake.active_channels(primary)
    assert channel.address == str(client.make_url("/hooks/google/calendar"))
    async with client.app[SESSIONS]() as session:
        state = await session.get(CalendarSyncState, calendar_id)
    assert state is not None and state.mode == "push" and state.channel_id == channel.id
    assert state.channel_secret_hash and channel.token not in state.channel_secret_hash

    window = (START - timedelta(hours=1), START + timedelta(hours=3))
    scheduler = client.app[SCHEDULER]
    asked = {"start": window[0], "end": window[1], "now": window[0] - timedelta(days=1)}
    before = await scheduler.availability(user_id, **asked)
    assert any(s.start == START for s in before.result.slots)

    began = time.monotonic()
    google_fake.add_event(primary, _meeting())  # made by the host in Google Calendar
    while not await _engagements(client):
        assert time.monotonic() - began < 10, "the change did not arrive by push"
        await asyncio.sleep(0.05)
    assert await _engagements(client) == [("Pilot review", "scheduled", START)]
    after = await scheduler.availability(user_id, **asked)
    assert not any(s.start == START for s in after.result.slots)  # the warm cache was dropped
    statuses = [d.status for d in google_fake.deliveries]
    assert statuses and set(statuses) == {200}

    await client.app[CONNECTIONS].disconnect(user_id, (await _connection_id(client)))
    assert google_fake.active_channels(primary) == []


async def test_a_notification_with_a_wrong_token_is_refused_and_changes_nothing(
        app_client: AppClient, google_fake: FakeGoogle) -> None:
    client = await app_client(own_address=True, SLOTBOT_SYNC_PUSH="on", **google_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()
    await google_host(client, google_fake)
    await client.app[SYNC].run_due()
    [channel] = google_fake.active_channels(google_fake.account_email)
    answer = await client.post("/hooks/google/calendar", headers={
        "X-Goog-Channel-ID": channel.id, "X-Goog-Channel-Token": "not-the-token",
        "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "99"})
    assert answer.status == 401


async def _connection_id(client: TestClient) -> int:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(CalendarConnection.id))).scalar_one()
