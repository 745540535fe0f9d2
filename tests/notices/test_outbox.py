"""The outbox: retries with backoff, never re-runs a success, survives a worker restart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.outbox import OutboxWorker, PermanentFailure, enqueue
from storage.models import OutboxMessage


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


async def _enqueue(sessions: async_sessionmaker[AsyncSession], clock: Clock, kind: str,
                   payload: dict[str, Any], **extra: Any) -> int:
    async with sessions() as session, session.begin():
        message = enqueue(session, kind, payload, now=clock(), **extra)
        await session.flush()
        return message.id


async def _message(sessions: async_sessionmaker[AsyncSession], message_id: int) -> OutboxMessage:
    async with sessions() as session:
        message = await session.get(OutboxMessage, message_id)
        assert message is not None
        return message


async def test_failing_side_effect_is_retried_with_backoff_then_succeeds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    calls: list[datetime] = []

    async def flaky(payload: dict[str, Any]) -> None:
        calls.append(clock())
        if len(calls) < 3:
            raise ConnectionError("smtp down")

    worker = OutboxWorker(sessions, {"email": flaky}, clock=clock, base_delay=10,
                          rng=random.Random(1))
    message_id = await _enqueue(sessions, clock, "email", {"to": "v@example.com"})

    assert await worker.run_once() == 1
    first = await _message(sessions, message_id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert "ConnectionError: smtp down" in (first.last_error or "")
    delay_one = first.next_attempt_at - clock()
    assert timedelta(seconds=5) <= delay_one <= timedelta(seconds=10)

    assert await worker.run_once() == 0  # not due yet
    clock.advance(seconds=11)
    assert await worker.run_once() == 1
    second = await _message(sessions, message_id)
    delay_two = second.next_attempt_at - clock()
    assert timedelta(seconds=10) <= delay_two <= timedelta(seconds=20)  # doubled

    clock.advance(seconds=21)
    assert await worker.run_once() == 1
    done = await _message(sessions, message_id)
    assert (done.status, done.attempts, done.last_error) == ("done", 3, None)
    assert len(calls) == 3


async def test_success_is_never_run_again_across_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    runs: list[str] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append(payload["n"])

    for n in ("a", "b"):
        await _enqueue(sessions, clock, "chat", {"n": n})
    first = OutboxWorker(sessions, {"chat": handler}, clock=clock)
    assert await first.run_once() == 2
    # A new worker (a restarted process) much later finds nothing to do.
    clock.advance(days=3)
    restarted = OutboxWorker(sessions, {"chat": handler}, clock=clock)
    assert await restarted.run_once() == 0
    assert sorted(runs) == ["a", "b"]


async def test_message_of_a_crashed_worker_is_retried_after_its_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    message_id = await _enqueue(sessions, clock, "calendar", {"uid": "x"})
    crashed = OutboxWorker(sessions, {}, clock=clock, lease=timedelta(minutes=5))
    claimed = await crashed._claim()  # claimed, then the process died before finishing
    assert [c[0] for c in claimed] == [message_id]

    runs: list[dict[str, Any]] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append(payload)

    restarted = OutboxWorker(sessions, {"calendar": handler}, clock=clock)
    assert await restarted.run_once() == 0  # still leased
    clock.advance(minutes=6)
    assert await restarted.run_once() == 1
    message = await _message(sessions, message_id)
    assert (message.status, message.attempts, runs) == ("done", 2, [{"uid": "x"}])


async def test_gives_up_after_max_attempts_and_on_permanent_failure(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()

    async def always_down(payload: dict[str, Any]) -> None:
        raise TimeoutError("provider timeout")

    async def bad_payload(payload: dict[str, Any]) -> None:
        raise PermanentFailure("no such booking")

    worker = OutboxWorker(sessions, {"down": always_down, "bad": bad_payload}, clock=clock,
                          base_delay=1, max_delay=2)
    down = await _enqueue(sessions, clock, "down", {}, max_attempts=3)
    bad = await _enqueue(sessions, clock, "bad", {})
    unknown = await _enqueue(sessions, clock, "nobody-handles-this", {})
    for _ in range(5):
        await worker.run_once()
        clock.advance(seconds=5)
    assert (await _message(sessions, down)).status == "dead"
    assert (await _message(sessions, down)).attempts == 3
    assert (await _message(sessions, bad)).attempts == 1
    assert (await _message(sessions, bad)).status == "dead"
    assert "no handler" in ((await _message(sessions, unknown)).last_error or "")


async def test_rolled_back_transaction_sends_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    try:
        async with sessions() as session, session.begin():
            enqueue(session, "email", {"to": "x"}, now=clock())
            raise RuntimeError("booking failed")
    except RuntimeError:
        pass
    async with sessions() as session:
        assert (await session.execute(select(OutboxMessage))).first() is None


async def test_two_workers_never_run_one_message_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    import asyncio

    clock = Clock()
    runs: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        await asyncio.sleep(0)

    for n in range(20):
        await _enqueue(sessions, clock, "k", {"n": n})
    workers = [OutboxWorker(sessions, {"k": handler}, clock=clock, batch_size=3) for _ in range(3)]
    await asyncio.gather(*(w.run_once() for w in workers))
    assert sorted(runs) == list(range(20))
