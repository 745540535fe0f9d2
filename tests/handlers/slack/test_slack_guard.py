"""The Slack request guard on SQLite and PostgreSQL: signatures, stale timestamps, replays, retries,
and the per-user rate limit."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.handlers.slack.guard import (
    DatabaseSeenRequests,
    MemorySeenRequests,
    RateLimiter,
    RequestGuard,
    SeenRequests,
    shared_seen_requests,
)
from bot.handlers.slack.texts import slow_down_text, sorry_text

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def _event(event_id: str) -> bytes:
    return json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T1",
                       "event": {"type": "app_home_opened", "user": "U1", "tab": "home"}}).encode()


def _headers(body: bytes, *, timestamp: int | None = None, retry: int | None = None,
             secret: str = SECRET) -> dict[str, str]:
    from tests.fakes.slack import FakeSlack

    headers = FakeSlack(signing_secret=secret).signed(body.decode(), timestamp=timestamp,
                                                      content_type="application/json")
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


async def _remember_until_expiry(seen: SeenRequests, now: list[datetime]) -> None:
    assert await seen.first_seen({"a": timedelta(minutes=10), "b": timedelta(minutes=1)}) == set()
    assert await seen.first_seen({"a": timedelta(minutes=10), "c": timedelta(minutes=1)}) == {"a"}
    now[0] += timedelta(minutes=5)  # b expired, a not
    assert await seen.first_seen({"a": timedelta(minutes=10), "b": timedelta(minutes=1)}) == {"a"}
    long_key = "sig:" + "x" * 300  # hashed to fit the column
    assert await seen.first_seen({long_key: timedelta(minutes=1)}) == set()
    assert await seen.first_seen({long_key: timedelta(minutes=1)}) == {long_key}


async def test_seen_requests_in_the_database_remember_until_expiry(engine: AsyncEngine) -> None:
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    await _remember_until_expiry(DatabaseSeenRequests(engine, clock=lambda: now[0]), now)
    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT key FROM slack_seen_requests"))).scalars().all()
    assert len(keys) == 4 and all(len(k) <= 100 for k in keys)


async def test_seen_requests_in_memory_remember_until_expiry() -> None:
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    await _remember_until_expiry(MemorySeenRequests(clock=lambda: now[0]), now)


def test_postgresql_shares_what_was_seen_sqlite_keeps_it_in_memory(engine: AsyncEngine) -> None:
    shared = shared_seen_requests(engine)
    if engine.dialect.name == "postgresql":
        assert isinstance(shared, DatabaseSeenRequests)
    else:
        assert shared is None


async def test_one_event_delivered_to_several_workers_is_handled_once(engine: AsyncEngine) -> None:
    workers = [RequestGuard(SECRET, DatabaseSeenRequests(engine)) for _ in range(5)]  # own memories
    body = _event("Ev0CONCURRENT")
    verdicts = await asyncio.gather(*(
        guard.check(body, _headers(body, timestamp=int(time.time()) - n, retry=n or None))
        for n, guard in enumerate(workers)))
    assert all(v.response is None and v.claim is not None for v in verdicts)  # answered at once
    claims = await asyncio.gather(*(v.claim for v in verdicts if v.claim is not None))
    assert sorted(claims) == [False, False, False, False, True]  # one of them does the work


async def test_guard_refuses_bad_stale_replayed_and_retried_requests(engine: AsyncEngine) -> None:
    guard = RequestGuard(SECRET, shared_seen_requests(engine))
    body = _event("Ev0001")
    fresh = _headers(body)
    first = await guard.check(body, fresh)
    assert first.response is None
    if first.claim is not None:
        assert await first.claim

    replay = (await guard.check(body, fresh)).response
    assert replay is not None and replay.status == 401
    retry = (await guard.check(body, _headers(body, timestamp=int(time.time()) + 1, retry=1))).response
    assert retry is not None and retry.status == 200 and retry.headers["X-Slack-No-Retry"] == "1"

    forged = (await guard.check(body, _headers(body, secret="not-the-secret-at-all-0000000000"))).response
    assert forged is not None and forged.status == 401
    tampered = (await guard.check(body.replace(b"U1", b"U2"), _headers(body))).response
    assert tampered is not None and tampered.status == 401
    stale_body = _event("Ev0002")
    stale = (await guard.check(stale_body, _headers(stale_body, timestamp=int(time.time()) - 301))).response
    assert stale is not None and stale.status == 401
    future = (await guard.check(stale_body, _headers(stale_body, timestamp=int(time.time()) + 400))).response
    assert future is not None and future.status == 401
    for missing in ({}, {"X-Slack-Signature": "v0=00"}, {"X-Slack-Request-Timestamp": "soon",
                                                          "X-Slack-Signature": "v0=00"}):
        refused = (await guard.check(stale_body, missing)).response
        assert refused is not None and refused.status == 401
    # The refused attempts did not burn the event: a good delivery is still handled.
    assert (await guard.check(stale_body, _headers(stale_body))).response is None


def test_rate_limit_is_per_user_and_refills() -> None:
    clock = [1000.0]
    limiter = RateLimiter(6, clock=lambda: clock[0])  # 6 a minute: one every 10 s
    assert [limiter.wait("T:U1") for _ in range(6)] == [0.0] * 6
    wait = limiter.wait("T:U1")
    assert 9.9 < wait <= 10.0
    assert limiter.wait("T:U2") == 0.0
    clock[0] += 10.0
    assert limiter.wait("T:U1") == 0.0
    assert limiter.wait("T:U1") > 0


def test_polite_sentences_in_the_users_language() -> None:
    assert slow_down_text("en-US", 9.2) == (
        "You're sending me requests quickly. Please try again in 10 seconds.")
    assert "Tente novamente em 3 segundos." in slow_down_text("pt-BR", 2.1)
    assert "Prøv igen om 1 sekund." in slow_down_text("da-DK", 0.1)
    assert sorry_text("de-DE").startswith("Sorry")


