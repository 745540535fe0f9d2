"""Exchange on-premises calendars behind the :class:`~bot.calendar.base.CalendarProvider` Protocol (EWS).

Start with :func:`exchange_factory` (what the app registers) and :class:`ExchangeCalendarProvider`.
exchangelib is synchronous: every call runs in the app's worker threads with the calendar timeout
(:class:`~bot.calendar.threads.WorkerThreads`), and every failure goes through the shared
:class:`~bot.calendar.http.RetryPolicy` after :func:`~bot.calendar.exchange.errors.classify`
(exchangelib's own retrying is off: fail fast).

Calendar ids: an own folder is its EWS folder id; a colleague's calendar added by address is
``shared:<email>`` when it can be read event by event, ``freebusy:<email>`` when it shares
free/busy only (read through GetUserAvailability, show-as only). Windows are split as EWS needs:
GetUserAvailability answers at most 42 days, a calendar view is asked for a year at most.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import requests

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    ReauthRequired,
    check_window,
    window_pieces,
)
from bot.calendar.exchange.client import FreeBusyEvent, Mailbox, Mailboxes, prepare_library, protocol_class
from bot.calendar.exchange.credentials import ExchangeCredentials, load_credentials
from bot.calendar.exchange.errors import VOCABULARY, classify
from bot.calendar.exchange.mapping import free_busy_block, item_block
from bot.calendar.http import Gone, RetryPolicy
from bot.calendar.threads import WorkerThreads

T = TypeVar("T")

SHARED = "shared:"
FREE_BUSY = "freebusy:"
FREE_BUSY_DAYS = 42
"""GetUserAvailability's longest window."""
VIEW_DAYS = 365
"""The longest window one calendar view asks for."""


