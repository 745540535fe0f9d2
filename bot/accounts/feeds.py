"""Adding a calendar by its address (an ICS feed), refreshing it on demand, its free-as-busy switch.

The dashboard's form (never chat: the address is a secret that grants read access) gives the
feed's ``https://`` or ``webcal://`` address. :meth:`FeedAccounts.add` checks it against the SSRF
policy, fetches it once (the same fetcher and limits as every refresh) and checks that it is a
calendar; then it seals the address into the connection's credentials, stores the first copy
(``feed_states``) and lists the one calendar through
:class:`~bot.accounts.connections.Connections`, the path every provider takes. The connection is
named ``host #hint`` (:func:`~bot.calendar.feeds.credentials.feed_label`); the address is never
shown back, logged or put in a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.connections import Connected, ConnectError, Connections
from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.calendar.base import CalendarError
from bot.calendar.feeds.credentials import FeedCredentials, dump_credentials, feed_address, feed_label
from bot.calendar.feeds.provider import KIND
from bot.calendar.feeds.refresh import FeedRefresher, Refreshed
from bot.calendar.feeds.store import FeedSnapshot, FeedStore
from bot.notices.chat import enqueue_notice
from storage.crypto import SecretBox
from storage.models import CalendarConnection, FeedState, User, utcnow

LABEL = "Calendar feed (ICS)"
DISCLOSURE = (
    "Slotbot downloads the calendar at this address every 15 to 60 minutes and reads only when "
    "its events take place, to keep that time free of bookings. It cannot change this calendar, "
    "so bookings never land in it. The address works like a password (anyone holding it can "
    "read the calendar): Slotbot stores it encrypted and never shows it again."
)

log = logging.getLogger(__name__)


class FeedRefused(Exception):
    """The address could not be added; the message is the form's sentence (no address in it)."""


@dataclass(frozen=True, slots=True)
class FeedView:
    """What the dashboard shows of one feed."""

    free_as_busy: bool
    fetched_at: datetime | None
    failing_since: datetime | None
    last_error: str | None


class FeedAccounts:
    """The feed form's service: add a feed, refresh it now, switch free-as-busy."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        connections: Connections,
        store: FeedStore,
        refresher: FeedRefresher,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._connections = connections
        self._store = store
        self.refresher = refresher

    async def add(self, user_id: int, address: str, *, free_as_busy: bool = False) -> Connected:
        """Check and fetch ``address``, then store the feed and its calendar.

        Raises :class:`FeedRefused` (the form's sentence) or :class:`ConnectError`.
        """
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise ConnectError("Unknown user.")
        if not address.strip():
            raise FeedRefused("Enter the calendar's address (it starts with https:// or webcal://).")
        try:
            url = str(self.refresher.fetcher.check(feed_address(address)))
            fetched, text = await self.refresher.fetch_checked(url, label=feed_label(url))
        except CalendarError as exc:
            raise FeedRefused(str(exc)) from None
        assert text is not None  # an unconditional fetch always has a body
        label = feed_label(url)
        sealed = self._box.seal(dump_credentials(FeedCredentials(url)), purpose=CREDENTIALS_PURPOSE)
        now = utcnow()
        async with self._sessions() as session, session.begin():
            connection = (await session.execute(select(CalendarConnection).where(
                CalendarConnection.user_id == user_id, CalendarConnection.provider == KIND,
                CalendarConnection.account_email == label,
            ))).scalar_one_or_none()
            if connection is None:
                connection = CalendarConnection(user_id=user_id, provider=KIND, account_email=label)
                session.add(connection)
            connection.credentials = sealed
            connection.status, connection.last_error = "active", None
            connection.last_checked_at, connection.incident_notified_at = now, None
            await session.flush()
            connection_id = connection.id
            await self._store.succeeded(
                session, connection_id, text=text, etag=fetched.etag, last_modified=fetched.last_modified,
                now=now, next_at=self.refresher.policy.after_success(now, fetched.max_age),
            )
            state = await session.get(FeedState, connection_id)
            assert state is not None
            state.free_as_busy = free_as_busy
            enqueue_notice(session, user_id, "calendar_connected", {"account": label, "provider": KIND})
        log.info("calendar feed added", extra={"connection": connection_id})
        return await self._connections.refresh_calendars(user_id, connection_id)

    async def _own(self, user_id: int, connection_id: int) -> CalendarConnection:
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.user_id != user_id or connection.provider != KIND:
            raise ConnectError("That calendar feed is not set up.")
        return connection

    async def refresh(self, user_id: int, connection_id: int) -> Refreshed:
        """Fetch the host's feed now (the dashboard's "Refresh")."""
        await self._own(user_id, connection_id)
        return await self.refresher.refresh(connection_id)

    async def set_free_as_busy(self, user_id: int, connection_id: int, value: bool) -> None:
        """Count (or stop counting) the feed's events shown as free as busy."""
        await self._own(user_id, connection_id)
        if not await self._store.set_free_as_busy(connection_id, value):
            raise ConnectError("That calendar feed is not set up.")

    async def views(self, connection_ids: list[int]) -> dict[int, FeedView]:
        """The dashboard's view of the given feed connections, by id."""
        found: dict[int, FeedSnapshot] = await self._store.snapshots(connection_ids)
        return {
            cid: FeedView(s.free_as_busy, s.fetched_at, s.failing_since, s.last_error)
            for cid, s in found.items()
        }
