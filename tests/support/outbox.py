"""Run an app's outbox by hand until every message is done or dead."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.booking.reminders import REMINDER_KIND
from bot.keys import OUTBOX, SESSIONS
from storage.models import OutboxMessage, utcnow


async def settle(client: TestClient, *, none_dead: bool = False) -> None:
    """Run the outbox until nothing is waiting (reminders planned for later wait for their time);
    ``none_dead``: also fail if a message died."""
    assert client.app is not None
    for _ in range(100):
        await client.app[OUTBOX].run_once()
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
    raise AssertionError("the outbox did not settle")
