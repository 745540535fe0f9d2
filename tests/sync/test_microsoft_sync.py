"""Calendar sync against the fake Microsoft 365 (Graph over TLS, msal) through the running app:
connected through the dashboard's consent, then calendarView/delta (a full read after 410),
engagements that follow edits made in Outlook, Slotbot's own events (transactionId) left alone,
and a Graph subscription: the validation handshake answered by the app, change notifications
checked by clientState and brought to the record and the free time within seconds, a lifecycle
notification renewing it, and the subscription deleted on disconnect."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import CONNECTIONS, SCHEDULER, SESSIONS, SYNC
from storage.models import Calendar, CalendarConnection, CalendarSyncState, Contact, MeetingEngagement
from tests.conftest import AppClient
from tests.support.signing_in import add_user, sign_in_for_csrf

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

START = (datetime.now(UTC) + timedelta(days=9)).replace(hour=10, minute=0, second=0, microsecond=0)
ANA = [{"type": "required", "emailAddress": {"address": "ana@example.com", "name": "Ana"},
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"}}]


async def _connect(client: TestClient, fake: FakeMicrosoft) -> tuple[int, int]:
    """Connect the fake's mailbox through the dashboard; a contact, Ana. (user id, calendar id)."""
    assert client.app is not None
    host = fake.user()
    user_id = await add_user(client, "hannah", host.email)
    csrf = await sign_in_for_csrf(client, user_id)
    started = await client.post("/dashboard/connect/microsoft", data={"csrf": csrf}, allow_redirects=False)
    answer = await fake.approve(started.headers["Location"])
    landed = await client.get("/oauth/microsoft/callback?" + urlencode(answer), allow_redirects=False)
    assert landed.status == 303, await landed.text()
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(Contact(owner_id=user_id, email="ana@example.com", name="Ana"))
        calendar = (await session.execute(select(Calendar).where(Calendar.is_default))).scalar_one()
        return user_id, calendar.id


async def _engagements(client: TestClient) -> list[tuple[str, str, datetime]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(MeetingEngagement).order_by(MeetingEngagement.id))).scalars()
        return [(e.title, e.status, e.start_at.astimezone(UTC)) for e in rows]


async def test_outlook_edits_reach_the_record_by_delta_link(app_client: AppClient,
                                                            microsoft_fake: FakeMicrosoft) -> None:
    fake = microsoft_fake
    client = await app_client(own_address=True, SLOTBOT_SYNC_PUSH="off", **fake.env())
    fake.redirect_uris = {str(client.make_url("/oauth/microsoft/callback"))}
    assert client.app is not None
    sync = client.app[SYNC]
    await sync.stop()
    _, calendar_id = await _connect(client, fake)
    mailbox = fake.user().default_calendar
    event = fake.add_event(mailbox, START, START + timedelta(minutes=30), subject="Pilot review",
                           attendees=ANA)
    fake.add_event(mailbox, START, START + timedelta(minutes=30), subject="Booked via Slotbot", attendees=ANA,
                   transaction_id="slotbot-booking-4@slotbot")

    first = await sync.sync_calendar(calendar_id)
    assert first is not None and first.full and first.applied.recorded == 1
    assert await _engagements(client) == [("Pilot review", "scheduled", START)]
    later = START + timedelta(days=1, hours=2)
    fake.update_event(event, start=later, end=later + timedelta(minutes=45), subject="Pilot review (moved)")
    moved = await sync.sync_calendar(calendar_id)
    assert moved is not None and not moved.full
    assert await _engagements(client) == [("Pilot review (moved)", "moved", later)]
    deltas = fake.graph_calls("GET", contains="/delta")
    assert "startDateTime" in deltas[0].query and "startDateTime" not in deltas[-1].query
    assert any("token" in name.lower() for name in deltas[-1].query)  # the delta link's own token

    fake.expire_delta_tokens()
    again = await sync.sync_calendar(calendar_id)
    assert again is not None and again.full
    fake.delete_event(event)
    await sync.sync_calendar(calendar_id)
    assert await _engagements(client) == [("Pilot review (moved)", "cancelled", later)]


async def test_a_graph_subscription_brings_changes_within_seconds_and_is_deleted_on_disconnect(
        app_client: AppClient, microsoft_fake: FakeMicrosoft) -> None:
    fake = microsoft_fake
    client = await app_client(own_address=True, SLOTBOT_SYNC_PUSH="on", SLOTBOT_OUTBOX_POLL_SECONDS="0.2",
                              **fake.env())
    fake.redirect_uris = {str(client.make_url("/oauth/microsoft/callback"))}
    assert client.app is not None
    sync = client.app[SYNC]
    await sync.stop()
    user_id, calendar_id = await _connect(client, fake)
    await sync.run_due()  # the first read, then the subscription (Graph validates the app's URLs)
    [subscription] = list(fake.subscriptions.values())
    assert subscription.notification_url == str(client.make_url("/hooks/microsoft/calendar"))
    async with client.app[SESSIONS]() as session:
        state = await session.get(CalendarSyncState, calendar_id)
    assert state is not None and state.mode == "push" and state.channel_id == subscription.id

    ask = {"start": START - timedelta(hours=1), "end": START + timedelta(hours=3),
           "now": START - timedelta(days=1)}
    scheduler = client.app[SCHEDULER]
    assert any(s.start == START for s in (await scheduler.availability(user_id, **ask)).result.slots)
    began = time.monotonic()
    fake.add_event(fake.user().default_calendar, START, START + timedelta(minutes=30), subject="Pilot review",
                   attendees=ANA)
    while not await _engagements(client):
        assert time.monotonic() - began < 10, "the change did not arrive by push"
        await asyncio.sleep(0.05)
    assert not any(s.start == START for s in (await scheduler.availability(user_id, **ask)).result.slots)

    fake.send_lifecycle(subscription.id, "reauthorizationRequired")
    while not fake.graph_calls("PATCH", contains=f"/subscriptions/{subscription.id}"):
        assert time.monotonic() - began < 20, "the lifecycle notification did not renew the subscription"
        await asyncio.sleep(0.05)
    assert fake.subscriptions[subscription.id].active

    async with client.app[SESSIONS]() as session:
        connection_id = (await session.execute(select(CalendarConnection.id))).scalar_one()
    await client.app[CONNECTIONS].disconnect(user_id, connection_id)
    assert fake.subscriptions == {}
