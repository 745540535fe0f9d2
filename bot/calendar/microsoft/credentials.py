"""A Microsoft connection's stored credentials: the account and its msal token cache, as JSON.

:func:`dump_credentials` writes ``{"v": 1, "home_account_id": ..., "msal_cache": ...}``;
:func:`load_credentials` reads it back (unreadable credentials mean reconnecting). The whole string
is a secret (it holds refresh, access and ID tokens): it is stored encrypted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.calendar.base import ReauthRequired

CREDENTIALS_VERSION = 1


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """The decoded form of a Microsoft connection's stored credentials."""

    home_account_id: str
    msal_cache: str = field(repr=False)


def dump_credentials(home_account_id: str, msal_cache: str) -> str:
    """Serialize credentials: JSON ``{"v": 1, "home_account_id": ..., "msal_cache": ...}``.

    ``msal_cache`` is ``msal.SerializableTokenCache.serialize()`` output (itself JSON, holding the
    refresh, access and ID tokens). The whole string is a secret: store it encrypted.
    """
    return json.dumps(
        {"v": CREDENTIALS_VERSION, "home_account_id": home_account_id, "msal_cache": msal_cache},
        separators=(",", ":"),
    )


def load_credentials(text: str) -> StoredCredentials:
    """Parse what :func:`dump_credentials` wrote; unreadable credentials mean reconnecting."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CREDENTIALS_VERSION:
            raise ValueError("unknown credentials format")
        home, cache = data["home_account_id"], data["msal_cache"]
        if not isinstance(home, str) or not isinstance(cache, str):
            raise ValueError("malformed credentials")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired("the stored Microsoft credentials cannot be read") from None
    return StoredCredentials(home_account_id=home, msal_cache=cache)
