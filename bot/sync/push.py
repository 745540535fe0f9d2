"""Push for calendar sync: watch channels (Google) and subscriptions (Graph), and their notifications.

Push needs an address the provider can reach: the public ``https`` base URL (``SLOTBOT_SYNC_PUSH``
``auto``, the default; ``on`` also with a plain-http one, for a proxy that terminates TLS or a
test, ``off`` never). Without it every calendar is polled, and the dashboard says so.

:class:`PushChannels` opens a channel for each synced calendar whose provider can push, renews it
before it expires (Google's cannot be extended: a new one replaces it), and stops it when the
calendar's account is disconnected. Each channel carries a fresh random secret (Google's channel
token, Graph's ``clientState``); only its SHA-256 is kept, and :meth:`PushChannels.notified`
checks every notification against it, by constant-time comparison, before anything happens.
A checked notification enqueues a ``calendar.sync`` outbox message (at least once, deduplicated by
the notification's own identity) whose handler reads the calendar's changes at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import CalendarError
from bot.calendar.changes import Channel, PushSource, PushTarget
from bot.notices.outbox import enqueue
from bot.scheduling.scheduler import Scheduler
from storage.models import Calendar, CalendarConnection, CalendarSyncState, OutboxMessage, User

log = logging.getLogger(__name__)

SYNC_KIND = "calendar.sync"
PUSH_KINDS = ("google", "microsoft")
LIFETIME = timedelta(days=7)  # asked for; providers may give less
RENEW_BEFORE = timedelta(hours=12)
RETRY_AFTER = timedelta(minutes=30)
SAFETY_POLL = timedelta(hours=6)  # a pushed calendar is still read now and then (missed notices)
HOOK_PATHS = {"google": "/hooks/google/calendar", "microsoft": "/hooks/microsoft/calendar"}
LIFECYCLE_PATH = "/hooks/microsoft/lifecycle"


def secret_hash(secret: str) -> str:
    """The stored form of a channel's secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Notified:
    """A notification that passed its check: which calendar, and whether it needs a read."""

    calendar_id: int
    user_id: int


def push_possible(base_url: str, mode: str) -> bool:
    """Whether providers can reach this server (``mode``: ``auto``, ``on`` or ``off``)."""
    if mode == "off":
        return False
    return mode == "on" or base_url.lower().startswith("https://")


