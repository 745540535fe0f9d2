"""An Exchange connection's stored credentials: the mailbox, the sign-in and where EWS is, as JSON.

:func:`dump_credentials` writes ``{"v": 1, "email", "password", "username", "ews_url",
"auth_type", "version"}``; :func:`load_credentials` reads it back (unreadable credentials mean
signing in again). The whole string is a secret (it holds the password): it is stored encrypted
and never logged; :class:`ExchangeCredentials` keeps the password out of its ``repr``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from bot.calendar.base import ReauthRequired

CREDENTIALS_VERSION = 1
AUTH_TYPES = ("NTLM", "basic")
"""exchangelib's names of the sign-in methods Slotbot uses for on-premises Exchange."""


@dataclass(frozen=True, slots=True)
class ExchangeCredentials:
    """How to reach and sign in to one Exchange mailbox.

    ``username`` is the sign-in name when it is not the e-mail address (``DOMAIN\\user`` or a
    UPN); ``auth_type`` one of :data:`AUTH_TYPES` (found when connecting); ``version`` the
    server's build (``15.1.2507.6``) found when connecting, so no request is spent guessing it.
    """

    email: str
    password: str = field(repr=False)
    ews_url: str
    username: str = ""
    auth_type: str = "NTLM"
    version: str = ""

    @property
    def sign_in_name(self) -> str:
        """The name given to the server: the user name when set, else the e-mail address."""
        return self.username or self.email

    def with_password(self, password: str) -> ExchangeCredentials:
        """The same connection with a new password (the host typed it again)."""
        return replace(self, password=password)


def dump_credentials(credentials: ExchangeCredentials) -> str:
    """Serialize ``credentials`` (a secret: store it encrypted)."""
    return json.dumps(
        {
            "v": CREDENTIALS_VERSION,
            "email": credentials.email,
            "password": credentials.password,
            "username": credentials.username,
            "ews_url": credentials.ews_url,
            "auth_type": credentials.auth_type,
            "version": credentials.version,
        },
        separators=(",", ":"),
    )


def load_credentials(text: str) -> ExchangeCredentials:
    """Parse what :func:`dump_credentials` wrote; unreadable credentials mean signing in again."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CREDENTIALS_VERSION:
            raise ValueError("unknown credentials format")
        names = ("email", "password", "username", "ews_url", "auth_type", "version")
        values = {key: data[key] for key in names}
        if not all(isinstance(value, str) for value in values.values()):
            raise ValueError("malformed credentials")
        if values["auth_type"] not in AUTH_TYPES or not values["ews_url"] or not values["email"]:
            raise ValueError("malformed credentials")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired("the stored Exchange sign-in cannot be read") from None
    return ExchangeCredentials(**values)
