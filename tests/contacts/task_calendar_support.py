"""Helpers for the tasks-calendar tests: run the outbox until it is empty, read the tasks calendar."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import Calendar, Task
from tests.support.outbox import settle as settle_outbox


async def settle(client: TestClient) -> None:
    """Run the outbox until nothing is left to do, no message dead."""
    await settle_outbox(client, none_dead=True)


async def tasks_calendars(client: TestClient, owner_id: int) -> list[Calendar]:
    """The host's calendars marked as the tasks calendar."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return list((await session.execute(select(Calendar).where(
            Calendar.user_id == owner_id, Calendar.holds_tasks))).scalars())


async def task_row(client: TestClient, task_id: int) -> Task | None:
    """A task as stored."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return await session.get(Task, task_id)
