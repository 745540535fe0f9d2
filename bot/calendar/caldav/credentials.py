"""A CalDAV connection's stored credentials: the server, the sign-in and where the calendars are, as JSON.

:func:`dump_credentials` writes ``{"v": 1, "server", "username", "password", "principal", "home",
"addresses"}``; :func:`load_credentials` reads it back (unreadable credentials mean signing in
again). The whole string is a secret (it holds the app password): it is stored encrypted and never
logged; :class:`CalDavCredentials` keeps the password out of its ``repr``. The principal and home
found when connecting are kept, so reading busy time spends no request on discovery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.calendar.base import ReauthRequired

CREDENTIALS_VERSION = 1


@dataclass(frozen=True, slots=True)
class CalDavCredentials:
    """How to reach and sign in to one CalDAV account.

    ``server`` is the URL the host entered (kept for reconnecting); ``principal`` and ``home`` the
    URLs discovery found; ``addresses`` the host's own calendar addresses (declined invitations).
    """

    server: str
    username: str
    password: str = field(repr=False)
    principal: str = ""
    home: str = ""
    addresses: tuple[str, ...] = ()

    @property
    def own_addresses(self) -> tuple[str, ...]:
        """The addresses that are the host's: the user name when it is one, and the server's."""
        found = [self.username.lower()] if "@" in self.username else []
        return tuple(dict.fromkeys([*found, *self.addresses]))


def dump_credentials(credentials: CalDavCredentials) -> str:
    """Serialize ``credentials`` (a secret: store it encrypted)."""
    return json.dumps(
        {
            "v": CREDENTIALS_VERSION,
            "server": credentials.server,
            "username": credentials.username,
            "password": credentials.password,
            "principal": credentials.principal,
            "home": credentials.home,
            "addresses": list(credentials.addresses),
        },
        separators=(",", ":"),
    )


def load_credentials(text: str) -> CalDavCredentials:
    """Parse what :func:`dump_credentials` wrote; unreadable credentials mean signing in again."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CREDENTIALS_VERSION:
            raise ValueError("unknown credentials format")
        names = ("server", "username", "password", "principal", "home")
        values = {key: data[key] for key in names}
        addresses = data.get("addresses", [])
        if not all(isinstance(value, str) for value in values.values()) or not values["home"]:
            raise ValueError("malformed credentials")
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ValueError("malformed credentials")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired("the stored CalDAV sign-in cannot be read") from None
    return CalDavCredentials(**values, addresses=tuple(addresses))
