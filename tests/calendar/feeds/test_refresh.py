"""The refresh policy (pure) and the refresher: schedule bounds, age limits, one fetch per due feed
across processes, the background task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import update

from bot.calendar.base import AccessLost, ProviderUnavailable
from bot.calendar.feeds.credentials import FeedCredentials, dump_credentials, feed_label
from bot.calendar.feeds.fetch import FeedFetcher
from bot.calendar.feeds.policy import RefreshPolicy
from bot.calendar.feeds.provider import FeedCache, calendar_name
from bot.calendar.feeds.refresh import FeedRefresher
from bot.calendar.feeds.store import FeedStore
from bot.calendar.ssrf import AddressPolicy
from bot.calendar.threads import WorkerThreads
from bot.calendar.tls import trust_context
from storage.db import create_engine, session_factory, upgrade
from storage.models import Calendar, CalendarConnection, FeedState, User
from tests.fakes.base import TlsFiles
from tests.fakes.feeds import FakeFeeds, calendar

pytest_plugins = ["tests.fakes.feeds.fixtures"]

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LOOPBACK = AddressPolicy.parse("127.0.0.0/8")


@pytest.mark.parametrize("luck", [0.0, 0.5, 0.999])
@pytest.mark.parametrize("advised", [None, 60.0, 1800.0, 86400.0])
def test_the_next_refresh_is_15_to_60_minutes_away_with_jitter(luck: float, advised: float | None) -> None:
    policy = RefreshPolicy(random=lambda: luck)
    wait = policy.after_success(NOW, advised) - NOW
    assert 15 * MINUTE <= wait <= 60 * MINUTE
    failed = policy.after_failure(NOW, advised) - NOW
    assert 15 * MINUTE <= failed <= 60 * MINUTE


def test_jitter_spreads_feeds_and_follows_the_server() -> None:
    low, high = RefreshPolicy(random=lambda: 0.0), RefreshPolicy(random=lambda: 0.999)
    assert low.after_success(NOW) - NOW == 22.5 * MINUTE and high.after_success(NOW) - NOW > 37 * MINUTE
    assert low.after_success(NOW, 3600.0) - NOW == 45 * MINUTE  # max-age an hour, within the range
    assert low.after_failure(NOW) - NOW == 15 * MINUTE < high.after_failure(NOW) - NOW
    assert low.after_failure(NOW, 40 * 60.0) - NOW == 40 * MINUTE  # a 429's Retry-After


def test_the_verdict_bounds_a_copy_and_a_failure() -> None:
    policy = RefreshPolicy()

    def verdict(fetched: timedelta | None, failing: timedelta | None) -> type[Exception] | None:
        error = policy.verdict(label="feeds.example #abc123", has_copy=fetched is not None,
                               fetched_at=None if fetched is None else NOW - fetched,
                               failing_since=None if failing is None else NOW - failing,
                               last_error="it answered 500", now=NOW)
        return None if error is None else type(error)

    assert verdict(MINUTE, None) is None
    assert verdict(2 * 60 * MINUTE, None) is None
    assert verdict(2 * 60 * MINUTE + MINUTE, None) is ProviderUnavailable
    assert verdict(None, None) is ProviderUnavailable
    assert verdict(30 * MINUTE, 119 * MINUTE) is None
    assert verdict(30 * MINUTE, 120 * MINUTE) is AccessLost


def test_the_calendar_name_comes_from_the_feed() -> None:
    assert calendar_name("BEGIN:VCALENDAR\r\nX-WR-CALNAME:Team\\, rota\r\n", "host") == "Team, rota"
    folded = "BEGIN:VCALENDAR\r\nX-WR-CALNAME;VALUE=TEXT:Long\r\n  name\r\n"
    assert calendar_name(folded, "host") == "Long name"
    assert calendar_name("BEGIN:VCALENDAR\r\nX-WR-CALNAME:\r\n", "host") == "host"
    assert calendar_name("BEGIN:VCALENDAR\r\n", "host") == "host"


@dataclass
class World:
    fake: FakeFeeds
    store: FeedStore
    refresher: FeedRefresher
    other: FeedRefresher  # a second app process on the same database
    connection_id: int
    sessions: object
    reports: list[tuple[int, str]]


@pytest_asyncio.fixture
async def world(tmp_path: Path, feeds: FakeFeeds, feeds_tls: TlsFiles) -> AsyncIterator[World]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/feeds.db")
    await upgrade(engine)
    sessions = session_factory(engine)
    address = feeds.publish("team", calendar((NOW, NOW + timedelta(hours=1)), name="Team rota"))
    async with sessions() as session, session.begin():
        user = User(display_name="Hannah", email="hannah@example.com", slug="hannah")
        session.add(user)
        await session.flush()
        connection = CalendarConnection(user_id=user.id, provider="feed", account_email=feed_label(address),
                                        credentials=dump_credentials(FeedCredentials(address)))
        session.add(connection)
        await session.flush()
        session.add(Calendar(connection_id=connection.id, user_id=user.id, external_id="feed", name="x",
                             access_role="reader", status="inactive"))
        session.add(FeedState(connection_id=connection.id, next_refresh_at=datetime.now(UTC) - MINUTE))
        connection_id = connection.id
    threads = WorkerThreads(2)
    reports: list[tuple[int, str]] = []

    async def report(calendar_id: int, message: str) -> None:
        reports.append((calendar_id, message))

    def refresher(**extra: object) -> FeedRefresher:
        fetcher = FeedFetcher(policy=LOOPBACK, ssl_context=trust_context(str(feeds_tls.cert)))
        return FeedRefresher(sessions, FeedStore(sessions), fetcher, open_secret=lambda sealed: sealed,
                             cache=FeedCache(), threads=threads, on_problem=report, **extra)  # type: ignore[arg-type]

    try:
        yield World(feeds, FeedStore(sessions), refresher(), refresher(), connection_id, sessions, reports)
    finally:
        threads.shutdown()
        await engine.dispose()


async def test_a_due_feed_is_fetched_once_however_many_processes_look(world: World) -> None:
    done = await asyncio.gather(world.refresher.run_due(), world.other.run_due())
    assert sorted(done) == [0, 1]
    assert world.fake.fetches("team") == [200]
    snapshot = await world.store.snapshot(world.connection_id)
    assert snapshot is not None and snapshot.next_refresh_at > datetime.now(UTC) + 14 * MINUTE
    assert await world.refresher.run_due() == 0  # not due again yet


async def test_a_good_fetch_names_the_calendar_and_brings_it_back(world: World) -> None:
    assert (await world.refresher.refresh(world.connection_id)).changed
    async with world.sessions() as session:  # type: ignore[attr-defined]
        row = (await session.execute(Calendar.__table__.select())).one()
    assert row.name == "Team rota" and row.status == "active"


async def test_a_feed_failing_past_the_limit_is_reported(world: World) -> None:
    world.fake.fail_next(10, status=500)
    assert not (await world.refresher.refresh(world.connection_id)).ok
    assert world.reports == []  # failing for a moment: not yet
    async with world.sessions() as session, session.begin():  # type: ignore[attr-defined]
        long_ago = datetime.now(UTC) - timedelta(hours=3)
        await session.execute(update(FeedState).values(failing_since=long_ago))
    assert not (await world.refresher.refresh(world.connection_id)).ok
    [(calendar_id, message)] = world.reports
    async with world.sessions() as session:  # type: ignore[attr-defined]
        assert (await session.get(Calendar, calendar_id)).connection_id == world.connection_id
    assert "has not loaded" in message and "server error (500)" in message and "/feeds/" not in message


async def test_the_background_task_refreshes_due_feeds_until_stopped(
    world: World, feeds_tls: TlsFiles
) -> None:
    fetcher = FeedFetcher(policy=LOOPBACK, ssl_context=trust_context(str(feeds_tls.cert)))
    quick = FeedRefresher(world.sessions, world.store, fetcher, open_secret=lambda s: s,  # type: ignore[arg-type]
                          cache=FeedCache(), threads=WorkerThreads(1), poll_seconds=0.05)
    quick.start()
    try:
        for _ in range(100):
            if world.fake.fetches("team"):
                break
            await asyncio.sleep(0.05)
    finally:
        await quick.stop()
    assert world.fake.fetches("team") == [200]
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "feed-refresh"]


async def test_a_due_feed_is_claimed_by_one_process_only(world: World) -> None:
    now = datetime.now(UTC)
    other = FeedStore(world.sessions)  # type: ignore[arg-type]
    assert await world.store.due(now) == await other.due(now) == [world.connection_id]  # both see it due
    claims = [await store.claim(world.connection_id, now, now + 5 * MINUTE) for store in (world.store, other)]
    assert claims == [True, False]
    assert await world.store.due(now) == []
