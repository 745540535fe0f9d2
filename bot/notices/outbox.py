"""The durable outbox: side effects (calendar writes, e-mails, chat messages) leave through here.

A service writes its business rows and :func:`enqueue` s its side effects in one transaction, so
a crash loses nothing. The in-process :class:`OutboxWorker` claims due messages, runs the handler
registered for their ``kind`` and records the outcome:

* success -> ``done`` (never run again, also across restarts);
* failure -> retried later with exponential backoff and jitter, up to ``max_attempts``, then ``dead``;
* :class:`PermanentFailure` -> ``dead`` at once (retrying cannot help);
* ``dead`` (either way) enqueues the message's follow-ups, if it has any (tell the host);
* a worker that died mid-message leaves a ``running`` row whose lease expires; it is then retried.

A payload's secrets (an e-mail's text with its manage link) are sealed while it waits and dropped
once it is delivered, when the row keeps only an audit record (:mod:`bot.notices.envelope`).

The worker holds no transaction while a handler runs: it claims a batch in one short transaction
(the rows become ``running`` with a lease), runs the handlers outside any transaction, and records
each outcome in another short one. So on SQLite the write lock is never held across a side effect's
network I/O, and a booking never waits for an e-mail to leave.

Claiming lets several workers (processes) share one database: on PostgreSQL the batch is selected
``FOR UPDATE SKIP LOCKED`` (a worker skips the rows another is claiming instead of waiting for
them); on SQLite, where writes are serialized anyway, each row is taken by a conditional
``UPDATE``. Delivery is at-least-once: handlers make their effect idempotent (e.g. by event uid).

The worker wakes as soon as a transaction that enqueued a message commits, when its session came
from a factory given to :func:`wake_on_commit`; otherwise it finds the message at its next poll.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.notices.envelope import Message, delivered, follow_ups, unwrap, wrap
from storage.crypto import SecretBox, SecretKeyError
from storage.db import secret_box
from storage.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Clock = Callable[[], datetime]

WAKE_INFO = "slotbot.outbox.wake"  # session.info: called after a commit that enqueued a message
_ENQUEUED = "slotbot.outbox.enqueued"  # session.info: this transaction added a message
_HOOKED = "slotbot.outbox.hooked"  # session.info: the commit listeners are on this session


class PermanentFailure(Exception):
    """Raised by a handler when retrying can never succeed (bad payload, gone for good)."""


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    secret: Collection[str] = (),
    audit: Mapping[str, Any] | None = None,
    on_dead: Sequence[Message] = (),
    dedupe_key: str | None = None,
    delay: timedelta = timedelta(0),
    max_attempts: int = 8,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a side effect to ``session``; it is sent only if the surrounding transaction commits.

    ``secret`` fields are sealed until delivery and dropped after it; ``audit`` is what the row
    keeps once delivered; ``on_dead`` are sent if it fails for good (see
    :class:`~bot.notices.envelope.Message`).
    """
    stored = wrap(Message(kind, payload, secret=secret, audit=audit, on_dead=on_dead), secret_box(session))
    return _add(session, kind, stored, dedupe_key=dedupe_key, max_attempts=max_attempts,
                due=(now or utcnow()) + delay)


def _add(session: AsyncSession, kind: str, stored: dict[str, Any], *, due: datetime,
         dedupe_key: str | None = None, max_attempts: int = 8) -> OutboxMessage:
    message = OutboxMessage(kind=kind, payload=stored, dedupe_key=dedupe_key, max_attempts=max_attempts,
                            next_attempt_at=due)
    session.add(message)
    _wake_after_commit(session.sync_session)
    return message


def wake_on_commit(sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None]) -> None:
    """Have every session of ``sessions`` call ``wake`` (in the event loop) after a commit that
    enqueued a message, so the worker runs it at once instead of at its next poll."""
    sessions.configure(info={**sessions.kw.get("info", {}), WAKE_INFO: wake})


def _wake_after_commit(session: Session) -> None:
    """Mark ``session``'s transaction as one that enqueued; the first time, hook its commit."""
    info = session.info
    if WAKE_INFO not in info:
        return
    info[_ENQUEUED] = True
    if not info.get(_HOOKED):
        info[_HOOKED] = True
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_rollback", _rolled_back)


