"""Calendar sync (S12): keeping contact records up to date with what hosts change in their calendars.

:class:`CalendarSync` reads each synced calendar's changes through its provider's
:class:`~bot.calendar.changes.ChangeSource` (Google's sync token, Graph's delta link, the local
calendar's fingerprints), hands them to :class:`~bot.sync.engagements.EngagementSync` and keeps
the provider's cursor in ``calendar_sync_states``. A calendar is synced while it is checked for
conflicts and readable, its host has "Calendar sync" on, and its provider can list changes.

One background task (started and stopped with the app, like the feed refresher) wakes every few
seconds and syncs the calendars that are due (every ``poll_seconds``); a push notification makes
one due at once (:meth:`CalendarSync.sync_calendar`). Each sync that saw a change drops the
host's cached busy time, so free time and pages show it at once. A cursor the provider forgot
starts a full read; a failure is recorded on the state and tried again later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import CalendarError
from bot.calendar.changes import ChangeBatch, ChangeSource, CursorExpired
from bot.periodic import Periodic
from bot.scheduling.scheduler import Scheduler
from bot.sync.engagements import Applied, EngagementSync
from bot.sync.push import SAFETY_POLL, PushChannels
from storage.models import Calendar, CalendarConnection, CalendarSyncState, User

log = logging.getLogger(__name__)

WINDOW_BACK = timedelta(days=30)
WINDOW_AHEAD = timedelta(days=365)
LEASE = timedelta(minutes=2)
RETRY = timedelta(minutes=5)
SYNCED_KINDS = ("local", "google", "microsoft")
"""Providers whose events sync to contact records (S12: Google, Microsoft 365, the demo's calendar)."""


@dataclass(frozen=True, slots=True)
class SyncView:
    """How one calendar is synced, for the dashboard."""

    mode: str  # "push" or "poll"
    synced_at: datetime | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class Synced:
    """One calendar's sync: how many changes were read, what they did, whether it started over."""

    calendar_id: int
    changes: int
    applied: Applied
    full: bool


class CalendarSync:
    """Reads changes of synced calendars into contact records (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        *,
        kinds: Collection[str] = SYNCED_KINDS,
        push: PushChannels | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        poll_seconds: float = 300.0,
        tick_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._reads = read_sessions or sessions  # reads that take no write lock (SQLite)
        self._scheduler = scheduler
        self._kinds = tuple(kinds)
        self.push = push
        self._poll = timedelta(seconds=poll_seconds)
        self._clock = clock
        self._locks: dict[int, asyncio.Lock] = {}
        self._periodic = Periodic("calendar sync", tick_seconds, self.run_due)

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The span of events synced: from a month back to a year ahead."""
        now = now or self._clock()
        return now - WINDOW_BACK, now + WINDOW_AHEAD

    @property
    def poll_minutes(self) -> int:
        """How often a calendar without push is read again, in whole minutes (at least 1)."""
        return max(1, round(self._poll.total_seconds() / 60))

    async def set_enabled(self, user_id: int, enabled: bool) -> None:
        """Turn the host's calendar sync on or off (off keeps every engagement recorded)."""
        async with self._sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(calendar_sync=enabled))
            if enabled:  # read again soon: what changed meanwhile is picked up
                ids = select(Calendar.id).where(Calendar.user_id == user_id).scalar_subquery()
                await session.execute(update(CalendarSyncState).where(
                    CalendarSyncState.calendar_id.in_(ids)).values(next_sync_at=self._clock()))

    async def views(self, calendar_ids: Collection[int]) -> dict[int, SyncView]:
        """The sync state of each of ``calendar_ids`` that is (or was) synced."""
        if not calendar_ids:
            return {}
        async with self._reads() as session:
            rows = await session.execute(select(CalendarSyncState).where(
                CalendarSyncState.calendar_id.in_(list(calendar_ids))))
            return {s.calendar_id: SyncView(s.mode, s.synced_at, s.last_error) for s in rows.scalars()}

    async def eligible(self) -> list[int]:
        """Ids of the calendars synced now (checked, readable, host's sync on, a provider that syncs)."""
        async with self._reads() as session:
            rows = await session.execute(
                select(Calendar.id)
                .join(CalendarConnection, CalendarConnection.id == Calendar.connection_id)
                .join(User, User.id == Calendar.user_id)
                .where(Calendar.checks_conflicts, Calendar.status == "active",
                       CalendarConnection.status == "active", User.calendar_sync,
                       CalendarConnection.provider.in_(self._kinds))
                .order_by(Calendar.id))
            return list(rows.scalars())

    async def run_due(self) -> int:
        """Sync every eligible calendar that is due (new ones at once); how many were synced."""
        now = self._clock()
        eligible = await self.eligible()
        if not eligible:
            return 0
        async with self._reads() as session:
            known = set((await session.execute(
                select(CalendarSyncState.calendar_id).where(CalendarSyncState.calendar_id.in_(eligible))
            )).scalars())
        if set(eligible) - known:  # only then a write: the loop's rounds take no lock otherwise
            async with self._sessions() as session, session.begin():
                for calendar_id in set(eligible) - known:
                    session.add(CalendarSyncState(calendar_id=calendar_id, mode="poll", next_sync_at=now))
        async with self._reads() as session:
            due = list((await session.execute(
                select(CalendarSyncState.calendar_id).where(
                    CalendarSyncState.calendar_id.in_(eligible), CalendarSyncState.next_sync_at <= now)
            )).scalars()) if eligible else []
        synced = 0
        for calendar_id in due:
            if await self._claim(calendar_id, now) and await self.sync_calendar(calendar_id) is not None:
                synced += 1
        if self.push is not None and eligible:
            await self.push.maintain(eligible)
        return synced

    async def handle(self, payload: dict[str, Any]) -> None:
        """The ``calendar.sync`` outbox message (a push notification): read that calendar now."""
        await self.sync_calendar(int(payload["calendar_id"]))

    async def _claim(self, calendar_id: int, now: datetime) -> bool:
        """Take a due calendar for this process (another process may be about to)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(CalendarSyncState)
                .where(CalendarSyncState.calendar_id == calendar_id, CalendarSyncState.next_sync_at <= now)
                .values(next_sync_at=now + LEASE))
            return bool(getattr(result, "rowcount", 0))

    async def sync_calendar(self, calendar_id: int) -> Synced | None:
        """Read and record one calendar's changes now; None when it is not synced (or failed)."""
        lock = self._locks.setdefault(calendar_id, asyncio.Lock())
        async with lock:
            return await self._sync(calendar_id)

    async def _sync(self, calendar_id: int) -> Synced | None:
        async with self._reads() as session:
            calendar = await session.get(Calendar, calendar_id)
            connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            user = await session.get(User, calendar.user_id) if calendar else None
            state = await session.get(CalendarSyncState, calendar_id)
            own = [e for e in (
                await session.execute(select(CalendarConnection.account_email).where(
                    CalendarConnection.user_id == calendar.user_id))).scalars()] if calendar else []
        if (calendar is None or connection is None or user is None or not user.calendar_sync
                or connection.provider not in self._kinds):
            return None
        try:
            provider = self._scheduler.provider_for(connection, zone=user.timezone)
        except KeyError:
            return None  # that kind of calendar is not configured on this server
        if not isinstance(provider, ChangeSource):
            return None
        now = self._clock()
        start, end = self.window(now)
        cursor = state.cursor if state is not None else None
        try:
            try:
                batch = await provider.changes(calendar.external_id, cursor, start=start, end=end)
            except CursorExpired:
                log.info("calendar sync starts over", extra={"calendar": calendar_id})
                batch = await provider.changes(calendar.external_id, None, start=start, end=end)
        except CalendarError as exc:
            await self._failed(calendar_id, now, str(exc))
            return None
        applied = await self._record(calendar, user, [user.email or "", *own], batch, now, start)
        if batch.changes:
            self._scheduler.forget(user.id)
        log.info("calendar synced", extra={"calendar": calendar_id, "changes": len(batch.changes)})
        return Synced(calendar_id, len(batch.changes), applied, batch.full)

    async def _record(self, calendar: Calendar, user: User, own: list[str], batch: ChangeBatch,
                      now: datetime, window_start: datetime) -> Applied:
        async with self._sessions() as session, session.begin():
            applied = await EngagementSync(session, user.id, [a for a in own if a]).apply(
                calendar.id, batch, window_start=window_start)
            state = await session.get(CalendarSyncState, calendar.id)
            if state is None:
                state = CalendarSyncState(calendar_id=calendar.id, mode="poll")
                session.add(state)
            if batch.changes:  # every process's cached busy time of the host is stale now
                await session.execute(update(User).where(User.id == user.id).values(
                    busy_version=User.busy_version + 1))
            state.cursor, state.synced_at = batch.cursor, now
            state.failing_since, state.last_error = None, None
            state.next_sync_at = now + (max(SAFETY_POLL, self._poll) if state.mode == "push" else self._poll)
        return applied

    async def _failed(self, calendar_id: int, now: datetime, error: str) -> None:
        log.warning("calendar sync failed", extra={"calendar": calendar_id, "error": error})
        async with self._sessions() as session, session.begin():
            state = await session.get(CalendarSyncState, calendar_id)
            if state is None:
                return
            state.failing_since = state.failing_since or now
            state.last_error = error[:500]
            state.next_sync_at = now + max(RETRY, self._poll)

    def start(self) -> None:
        """Start the background rounds (every few seconds, on the running loop)."""
        self._periodic.start()

    async def stop(self) -> None:
        """Stop the background rounds and wait for them."""
        await self._periodic.stop()
