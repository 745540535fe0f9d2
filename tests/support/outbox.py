"""Run an app's outbox by hand until every message is done or dead."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.booking.reminders import REMINDER_KIND
from bot.keys import OUTBOX, SESSIONS
from storage.models import OutboxMessage, utcnow


async def settle(client: TestClient, *, none_dead: bool = False) -> None:
    """Run the outbox until nothing is waiting (reminders planned for later wait for their time);
    ``none_dead``: also fail if a message died. A message the app's own worker is running meanwhile
    is waited for (up to ten seconds in all)."""
    assert client.app is not None
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        ran = await client.app[OUTBOX].run_once()
        async with client.app[SESSIONS]() as session:
            pending = (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.status.not_in(("done", "dead")),
                # a reminder planned for later waits for its time: that is settled
                ~((OutboxMessage.kind == REMINDER_KIND) & (OutboxMessage.status == "pending")
                  & (OutboxMessage.next_attempt_at > utcnow()))))).first()
            if pending is None:
                dead = (await session.execute(select(OutboxMessage.kind, OutboxMessage.last_error).where(
                    OutboxMessage.status == "dead"))).all() if none_dead else []
                assert dead == [], dead
                return
        if not ran:
            await asyncio.sleep(0.02)  # nothing for us to claim: the app's worker may be running it
    raise AssertionError("the outbox did not settle")
