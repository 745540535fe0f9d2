"""Scheduling services: a user's availability across every connected calendar.

Start with :meth:`Scheduler.availability`. It asks every checked calendar of every connection
concurrently (each provider with a timeout), merges the answers through the pure engine
(:mod:`bot.availability`) and returns the slots together with the calendars that could not be
read. A calendar that could not be read is *unknown*, never free: then no slot is offered.

Busy answers are cached for a short time so repeated questions do not hit the providers again;
``live=True`` (used when booking) always asks the providers. :meth:`Scheduler.forget` drops a
host's cached busy time after a booking or calendar change and tells every listener given to
:meth:`Scheduler.on_forget` (the scheduling pages' slot cache, :mod:`bot.pages.slot_cache`);
:meth:`Scheduler.fresh_for` says how long a window's cached busy time still serves. Nothing here
knows about Slack, Teams or the web: channels call in and render the result.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.credentials import CREDENTIALS_PURPOSE, credential_saver
from bot.availability import AvailabilityRules, find_slots
from bot.calendar.base import (
    AccessLost,
    AccessRole,
    CalendarBusy,
    CalendarError,
    CalendarProvider,
    ConnectionContext,
    ProviderRegistry,
    ProviderTimeout,
    ProviderUnavailable,
    ReauthRequired,
    TimedSpan,
)
from bot.rules import rules_from_json
from bot.scheduling.health import UNREACHABLE_NOTICE_SECONDS, CalendarHealth
from bot.scheduling.results import CalendarProblem, UnknownUser, UserAvailability
from storage.crypto import SecretBox
from storage.models import Booking, Calendar, CalendarConnection, CalendarSyncState, User

log = logging.getLogger(__name__)


@runtime_checkable
class ReadsEvents(Protocol):
    """A provider whose :meth:`~bot.calendar.base.CalendarProvider.busy` gives no titles (Google's
    ``freeBusy``) and that can read the events themselves for the host's own agenda."""

    async def events(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Each calendar's events in ``[start, end)`` with titles, as ``busy`` answers."""
        ...


@dataclass(slots=True)
class _Checked:
    calendar: Calendar
    connection: CalendarConnection


@dataclass(frozen=True, slots=True)
class _Freshness:
    """How long a cached answer may serve: the host's ``busy_version`` it was read at, and seconds."""

    version: int
    seconds: float


class Scheduler:
    """Availability (and, later, booking) for users, built once per app from its state."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        providers: ProviderRegistry,
        secrets: SecretBox,
        *,
        timeout: float = 10.0,
        cache_seconds: float = 60.0,
        pushed_cache_seconds: float = 900.0,
        clock: Callable[[], float] = monotonic.monotonic,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        unreachable_notice_seconds: float = UNREACHABLE_NOTICE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._health = CalendarHealth(sessions, unreachable_after=unreachable_notice_seconds)
        self._read_sessions = read_sessions or sessions
        self._providers = providers
        self._secrets = secrets
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        # Busy time of calendars whose changes are pushed (calendar sync) may be kept longer: a
        # change anywhere bumps the host's ``busy_version``, which every answer reads first.
        self._pushed_cache_seconds = max(cache_seconds, pushed_cache_seconds)
        self._clock = clock
        # (user, start, end) -> (read at, busy_version, answers, seconds it may serve)
        self._cache: dict[
            tuple[int, datetime, datetime], tuple[float, int, dict[int, CalendarBusy], float]
        ] = {}
        self._listeners: list[Callable[[int], None]] = []
        self._forgotten: dict[int, int] = {}  # user -> forget() calls: an answer asked before one is not kept
        self._inflight: dict[
            tuple[int, datetime, datetime],
            tuple[frozenset[int], int, asyncio.Future[dict[int, CalendarBusy]]],
        ] = {}

    def on_forget(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(user_id)`` whenever :meth:`forget` drops a user's busy time (caches
        built on it, e.g. the scheduling pages' slots, drop theirs)."""
        self._listeners.append(listener)

    def forget(self, user_id: int) -> None:
        """Drop cached busy time of ``user_id`` (after a calendar or booking change); an answer being
        read right now is not kept either (it may have read the calendar before the change)."""
        self._forgotten[user_id] = self._forgotten.get(user_id, 0) + 1
        for key in [k for k in self._cache if k[0] == user_id]:
            del self._cache[key]
        for key in [k for k in self._inflight if k[0] == user_id]:
            del self._inflight[key]  # questions asked from now on are asked afresh
        for listener in self._listeners:
            listener(user_id)

    def fresh_for(self, user_id: int, start: datetime, end: datetime) -> float:
        """Seconds the cached busy time of ``user_id`` in ``[start, end)`` keeps serving (0: none is
        cached, e.g. a calendar could not be read). What is built on an answer of
        :meth:`availability` for that window must not outlive it."""
        cached = self._cache.get((user_id, start.replace(second=0, microsecond=0), end))
        if cached is None:
            return 0.0
        return max(0.0, cached[0] + cached[3] - self._clock())

    async def availability(
        self,
        user_id: int,
        *,
        start: datetime,
        end: datetime,
        now: datetime,
        rules: AvailabilityRules | None = None,
        duration_minutes: int | None = None,
        live: bool = False,
    ) -> UserAvailability:
        """Free slots of ``user_id`` in ``[start, end)`` under ``rules`` (default: 9-17 Mon-Fri)."""
        async with self._read_sessions() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise UnknownUser(user_id)
            rows = (
                await session.execute(
                    select(Calendar, CalendarConnection, CalendarSyncState.mode)
                    .join(CalendarConnection, Calendar.connection_id == CalendarConnection.id)
                    .outerjoin(CalendarSyncState, CalendarSyncState.calendar_id == Calendar.id)
                    .where(Calendar.user_id == user_id, Calendar.checks_conflicts)
                    .order_by(Calendar.id)
                )
            ).all()
            checked = [_Checked(calendar, connection) for calendar, connection, _ in rows]
            pushed = bool(rows) and all(mode == "push" for _, _, mode in rows)
            bookings = [
                TimedSpan(b.start_at, b.end_at)
                for b in (
                    await session.execute(
                        select(Booking).where(
                            Booking.host_id == user_id,
                            Booking.status != "cancelled",
                            Booking.end_at > start,
                            Booking.start_at < end,
                        )
                    )
                ).scalars()
            ]
        rules = rules or rules_from_json({}, timezone=user.timezone)
        keep = self._pushed_cache_seconds if pushed else self._cache_seconds
        freshness = _Freshness(user.busy_version, keep)
        busy = await self._busy(user_id, checked, start, end, user.timezone, live=live, fresh=freshness)
        problems = tuple(
            CalendarProblem(c.calendar.id, c.calendar.name, answer.error.reason, str(answer.error))
            for c in checked
            if (answer := busy[c.calendar.id]).error is not None
        )
        result = find_slots(
            rules,
            window_start=start,
            window_end=end,
            now=now,
            calendars={str(key): value for key, value in busy.items()},
            duration_minutes=duration_minutes,
            bookings=bookings,
        )
        return UserAvailability(
            user_id=user_id,
            timezone=user.timezone,
            result=result,
            calendars=tuple(c.calendar.name for c in checked),
            problems=problems,
            has_calendars=bool(checked),
        )

    async def occurrences(
        self, user_id: int, *, start: datetime, end: datetime
    ) -> tuple[str, list[tuple[str, CalendarBusy]]]:
        """The user's zone and each checked calendar's name with its occurrences in ``[start, end)``.

        Read live from the providers and never cached: these blocks carry event titles, which
        only the host's own private answers may show (availability answers drop them, see
        :meth:`_fetch`). A calendar that cannot be read carries its error.
        """
        async with self._read_sessions() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise UnknownUser(user_id)
            rows = (
                await session.execute(
                    select(Calendar, CalendarConnection)
                    .join(CalendarConnection, Calendar.connection_id == CalendarConnection.id)
                    .where(Calendar.user_id == user_id, Calendar.checks_conflicts)
                    .order_by(Calendar.id)
                )
            ).all()
        checked = [_Checked(calendar, connection) for calendar, connection in rows]
        answers = await self._read(checked, start, end, user.timezone, titled=True)
        return user.timezone, [(c.calendar.name, answers[c.calendar.id]) for c in checked]

    async def _busy(
        self,
        user_id: int,
        checked: list[_Checked],
        start: datetime,
        end: datetime,
        zone: str,
        *,
        live: bool,
        fresh: _Freshness,
    ) -> dict[int, CalendarBusy]:
        # Ask from the start of the minute: "this week" asked twice a second later is one question.
        start = start.replace(second=0, microsecond=0)
        key = (user_id, start, end)
        ids = frozenset(c.calendar.id for c in checked)
        if not live:
            cached = self._cache.get(key)
            if (cached and self._clock() - cached[0] < fresh.seconds and cached[1] == fresh.version
                    and set(cached[2]) == ids):
                if cached[3] != fresh.seconds:  # e.g. every calendar is pushed now: kept longer
                    self._cache[key] = (*cached[:3], fresh.seconds)
                return cached[2]
            shared = self._inflight.get(key)
            if shared is not None and shared[0] == ids and shared[1] == fresh.version:
                # The same question is being asked right now: wait for its answer, don't ask twice.
                return await asyncio.shield(shared[2])
        task = asyncio.ensure_future(
            self._fetch(key, checked, start, end, zone, fresh, self._forgotten.get(user_id, 0)))
        if not live:
            self._inflight[key] = (ids, fresh.version, task)
        try:
            return await asyncio.shield(task)
        finally:
            if self._inflight.get(key, (ids, fresh.version, None))[2] is task:
                del self._inflight[key]

    async def _fetch(
        self,
        key: tuple[int, datetime, datetime],
        checked: list[_Checked],
        start: datetime,
        end: datetime,
        zone: str,
        fresh: _Freshness,
        forgotten: int,
    ) -> dict[int, CalendarBusy]:
        answers = {
            calendar_id: _untitled(busy)
            for calendar_id, busy in (await self._read(checked, start, end, zone)).items()
        }
        if all(a.error is None for a in answers.values()) and forgotten == self._forgotten.get(key[0], 0):
            self._cache[key] = (self._clock(), fresh.version, answers, fresh.seconds)
        return answers

    async def _read(
        self, checked: list[_Checked], start: datetime, end: datetime, zone: str, *, titled: bool = False
    ) -> dict[int, CalendarBusy]:
        by_connection: dict[int, list[_Checked]] = {}
        answers: dict[int, CalendarBusy] = {}
        for item in checked:
            if item.connection.status == "needs_reauth":
                answers[item.calendar.id] = CalendarBusy(
                    error=ReauthRequired(f"{item.connection.account_email} must be reconnected")
                )
            elif item.connection.status == "inactive" or item.calendar.status == "inactive":
                answers[item.calendar.id] = CalendarBusy(
                    error=AccessLost(f"{item.calendar.name} can no longer be read")
                )
            else:
                by_connection.setdefault(item.connection.id, []).append(item)
        results = await asyncio.gather(
            *(self._ask(items, start, end, zone, titled=titled) for items in by_connection.values())
        )
        for result in results:
            answers.update(result)
        return answers

    async def _ask(
        self, items: list[_Checked], start: datetime, end: datetime, zone: str, *, titled: bool = False
    ) -> dict[int, CalendarBusy]:
        connection = items[0].connection
        by_external = {item.calendar.external_id: item.calendar for item in items}
        try:
            provider = self.provider_for(connection, zone=zone)
            answer: Mapping[str, CalendarBusy] = await asyncio.wait_for(
                _read_calendars(provider, by_external, start, end, titled=titled), timeout=self._timeout,
            )
        except TimeoutError:
            error: CalendarError = ProviderTimeout(f"{connection.account_email} did not answer in time")
            await self._health.unreachable(connection.id, str(error))
            return {c.id: CalendarBusy(error=error) for c in by_external.values()}
        except ReauthRequired as exc:
            await self._health.connection_failed(connection.id, "needs_reauth", str(exc))
            return {c.id: CalendarBusy(error=exc) for c in by_external.values()}
        except CalendarError as exc:
            if type(exc) in (ProviderUnavailable, ProviderTimeout):
                await self._health.unreachable(connection.id, str(exc))
            return {c.id: CalendarBusy(error=exc) for c in by_external.values()}
        except KeyError as exc:  # no provider registered for this kind (e.g. setting removed)
            error = ProviderUnavailable(str(exc).strip("'\""))
            return {c.id: CalendarBusy(error=error) for c in by_external.values()}
        out: dict[int, CalendarBusy] = {}
        for external_id, calendar in by_external.items():
            busy = answer.get(external_id) or CalendarBusy(
                error=ProviderUnavailable(f"no answer for {calendar.name}")
            )
            if isinstance(busy.error, AccessLost):
                await self._health.calendar_lost(calendar.id, str(busy.error))
            out[calendar.id] = busy
        errors = [busy.error for busy in out.values() if busy.error is not None]
        if len(errors) == len(out) and all(type(e) in (ProviderUnavailable, ProviderTimeout) for e in errors):
            await self._health.unreachable(connection.id, str(errors[0]))
        elif not errors:
            await self._health.reachable(connection.id)
        return out

    def provider_for(self, connection: CalendarConnection, *, zone: str = "UTC") -> CalendarProvider:
        """A provider talking for ``connection`` (``KeyError`` when its kind is not configured)."""
        return self._providers.create(
            connection.provider,
            ConnectionContext(
                connection_id=connection.id,
                account_email=connection.account_email,
                credentials=self._secrets.open(connection.credentials, purpose=CREDENTIALS_PURPOSE),
                save_credentials=credential_saver(self._sessions, self._secrets, connection.id),
                options={"timezone": zone},
            ),
        )


async def _read_calendars(
    provider: CalendarProvider, calendars: Mapping[str, Calendar], start: datetime, end: datetime, *,
    titled: bool,
) -> Mapping[str, CalendarBusy]:
    """``busy`` of every calendar; with ``titled``, the events themselves where the provider's
    busy time has no titles (:class:`ReadsEvents`), except of calendars shared as free/busy only."""
    if not (titled and isinstance(provider, ReadsEvents)):
        return await provider.busy(start=start, end=end, calendar_ids=list(calendars))
    full = [key for key, calendar in calendars.items() if calendar.access_role != AccessRole.FREE_BUSY]
    rest = [key for key in calendars if key not in full]
    answers: dict[str, CalendarBusy] = {}
    if full:
        answers.update(await provider.events(start=start, end=end, calendar_ids=full))
    if rest:
        answers.update(await provider.busy(start=start, end=end, calendar_ids=rest))
    return answers


def _untitled(busy: CalendarBusy) -> CalendarBusy:
    """``busy`` without event titles: availability (cached, and shown to visitors) never needs them."""
    if not any(block.title for block in busy.blocks):
        return busy
    return CalendarBusy(blocks=tuple(replace(block, title="") for block in busy.blocks), error=busy.error)
