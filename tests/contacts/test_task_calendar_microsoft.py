"""Tasks in a "Slotbot tasks" calendar of the host's Microsoft 365 mailbox, against the fake Graph
through Slotbot's Graph client: ``POST /me/calendars`` (a taken name, 409 ``ErrorFolderExists``,
is found and reused), free events (``showAs: free``, ``isAllDay``) without attendees, a retried
create that does not duplicate, and ``DELETE /me/calendars/{id}`` only when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from bot.contacts.task_events import TaskEventSync
from bot.contacts.tasks import TaskDetails
from bot.keys import SCHEDULER, SESSIONS, SYNC, TASK_CALENDAR, TASKS
from storage.models import Task
from tests.conftest import AppClient
from tests.contacts.task_calendar_support import settle, tasks_calendars
from tests.support.signing_in import add_user, sign_in_for_csrf

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft
    from tests.fakes.microsoft.model import FakeCalendar

pytest_plugins = ["tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

DAY = (datetime.now(UTC) + timedelta(days=12)).date()


async def _connect(client: TestClient, fake: FakeMicrosoft) -> tuple[int, str]:
    """Connect the fake's mailbox through the dashboard: (user id, csrf)."""
    user_id = await add_user(client, "hannah", fake.user().email)
    csrf = await sign_in_for_csrf(client, user_id)
    started = await client.post("/dashboard/connect/microsoft", data={"csrf": csrf}, allow_redirects=False)
    answer = await fake.approve(started.headers["Location"])
    landed = await client.get("/oauth/microsoft/callback?" + urlencode(answer), allow_redirects=False)
    assert landed.status == 303, await landed.text()
    return user_id, csrf


def _named(fake: FakeMicrosoft, name: str) -> list[FakeCalendar]:
    return [c for c in fake.user().calendars if c.name == name]


@pytest.fixture
async def client(app_client: AppClient, microsoft_fake: FakeMicrosoft) -> TestClient:
    made = await app_client(SLOTBOT_SYNC_PUSH="off", **microsoft_fake.env())
    assert made.app is not None
    await made.app[SYNC].stop()
    return made


async def test_outlook_tasks_calendar_reused_by_name_with_free_events(
        client: TestClient, microsoft_fake: FakeMicrosoft) -> None:
    assert client.app is not None
    host, csrf = await _connect(client, microsoft_fake)
    taken = microsoft_fake.add_calendar(name="Slotbot tasks")  # made by an earlier Slotbot, say
    tasks = client.app[TASKS]
    all_day = await tasks.create(host, TaskDetails("Send the proposal", DAY.isoformat()))
    timed = await tasks.create(host, TaskDetails("Call Ana", DAY.isoformat(), "14:30"))

    on = await client.post("/dashboard/tasks/calendar/on", data={"csrf": csrf}, allow_redirects=False)
    assert on.status == 303, await on.text()
    await settle(client)
    assert _named(microsoft_fake, "Slotbot tasks") == [taken]  # the 409 led to the existing one
    [row] = await tasks_calendars(client, host)
    assert row.external_id == taken.id and not row.checks_conflicts
    assert row.id not in await client.app[SYNC].eligible()
    assert len(taken.events) == 2
    assert {e.show_as for e in taken.events} == {"free"} and all(not e.attendees for e in taken.events)
    [whole] = [e for e in taken.events if e.subject == "Send the proposal"]
    assert whole.created_with is not None and whole.created_with["isAllDay"] is True
    assert microsoft_fake.invitations == []

    async with client.app[SESSIONS]() as session, session.begin():  # the first run died after writing
        stored = await session.get(Task, timed)
        assert stored is not None
        stored.event_id, stored.event_version = None, None
    await TaskEventSync(client.app[SESSIONS], client.app[SCHEDULER]).sync(
        {"task_id": timed, "owner_id": host, "event_id": None})
    assert len(taken.events) == 2  # transactionId: the same event

    await tasks.update(host, all_day, TaskDetails("Send the proposal", (DAY + timedelta(days=3)).isoformat()))
    await tasks.set_done(host, timed, True)
    await settle(client)
    [left] = taken.events
    assert left.subject == "Send the proposal" and str(DAY + timedelta(days=3)) in str(left.start)

    await client.post("/dashboard/tasks/calendar/off", data={"csrf": csrf})
    await settle(client)
    assert taken.events == [] and _named(microsoft_fake, "Slotbot tasks") == [taken]
    await client.app[TASK_CALENDAR].turn_on(host)
    await client.app[TASK_CALENDAR].turn_off(host, delete_calendar=True)
    await settle(client)
    assert _named(microsoft_fake, "Slotbot tasks") == [] and await tasks_calendars(client, host) == []


async def test_a_new_outlook_calendar_is_made_when_there_is_none(
        client: TestClient, microsoft_fake: FakeMicrosoft) -> None:
    assert client.app is not None
    host, _ = await _connect(client, microsoft_fake)
    await client.app[TASKS].create(host, TaskDetails("Send the proposal", DAY.isoformat()))
    await client.app[TASK_CALENDAR].turn_on(host)
    await settle(client)
    [made] = _named(microsoft_fake, "Slotbot tasks")
    assert made.owner_email == microsoft_fake.user().email and len(made.events) == 1
    posts = [c for c in microsoft_fake.calls if c.method == "POST" and c.path.endswith("/me/calendars")]
    assert len(posts) == 1
