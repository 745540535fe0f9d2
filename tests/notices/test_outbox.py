"""The outbox: retries with backoff, never re-runs a success, survives a worker restart, wakes on a
committed enqueue, never spins on a failing pass, and shares its work safely between workers."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.notices.outbox import OutboxWorker, PermanentFailure, enqueue, wake_on_commit
from storage.db import create_engine, session_factory
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


async def test_a_committed_enqueue_wakes_the_worker_without_waiting_for_its_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ran = asyncio.Event()

    async def handler(payload: dict[str, Any]) -> None:
        ran.set()

    worker = OutboxWorker(sessions, {"k": handler}, poll_seconds=3600)
    wake_on_commit(sessions, worker.wake)
    worker.start()
    try:
        await asyncio.sleep(0.2)  # the first pass found nothing; the worker sleeps for an hour
        async with sessions() as session, session.begin():
            enqueue(session, "k", {})
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        await worker.stop()


async def test_only_a_commit_that_enqueued_wakes(sessions: async_sessionmaker[AsyncSession]) -> None:
    wakes: list[int] = []
    wake_on_commit(sessions, lambda: wakes.append(1))
    async with sessions() as session:
        async with session.begin():
            await session.execute(select(OutboxMessage.id))
        assert wakes == []  # a commit without an enqueue
        try:
            async with session.begin():
                enqueue(session, "k", {})
                raise RuntimeError("booking failed")
        except RuntimeError:
            pass
        async with session.begin():
            await session.execute(select(OutboxMessage.id))
        assert wakes == []  # the enqueue was rolled back
        async with session.begin():
            enqueue(session, "k", {})
            enqueue(session, "k", {})
        assert wakes == [1]  # once per commit


async def test_a_failing_pass_waits_its_poll_interval_instead_of_spinning(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sessions() as session, session.begin():
        enqueue(session, "k", {})  # due now: the next due time is "at once"
    worker = OutboxWorker(sessions, {}, poll_seconds=0.25)
    passes: list[int] = []

    async def broken() -> list[Any]:
        passes.append(1)
        raise RuntimeError("database down")

    monkeypatch.setattr(worker, "_claim", broken)
    worker.start()
    try:
        await asyncio.sleep(0.6)
        worker.wake()  # a wake does not cut the wait after a failure short
        await asyncio.sleep(0.1)
    finally:
        await worker.stop()
    assert 1 <= len(passes) <= 4


async def test_on_postgresql_a_claim_skips_rows_another_worker_holds(
    database_url: str, engine: AsyncEngine,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's")
    clock = Clock()
    engines = [engine, create_engine(database_url)]  # two processes: two engines, one migrated database
    try:
        first, second = (session_factory(e) for e in engines)
        held = await _enqueue(first, clock, "k", {"n": 0})
        free = await _enqueue(first, clock, "k", {"n": 1})
        runs: list[int] = []

        async def handler(payload: dict[str, Any]) -> None:
            runs.append(payload["n"])

        worker = OutboxWorker(second, {"k": handler}, clock=clock)
        async with first() as session, session.begin():  # another worker, mid-claim
            await session.execute(
                select(OutboxMessage.id).where(OutboxMessage.id == held).with_for_update()
            )
            assert await asyncio.wait_for(worker.run_once(), timeout=5) == 1
            assert runs == [1]
        assert await worker.run_once() == 1
        assert runs == [1, 0]
        assert {(await _message(first, i)).status for i in (held, free)} == {"done"}
    finally:
        await engines[1].dispose()


async def test_on_postgresql_two_processes_never_run_one_message_twice(
    database_url: str, engine: AsyncEngine,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two engines on one SQLite file are the single-process case above")
    clock = Clock()
    engines = [engine, create_engine(database_url)]  # two processes: two engines, one migrated database
    try:
        factories = [session_factory(e) for e in engines]
        for n in range(60):
            await _enqueue(factories[0], clock, "k", {"n": n})
        runs: list[tuple[int, int]] = []

        def handler_of(worker: int) -> Any:
            async def handler(payload: dict[str, Any]) -> None:
                runs.append((worker, payload["n"]))
                await asyncio.sleep(0.002)
            return handler

        workers = [OutboxWorker(factories[w % 2], {"k": handler_of(w)}, clock=clock, batch_size=4)
                   for w in range(4)]
        await asyncio.gather(*(w.run_once() for w in workers))
        assert sorted(n for _, n in runs) == list(range(60))
        assert len({w for w, _ in runs}) > 1  # the work was shared, not done by one
    finally:
        await engines[1].dispose()
