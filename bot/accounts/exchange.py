"""Connecting an Exchange mailbox with the dashboard's form, reconnecting it, adding colleagues.

The form (never chat) gives the mailbox's address and password; :func:`~bot.calendar.exchange.
connect.probe` checks them against the server within a bounded time; then
:meth:`ExchangeAccounts.connect` seals the credentials into the connection (a new one, or the one
being reconnected after a password change) and lists its calendars through
:class:`~bot.accounts.connections.Connections`, the same path as every provider. A colleague's
calendar is added by address (EWS has no list of calendars shared with a user).
"""

from __future__ import annotations

import logging
from pathlib import Path

import requests.adapters
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.connections import Connected, ConnectError, Connections
from bot.accounts.credentials import CREDENTIALS_PURPOSE, credential_saver
from bot.calendar.base import CalendarError, ConnectionContext, ProviderRegistry
from bot.calendar.exchange.connect import ExchangeForm, ExchangeRefused, probe
from bot.calendar.exchange.credentials import dump_credentials, load_credentials
from bot.calendar.exchange.provider import ExchangeCalendarProvider
from bot.calendar.ssrf import AddressPolicy
from bot.calendar.threads import WorkerThreads
from bot.notices.chat import enqueue_notice
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection, User, utcnow

KIND = "exchange"
LABEL = "Microsoft Exchange"
DISCLOSURE = (
    "Slotbot signs in to your mailbox over Exchange Web Services with the password you give here "
    "(stored encrypted, used for nothing else). It reads the busy times of the calendars you "
    "check, and writes only the meetings booked with you into your default calendar, sending "
    "the invitations from your mailbox. It does not read your e-mail."
)

log = logging.getLogger(__name__)


class ExchangeAccounts:
    """The Exchange form's service: connect, reconnect and add colleagues' calendars."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        connections: Connections,
        registry: ProviderRegistry,
        *,
        policy: AddressPolicy,
        adapter: type[requests.adapters.HTTPAdapter],
        threads: WorkerThreads,
        data_dir: Path,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._connections = connections
        self._registry = registry
        self._policy = policy
        self._adapter = adapter
        self._threads = threads
        self._data_dir = data_dir

    async def saved_form(self, user_id: int, connection_id: int) -> ExchangeForm | None:
        """The form prefilled from a connection being reconnected (the password left empty)."""
        connection = await self._connection(user_id, connection_id)
        if connection is None or not connection.credentials:
            return None
        try:
            stored = load_credentials(self._box.open(connection.credentials, purpose=CREDENTIALS_PURPOSE))
        except CalendarError:
            return ExchangeForm(email=connection.account_email, password="")
        return ExchangeForm(stored.email, "", stored.username, stored.ews_url, "")

    async def _connection(self, user_id: int, connection_id: int) -> CalendarConnection | None:
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.user_id != user_id or connection.provider != KIND:
            return None
        return connection

    async def connect(
        self, user_id: int, form: ExchangeForm, *, reconnect_id: int | None = None
    ) -> Connected:
        """Check the form against the server, then store the connection and list its calendars.

        Raises :class:`ExchangeRefused` (the form's sentence) or :class:`ConnectError`.
        """
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise ConnectError("Unknown user.")
        probed = await probe(form, policy=self._policy, adapter=self._adapter, threads=self._threads,
                             data_dir=self._data_dir)
        credentials = probed.credentials
        sealed = self._box.seal(dump_credentials(credentials), purpose=CREDENTIALS_PURPOSE)
        async with self._sessions() as session, session.begin():
            connection = None
            if reconnect_id is not None:
                connection = await session.get(CalendarConnection, reconnect_id)
                if connection is None or connection.user_id != user_id or connection.provider != KIND:
                    raise ConnectError("That calendar account is not connected.")
            if connection is None:
                connection = (await session.execute(select(CalendarConnection).where(
                    CalendarConnection.user_id == user_id, CalendarConnection.provider == KIND,
                    CalendarConnection.account_email == credentials.email.lower(),
                ))).scalar_one_or_none()
            if connection is None:
                connection = CalendarConnection(user_id=user_id, provider=KIND,
                                                account_email=credentials.email.lower())
                session.add(connection)
            connection.account_email = credentials.email.lower()
            connection.credentials = sealed
            connection.status, connection.last_error = "active", None
            connection.last_checked_at, connection.incident_notified_at = utcnow(), None
            await session.flush()
            connection_id = connection.id
            enqueue_notice(session, user_id, "calendar_connected",
                           {"account": credentials.email.lower(), "provider": KIND})
        log.info("exchange connected", extra={"connection": connection_id})
        return await self._connections.refresh_calendars(user_id, connection_id)

    async def add_colleague(self, user_id: int, connection_id: int, email: str) -> str:
        """Add a colleague's calendar by address (checked for conflicts); its name.

        Raises :class:`ExchangeRefused` when the address is not a mailbox sharing anything.
        """
        connection = await self._connection(user_id, connection_id)
        if connection is None:
            raise ConnectError("That calendar account is not connected.")
        address = email.strip().lower()
        if "@" not in address or len(address) > 254:
            raise ExchangeRefused("Enter your colleague's e-mail address.", field="colleague")
        provider = self._registry.create(KIND, ConnectionContext(
            connection_id=connection.id,
            account_email=connection.account_email,
            credentials=self._box.open(connection.credentials, purpose=CREDENTIALS_PURPOSE),
            save_credentials=credential_saver(self._sessions, self._box, connection.id),
        ))
        if not isinstance(provider, ExchangeCalendarProvider):
            raise ConnectError("Exchange is not set up on this server.")
        try:
            info = await provider.colleague(address)
        except CalendarError as exc:
            if exc.reason == "access_lost":
                raise ExchangeRefused(
                    f"{address} does not share a calendar (or free/busy time) with "
                    f"{connection.account_email}.",
                    field="colleague",
                ) from None
            raise ExchangeRefused(f"Exchange could not be asked about {address} just now. Try again later.",
                                  field="colleague") from None
        async with self._sessions() as session, session.begin():
            row = (await session.execute(select(Calendar).where(
                Calendar.connection_id == connection_id, Calendar.external_id == info.external_id,
            ))).scalar_one_or_none()
            if row is None:
                row = Calendar(connection_id=connection_id, user_id=user_id, external_id=info.external_id,
                               checks_conflicts=True)
                session.add(row)
            row.name, row.access_role = info.name, info.access_role.value
            row.status, row.last_error = "active", None
        return info.name
