"""The last good copy of each feed and how fetching it goes: the ``feed_states`` table.

:class:`FeedStore` is the one place that reads and writes it. Readers take a
:class:`FeedSnapshot` (everything but the body, so a reader with a parsed copy in memory never
loads the text) and the body only when they need it. Refreshes claim a due feed with a
conditional update (:meth:`FeedStore.claim`), so two app processes never fetch it at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FeedState


def body_hash(text: str) -> str:
    """The SHA-256 (hex) a stored body is known by."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_body(data: bytes) -> str:
    """A fetched body as text to store: UTF-8 (unreadable bytes replaced), no NUL characters."""
    text = data.decode("utf-8", errors="replace")
    return text.replace("\x00", "")


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """A feed's row without its body."""

    connection_id: int
    body_hash: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime | None
    checked_at: datetime | None
    failing_since: datetime | None
    last_error: str | None
    next_refresh_at: datetime
    free_as_busy: bool


_COLUMNS = (
    FeedState.connection_id, FeedState.body_hash, FeedState.etag, FeedState.last_modified,
    FeedState.fetched_at, FeedState.checked_at, FeedState.failing_since, FeedState.last_error,
    FeedState.next_refresh_at, FeedState.free_as_busy,
)


def _snapshot(row: Any) -> FeedSnapshot:
    return FeedSnapshot(**{column.key: value for column, value in zip(_COLUMNS, row, strict=True)})


class FeedStore:
    """Reads and writes ``feed_states`` (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def snapshot(self, connection_id: int) -> FeedSnapshot | None:
        """The feed's row without its body (None: no such feed)."""
        async with self._sessions() as session:
            row = (await session.execute(
                select(*_COLUMNS).where(FeedState.connection_id == connection_id)
            )).one_or_none()
        return None if row is None else _snapshot(row)

    async def snapshots(self, connection_ids: list[int]) -> dict[int, FeedSnapshot]:
        """The rows of several feeds, by connection id (the dashboard's view)."""
        if not connection_ids:
            return {}
        async with self._sessions() as session:
            rows = (await session.execute(
                select(*_COLUMNS).where(FeedState.connection_id.in_(connection_ids))
            )).all()
        return {row[0]: _snapshot(row) for row in rows}

    async def body(self, connection_id: int) -> str | None:
        """The stored copy's text (None: nothing fetched yet)."""
        async with self._sessions() as session:
            return (await session.execute(
                select(FeedState.body).where(FeedState.connection_id == connection_id)
            )).scalar_one_or_none()

    async def due(self, now: datetime, limit: int = 50) -> list[int]:
        """Connection ids of the feeds due for a refresh, the most overdue first."""
        async with self._sessions() as session:
            return list((await session.execute(
                select(FeedState.connection_id).where(FeedState.next_refresh_at <= now)
                .order_by(FeedState.next_refresh_at).limit(limit)
            )).scalars())

    async def claim(self, connection_id: int, now: datetime, until: datetime) -> bool:
        """Take a due feed for refreshing (pushes its next refresh to ``until``); False: someone else did."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(FeedState)
                .where(FeedState.connection_id == connection_id, FeedState.next_refresh_at <= now)
                .values(next_refresh_at=until)
                .execution_options(synchronize_session=False)
            )
        return getattr(result, "rowcount", 0) == 1

    async def succeeded(
        self, session: AsyncSession, connection_id: int, *, text: str | None, etag: str | None,
        last_modified: str | None, now: datetime, next_at: datetime,
    ) -> None:
        """Record a good fetch in ``session``: a new body (``text``), or a 304 (``text`` None)."""
        state = await session.get(FeedState, connection_id)
        if state is None:
            state = FeedState(connection_id=connection_id)
            session.add(state)
        if text is not None:
            state.body, state.body_hash = text, body_hash(text)
            state.etag, state.last_modified = etag, last_modified
        else:  # 304: the server may send fresh validators, else the stored ones stay right
            state.etag = etag or state.etag
            state.last_modified = last_modified or state.last_modified
        state.fetched_at = state.checked_at = now
        state.failing_since, state.last_error = None, None
        state.next_refresh_at = next_at

    async def failed(
        self, connection_id: int, error: str, *, now: datetime, next_at: datetime
    ) -> datetime | None:
        """Record a failed fetch; when the failures began (None: the feed is gone)."""
        async with self._sessions() as session, session.begin():
            state = await session.get(FeedState, connection_id)
            if state is None:
                return None
            state.failing_since = state.failing_since or now
            state.checked_at, state.last_error = now, error[:2000]
            state.next_refresh_at = next_at
            return state.failing_since

    async def set_free_as_busy(self, connection_id: int, value: bool) -> bool:
        """Switch "count events shown as free as busy"; False when there is no such feed."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(FeedState).where(FeedState.connection_id == connection_id)
                .values(free_as_busy=value).execution_options(synchronize_session=False)
            )
        return getattr(result, "rowcount", 0) == 1
