""""Show my open tasks in my calendar" with the demo host's local calendar, through the running
app: the switch (off by default, CSRF, other hosts), one free event per open task in a new
"Slotbot tasks" calendar that is never checked, every change of a task reaching it through the
outbox (also retried), the free time untouched, and turning off with and without deleting it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.contacts.task_events import SYNC_TASK_KIND, TaskEventSync
from bot.contacts.tasks import TaskDetails
from bot.demo.contacts import seed_contacts
from bot.keys import SCHEDULER, SESSIONS, SYNC, TASKS
from storage.models import Calendar, LocalEvent, OutboxMessage, Task, User
from tests.conftest import AppClient
from tests.contacts.task_calendar_support import settle, task_row, tasks_calendars
from tests.support.signing_in import add_user, demo_client, sign_in_for_csrf


async def _events(client: TestClient, calendar_id: int) -> dict[str, str]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        query = select(LocalEvent).where(LocalEvent.calendar_id == calendar_id)
        rows = (await session.execute(query)).scalars()
        return {row.uid: row.ical for row in rows}


async def _demo(app_client: AppClient) -> tuple[TestClient, int, str]:
    client, host = await demo_client(app_client)
    assert client.app is not None
    await seed_contacts(client.app[SESSIONS], host)
    return client, host.user_id, await sign_in_for_csrf(client, host.user_id)


async def test_the_switch_makes_a_local_tasks_calendar_with_one_free_event_per_open_task(
        app_client: AppClient) -> None:
    client, host, csrf = await _demo(app_client)
    assert client.app is not None
    page = await (await client.get("/dashboard/tasks")).text()
    assert "<strong>Off.</strong>" in page and "Show my open tasks in my calendar" in page
    forged = await client.post("/dashboard/tasks/calendar/on", data={"csrf": "nope"}, allow_redirects=False)
    assert forged.status in (400, 403) and await tasks_calendars(client, host) == []

    on = await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf}, allow_redirects=False)
    assert on.status == 303
    again = await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf}, allow_redirects=False)
    assert again.status == 303
    await settle(client)
    [calendar] = await tasks_calendars(client, host)
    assert calendar.name == "Slotbot tasks" and not calendar.checks_conflicts and not calendar.is_default
    assert calendar.id not in await client.app[SYNC].eligible()  # calendar sync never reads it
    events = await _events(client, calendar.id)
    assert len(events) == 3  # the demo's three open tasks
    assert all("TRANSP:TRANSPARENT" in text and "ATTENDEE" not in text for text in events.values())
    assert sum("DTSTART;VALUE=DATE:" in text for text in events.values()) == 2  # two are all-day
    assert any("Send the proposal to Ana (Ana" in text for text in events.values())
    page = await (await client.get("/dashboard/tasks")).text()
    assert "<strong>On:</strong>" in page and "3 tasks in the calendar now" in page
    dashboard = await (await client.get("/dashboard")).text()
    assert "Slotbot tasks" in dashboard and "tasks never block booking" in dashboard
    refused = await client.post(f"/dashboard/calendars/{calendar.id}/check", data={"csrf": csrf})
    assert "never checked" in await refused.text()


async def test_every_change_of_a_task_reaches_the_calendar_and_a_retry_does_not_duplicate(
        app_client: AppClient) -> None:
    client, host, csrf = await _demo(app_client)
    assert client.app is not None
    tasks = client.app[TASKS]
    await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    await settle(client)
    [calendar] = await tasks_calendars(client, host)
    before = set(await _events(client, calendar.id))

    friday = (datetime.now(UTC) + timedelta(days=10)).date()
    task_id = await tasks.create(host, TaskDetails("Call the bank", friday.isoformat(), "09:30"))
    await settle(client)
    created = await task_row(client, task_id)
    assert created is not None and created.event_id == f"slotbot-task-{task_id}-0@slotbot"
    text = (await _events(client, calendar.id))[created.event_id]
    assert "TRANSP:TRANSPARENT" in text and "Call the bank" in text

    # A retried message (the outbox delivers at least once) writes nothing new.
    handler = TaskEventSync(client.app[SESSIONS], client.app[SCHEDULER])
    await handler.sync({"task_id": task_id, "owner_id": host, "event_id": None})
    async with client.app[SESSIONS]() as session, session.begin():  # as if the first run died after writing
        row = await session.get(Task, task_id)
        assert row is not None
        row.event_id, row.event_version = None, None
    await handler.sync({"task_id": task_id, "owner_id": host, "event_id": None})
    assert len(await _events(client, calendar.id)) == len(before) + 1

    later = friday + timedelta(days=1)
    await tasks.update(host, task_id, TaskDetails("Call the bank", later.isoformat(), ""))
    await settle(client)
    events = await _events(client, calendar.id)
    assert f"slotbot-task-{task_id}-0@slotbot" not in events
    moved = events[f"slotbot-task-{task_id}-1@slotbot"]
    assert f"DTSTART;VALUE=DATE:{later:%Y%m%d}" in moved

    await tasks.set_done(host, task_id, True)
    await settle(client)
    assert set(await _events(client, calendar.id)) == before
    await tasks.set_done(host, task_id, False)
    await settle(client)
    [back] = set(await _events(client, calendar.id)) - before
    assert back.startswith(f"slotbot-task-{task_id}-") and back != f"slotbot-task-{task_id}-1@slotbot"
    await tasks.delete(host, task_id)
    await settle(client)
    assert set(await _events(client, calendar.id)) == before


async def test_task_events_leave_the_free_time_as_it_was(app_client: AppClient) -> None:
    client, host, csrf = await _demo(app_client)
    assert client.app is not None
    day = datetime.now(UTC).date() + timedelta(days=14)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    await client.app[TASKS].create(host, TaskDetails("Write the report", day.isoformat(), "11:00"))
    start = datetime.combine(day, time(0), UTC)
    scheduler = client.app[SCHEDULER]

    async def free() -> object:
        scheduler.forget(host)
        found = await scheduler.availability(host, start=start, end=start + timedelta(days=1),
                                             now=datetime.now(UTC), live=True)
        return found.result, found.calendars

    before = await free()
    await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    await settle(client)
    assert len(await _events(client, (await tasks_calendars(client, host))[0].id)) == 4
    assert await free() == before


async def test_turning_off_removes_the_events_and_deletes_the_calendar_only_when_asked(
        app_client: AppClient) -> None:
    client, host, csrf = await _demo(app_client)
    assert client.app is not None
    await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    await settle(client)
    [calendar] = await tasks_calendars(client, host)

    confirm = await (await client.get("/dashboard/tasks/calendar/off")).text()
    box = confirm.split('name="delete_calendar"')
    assert len(box) == 2 and "checked" not in box[1][:20]  # the calendar is kept unless ticked
    off = await client.post("/dashboard/tasks/calendar/off", data={"csrf": csrf}, allow_redirects=False)
    assert off.status == 303
    await settle(client)
    assert await _events(client, calendar.id) == {}
    [kept] = await tasks_calendars(client, host)
    assert kept.id == calendar.id
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, host)
        assert user is not None and not user.tasks_in_calendar
        assert (await session.execute(select(Task.id).where(Task.event_id.is_not(None)))).all() == []

    # On again: the kept calendar is used, not a second one.
    await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    await settle(client)
    assert [c.id for c in await tasks_calendars(client, host)] == [calendar.id]
    assert len(await _events(client, calendar.id)) == 3
    await client.post("/dashboard/tasks/calendar/off", data={"csrf": csrf, "delete_calendar": "on"})
    await settle(client)
    async with client.app[SESSIONS]() as session:
        assert await session.get(Calendar, calendar.id) is None
        assert (await session.execute(select(Task.id).where(Task.event_id.is_not(None)))).all() == []
    page = await (await client.get("/dashboard/tasks")).text()
    assert "<strong>Off.</strong>" in page


async def test_another_host_cannot_switch_the_demo_hosts_tasks_and_without_a_calendar_is_told(
        app_client: AppClient) -> None:
    client, host, _ = await _demo(app_client)
    assert client.app is not None
    other = await add_user(client, "olga", "olga@example.com")
    csrf = await sign_in_for_csrf(client, other)
    refused = await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf})
    assert refused.status == 409 and "Connect a calendar first" in await refused.text()
    assert await tasks_calendars(client, host) == [] and await tasks_calendars(client, other) == []
    await client.post("/dashboard/tasks/calendar/off", data={"csrf": csrf, "delete_calendar": "on"})
    async with client.app[SESSIONS]() as session:
        kinds = (await session.execute(select(OutboxMessage.kind))).scalars().all()
    assert SYNC_TASK_KIND not in kinds


