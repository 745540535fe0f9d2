"""The push endpoints through the running app: Graph's validation handshake, every notification
checked against its channel's secret (refused with 401 and nothing queued when wrong), a checked
one queued once as a calendar sync however often it is delivered, and no endpoints without push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import SESSIONS, SYNC
from bot.sync.push import SYNC_KIND, secret_hash
from storage.models import CalendarSyncState, OutboxMessage
from tests.conftest import AppClient
from tests.support.signing_in import demo_client

SECRET = "channel-secret-1"


async def _client_with_channel(app_client: AppClient, **env: str) -> tuple[TestClient, int]:
    client, host = await demo_client(app_client, SLOTBOT_SYNC_PUSH="on", **env)
    assert client.app is not None
    await client.app[SYNC].stop()
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(CalendarSyncState(calendar_id=host.calendar_id, mode="push", channel_id="chan-1",
                                      channel_resource="res-1", channel_secret_hash=secret_hash(SECRET),
                                      channel_expires_at=datetime.now(UTC) + timedelta(days=2)))
    return client, host.calendar_id


async def _queued(client: TestClient) -> list[dict[str, object]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == SYNC_KIND))
        return list(rows.scalars())


def _google_headers(token: str, number: str = "7", state: str = "exists") -> dict[str, str]:
    return {"X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": token, "X-Goog-Resource-ID": "res-1",
            "X-Goog-Resource-State": state, "X-Goog-Message-Number": number}


async def test_a_google_notification_is_checked_then_queued_once(app_client: AppClient) -> None:
    client, calendar_id = await _client_with_channel(app_client)
    wrong = await client.post("/hooks/google/calendar", headers=_google_headers("guessed"))
    assert wrong.status == 401 and await _queued(client) == []
    unknown = await client.post("/hooks/google/calendar", headers={**_google_headers(SECRET),
                                                                   "X-Goog-Channel-ID": "other"})
    assert unknown.status == 401 and await _queued(client) == []
    for _ in range(2):  # Google delivers at least once
        answer = await client.post("/hooks/google/calendar", headers=_google_headers(SECRET))
        assert answer.status == 200
    assert await _queued(client) == [{"calendar_id": calendar_id}]
    later = await client.post("/hooks/google/calendar", headers=_google_headers(SECRET, number="8"))
    assert later.status == 200 and len(await _queued(client)) == 2
    # A new channel's "sync" message may come before the channel is stored: it is fine, and idle.
    opening = await client.post("/hooks/google/calendar", headers={
        **_google_headers("any", number="1", state="sync"), "X-Goog-Channel-ID": "not-stored-yet"})
    assert opening.status == 200 and len(await _queued(client)) == 2


async def test_graph_validation_and_notifications(app_client: AppClient) -> None:
    client, calendar_id = await _client_with_channel(app_client)
    handshake = await client.post("/hooks/microsoft/calendar?validationToken=Validation%3A%20abc%2B1")
    assert handshake.status == 200 and await handshake.text() == "Validation: abc+1"
    assert handshake.content_type == "text/plain"
    lifecycle_handshake = await client.post("/hooks/microsoft/lifecycle?validationToken=xyz")
    assert await lifecycle_handshake.text() == "xyz"

    item = {"subscriptionId": "chan-1", "clientState": SECRET, "changeType": "updated",
            "resource": "Users/u1/Events/AAMk1", "resourceData": {"id": "AAMk1", "@odata.etag": 'W/"1"'}}
    refused = await client.post("/hooks/microsoft/calendar",
                                json={"value": [{**item, "clientState": "guessed"}]})
    assert refused.status == 401 and await _queued(client) == []
    bad = await client.post("/hooks/microsoft/calendar", data="not json")
    assert bad.status == 400
    for _ in range(2):
        answer = await client.post("/hooks/microsoft/calendar", json={"value": [item]})
        assert answer.status == 202
    assert await _queued(client) == [{"calendar_id": calendar_id}]


async def test_without_push_the_endpoints_are_not_there(app_client: AppClient) -> None:
    client, _ = await demo_client(app_client, SLOTBOT_SYNC_PUSH="off")
    answer = await client.post("/hooks/google/calendar", headers=_google_headers(SECRET))
    assert answer.status == 404
    auto = await demo_client(app_client, SLOTBOT_BASE_URL="http://127.0.0.1:9")  # auto: not https
    assert (await auto[0].post("/hooks/microsoft/calendar", json={"value": []})).status == 404
