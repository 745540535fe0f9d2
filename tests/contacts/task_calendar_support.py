"""Helpers for the tasks-calendar tests: run the outbox until it is empty, read the tasks calendar."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import OUTBOX, SESSIONS
from storage.models import Calendar, OutboxMessage, Task


async def settle(client: TestClient) -> None:
    """Run the outbox until nothing is left to do (every message done or dead)."""
    assert client.app is not None
    for _ in range(100):
        await client.app[OUTBOX].run_once()
        async with client.app[SESSIONS]() as session:
            pending = (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.status.not_in(("done", "dead"))))).first()
        if pending is None:
            async with client.app[SESSIONS]() as session:
                dead = (await session.execute(select(OutboxMessage.kind, OutboxMessage.last_error).where(
                    OutboxMessage.status == "dead"))).all()
            assert dead == [], dead
            return
    raise AssertionError("the outbox did not settle")


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