class ExchangeCalendarProvider:
    """The calendar Protocol over EWS for one Exchange connection."""

    def __init__(
        self,
        ctx: ConnectionContext,
        mailboxes: Mailboxes,
        *,
        threads: WorkerThreads | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._ctx = ctx
        self._mailboxes = mailboxes
        self._threads = threads or WorkerThreads.loop_default()
        self._timeout = timeout
        self._retry = retry

    def _credentials(self) -> ExchangeCredentials:
        return load_credentials(self._ctx.credentials)

    def _open(self, credentials: ExchangeCredentials) -> Mailbox:
        return self._mailboxes.get(self._ctx.connection_id, self._ctx.credentials, credentials)

    async def _call(self, fn: Callable[[Mailbox], T], *, what: str, missing_ok: bool = False) -> T:
        """``fn(mailbox)`` in a worker thread, with the shared retry policy."""
        credentials = self._credentials()  # unreadable credentials: ReauthRequired before any thread

        def call() -> T:
            try:
                return fn(self._open(credentials))
            except Exception as exc:
                found = classify(exc)
                raise found from None

        async def attempt() -> T:
            return await self._threads.run(call, timeout=self._timeout, what=f"Exchange: {what}")

        try:
            return await self._retry.run(attempt, vocabulary=VOCABULARY, what=what, missing_ok=missing_ok)
        except ReauthRequired:
            self._mailboxes.drop(self._ctx.connection_id)  # its sessions hold the refused sign-in
            raise

    async def list_calendars(self) -> list[CalendarInfo]:
        """The mailbox's own calendar folders; the primary one is the default."""
        folders = await self._call(lambda m: m.calendars(), what="list calendars")
        return [
            CalendarInfo(external_id=f.id, name=f.name, access_role=AccessRole.OWNER, is_primary=f.primary)
            for f in folders
        ]

    async def colleague(self, email: str) -> CalendarInfo:
        """A colleague's calendar by address: readable event by event, or free/busy only.

        Raises :class:`AccessLost` when the mailbox shares neither (or does not exist).
        """
        address = email.strip().lower()
        now = datetime.now().astimezone()
        try:  # one day of their calendar, event by event: refused unless they share it (reviewer)
            await self._call(
                functools.partial(
                    _view, calendar_id="", start=now, end=now + timedelta(days=1), email=address
                ),
                what="open a colleague's calendar",
            )
        except AccessLost:
            pass
        else:
            return CalendarInfo(external_id=SHARED + address, name=address, access_role=AccessRole.READER)
        answers = await self._call(
            lambda m: m.free_busy([address], now, now + timedelta(days=1)), what="read free/busy"
        )
        if isinstance(answers[0], Exception):
            raise AccessLost(f"{address} does not share a calendar with this account.")
        return CalendarInfo(external_id=FREE_BUSY + address, name=address, access_role=AccessRole.FREE_BUSY)

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks per calendar: views concurrently, free/busy-only mailboxes in one request."""
        empty = check_window(start, end, calendar_ids)
        if empty is not None:
            return empty
        viewed = [cid for cid in calendar_ids if not cid.startswith(FREE_BUSY)]
        free_busy = [cid for cid in calendar_ids if cid.startswith(FREE_BUSY)]
        jobs: list[Awaitable[dict[str, CalendarBusy]]] = [self._view(cid, start, end) for cid in viewed]
        if free_busy:
            jobs.append(self._free_busy(free_busy, start, end))
        answers = await asyncio.gather(*jobs, return_exceptions=True)
        result: dict[str, CalendarBusy] = {}
        for answer in answers:
            if isinstance(answer, ReauthRequired):
                raise answer
            if isinstance(answer, BaseException):
                raise answer
            result.update(answer)
        return {cid: result[cid] for cid in calendar_ids}

    async def _view(self, calendar_id: str, start: datetime, end: datetime) -> dict[str, CalendarBusy]:
        email = calendar_id[len(SHARED):] if calendar_id.startswith(SHARED) else None
        blocks: list[BusyBlock] = []
        try:
            for piece_start, piece_end in window_pieces(start, end, timedelta(days=VIEW_DAYS)):
                items = await self._call(
                    functools.partial(_view, calendar_id=calendar_id, start=piece_start, end=piece_end,
                                      email=email),
                    what="read a calendar view",
                )
                blocks.extend(
                    item_block(
                        item.start, item.end, zone=item._start_timezone, status=item.legacy_free_busy_status,
                        cancelled=bool(item.is_cancelled), response=item.my_response_type,
                        title=item.subject if isinstance(item.subject, str) else "",
                    )
                    for item in items
                    if item.start is not None and item.end is not None and item.end > item.start
                )
        except ReauthRequired:
            raise
        except CalendarError as exc:
            return {calendar_id: CalendarBusy(error=exc)}
        return {calendar_id: CalendarBusy(blocks=tuple(blocks))}

    async def _free_busy(
        self, calendar_ids: list[str], start: datetime, end: datetime
    ) -> dict[str, CalendarBusy]:
        emails = [cid[len(FREE_BUSY):] for cid in calendar_ids]
        found: dict[str, list[BusyBlock]] = {cid: [] for cid in calendar_ids}
        errors: dict[str, CalendarError] = {}
        try:
            for piece_start, piece_end in window_pieces(start, end, timedelta(days=FREE_BUSY_DAYS)):
                answers = await self._call(
                    functools.partial(_availability, emails=emails, start=piece_start, end=piece_end),
                    what="read free/busy",
                )
                for cid, answer in zip(calendar_ids, answers, strict=True):
                    if isinstance(answer, Exception):
                        error = classify(answer)
                        errors[cid] = error if isinstance(error, CalendarError) else AccessLost(
                            "Exchange did not share this mailbox's free/busy time."
                        )
                    else:
                        found[cid].extend(_free_busy_blocks(answer))
        except ReauthRequired:
            raise
        except CalendarError as exc:
            return {cid: CalendarBusy(error=exc) for cid in calendar_ids}
        return {
            cid: CalendarBusy(error=errors[cid]) if cid in errors else CalendarBusy(blocks=tuple(found[cid]))
            for cid in calendar_ids
        }

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Create the booking's event (invitations sent by Exchange); a retry finds the first one."""
        item_id = await self._call(lambda m: m.create(calendar_id, event), what="create an event")
        return CreatedEvent(external_id=item_id, calendar_id=calendar_id)

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete the event (cancellations sent); one that is gone already is no error."""
        try:
            await self._call(lambda m: m.delete(uid), what="delete an event", missing_ok=True)
        except Gone:
            return


def _view(
    mailbox: Mailbox, *, calendar_id: str, start: datetime, end: datetime, email: str | None
) -> list[Any]:
    return mailbox.view(calendar_id, start, end, email=email)


def _availability(
    mailbox: Mailbox, *, emails: list[str], start: datetime, end: datetime
) -> list[list[FreeBusyEvent] | Exception]:
    return mailbox.free_busy(emails, start, end)


def _free_busy_blocks(events: list[FreeBusyEvent]) -> list[BusyBlock]:
    return [free_busy_block(e.start, e.end, e.busy_type) for e in events if e.end > e.start]


def exchange_factory(
    *,
    adapter: type[requests.adapters.HTTPAdapter],
    threads: WorkerThreads,
    timeout: float,
    retry: RetryPolicy = RetryPolicy(),
) -> ProviderFactory:
    """The app's factory: requests through ``adapter`` (the SSRF policy), one open mailbox per connection."""
    prepare_library()
    mailboxes = Mailboxes(protocol_class(adapter, timeout))

    def make(ctx: ConnectionContext) -> ExchangeCalendarProvider:
        return ExchangeCalendarProvider(ctx, mailboxes, threads=threads, timeout=timeout, retry=retry)

    return make
