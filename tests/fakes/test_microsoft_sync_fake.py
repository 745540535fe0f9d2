"""The fake Graph's delta, subscriptions, change notifications and writes, through aiohttp.

Requests go through Slotbot's own Graph client (:class:`bot.calendar.microsoft.graph.Graph`:
aiohttp, the fake's certificate trusted via ``ca_bundle``), wrapped in
:class:`~tests.support.graph_client.GraphClient`; error bodies are read with the same aiohttp
settings. Notifications are received by a real HTTP endpoint on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest_asyncio

from bot.settings import MicrosoftSettings
from tests.fakes.webhooks import WebhookReceiver
from tests.support.graph_client import GraphClient

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.microsoft"]

UTC = dt.UTC
DAY = dt.datetime(2030, 6, 3, tzinfo=UTC)
WINDOW = {"startDateTime": "2030-06-01T00:00:00Z", "endDateTime": "2030-07-01T00:00:00Z"}
PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SlotbotBooking"


def at(hour: int, day: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(days=day, hours=hour)


@pytest_asyncio.fixture
async def client(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> AsyncIterator[GraphClient]:
    async with aiohttp.ClientSession() as session:
        yield GraphClient(microsoft_fake, microsoft_settings, session)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(status=202)
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


def _subscription(receiver: WebhookReceiver, resource: str = "me/events", **extra: Any) -> dict[str, Any]:
    expires = (dt.datetime.now(UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url("/notify"),
        "resource": resource,
        "expirationDateTime": expires,
        "clientState": "s3cret",
        **extra,
    }


# -- delta -------------------------------------------------------------------------------------


async def test_delta_pages_then_answers_only_the_changes(
    microsoft_fake: FakeMicrosoft, client: GraphClient
) -> None:
    calendar = microsoft_fake.add_calendar(name="Work")
    events = [microsoft_fake.add_event(calendar, at(9 + i), at(10 + i), subject=f"e{i}") for i in range(5)]
    microsoft_fake.add_event(calendar, at(9, day=60), at(10, day=60), subject="outside")
    url = client.graph.url(f"/me/calendars/{calendar.id}/calendarView/delta", WINDOW)
    items, pages = await client.delta_round(url, prefer="odata.maxpagesize=2")
    assert [i["id"] for i in items] == [e.id for e in events]
    assert [len(p["value"]) for p in pages] == [2, 2, 1]
    for page in pages[:-1]:
        assert set(parse_qs(urlsplit(page["@odata.nextLink"]).query)) == {"$skiptoken"}
    delta_link = pages[-1]["@odata.deltaLink"]
    assert set(parse_qs(urlsplit(delta_link).query)) == {"$deltatoken"}

    moved, retitled, gone, away = events[:4]
    old_key = retitled.change_key
    microsoft_fake.update_event(moved, start=at(15, day=1), end=at(16, day=1))
    microsoft_fake.update_event(retitled.id, subject="renamed")
    microsoft_fake.delete_event(gone)
    microsoft_fake.update_event(away, start=at(9, day=90), end=at(10, day=90))
    status, created = await client.raw(
        "POST",
        f"/me/calendars/{calendar.id}/events",
        json={
            "subject": "new",
            "start": {"dateTime": "2030-06-05T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-06-05T10:00:00", "timeZone": "UTC"},
        },
    )
    assert status == 201
    changed, rounds = await client.delta_round(delta_link, prefer="odata.maxpagesize=2")
    assert [len(p["value"]) for p in rounds] == [2, 2, 1]
    assert [(i["id"], "@removed" in i) for i in changed] == [
        (moved.id, False),
        (retitled.id, False),
        (gone.id, True),
        (away.id, True),
        (created["id"], False),
    ]
    removed = {"@odata.type": "#microsoft.graph.event", "id": gone.id, "@removed": {"reason": "deleted"}}
    assert changed[2] == removed
    assert changed[0]["start"]["dateTime"].startswith("2030-06-04T15:00:00")
    assert changed[1]["subject"] == "renamed" and changed[1]["changeKey"] != old_key
    again, _ = await client.delta_round(rounds[-1]["@odata.deltaLink"])
    assert again == []


async def test_delta_of_the_default_calendar_in_the_preferred_zone(
    microsoft_fake: FakeMicrosoft, client: GraphClient
) -> None:
    event = microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10), subject="Standup")
    page = await client.graph.get_json(
        client.graph.url("/me/calendarView/delta", WINDOW),
        headers={"Prefer": 'outlook.timezone="Europe/Paris"'},
    )
    [item] = page["value"]
    assert item["id"] == event.id and item["start"] == {
        "dateTime": "2030-06-03T11:00:00.0000000",
        "timeZone": "Europe/Paris",
    }
    assert item["lastModifiedDateTime"].endswith("Z") and item["@odata.etag"] == f'W/"{item["changeKey"]}"'
    assert item["organizer"]["emailAddress"]["address"] == microsoft_fake.user().email and item["isOrganizer"]


async def test_delta_refuses_select_and_needs_a_window_and_a_live_token(
    microsoft_fake: FakeMicrosoft, client: GraphClient
) -> None:
    status, body = await client.raw(
        "GET", client.graph.url("/me/calendarView/delta", {**WINDOW, "$select": "subject"})
    )
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidUrlQuery")
    status, body = await client.raw("GET", "/me/calendarView/delta")
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidParameter")
    _, pages = await client.delta_round(client.graph.url("/me/calendarView/delta", WINDOW))
    microsoft_fake.expire_delta_tokens()
    status, body = await client.raw("GET", pages[-1]["@odata.deltaLink"])
    assert (status, body["error"]["code"]) == (410, "SyncStateNotFound")


# -- events and calendars ----------------------------------------------------------------------


async def test_extended_properties_are_expanded_only_when_asked(
    microsoft_fake: FakeMicrosoft, client: GraphClient
) -> None:
    status, created = await client.raw(
        "POST",
        "/me/events",
        json={
            "subject": "Booked",
            "start": {"dateTime": "2030-06-05T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-06-05T10:00:00", "timeZone": "UTC"},
            "singleValueExtendedProperties": [{"id": PROP, "value": "booking-7"}],
        },
    )
    assert status == 201 and "singleValueExtendedProperties" not in created
    expand = f"singleValueExtendedProperties($filter=id eq '{PROP}')"
    got = await client.graph.get_json(client.graph.url(f"/me/events/{created['id']}", {"$expand": expand}))
    assert got["singleValueExtendedProperties"] == [{"id": PROP, "value": "booking-7"}]
    other = microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    view = await client.graph.get_json(
        client.graph.url(
            f"/me/calendars/{microsoft_fake.user().default_calendar.id}/calendarView",
            {**WINDOW, "$expand": expand},
        )
    )
    marked = {i["id"]: "singleValueExtendedProperties" in i for i in view["value"]}
    assert marked == {other.id: False, created["id"]: True}


async def test_patch_and_delete_events(microsoft_fake: FakeMicrosoft, client: GraphClient) -> None:
    event = microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    before = event.change_key
    status, patched = await client.raw(
        "PATCH",
        f"/me/events/{event.id}",
        json={
            "subject": "moved",
            "start": {"dateTime": "2030-06-03T13:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-06-03T14:00:00", "timeZone": "UTC"},
        },
    )
    assert status == 200 and patched["subject"] == "moved" and patched["changeKey"] != before
    assert patched["start"]["dateTime"] == "2030-06-03T13:00:00.0000000"
    assert (await client.raw("DELETE", f"/me/events/{event.id}"))[0] == 204
    status, body = await client.raw("DELETE", f"/me/events/{event.id}")
    assert (status, body["error"]["code"]) == (404, "ErrorItemNotFound")


async def test_calendars_create_and_delete(microsoft_fake: FakeMicrosoft, client: GraphClient) -> None:
    status, made = await client.raw("POST", "/me/calendars", json={"name": "Slotbot"})
    assert (
        status == 201 and made["canEdit"] is True and made["owner"]["address"] == microsoft_fake.user().email
    )
    listed = await client.graph.get_json(client.graph.url("/me/calendars"))
    assert made["id"] in [c["id"] for c in listed["value"]]
    status, body = await client.raw("POST", "/me/calendars", json={"name": "slotbot"})
    assert (status, body["error"]["code"]) == (409, "ErrorFolderExists")
    assert (await client.raw("DELETE", f"/me/calendars/{made['id']}"))[0] == 204
    assert microsoft_fake.user().calendar(made["id"]) is None
    status, body = await client.raw("DELETE", f"/me/calendars/{microsoft_fake.user().default_calendar.id}")
    assert status == 400


async def test_writes_need_calendars_read_write(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    async with aiohttp.ClientSession() as session:
        reader = GraphClient(
            microsoft_fake, microsoft_settings, session, ("https://graph.microsoft.com/Calendars.Read",)
        )
        status, body = await reader.raw("POST", "/me/calendars", json={"name": "x"})
        assert (status, body["error"]["code"]) == (403, "ErrorAccessDenied")
        event = microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
        assert (await reader.raw("PATCH", f"/me/events/{event.id}", json={"subject": "x"}))[0] == 403
        assert (await reader.raw("GET", f"/me/events/{event.id}"))[0] == 200


# -- subscriptions -----------------------------------------------------------------------------


async def test_subscription_handshake_then_change_notifications(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    status, sub = await client.raw("POST", "/subscriptions", json=_subscription(receiver))
    assert status == 201 and sub["clientState"] == "s3cret" and sub["resource"] == "me/events"
    [validation] = receiver.validations
    assert validation.query["validationToken"].startswith(
        "Validation: Testing client application reachability"
    )
    user = microsoft_fake.user()
    event = microsoft_fake.add_event(user.default_calendar, at(9), at(10))
    microsoft_fake.update_event(event, subject="changed")
    microsoft_fake.delete_event(event)
    await microsoft_fake.settle(3, kind="change")
    items = [r.body["value"][0] for r in receiver.notifications]
    assert [i["changeType"] for i in items] == ["created", "updated", "deleted"]
    first = items[0]
    assert (
        first["subscriptionId"] == sub["id"]
        and first["clientState"] == "s3cret"
        and first["tenantId"] == user.tid
    )
    assert first["resource"] == f"Users/{user.oid}/Events/{event.id}"
    assert (
        first["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        and first["resourceData"]["id"] == event.id
    )
    assert first["subscriptionExpirationDateTime"] == sub["expirationDateTime"]
    assert [d.status for d in microsoft_fake.deliveries if d.kind == "change"] == [202, 202, 202]


async def test_a_calendar_subscription_hears_only_its_calendar_and_changes_through_the_api(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    work = microsoft_fake.add_calendar(name="Work")
    status, _ = await client.raw(
        "POST",
        "/subscriptions",
        json=_subscription(receiver, f"me/calendars/{work.id}/events", changeType="created"),
    )
    assert status == 201
    microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    status, created = await client.raw(
        "POST",
        f"/me/calendars/{work.id}/events",
        json={
            "subject": "x",
            "start": {"dateTime": "2030-06-05T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-06-05T10:00:00", "timeZone": "UTC"},
        },
    )
    await client.raw(
        "PATCH", f"/me/events/{created['id']}", json={"subject": "y"}
    )  # not subscribed to updates
    await microsoft_fake.settle(1, kind="change")
    await asyncio.sleep(0.1)
    assert [r.body["value"][0]["resourceData"]["id"] for r in receiver.notifications] == [created["id"]]


async def test_a_failed_handshake_creates_nothing(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    receiver.validation_answer = "not the token"
    status, body = await client.raw("POST", "/subscriptions", json=_subscription(receiver))
    assert (status, body["error"]["code"]) == (400, "ValidationError")
    receiver.validation_answer = None
    receiver.validation_content_type = "application/json"
    status, body = await client.raw("POST", "/subscriptions", json=_subscription(receiver))
    assert (status, body["error"]["code"]) == (400, "ValidationError")
    receiver.validation_content_type = "text/plain"
    lifecycle_down = receiver.base_url.replace(str(receiver.port), "1") + "/lifecycle"
    status, body = await client.raw(
        "POST", "/subscriptions", json=_subscription(receiver, lifecycleNotificationUrl=lifecycle_down)
    )
    assert (status, body["error"]["code"]) == (400, "ValidationError")
    assert microsoft_fake.subscriptions == {}
    assert (await client.graph.get_json(client.graph.url("/subscriptions")))["value"] == []
    microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    await asyncio.sleep(0.1)
    assert receiver.notifications == []


async def test_expiration_limit_renew_and_delete(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    too_far = (dt.datetime.now(UTC) + dt.timedelta(minutes=10081)).isoformat()
    status, body = await client.raw(
        "POST", "/subscriptions", json=_subscription(receiver, expirationDateTime=too_far)
    )
    assert status == 400 and "10080 minutes" in body["error"]["message"]
    _, sub = await client.raw("POST", "/subscriptions", json=_subscription(receiver))
    renewed_to = (dt.datetime.now(UTC) + dt.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    status, renewed = await client.raw(
        "PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": renewed_to}
    )
    assert status == 200 and renewed["expirationDateTime"] == renewed_to
    assert (await client.graph.get_json(client.graph.url(f"/subscriptions/{sub['id']}")))[
        "expirationDateTime"
    ] == renewed_to
    status, _ = await client.raw("PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": too_far})
    assert status == 400
    assert (await client.raw("DELETE", f"/subscriptions/{sub['id']}"))[0] == 204
    status, body = await client.raw("DELETE", f"/subscriptions/{sub['id']}")
    assert (status, body["error"]["code"]) == (404, "ResourceNotFound")
    microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    await asyncio.sleep(0.1)
    assert receiver.notifications == []


async def test_lifecycle_notifications(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    _, sub = await client.raw(
        "POST",
        "/subscriptions",
        json=_subscription(receiver, lifecycleNotificationUrl=receiver.url("/lifecycle")),
    )
    assert len(receiver.validations) == 2
    microsoft_fake.send_lifecycle(sub["id"], "reauthorizationRequired")
    microsoft_fake.send_lifecycle(sub["id"], "subscriptionRemoved")
    await microsoft_fake.settle(2, kind="lifecycle")
    got = [r for r in receiver.notifications if r.path == "/lifecycle"]
    assert [r.body["value"][0]["lifecycleEvent"] for r in got] == [
        "reauthorizationRequired",
        "subscriptionRemoved",
    ]
    assert got[0].body["value"][0] == {
        "subscriptionId": sub["id"],
        "subscriptionExpirationDateTime": sub["expirationDateTime"],
        "tenantId": microsoft_fake.user().tid,
        "clientState": "s3cret",
        "lifecycleEvent": "reauthorizationRequired",
    }
    status, _ = await client.raw("GET", f"/subscriptions/{sub['id']}")
    assert status == 404


async def test_failed_notifications_are_retried(
    microsoft_fake: FakeMicrosoft, client: GraphClient, receiver: WebhookReceiver
) -> None:
    await client.raw("POST", "/subscriptions", json=_subscription(receiver))
    receiver.fail_next(1, status=500)
    microsoft_fake.add_event(microsoft_fake.user().default_calendar, at(9), at(10))
    await microsoft_fake.settle(2, kind="change")
    assert [(d.attempt, d.status) for d in microsoft_fake.deliveries if d.kind == "change"] == [
        (1, 500),
        (2, 202),
    ]
