"""The fake Google's sync, push and write endpoints, driven through google-api-python-client.

The service object is the production one (``GoogleCalendarProvider._api()``: httplib2 +
google-auth, static discovery, ``api_endpoint`` at the fake); push notifications are received by a
real HTTP endpoint on 127.0.0.1 (:class:`~tests.fakes.webhooks.WebhookReceiver`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from googleapiclient.errors import HttpError

from bot.calendar.base import ConnectionContext
from bot.calendar.google.credentials import credentials_to_json
from bot.calendar.google.provider import GoogleCalendarProvider
from tests.fakes.webhooks import WebhookReceiver

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

HOST = "host@example.com"
CALENDAR = "https://www.googleapis.com/auth/calendar"
NOT_WITH_SYNC_TOKEN = (  # the events.list reference: not allowed together with syncToken
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


async def _none(value: str) -> None:
    return None


def _service(google_fake: FakeGoogle, scopes: tuple[str, ...] | None = None) -> Any:
    issued = google_fake.issue_tokens(scopes)
    stored = credentials_to_json(
        refresh_token=issued["refresh_token"],
        token=issued["access_token"],
        expiry=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
        scopes=issued["scope"].split(),
    )
    provider = GoogleCalendarProvider(google_fake.settings(), ConnectionContext(1, HOST, stored, _none))
    return provider._api()


@pytest.fixture
def api(google_fake: FakeGoogle) -> Any:
    """The Calendar service with Slotbot's own scopes."""
    return _service(google_fake)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


def _busy(fake: FakeGoogle, hour: int, **extra: Any) -> dict[str, Any]:
    return fake.add_busy(HOST, T0 + timedelta(hours=hour), T0 + timedelta(hours=hour, minutes=30), **extra)


