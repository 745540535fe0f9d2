"""Tasks in a "Slotbot tasks" calendar of the host's Google account, against the fake Google
through google-api-python-client: ``calendars.insert`` once, free events (``transparency:
transparent``, all-day ``start.date`` or timed) written with ``sendUpdates=none``, changes and a
retried create, turning off with and without ``calendars.delete``; bookings stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient

from bot.booking.events import booking_event
from bot.contacts.task_events import TaskEventSync
from bot.contacts.tasks import TaskDetails
from bot.keys import SCHEDULER, SESSIONS, SYNC, TASK_CALENDAR, TASKS
from storage.models import Booking, Task, User
from tests.conftest import AppClient
from tests.contacts.task_calendar_support import settle, task_row, tasks_calendars
from tests.support.google_host import google_host
from tests.support.signing_in import sign_in_for_csrf

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

DAY = (datetime.now(UTC) + timedelta(days=12)).date()


def _live(google: FakeGoogle, calendar_id: str) -> dict[str, dict[str, Any]]:
    return {k: e for k, e in google.calendars[calendar_id].events.items() if e.get("status") != "cancelled"}


@pytest.fixture
async def client(app_client: AppClient, google_fake: FakeGoogle) -> TestClient:
    made = await app_client(SLOTBOT_SYNC_PUSH="off", **google_fake.env())
    assert made.app is not None
    await made.app[SYNC].stop()
    return made


async def test_google_tasks_calendar_with_free_events_that_follow_the_tasks(
        client: TestClient, google_fake: FakeGoogle) -> None:
    assert client.app is not None
    host, _ = await google_host(client, google_fake)
    tasks = client.app[TASKS]
    all_day = await tasks.create(host, TaskDetails("Send the proposal", DAY.isoformat()))
    timed = await tasks.create(host, TaskDetails("Call Ana", DAY.isoformat(), "14:30"))
    await tasks.set_done(host, await tasks.create(host, TaskDetails("Already done", DAY.isoformat())), True)

    csrf = await sign_in_for_csrf(client, host)
    assert (await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf},
                              allow_redirects=False)).status == 303
    await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    await settle(client)
    assert len(google_fake.api_calls("calendars.insert")) == 1
    [row] = await tasks_calendars(client, host)
    assert row.name == "Slotbot tasks" and not row.checks_conflicts
    assert google_fake.calendars[row.external_id].summary == "Slotbot tasks"
    assert google_fake.calendars[row.external_id].time_zone == "Europe/Lisbon"
    assert row.id not in await client.app[SYNC].eligible()

    events = _live(google_fake, row.external_id)
    assert len(events) == 2  # the done task has none
    by_title = {e["summary"]: e for e in events.values()}
    assert by_title["Send the proposal"]["start"] == {"date": DAY.isoformat()}
    assert by_title["Send the proposal"]["end"] == {"date": (DAY + timedelta(days=1)).isoformat()}
    call = by_title["Call Ana"]
    assert datetime.fromisoformat(call["start"]["dateTime"]).astimezone(UTC).hour in (13, 14)
    assert all(e["transparency"] == "transparent" and not e.get("attendees") for e in events.values())
    assert {google_fake.send_updates[key] for key in events} == {"none"}

    # A retried create (the first run wrote the event, then died) finds the same event.
    async with client.app[SESSIONS]() as session, session.begin():
        stored = await session.get(Task, timed)
        assert stored is not None
        stored.event_id, stored.event_version = None, None
    await TaskEventSync(client.app[SESSIONS], client.app[SCHEDULER]).sync(
        {"task_id": timed, "owner_id": host, "event_id": None})
    assert len(_live(google_fake, row.external_id)) == 2

    await tasks.update(host, all_day, TaskDetails("Send the proposal", (DAY + timedelta(days=2)).isoformat()))
    await settle(client)
    moved = [e for e in _live(google_fake, row.external_id).values() if e["summary"] == "Send the proposal"]
    assert [e["start"] for e in moved] == [{"date": (DAY + timedelta(days=2)).isoformat()}]
    await tasks.set_done(host, timed, True)
    await settle(client)
    assert [e["summary"] for e in _live(google_fake, row.external_id).values()] == ["Send the proposal"]
    await tasks.set_done(host, timed, False)
    await settle(client)
    assert len(_live(google_fake, row.external_id)) == 2
    await tasks.delete(host, timed)
    await settle(client)
    assert len(_live(google_fake, row.external_id)) == 1

    # Off, calendar kept: the events go, the calendar stays; off with deletion: calendars.delete.
    await client.post("/dashboard/tasks/calendar/off", data={"csrf": csrf})
    await settle(client)
    assert _live(google_fake, row.external_id) == {} and google_fake.api_calls("calendars.delete") == []
    assert (await task_row(client, all_day)) is not None
    await client.app[TASK_CALENDAR].turn_on(host)
    await settle(client)
    assert len(google_fake.api_calls("calendars.insert")) == 1
    assert len(_live(google_fake, row.external_id)) == 1
    await client.app[TASK_CALENDAR].turn_off(host, delete_calendar=True)
    await settle(client)
    assert len(google_fake.api_calls("calendars.delete")) == 1
    assert row.external_id not in google_fake.calendars
    assert await tasks_calendars(client, host) == []


def test_a_booking_event_is_still_timed_busy_and_invites() -> None:
    from bot.calendar.google.calendars import event_body, send_updates

    start = datetime(2026, 11, 27, 10, tzinfo=UTC)
    host = User(display_name="Hana", email="hana@example.com", slug="hana", timezone="Europe/Lisbon")
    booking = Booking(id=7, sequence=0, start_at=start, end_at=start + timedelta(minutes=30),
                      visitor_name="Vera", visitor_email="vera@example.org", note="", answers={})
    event = booking_event(host, "Intro", booking)
    body = event_body(event)
    assert "transparency" not in body and "dateTime" in body["start"] and send_updates(event) == "all"
    assert body["attendees"] == [{"email": "vera@example.org", "displayName": "Vera"}]
