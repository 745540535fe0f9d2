"""Keeping every feed's copy fresh: :class:`FeedRefresher`, a background task owned by the app.

Why a background task and not a fetch when a calendar is read: a feed's server may take its full
20 s (or be down), and a "when am I free" answer must not wait for it; nor should several hosts
asking at once make several fetches. So the app runs one task (started and stopped with the app,
like the outbox worker, ``bot/app.py``) that wakes every ``poll_seconds``, takes the feeds whose
refresh is due (:meth:`~bot.calendar.feeds.store.FeedStore.claim`: one process per feed) and
fetches them, a few at a time; readers only ever read the stored copy (``provider.py``), whose
age :class:`~bot.calendar.feeds.policy.RefreshPolicy` bounds. The dashboard's "Refresh" and adding
a feed call :meth:`FeedRefresher.refresh` directly.

A fetch that works stores the body (after checking it parses: a feed that starts sending an
error page keeps its last good copy), or keeps it on a 304, clears the failure and, if the
calendar had been marked inactive, makes it active again. A failure is recorded; once a feed has
failed for the policy's limit the calendar is reported through ``on_problem`` (the app passes
``scheduling/health.py``'s ``calendar_lost``: inactive, the host told once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import CalendarError
from bot.calendar.feeds.credentials import load_credentials
from bot.calendar.feeds.fetch import FeedError, FeedFetcher, Fetched
from bot.calendar.feeds.policy import RefreshPolicy
from bot.calendar.feeds.provider import FEED_CALENDAR_ID, KIND, FeedCache, calendar_name, parse_in_thread
from bot.calendar.feeds.store import FeedStore, body_hash, clean_body
from bot.calendar.ics.errors import IcsError
from bot.calendar.threads import WorkerThreads
from bot.periodic import Periodic
from storage.models import Calendar, CalendarConnection

log = logging.getLogger(__name__)

OpenSecret = Callable[[str], str]
"""Opens a connection's sealed credentials (``SecretBox.open`` with the credentials' purpose)."""
ProblemReporter = Callable[[int, str], Awaitable[None]]
"""Called with a calendar id and a sentence once its feed has failed for too long."""


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What one refresh did: ``changed`` (a new copy), or a 304, or ``error`` (a sentence)."""

    connection_id: int
    changed: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the feed answered with a calendar (new or unchanged)."""
        return self.error is None


class FeedRefresher:
    """Refreshes feeds on demand and, once started, in the background (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: FeedStore,
        fetcher: FeedFetcher,
        *,
        open_secret: OpenSecret,
        cache: FeedCache,
        threads: WorkerThreads,
        on_problem: ProblemReporter | None = None,
        policy: RefreshPolicy = RefreshPolicy(),
        poll_seconds: float = 30.0,
        concurrency: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._store = store
        self.fetcher = fetcher
        self._open = open_secret
        self._cache = cache
        self._threads = threads
        self._on_problem = on_problem
        self.policy = policy
        self._poll = poll_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._periodic = Periodic("feed refresh", poll_seconds, self.run_due)

    async def refresh(self, connection_id: int) -> Refreshed:
        """Fetch one feed now (conditionally) and record the outcome."""
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.provider != KIND:
            return Refreshed(connection_id, error="That calendar feed is not set up.")
        label = connection.account_email
        snapshot = await self._store.snapshot(connection_id)
        held = snapshot is not None and snapshot.body_hash is not None
        try:
            url = load_credentials(self._open(connection.credentials)).url
            fetched, text = await self.fetch_checked(
                url, label=label,
                etag=snapshot.etag if snapshot and held else None,
                last_modified=snapshot.last_modified if snapshot and held else None,
            )
        except CalendarError as exc:
            return await self._failed(connection_id, label, exc)
        except Exception:  # a bug must not stop the refresh of the other feeds
            log.exception("feed refresh failed", extra={"connection": connection_id})
            return await self._failed(connection_id, label, CalendarError("Slotbot could not read the feed."))
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await self._store.succeeded(
                session, connection_id, text=text, etag=fetched.etag, last_modified=fetched.last_modified,
                now=now, next_at=self.policy.after_success(now, fetched.max_age),
            )
            calendar = (await session.execute(select(Calendar).where(
                Calendar.connection_id == connection_id, Calendar.external_id == FEED_CALENDAR_ID,
            ))).scalar_one_or_none()
            if calendar is not None:
                if text is not None:
                    calendar.name = calendar_name(text, calendar.name)
                if calendar.status != "active":  # it loads again: back in use
                    calendar.status, calendar.last_error = "active", None
        log.info("feed refreshed", extra={"connection": connection_id, "changed": text is not None})
        return Refreshed(connection_id, changed=text is not None)

    async def fetch_checked(
        self, url: str, *, label: str, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[Fetched, str | None]:
        """Fetch ``url`` and check that a new body is a calendar Slotbot can read (then parsed and
        held in the cache); the answer and the body as text (None: 304). Raises ``CalendarError``."""
        fetched = await self.fetcher.fetch(url, etag=etag, last_modified=last_modified)
        if fetched.body is None:
            return fetched, None
        text = clean_body(fetched.body)
        digest = body_hash(text)
        if self._cache.get(digest) is None:
            try:
                self._cache.put(digest, await parse_in_thread(self._threads, text))
            except IcsError as exc:
                raise FeedError(f"{label} did not send a calendar Slotbot can read ({exc})") from None
        return fetched, text

    async def _failed(self, connection_id: int, label: str, error: CalendarError) -> Refreshed:
        now = self._clock()
        retry_after = error.retry_after if isinstance(error, FeedError) else None
        message = str(error)
        since = await self._store.failed(
            connection_id, message, now=now, next_at=self.policy.after_failure(now, retry_after)
        )
        log.warning("feed refresh failed", extra={"connection": connection_id, "reason": error.reason})
        if since is not None and self.policy.is_problem(since, now) and self._on_problem is not None:
            async with self._sessions() as session:
                calendar_id = (await session.execute(select(Calendar.id).where(
                    Calendar.connection_id == connection_id, Calendar.external_id == FEED_CALENDAR_ID,
                ))).scalar_one_or_none()
            if calendar_id is not None:
                await self._on_problem(
                    calendar_id, f"the calendar feed {label} has not loaded for a while: {message}"
                )
        return Refreshed(connection_id, error=message)

    async def run_due(self) -> int:
        """Refresh every feed that is due (the ones another process took excepted); how many."""
        now = self._clock()
        due = await self._store.due(now)
        if not due:
            return 0

        async def one(connection_id: int) -> bool:
            async with self._limit:
                if not await self._store.claim(connection_id, now, now + self.policy.lease):
                    return False
                await self.refresh(connection_id)
                return True

        done = await asyncio.gather(*(one(cid) for cid in due))
        return sum(done)

    def start(self) -> None:
        """Start the background refresh (every ``poll_seconds``, on the running loop)."""
        self._periodic.start()

    async def stop(self) -> None:
        """Stop the background refresh and wait for it."""
        await self._periodic.stop()
