"""Connecting, reconnecting and disconnecting calendar accounts (OAuth providers).

The walk: :meth:`Connections.begin` makes a single-use ``state`` bound to the user and returns the
provider's consent URL (PKCE inside) -> the provider redirects to the callback ->
:meth:`Connections.finish` consumes the state, exchanges the code, stores the credentials sealed,
lists the calendars the account can access (the primary one becomes the default when the user
has none) and returns a summary for the dashboard and the chat confirmation.

Each OAuth provider is adapted to one small :class:`~bot.calendar.oauth.OAuthProvider` shape,
implemented in its own package (``bot/calendar/google/connect.py``...), so this flow and the
handlers do not know Google from Microsoft.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.credentials import CREDENTIALS_PURPOSE, credential_saver
from bot.accounts.tokens import Tokens, new_secret
from bot.calendar.base import (
    AccessRole,
    CalendarError,
    ConnectionContext,
    ProviderRegistry,
)
from bot.calendar.google.connect import GoogleConnect
from bot.calendar.microsoft.connect import MicrosoftConnect
from bot.calendar.oauth import ConnectError, OAuthProvider
from bot.notices.chat import enqueue_notice
from bot.settings import Settings
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection, User, utcnow

__all__ = [
    "ConnectError",
    "Connected",
    "Connections",
    # The adapters live in their provider packages; importable here for bot/app.py.
    "GoogleConnect",
    "MicrosoftConnect",
    "OAuthProvider",
]

log = logging.getLogger(__name__)


def _refused(error: str) -> str:
    if error == "access_denied":
        return "You did not allow access, so nothing was connected."
    return "The sign-in did not complete, so nothing was connected. Please try again."


@dataclass(frozen=True, slots=True)
class Connected:
    """What a completed connect produced, for the dashboard and the chat confirmation."""

    user_id: int
    connection_id: int
    provider: str
    account_email: str
    calendars: tuple[str, ...]
    default_calendar: str | None


class Connections:
    """Connect flows and connection management for every OAuth provider."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        tokens: Tokens,
        registry: ProviderRegistry,
        providers: Mapping[str, OAuthProvider],
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._box = box
        self._tokens = tokens
        self._registry = registry
        self.providers = dict(providers)
        self.before_disconnect: list[Callable[[int], Awaitable[None]]] = []
        """Called with a connection's id while its credentials still work (calendar sync stops its
        push channels there)."""

    def redirect_uri(self, kind: str) -> str:
        """The exact callback URL registered with the provider."""
        return f"{self._settings.base_url}/oauth/{kind}/callback"

    def provider(self, kind: str) -> OAuthProvider:
        """The provider ``kind``, or :class:`ConnectError` when unknown or not configured."""
        found = self.providers.get(kind)
        if found is None:
            raise ConnectError(f"{kind!r} is not a calendar service Slotbot can connect.")
        if not found.enabled:
            raise ConnectError(f"{found.label} is not set up on this server ({found.settings_hint}).")
        return found

    async def begin(self, user_id: int, kind: str, *, reconnect_id: int | None = None) -> str:
        """The consent URL for ``user_id`` connecting ``kind`` (needs an e-mail on the profile)."""
        provider = self.provider(kind)
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise ConnectError("Unknown user.")
        if not user.email:
            raise ConnectError(
                "Add an e-mail address to your profile first: Slotbot needs it to send meeting "
                "invitations and to tell you when a calendar needs attention."
            )
        state = new_secret()
        url, flow = await provider.begin(
            redirect_uri=self.redirect_uri(kind), state=state, login_hint=user.email
        )
        await self._tokens.oauth_state(user_id, kind, flow, reconnect_id=reconnect_id, state=state)
        return url

    async def finish(
        self, kind: str, query: Mapping[str, str], *, session_user: int | None
    ) -> Connected:
        """Complete a connect from the callback's query parameters."""
        provider = self.provider(kind)
        pending = await self._tokens.consume_state(query.get("state"), kind, user_id=session_user)
        if "error" in query:  # the provider reports a refused consent as OAuth's ``error``
            raise ConnectError(_refused(query["error"]))
        try:
            grant = await provider.finish(
                redirect_uri=self.redirect_uri(kind), flow=pending.flow, query=query
            )
        except CalendarError as exc:
            log.warning("connect failed", extra={"provider": kind, "reason": exc.reason})
            raise ConnectError(
                "The calendar service refused the sign-in, so nothing was connected. Please try again."
            ) from None
        sealed = self._box.seal(grant.credentials, purpose=CREDENTIALS_PURPOSE)
        async with self._sessions() as session, session.begin():
            connection = (
                await session.execute(
                    select(CalendarConnection).where(
                        CalendarConnection.user_id == pending.user_id,
                        CalendarConnection.provider == kind,
                        CalendarConnection.account_email == grant.account_email,
                    )
                )
            ).scalar_one_or_none()
            if connection is None:
                connection = CalendarConnection(
                    user_id=pending.user_id, provider=kind, account_email=grant.account_email
                )
                session.add(connection)
            connection.credentials = sealed
            connection.status, connection.last_error = "active", None
            connection.last_checked_at, connection.incident_notified_at = utcnow(), None
            await session.flush()
            connection_id = connection.id
            enqueue_notice(session, pending.user_id, "calendar_connected",
                           {"account": grant.account_email, "provider": kind})
        return await self.refresh_calendars(pending.user_id, connection_id)

    async def refresh_calendars(self, user_id: int, connection_id: int) -> Connected:
        """List the account's calendars again and store them (new ones are not checked yet)."""
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.user_id != user_id:
            raise ConnectError("That calendar account is not connected.")
        provider = self._registry.create(
            connection.provider,
            ConnectionContext(
                connection_id=connection.id,
                account_email=connection.account_email,
                credentials=self._box.open(connection.credentials, purpose=CREDENTIALS_PURPOSE),
                save_credentials=credential_saver(self._sessions, self._box, connection.id),
            ),
        )
        try:
            found = await provider.list_calendars()
        except CalendarError as exc:
            raise ConnectError(
                f"Connected, but the calendars could not be listed yet ({exc.reason}). "
                "Use “refresh” on the dashboard in a moment."
            ) from None
        async with self._sessions() as session, session.begin():
            existing = {
                row.external_id: row
                for row in (
                    await session.execute(
                        select(Calendar).where(Calendar.connection_id == connection_id)
                    )
                ).scalars()
            }
            has_default = (
                await session.execute(
                    select(func.count()).where(Calendar.user_id == user_id, Calendar.is_default)
                )
            ).scalar_one() > 0
            for info in found:
                row = existing.get(info.external_id)
                if row is None:
                    row = Calendar(
                        connection_id=connection_id,
                        user_id=user_id,
                        external_id=info.external_id,
                        checks_conflicts=info.is_primary,
                    )
                    session.add(row)
                row.name, row.access_role = info.name[:255], info.access_role.value
                row.time_zone, row.status, row.last_error = info.time_zone, "active", None
                if info.is_primary and not has_default and info.access_role is AccessRole.OWNER:
                    row.is_default, has_default = True, True
                    row.checks_conflicts = True
            await session.flush()
            rows = (
                await session.execute(select(Calendar).where(Calendar.connection_id == connection_id))
            ).scalars().all()
        default = next((r.name for r in rows if r.is_default), None)
        return Connected(
            user_id=user_id,
            connection_id=connection_id,
            provider=connection.provider,
            account_email=connection.account_email,
            calendars=tuple(r.name for r in rows),
            default_calendar=default,
        )

    async def disconnect(self, user_id: int, connection_id: int) -> None:
        """Revoke at the provider (best effort), then delete the secrets and the calendars."""
        async with self._sessions() as session:
            connection = await session.get(CalendarConnection, connection_id)
        if connection is None or connection.user_id != user_id:
            raise ConnectError("That calendar account is not connected.")
        for listener in self.before_disconnect:
            await listener(connection_id)
        oauth = self.providers.get(connection.provider)
        if oauth is not None and oauth.enabled and connection.credentials:
            try:
                await oauth.revoke(
                    self._box.open(connection.credentials, purpose=CREDENTIALS_PURPOSE)
                )
            except CalendarError as exc:  # the secrets are deleted anyway
                log.warning("revoke failed", extra={"provider": connection.provider, "reason": exc.reason})
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(CalendarConnection).where(
                    CalendarConnection.id == connection_id, CalendarConnection.user_id == user_id
                )
            )