def _committed(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        wake = session.info.get(WAKE_INFO)
        if callable(wake):
            wake()


def _rolled_back(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


class OutboxWorker:
    """Works the outbox in the background of one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        poll_seconds: float = 2.0,
        lease: timedelta = timedelta(minutes=5),
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        batch_size: int = 20,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._handlers = dict(handlers)
        self._poll = poll_seconds
        self._lease = lease
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._batch = batch_size
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def register(self, kind: str, handler: Handler) -> None:
        """Register the handler for ``kind`` (one per kind)."""
        if kind in self._handlers:
            raise ValueError(f"outbox handler for {kind!r} already registered")
        self._handlers[kind] = handler

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the next try after ``attempts`` failed tries (exponential, jittered)."""
        ceiling = min(self._max_delay, self._base_delay * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=ceiling * (0.5 + self._rng.random() / 2))

    def wake(self) -> None:
        """Ask the worker to look for due messages now (after an enqueue commits); safe to call
        from another thread."""
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def run_once(self) -> int:
        """Claim and run every message due now; return how many were run."""
        ran = 0
        while True:
            claimed = await self._claim()
            if not claimed:
                return ran
            for message_id, kind, payload in claimed:
                await self._run(message_id, kind, payload)
                ran += 1

    async def _claim(self) -> list[tuple[int, str, dict[str, Any] | SecretKeyError]]:
        """Take up to one batch of due messages (``running``, leased) in one short transaction."""
        now = self._clock()
        due = or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == "running", OutboxMessage.locked_until < now),
        )
        taken = {"status": "running", "locked_until": now + self._lease,
                 "attempts": OutboxMessage.attempts + 1}
        query = (
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(self._batch)
        )
        claimed: list[tuple[int, str, dict[str, Any] | SecretKeyError]] = []
        async with self._sessions() as session, session.begin():
            box = secret_box(session)
            if session.get_bind().dialect.name == "postgresql":
                # Rows another worker is claiming are locked: skip them rather than wait.
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                if rows:
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_([row[0] for row in rows]))
                        .values(**taken)
                        .execution_options(synchronize_session=False)
                    )
                return [(message_id, kind, _opened(kind, payload, box)) for message_id, kind, payload in rows]
            for message_id, kind, payload in (await session.execute(query)).all():
                result = await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, due)
                    .values(**taken)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((message_id, kind, _opened(kind, payload, box)))
        return claimed

    async def _run(self, message_id: int, kind: str, payload: dict[str, Any] | SecretKeyError) -> None:
        handler = self._handlers.get(kind)
        error: str | None = None
        permanent = False
        if handler is None:
            error, permanent = f"no handler for outbox kind {kind!r}", True
        elif isinstance(payload, SecretKeyError):
            error, permanent = f"the payload cannot be opened: {payload}", True
        else:
            try:
                await handler(payload)
            except PermanentFailure as exc:
                error, permanent = _describe(exc), True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a side effect failed: retry later
                error = _describe(exc)
        await self._record(message_id, kind, error, permanent)

    async def _record(self, message_id: int, kind: str, error: str | None, permanent: bool) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            message = await session.get(OutboxMessage, message_id)
            if message is None or message.status != "running":
                return
            message.locked_until = None
            if error is None:
                message.status, message.done_at, message.last_error = "done", now, None
                message.payload = delivered(message.payload)
                log.info("outbox message done", extra={"outbox_id": message_id, "kind": kind})
                return
            message.last_error = error[:2000]
            if permanent or message.attempts >= message.max_attempts:
                message.status = "dead"
                log.error(
                    "outbox message failed for good",
                    extra={"outbox_id": message_id, "kind": kind, "error": error},
                )
                for follow_kind, stored in follow_ups(message.payload):  # e.g. tell the host
                    _add(session, follow_kind, stored, due=now)
            else:
                message.status = "pending"
                message.next_attempt_at = now + self.backoff(message.attempts)
                log.warning(
                    "outbox message failed, will retry",
                    extra={"outbox_id": message_id, "kind": kind, "error": error},
                )

    async def idle_seconds(self) -> float:
        """How long the worker may sleep: until the next pending message is due, at most one poll
        interval (a message due later needs no new enqueue to be picked up at its time)."""
        async with self._sessions() as session:
            due = (await session.execute(
                select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
            )).scalar_one_or_none()
        if due is None:
            return self._poll
        return min(self._poll, max(0.0, (due - self._clock()).total_seconds()))

    async def run_forever(self) -> None:
        """Work the outbox until cancelled, waking on :meth:`wake`, when the next message is due (a
        reminder planned for later) or every poll interval, whichever comes first.

        After a pass that failed (the database is down, say) it waits a whole poll interval, woken
        or not: a message that is due but cannot be worked must not keep the loop spinning.
        """
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker pass failed")
                self._wake.clear()
                await asyncio.sleep(self._poll)
                continue
            try:
                timeout = await self.idle_seconds()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker could not read the next due time")
                timeout = self._poll
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        """Start working in the background of the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="outbox-worker")

    async def stop(self) -> None:
        """Stop the background task (a message being run is retried after its lease)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _opened(kind: str, stored: dict[str, Any], box: SecretBox | None) -> dict[str, Any] | SecretKeyError:
    """The handler's payload, or why it cannot be had (recorded as a permanent failure)."""
    try:
        return unwrap(kind, stored, box)
    except SecretKeyError as exc:
        return exc


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
