"""Connecting a CalDAV account (iCloud, Fastmail, Nextcloud...) with the dashboard's form, or reconnecting it.

The form (never chat) gives the server, the user name and an app password;
:func:`~bot.calendar.caldav.connect.probe` checks them against the server within a bounded time;
then :meth:`CalDavAccounts.connect` seals the credentials into the connection (a new one, or the
one being reconnected after the app password changed) and lists its calendars through
:class:`~bot.accounts.connections.Connections`, the same path as every provider.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.accounts.connections import Connected, ConnectError, Connections
from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.calendar.base import CalendarError
from bot.calendar.caldav.connect import CalDavForm, form_from_url, probe
from bot.calendar.caldav.credentials import CalDavCredentials, dump_credentials, load_credentials
from bot.calendar.caldav.provider import CalDavFactory
from bot.notices.chat import enqueue_notice
from storage.crypto import SecretBox
from storage.models import CalendarConnection, User, utcnow

KIND = "caldav"
LABEL = "CalDAV"
DISCLOSURE = (
    "Slotbot signs in to your calendar server over CalDAV with the user name and app password you "
    "give here (stored encrypted, used for nothing else). It reads the busy times of the calendars "
    "you check, and writes only the meetings booked with you into your default calendar; Slotbot "
    "e-mails the invitations to your visitors itself. It does not read your e-mail or contacts."
)

log = logging.getLogger(__name__)


def account_name(credentials: CalDavCredentials) -> str:
    """The connection's account name: the user name when it is an address, else ``user@server``."""
    name = credentials.username.strip().lower()
    if "@" in name:
        return name
    return f"{name}@{URL(credentials.server).host or 'caldav'}"


class CalDavAccounts:
    """The CalDAV form's service: connect and reconnect."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        connections: Connections,
        factory: CalDavFactory,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._connections = connections
        self._factory = factory

    async def saved_form(self, user_id: int, connection_id: int) -> CalDavForm | None:
        """The form prefilled from a connection being reconnected (the password left empty)."""
        connection = await self._connection(user_id, connection_id)
        if connection is None or not connection.credentials:
            return None
        try:
            stored = load_credentials(self._box.open(connection.credentials, purpose=CREDENTIALS_PURPOSE))
        except CalendarError:
            return CalDavForm("other", connection.account_email, "")
        return form_from_url(stored.server, stored.username)

    async def _connection(self, user_id: int, connection_id: int) -> CalendarConnection | None:
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.user_id != user_id or connection.provider != KIND:
            return None
        return connection

    async def connect(self, user_id: int, form: CalDavForm, *, reconnect_id: int | None = None) -> Connected:
        """Check the form against the server, then store the connection and list its calendars.

        Raises :class:`~bot.calendar.caldav.connect.CalDavRefused` (the form's sentence) or
        :class:`ConnectError`.
        """
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise ConnectError("Unknown user.")
        if reconnect_id is not None and await self._connection(user_id, reconnect_id) is None:
            raise ConnectError("That calendar account is not connected.")
        probed = await probe(form, factory=self._factory)
        name = account_name(probed.credentials)
        sealed = self._box.seal(dump_credentials(probed.credentials), purpose=CREDENTIALS_PURPOSE)
        async with self._sessions() as session, session.begin():
            connection = None
            if reconnect_id is not None:
                connection = await session.get(CalendarConnection, reconnect_id)
            if connection is None:
                connection = (await session.execute(select(CalendarConnection).where(
                    CalendarConnection.user_id == user_id, CalendarConnection.provider == KIND,
                    CalendarConnection.account_email == name,
                ))).scalar_one_or_none()
            if connection is None:
                connection = CalendarConnection(user_id=user_id, provider=KIND, account_email=name)
                session.add(connection)
            connection.account_email = name
            connection.credentials = sealed
            connection.status, connection.last_error = "active", None
            connection.last_checked_at, connection.incident_notified_at = utcnow(), None
            await session.flush()
            connection_id = connection.id
            enqueue_notice(session, user_id, "calendar_connected", {"account": name, "provider": KIND})
        log.info("caldav connected", extra={"connection": connection_id})
        return await self._connections.refresh_calendars(user_id, connection_id)

    async def close(self) -> None:
        """Close the CalDAV factory's HTTP session (at shutdown)."""
        await self._factory.close()