class PushChannels:
    """Opens, renews and stops push channels, and checks notifications (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler, *,
                 base_url: str, enabled: bool,
                 read_sessions: async_sessionmaker[AsyncSession] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self._reads = read_sessions or sessions  # reads that take no write lock (SQLite)
        self._scheduler = scheduler
        self._base = base_url.rstrip("/")
        self.enabled = enabled
        self._clock = clock

    def target(self, kind: str, secret: str) -> PushTarget:
        """Where ``kind``'s notifications go, with ``secret``."""
        return PushTarget(address=self._base + HOOK_PATHS[kind], lifecycle=self._base + LIFECYCLE_PATH,
                          secret=secret, until=self._clock() + LIFETIME)

    async def maintain(self, calendar_ids: list[int]) -> int:
        """Open or renew the channels of ``calendar_ids`` that need it; how many were opened or renewed.

        One read picks them (no channel yet, or one near its end); a round with nothing to do costs
        only that read.
        """
        if not self.enabled or not calendar_ids:
            return 0
        near = self._clock() + RENEW_BEFORE
        async with self._reads() as session:
            wanted = list((await session.execute(
                select(CalendarSyncState.calendar_id)
                .join(Calendar, Calendar.id == CalendarSyncState.calendar_id)
                .join(CalendarConnection, CalendarConnection.id == Calendar.connection_id)
                .where(CalendarSyncState.calendar_id.in_(calendar_ids),
                       CalendarConnection.provider.in_(PUSH_KINDS),
                       or_(CalendarSyncState.channel_expires_at.is_(None),
                           CalendarSyncState.channel_expires_at < near)))).scalars())
        done = 0
        for calendar_id in wanted:
            if await self._maintain_one(calendar_id):
                done += 1
        return done

    async def _maintain_one(self, calendar_id: int) -> bool:
        now = self._clock()
        async with self._reads() as session:
            found = (await session.execute(
                select(Calendar, CalendarConnection, User, CalendarSyncState)
                .join(CalendarConnection, CalendarConnection.id == Calendar.connection_id)
                .join(User, User.id == Calendar.user_id)
                .join(CalendarSyncState, CalendarSyncState.calendar_id == Calendar.id)
                .where(Calendar.id == calendar_id))).first()
        if found is None:
            return False
        calendar, connection, user, state = found
        if connection.provider not in PUSH_KINDS:
            return False
        expires = state.channel_expires_at
        if state.channel_id and expires is not None and expires - now > RENEW_BEFORE:
            return True  # live and not near its end
        if not state.channel_id and expires is not None and expires > now:
            return False  # opening failed a moment ago: try again later
        provider = self._scheduler.provider_for(connection, zone=user.timezone)
        if not isinstance(provider, PushSource):
            return False
        secret = secrets.token_urlsafe(32)
        target = self.target(connection.provider, secret)
        try:
            if state.channel_id and expires is not None:
                old = Channel(state.channel_id, state.channel_resource, expires)
                channel = await provider.renew(calendar.external_id, old, target)
                kept_secret = connection.provider == "microsoft" and channel.id == old.id
            else:
                channel, kept_secret = await provider.watch(calendar.external_id, target), False
        except CalendarError as exc:
            log.info("push channel not opened", extra={"calendar": calendar_id, "reason": exc.reason})
            await self._store(calendar_id, None, mode="poll", retry_at=now + RETRY_AFTER)
            return False
        await self._store(calendar_id, channel, mode="push",
                          secret=None if kept_secret else secret_hash(secret))
        return True

    async def _store(self, calendar_id: int, channel: Channel | None, *, mode: str,
                     secret: str | None = None, retry_at: datetime | None = None) -> None:
        async with self._sessions() as session, session.begin():
            state = await session.get(CalendarSyncState, calendar_id)
            if state is None:
                return
            state.mode = mode
            if channel is None:
                state.channel_id, state.channel_resource = None, None
                state.channel_secret_hash, state.channel_expires_at = None, retry_at
                return
            state.channel_id, state.channel_resource = channel.id, channel.resource
            state.channel_expires_at = channel.expires_at
            if secret is not None:  # a renewed Graph subscription keeps its clientState
                state.channel_secret_hash = secret

    async def stop_connection(self, connection_id: int) -> None:
        """Stop the channels of a connection's calendars (before it is disconnected)."""
        async with self._reads() as session:
            rows = (await session.execute(
                select(CalendarSyncState, CalendarConnection, User)
                .join(Calendar, Calendar.id == CalendarSyncState.calendar_id)
                .join(CalendarConnection, CalendarConnection.id == Calendar.connection_id)
                .join(User, User.id == Calendar.user_id)
                .where(Calendar.connection_id == connection_id,
                       CalendarSyncState.channel_id.is_not(None)))).all()
        for state, connection, user in rows:
            expires = state.channel_expires_at or self._clock()
            channel = Channel(str(state.channel_id), state.channel_resource, expires)
            try:
                provider = self._scheduler.provider_for(connection, zone=user.timezone)
                if isinstance(provider, PushSource):
                    await provider.unwatch(channel)
            except (CalendarError, KeyError) as exc:  # the channel expires on its own
                log.info("push channel not stopped", extra={"calendar": state.calendar_id,
                                                            "reason": getattr(exc, "reason", "unknown")})
            await self._store(state.calendar_id, None, mode="poll")

    async def lifecycle(self, channel_id: str, secret: str, event: str) -> Notified | None:
        """A Graph lifecycle notification: renew now, make the subscription again, or read now."""
        when = f"{self._clock():%Y%m%d%H%M}"
        checked = await self.notified(channel_id, secret, dedupe=f"lifecycle:{event}:{when}")
        if checked is None:
            return None
        if event in ("reauthorizationRequired", "subscriptionRemoved"):
            async with self._sessions() as session, session.begin():
                state = await session.get(CalendarSyncState, checked.calendar_id)
                if state is not None:
                    state.channel_expires_at = self._clock()  # due for renewal now
                    if event == "subscriptionRemoved":
                        state.channel_id, state.channel_resource, state.mode = None, None, "poll"
            await self._maintain_one(checked.calendar_id)
        return checked

    async def notified(self, channel_id: str, secret: str, *, dedupe: str) -> Notified | None:
        """Check a notification (channel id and its secret) and enqueue a sync; None if refused."""
        if not channel_id or not secret:
            return None
        async with self._sessions() as session, session.begin():
            found = (await session.execute(
                select(CalendarSyncState, Calendar.user_id)
                .join(Calendar, Calendar.id == CalendarSyncState.calendar_id)
                .where(CalendarSyncState.channel_id == channel_id))).first()
            if found is None:
                return None
            state, user_id = found
            if not state.channel_secret_hash or not hmac.compare_digest(
                    state.channel_secret_hash, secret_hash(secret)):
                return None
            key = f"calendar-sync:{state.calendar_id}:{hashlib.sha256(dedupe.encode()).hexdigest()[:32]}"
            exists = (await session.execute(
                select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))).first()
            if exists is None:
                enqueue(session, SYNC_KIND, {"calendar_id": state.calendar_id}, dedupe_key=key,
                        max_attempts=5)
            return Notified(state.calendar_id, user_id)

