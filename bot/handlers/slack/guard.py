"""Request safety for the Slack endpoint, before Bolt sees a request.

:class:`RequestGuard` checks, in order: the signature (``X-Slack-Signature`` over the raw body with
the signing secret; timestamps more than 5 minutes off are refused), that this exact signed request
was not seen before (a replay: 401), and that an Events API delivery's ``event_id`` was not handled
already (Slack retries with ``X-Slack-Retry-Num`` when an answer was slow or lost: 200 without
handling it again). An event counts as handled only if its delivery succeeds: when the answer is
an error, :meth:`RequestGuard.release` forgets its ``event_id``, so Slack's retry is handled.
Each worker remembers what it saw (:class:`MemorySeenRequests`) and answers from that at once;
with PostgreSQL, every worker behind a load balancer also shares what was seen through
``slack_seen_requests`` (:class:`DatabaseSeenRequests`), asked in the background so the answer
to Slack never waits for the database: a request another worker already had is answered
but its work is dropped (:class:`Verdict`). Bolt verifies the signature once more.

:class:`RateLimiter` is a per-user token bucket (``SLACK_USER_REQUESTS_PER_MINUTE``, in memory per
worker); ``bot.handlers.slack.texts.slow_down_text`` is the polite answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import MetaData, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.slack_tables import seen_requests_table

log = logging.getLogger(__name__)

SIGNATURE_WINDOW = timedelta(minutes=5)
# A signature is valid 5 minutes either side of its timestamp: remember it for both sides.
SIGNATURE_MEMORY = 2 * SIGNATURE_WINDOW
# Slack retries an event three times within about 5 minutes.
EVENT_MEMORY = timedelta(hours=1)
PURGE_EVERY = 300.0
KEY_CHARS = 100


class SeenRequests(Protocol):
    """Keys remembered until they expire (signatures, event ids)."""

    async def first_seen(self, keys: Mapping[str, timedelta]) -> set[str]:
        """Remember ``keys`` (each for its time); return those that were already remembered."""
        ...

    async def forget(self, keys: Iterable[str]) -> None:
        """Stop remembering ``keys`` (a delivery that failed, to be handled when retried)."""
        ...


class DatabaseSeenRequests:
    """:class:`SeenRequests` in ``slack_seen_requests``, shared by every worker (PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._table = seen_requests_table(MetaData())
        self._clock = clock or (lambda: datetime.now(UTC))
        self._purged_at = 0.0

    async def first_seen(self, keys: Mapping[str, timedelta]) -> set[str]:
        """Remember ``keys`` (each for its time); return those that were already remembered."""
        now = self._clock()
        dialect = self._engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        seen: set[str] = set()
        async with self._engine.begin() as conn:
            for key, keep in keys.items():
                statement = insert(self._table).values(key=_stored(key), expires_at=now + keep)
                statement = statement.on_conflict_do_update(
                    index_elements=["key"],
                    set_={"expires_at": statement.excluded.expires_at},
                    where=self._table.c.expires_at <= now,  # an expired key counts as new
                )
                result = await conn.execute(statement)
                if result.rowcount == 0:
                    seen.add(key)
            if time.monotonic() - self._purged_at > PURGE_EVERY:
                self._purged_at = time.monotonic()
                await conn.execute(delete(self._table).where(self._table.c.expires_at <= now))
        return seen

    async def forget(self, keys: Iterable[str]) -> None:
        """Stop remembering ``keys`` (a delivery that failed, to be handled when retried)."""
        stored = [_stored(key) for key in keys]
        if stored:
            async with self._engine.begin() as conn:
                await conn.execute(delete(self._table).where(self._table.c.key.in_(stored)))


class MemorySeenRequests:
    """:class:`SeenRequests` in this process's memory (all one SQLite install needs)."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._until: dict[str, datetime] = {}
        self._purged_at = 0.0

    async def first_seen(self, keys: Mapping[str, timedelta]) -> set[str]:
        """Remember ``keys`` (each for its time); return those that were already remembered."""
        now = self._clock()
        if time.monotonic() - self._purged_at > PURGE_EVERY:
            self._purged_at = time.monotonic()
            self._until = {k: until for k, until in self._until.items() if until > now}
        seen: set[str] = set()
        for key, keep in keys.items():
            stored = _stored(key)
            until = self._until.get(stored)
            if until is not None and until > now:
                seen.add(key)
            else:
                self._until[stored] = now + keep
        return seen

    async def forget(self, keys: Iterable[str]) -> None:
        """Stop remembering ``keys`` (a delivery that failed, to be handled when retried)."""
        for key in keys:
            self._until.pop(_stored(key), None)


def shared_seen_requests(engine: AsyncEngine) -> SeenRequests | None:
    """What workers share: the database with PostgreSQL; nothing with SQLite (one process)."""
    return DatabaseSeenRequests(engine) if engine.dialect.name == "postgresql" else None


def _stored(key: str) -> str:
    return key if len(key) <= KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def _refused(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


@dataclass(frozen=True)
class Verdict:
    """A request's fate: refused now (``response``), or handled once ``claim`` says it is new.

    ``claim`` (None without shared storage) resolves to False when another worker already saw
    this request: its work is then dropped, though Slack was already answered. ``event_key`` is
    what marks an Events API delivery as handled (see :meth:`RequestGuard.release`).
    """

    response: web.Response | None = None
    claim: asyncio.Task[bool] | None = None
    event_key: str | None = None


class RequestGuard:
    """Signature, replay and retry checks of one Slack request (see the module docstring).

    This worker's memory decides at once (a replay is refused with 401, a retried event answered
    200); the shared store, when there is one, is asked in the background, so the answer to Slack
    never waits for the database, and the request's work waits for the claim instead.
    """

    def __init__(self, signing_secret: str, shared: SeenRequests | None = None,
                 *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._local = MemorySeenRequests()
        self._shared = shared

    async def check(self, body: bytes, headers: Mapping[str, str]) -> Verdict:
        """Refuse a bad, stale, replayed or already handled request; else how to claim it."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not self._verifier.is_valid(
            body=body, timestamp=timestamp, signature=signature
        ):
            log.warning("slack request refused: bad or stale signature")
            return Verdict(_refused(401, "invalid request"))
        keys = {"sig:" + signature: SIGNATURE_MEMORY}
        event_id = _event_id(body, headers)
        event_key = "event:" + event_id if event_id else None
        if event_key:
            keys[event_key] = EVENT_MEMORY
        seen = await self._local.first_seen(keys)
        if seen:
            return Verdict(self._already(seen, "sig:" + signature, event_id, headers))
        if self._shared is None:
            return Verdict(event_key=event_key)
        claim = asyncio.get_running_loop().create_task(self._claim(keys, event_id))
        return Verdict(claim=claim, event_key=event_key)

    async def release(self, verdict: Verdict) -> None:
        """The delivery ``verdict`` let through failed: forget its event, so a retry is handled.

        Its signature stays remembered (a replay is still refused); the shared store forgets the
        event only if this worker's claim won it.
        """
        if verdict.event_key is None:
            return
        await self._local.forget([verdict.event_key])
        if self._shared is not None and verdict.claim is not None and await verdict.claim:
            await self._shared.forget([verdict.event_key])
        log.warning("slack event failed; its retry will be handled", extra={"event": verdict.event_key})

    async def _claim(self, keys: Mapping[str, timedelta], event_id: str | None) -> bool:
        assert self._shared is not None
        seen = await self._shared.first_seen(keys)
        if seen:
            log.warning("slack request dropped: handled by another worker",
                        extra={"event_id": event_id or ""})
        return not seen

    @staticmethod
    def _already(seen: set[str], signature: str, event_id: str | None,
                 headers: Mapping[str, str]) -> web.Response:
        if signature in seen:
            log.warning("slack request refused: replayed signature")
            return _refused(401, "invalid request")
        log.info("slack event already handled", extra={
            "event_id": event_id or "", "retry": headers.get("X-Slack-Retry-Num", "")})
        return web.Response(status=200, headers={"X-Slack-No-Retry": "1"})


class _Clock(Clock):
    """slack_sdk's clock over a function returning epoch seconds."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        """The current time in epoch seconds."""
        return self._now()


def _event_id(body: bytes, headers: Mapping[str, str]) -> str | None:
    if "json" not in headers.get("Content-Type", ""):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") != "event_callback":
        return None
    event_id = payload.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts of as many."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait(self, key: str) -> float:
        """Take one request for ``key``: 0 when allowed, else the seconds until one is."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - at) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self._rate >= self._capacity]
        for key in full:
            del self._buckets[key]

