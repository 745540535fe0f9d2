"""What every OAuth calendar provider shares: the adapter shape, the grant, errors, the scope check.

Start here when adding a provider that connects through OAuth. The connect flow
(:mod:`bot.accounts.connections`: state, storage, calendars) talks to each provider only through
the :class:`OAuthProvider` shape; the provider package implements it (``google/connect.py``,
``microsoft/connect.py``) and answers a completed consent with a :class:`Grant`. A refused or
broken sign-in is an :class:`OAuthError`; :func:`missing_scopes` is the one check that every
permission asked for was granted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.calendar.base import CalendarError


class ConnectError(Exception):
    """Connecting failed; the message is a sentence for the user."""


class OAuthError(CalendarError):
    """A connect flow failed (consent denied or incomplete, code expired or reused...).

    ``code`` says why: the service's OAuth error code (``invalid_grant``, ``access_denied``...)
    or one of Slotbot's (``scopes_missing``, with ``missing_scopes`` naming them;
    ``unavailable``, ``invalid_response``, ``no_email``, ``no_refresh_token``...). The message is
    safe to show and log.
    """

    reason = "oauth_failed"

    def __init__(self, message: str, *, code: str, missing_scopes: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.code = code
        self.missing_scopes = missing_scopes


@dataclass(frozen=True, slots=True)
class Grant:
    """What a completed consent yields: store ``credentials`` encrypted.

    ``account_email`` is the connected account ("" when the service did not say);
    ``account_id`` the service's stable account id where it has one; ``scopes`` the granted
    scopes as the service spelled them.
    """

    account_email: str
    credentials: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    account_id: str = ""
    display_name: str = ""


def granted_scopes(raw: object) -> tuple[str, ...]:
    """A token response's ``scope`` as a tuple: a space-separated string or a list of strings."""
    if isinstance(raw, str):
        return tuple(raw.split())
    if isinstance(raw, list | tuple):
        return tuple(str(scope) for scope in raw)
    return ()


def missing_scopes(
    required: Iterable[str], granted: Iterable[str], *, normalize: Callable[[str], str] = str.strip
) -> frozenset[str]:
    """The ``required`` scopes (as spelled there) whose ``normalize``-d form was not granted.

    ``normalize`` makes the two spellings comparable: Google compares scope URLs as they are;
    Microsoft compares permission names (``https://graph.microsoft.com/Calendars.Read`` and
    ``calendars.read`` are the same permission).
    """
    have = {normalize(scope) for scope in granted}
    return frozenset(scope for scope in required if normalize(scope) not in have)


class OAuthProvider(Protocol):
    """What the connect flow needs from an OAuth calendar provider (its *adapter*)."""

    kind: str
    label: str
    disclosure: str

    @property
    def enabled(self) -> bool:
        """Whether the deployment configured this provider."""
        ...

    @property
    def settings_hint(self) -> str:
        """Which settings enable it (shown when it is not configured)."""
        ...

    async def begin(
        self, *, redirect_uri: str, state: str, login_hint: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The consent URL and the flow data to keep until the callback."""
        ...

    async def finish(
        self, *, redirect_uri: str, flow: Mapping[str, Any], query: Mapping[str, str]
    ) -> Grant:
        """Exchange the callback's parameters for credentials (a refused consent never gets here)."""
        ...

    async def revoke(self, credentials: str) -> None:
        """Revoke what can be revoked at the provider."""
        ...