def _all_pages(api: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every item and every page of an events.list round."""
    pages, token = [], None
    while True:
        page = api.events().list(calendarId="primary", pageToken=token, **params).execute()
        pages.append(page)
        token = page.get("nextPageToken")
        if token is None:
            return [i for p in pages for i in p["items"]], pages


def _reason(error: HttpError) -> tuple[int, str, dict[str, Any]]:
    body = json.loads(error.content)
    return error.resp.status, body["error"]["errors"][0]["reason"], body


# -- incremental sync --------------------------------------------------------------------------


def test_full_sync_pages_then_an_incremental_sync_has_only_the_changes(
    google_fake: FakeGoogle, api: Any
) -> None:
    events = [_busy(google_fake, h, summary=f"e{h}") for h in range(5)]
    items, pages = _all_pages(api, maxResults=2)
    assert [i["id"] for i in items] == [e["id"] for e in events]
    assert [("nextPageToken" in p, "nextSyncToken" in p) for p in pages] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    token = pages[-1]["nextSyncToken"]
    moved, retitled, gone = events[0], events[1], events[2]
    before = {k: moved[k] for k in ("etag", "updated", "sequence")}
    time.sleep(0.002)
    google_fake.update_event(
        HOST, moved["id"], start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1)
    )
    google_fake.update_event(HOST, retitled["id"], summary="renamed", attendees=[{"email": "v@example.org"}])
    google_fake.delete_event(HOST, gone["id"])
    inserted = (
        api.events()
        .insert(
            calendarId="primary",
            body={
                "summary": "new",
                "start": {"dateTime": "2031-03-05T10:00:00Z"},
                "end": {"dateTime": "2031-03-05T11:00:00Z"},
            },
        )
        .execute()
    )

    changed, rounds = _all_pages(api, syncToken=token)
    assert [i["id"] for i in changed] == [moved["id"], retitled["id"], gone["id"], inserted["id"]]
    by_id = {i["id"]: i for i in changed}
    assert by_id[gone["id"]] == {
        "kind": "calendar#event",
        "etag": by_id[gone["id"]]["etag"],
        "id": gone["id"],
        "status": "cancelled",
    }
    assert by_id[moved["id"]]["sequence"] == before["sequence"] + 1
    assert by_id[moved["id"]]["etag"] != before["etag"] and by_id[moved["id"]]["updated"] > before["updated"]
    assert by_id[retitled["id"]]["sequence"] == 0  # a new title is not a significant change
    assert by_id[retitled["id"]]["attendees"] == [{"email": "v@example.org", "responseStatus": "needsAction"}]
    assert "nextSyncToken" in rounds[-1]
    # Nothing changed since: an empty answer with a token again.
    again = api.events().list(calendarId="primary", syncToken=rounds[-1]["nextSyncToken"]).execute()
    assert again["items"] == [] and "nextSyncToken" in again


def test_incremental_sync_pages_too_and_full_sync_hides_deleted_unless_asked(
    google_fake: FakeGoogle, api: Any
) -> None:
    events = [_busy(google_fake, h) for h in range(3)]
    token = _all_pages(api)[1][-1]["nextSyncToken"]
    for event in events:
        google_fake.update_event(HOST, event["id"], summary="x")
    changed, pages = _all_pages(api, syncToken=token, maxResults=1)
    assert len(pages) == 3 and [i["id"] for i in changed] == [e["id"] for e in events]
    google_fake.delete_event(HOST, events[0]["id"])
    assert [i["id"] for i in _all_pages(api)[0]] == [e["id"] for e in events[1:]]
    shown = _all_pages(api, showDeleted=True)[0]
    assert shown[0] == {
        "kind": "calendar#event",
        "etag": shown[0]["etag"],
        "id": events[0]["id"],
        "status": "cancelled",
    }


@pytest.mark.parametrize("param", [*NOT_WITH_SYNC_TOKEN, "showDeleted"])
def test_parameters_google_forbids_beside_a_sync_token_answer_400(
    google_fake: FakeGoogle, api: Any, param: str
) -> None:
    token = google_fake.sync_token(HOST)
    value = {
        "timeMin": "2031-01-01T00:00:00Z",
        "timeMax": "2031-12-01T00:00:00Z",
        "updatedMin": "2031-01-01T00:00:00Z",
        "orderBy": "updated",
        "showDeleted": False,
        "privateExtendedProperty": "a=b",
        "sharedExtendedProperty": "a=b",
        "iCalUID": "x@google.com",
        "q": "x",
    }[param]
    with pytest.raises(HttpError) as raised:
        api.events().list(calendarId="primary", syncToken=token, **{param: value}).execute()
    assert _reason(raised.value)[:2] == (400, "syncTokenWithRequestRestrictions")
    # showDeleted=true and singleEvents are allowed.
    api.events().list(calendarId="primary", syncToken=token, showDeleted=True, singleEvents=True).execute()


def test_an_expired_sync_token_answers_410_with_googles_body(google_fake: FakeGoogle, api: Any) -> None:
    token = _all_pages(api)[1][-1]["nextSyncToken"]
    google_fake.expire_sync_tokens(HOST)
    with pytest.raises(HttpError) as raised:
        api.events().list(calendarId="primary", syncToken=token).execute()
    status, _, body = _reason(raised.value)
    assert status == 410 and body == {
        "error": {
            "errors": [
                {
                    "domain": "global",
                    "reason": "fullSyncRequired",
                    "message": "Sync token is no longer valid, a full sync is required.",
                }
            ],
            "code": 410,
            "message": "Sync token is no longer valid, a full sync is required.",
        }
    }
    fresh = _all_pages(api)[1][-1]["nextSyncToken"]  # a full sync gives a working token again
    assert api.events().list(calendarId="primary", syncToken=fresh).execute()["items"] == []


def test_filters_of_a_full_sync(google_fake: FakeGoogle, api: Any) -> None:
    mine = _busy(google_fake, 1, summary="Slotbot: intro", extendedProperties={"private": {"slotbot": "b-1"}})
    _busy(google_fake, 30, summary="other")
    assert [i["id"] for i in _all_pages(api, privateExtendedProperty="slotbot=b-1")[0]] == [mine["id"]]
    assert [i["id"] for i in _all_pages(api, q="intro")[0]] == [mine["id"]]
    window = _all_pages(api, timeMin=T0.isoformat(), timeMax=(T0 + timedelta(hours=5)).isoformat())[0]
    assert [i["id"] for i in window] == [mine["id"]]


# -- writes ------------------------------------------------------------------------------------


def test_patch_update_delete_record_send_updates_and_bump_the_event(
    google_fake: FakeGoogle, api: Any
) -> None:
    event = _busy(
        google_fake, 1, attendees=[{"email": "v@example.org"}], extendedProperties={"private": {"a": "1"}}
    )
    patched = (
        api.events()
        .patch(
            calendarId="primary",
            eventId=event["id"],
            sendUpdates="none",
            body={
                "summary": "patched",
                "extendedProperties": {"private": {"b": "2"}},
            },
        )
        .execute()
    )
    assert patched["summary"] == "patched" and patched["extendedProperties"]["private"] == {
        "a": "1",
        "b": "2",
    }
    assert patched["attendees"] == [{"email": "v@example.org", "responseStatus": "needsAction"}]
    replaced = (
        api.events()
        .update(
            calendarId="primary",
            eventId=event["id"],
            sendUpdates="all",
            body={
                "summary": "whole",
                "start": {"dateTime": "2031-03-03T12:00:00Z"},
                "end": {"dateTime": "2031-03-03T13:00:00Z"},
            },
        )
        .execute()
    )
    assert replaced["summary"] == "whole" and "attendees" not in replaced and replaced["sequence"] == 1
    assert replaced["iCalUID"] == event["iCalUID"] and replaced["organizer"] == {"email": HOST, "self": True}
    api.events().delete(calendarId="primary", eventId=event["id"], sendUpdates="externalOnly").execute()
    assert google_fake.sent_updates[-3:] == [
        ("events.patch", event["id"], "none"),
        ("events.update", event["id"], "all"),
        ("events.delete", event["id"], "externalOnly"),
    ]
    with pytest.raises(HttpError) as raised:
        api.events().patch(calendarId="primary", eventId="nosuchevent", body={"summary": "x"}).execute()
    assert raised.value.resp.status == 404
    google_fake.add_calendar("team@example.com", access_role="reader")
    with pytest.raises(HttpError) as raised:
        api.events().insert(
            calendarId="team@example.com",
            body={
                "start": {"dateTime": "2031-03-05T10:00:00Z"},
                "end": {"dateTime": "2031-03-05T11:00:00Z"},
            },
        ).execute()
    assert _reason(raised.value)[:2] == (403, "requiredAccessLevel")


def test_calendars_insert_and_delete(google_fake: FakeGoogle) -> None:
    events_only = (CALENDAR + ".events", CALENDAR + ".readonly")
    with pytest.raises(HttpError) as raised:  # calendars.insert needs calendar or calendar.app.created
        _service(google_fake, events_only).calendars().insert(body={"summary": "x"}).execute()
    assert _reason(raised.value)[:2] == (403, "insufficientPermissions")
    # Slotbot's own scopes include calendar.app.created: its "Slotbot tasks" calendar.
    assert _service(google_fake).calendars().insert(body={"summary": "Slotbot tasks"}).execute()["id"]
    api = _service(google_fake, (CALENDAR,))
    made = (
        api.calendars()
        .insert(body={"summary": "Slotbot bookings", "timeZone": "Europe/Copenhagen"})
        .execute()
    )
    assert made["kind"] == "calendar#calendar" and made["id"].endswith("@group.calendar.google.com")
    entries = {e["id"]: e for e in api.calendarList().list().execute()["items"]}
    assert (
        entries[made["id"]]["accessRole"] == "owner" and entries[made["id"]]["summary"] == "Slotbot bookings"
    )
    assert api.calendars().get(calendarId=made["id"]).execute()["timeZone"] == "Europe/Copenhagen"
    api.events().insert(
        calendarId=made["id"],
        body={
            "start": {"dateTime": "2031-03-05T10:00:00Z"},
            "end": {"dateTime": "2031-03-05T11:00:00Z"},
        },
    ).execute()
    api.calendars().delete(calendarId=made["id"]).execute()
    with pytest.raises(HttpError) as raised:
        api.events().list(calendarId=made["id"]).execute()
    assert raised.value.resp.status == 404
    with pytest.raises(HttpError) as raised:
        api.calendars().delete(calendarId="primary").execute()
    assert raised.value.resp.status == 400
    with pytest.raises(HttpError) as raised:
        api.calendars().insert(body={"timeZone": "UTC"}).execute()
    assert _reason(raised.value)[:2] == (400, "required")


# -- push --------------------------------------------------------------------------------------


def _watch(api: Any, receiver: WebhookReceiver, channel_id: str = "chan-1", **extra: Any) -> dict[str, Any]:
    body = {"id": channel_id, "type": "web_hook", "address": receiver.url(), "token": "secret=1", **extra}
    return api.events().watch(calendarId="primary", body=body).execute()


def test_watch_sends_sync_then_exists_with_googles_headers(
    google_fake: FakeGoogle, api: Any, receiver: WebhookReceiver
) -> None:
    channel = _watch(api, receiver, params={"ttl": "3600"})
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1" and channel["token"] == "secret=1"
    assert abs(int(channel["expiration"]) - (time.time() + 3600) * 1000) < 5000
    assert channel["resourceUri"].endswith("/calendar/v3/calendars/primary/events?alt=json")
    google_fake.wait_deliveries(1, kind="sync")
    event = _busy(google_fake, 2)
    google_fake.update_event(HOST, event["id"], summary="moved")
    google_fake.wait_deliveries(2, kind="exists")
    got = receiver.notifications
    assert [(r.method, r.body) for r in got] == [("POST", None)] * 3
    headers = [r.headers for r in got]
    assert [h["x-goog-resource-state"] for h in headers] == ["sync", "exists", "exists"]
    assert [h["x-goog-message-number"] for h in headers] == ["1", "2", "3"]
    assert {h["x-goog-channel-id"] for h in headers} == {"chan-1"}
    assert {h["x-goog-channel-token"] for h in headers} == {"secret=1"}
    assert {h["x-goog-resource-id"] for h in headers} == {channel["resourceId"]}
    assert {h["x-goog-resource-uri"] for h in headers} == {channel["resourceUri"]}
    assert headers[0]["x-goog-channel-expiration"].endswith(" GMT")
    assert [d.status for d in google_fake.deliveries] == [200, 200, 200]
    # A change through the API rings too; another calendar's change does not.
    google_fake.add_calendar("other@example.com")
    google_fake.add_busy("other@example.com", T0, T0 + timedelta(hours=1))
    api.events().delete(calendarId="primary", eventId=event["id"]).execute()
    google_fake.wait_deliveries(3, kind="exists")
    time.sleep(0.1)
    assert len(receiver.notifications) == 4


def test_channel_stop_expiry_and_unknown_channels(
    google_fake: FakeGoogle, api: Any, receiver: WebhookReceiver
) -> None:
    first = _watch(api, receiver, "chan-a")
    _watch(api, receiver, "chan-b")
    google_fake.wait_deliveries(2, kind="sync")
    assert {c.id for c in google_fake.active_channels(HOST)} == {"chan-a", "chan-b"}
    api.channels().stop(body={"id": "chan-a", "resourceId": first["resourceId"]}).execute()
    google_fake.expire_channels("chan-b")
    assert google_fake.active_channels() == []
    _busy(google_fake, 3)
    time.sleep(0.2)
    assert [h.headers["x-goog-resource-state"] for h in receiver.notifications] == ["sync", "sync"]
    with pytest.raises(HttpError) as raised:
        api.channels().stop(body={"id": "chan-a", "resourceId": first["resourceId"]}).execute()
    assert raised.value.resp.status == 404


def test_google_refuses_http_addresses_when_told_to(
    google_fake: FakeGoogle, api: Any, receiver: WebhookReceiver
) -> None:
    google_fake.allow_http_addresses = False
    with pytest.raises(HttpError) as raised:
        _watch(api, receiver)
    assert _reason(raised.value)[:2] == (400, "push.webhookUrlNotHttps")
    assert google_fake.channels == {} and receiver.requests == []


def test_deliveries_retry_server_errors_and_drop_client_errors(
    google_fake: FakeGoogle, api: Any, receiver: WebhookReceiver
) -> None:
    receiver.fail_next(1, status=503)
    _watch(api, receiver)
    google_fake.wait_deliveries(2, kind="sync")
    assert [(d.attempt, d.status) for d in google_fake.deliveries] == [(1, 503), (2, 200)]
    assert [r.headers["x-goog-message-number"] for r in receiver.requests] == ["1", "1"]
    receiver.fail_next(5, status=404)
    _busy(google_fake, 1)
    google_fake.wait_deliveries(1, kind="exists")
    time.sleep(0.3)
    assert [(d.attempt, d.status) for d in google_fake.deliveries if d.kind == "exists"] == [(1, 404)]
