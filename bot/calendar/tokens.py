"""Token refresh for the OAuth providers: one lock per connection, saved once per change.

Start here when a provider holds refreshable credentials (Google's google-auth, Microsoft's msal
cache; later any OAuth provider). A factory owns one :class:`TokenStore`; every provider it makes
asks it for the :class:`ConnectionTokens` of its connection, so all instances of one connection
(the scheduler makes one per question) share:

* one ``asyncio.Lock``: a single refresh at a time for the connection;
* the lineage of refreshed credentials: an instance that waited while another refreshed adopts
  the newer credentials instead of refreshing again;
* the credentials whose refresh the service refused: :class:`ReauthRequired` is remembered for
  them (not for new credentials after a reconnect), so the token endpoint is not hammered.

Refreshed credentials reach storage through ``ConnectionContext.save_credentials`` once per
change; a failing save is logged (without secrets) and not raised: the new token still works for
this run, and the next refresh saves again.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.calendar.base import ConnectionContext, ReauthRequired

log = logging.getLogger(__name__)

_LINEAGE = 8  # refreshes remembered per connection (about a working day of hourly tokens)

SameCredentials = Callable[[str, str], bool]
"""Whether two serialized credentials hold the same tokens (formatting aside)."""


@dataclass(eq=False)
class _Connection:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    successors: dict[str, str] = field(default_factory=dict)  # credentials -> refreshed from them
    refused: dict[str, ReauthRequired] = field(default_factory=dict)  # credentials -> the refusal

    def newest(self, credentials: str) -> str:
        for _ in range(_LINEAGE):
            newer = self.successors.get(credentials)
            if newer is None:
                break
            credentials = newer
        return credentials

    def succeeded(self, old: str, new: str) -> None:
        self.successors[old] = new
        while len(self.successors) > _LINEAGE:
            del self.successors[next(iter(self.successors))]

    def refuse(self, credentials: str, error: ReauthRequired) -> None:
        self.refused[credentials] = error
        while len(self.refused) > _LINEAGE:
            del self.refused[next(iter(self.refused))]


class TokenStore:
    """Token state of every connection one factory serves, keyed by connection id.

    ``provider`` names the service in log lines; ``same`` tells two serialized credentials apart
    (default: equal strings).
    """

    def __init__(self, provider: str, *, same: SameCredentials = operator.eq) -> None:
        self._provider = provider
        self._same = same
        self._connections: dict[int, _Connection] = {}

    def connection(self, context: ConnectionContext) -> ConnectionTokens:
        """The token plumbing for one provider instance of ``context``'s connection."""
        state = self._connections.get(context.connection_id)
        if state is None:
            state = self._connections[context.connection_id] = _Connection()
        return ConnectionTokens(state, context, self._provider, self._same)


class ConnectionTokens:
    """One provider instance's view of its connection's tokens (made by :class:`TokenStore`).

    :attr:`credentials` are the serialized credentials the instance uses now.
    """

    def __init__(
        self, state: _Connection, context: ConnectionContext, provider: str, same: SameCredentials
    ) -> None:
        self._state = state
        self._context = context
        self._provider = provider
        self._same = same
        self.credentials = context.credentials

    def check_refused(self) -> None:
        """Raise the remembered :class:`ReauthRequired` when these credentials were refused."""
        refused = self._state.refused.get(self.credentials)
        if refused is not None:
            raise refused

    async def refresh(
        self,
        renew: Callable[[bool], Awaitable[str | None]],
        *,
        adopt: Callable[[str], None],
        valid: Callable[[], bool],
        force: bool = False,
    ) -> None:
        """Get a usable access token, refreshing under the connection's lock when needed.

        Under the lock: a remembered refusal is raised; credentials another instance refreshed
        from ours are adopted (``adopt``); then, unless ``valid()`` says the token now in hand is
        good (never trusted after ``force``, a 401, unless it was just adopted), ``renew(force)``
        refreshes (a blocking call in a thread, typically) and returns the serialized
        credentials after it (None: unchanged), which are saved. A :class:`ReauthRequired` from
        ``renew`` is remembered for these credentials.
        """
        async with self._state.lock:
            self.check_refused()
            newer = self._state.newest(self.credentials)
            adopted = newer != self.credentials
            if adopted:
                adopt(newer)
                self.credentials = newer
            if (adopted or not force) and valid():
                return
            try:
                current = await renew(force and not adopted)
            except ReauthRequired as exc:
                self._state.refuse(self.credentials, exc)
                raise
            if current is not None:
                await self.save(current)

    async def save(self, current: str) -> None:
        """Hand ``current`` to the connection's storage unless it holds the same tokens as before."""
        previous = self.credentials
        if self._same(current, previous):
            return
        self._state.succeeded(previous, current)
        self.credentials = current
        try:
            await self._context.save_credentials(current)
        except Exception as exc:
            log.warning(
                "%s: saving refreshed credentials of connection %s failed (%s)",
                self._provider,
                self._context.connection_id,
                type(exc).__name__,
            )
