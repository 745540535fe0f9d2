"""A Google connection's stored credentials: our own small JSON, read into google-auth ``Credentials``.

The stored format (:func:`credentials_to_json`)::

    {"type": "google_oauth2", "version": 1, "refresh_token": "...", "token": "...",
     "expiry": "2025-01-01T10:00:00Z", "scopes": ["https://www.googleapis.com/auth/..."]}

The client id, client secret and token endpoint are deliberately *not* stored: they come from
:class:`~bot.settings.GoogleSettings` every time (:func:`google_credentials`), so rotating the
client secret or moving an endpoint does not require rewriting every connection. google-auth's own
``to_json`` format is accepted on load. The whole string is a secret: it is stored encrypted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from bot.calendar.base import ReauthRequired, require_aware
from bot.calendar.google.scopes import SCOPES
from bot.settings import GoogleSettings

_CREDENTIALS_TYPE = "google_oauth2"


def google_credentials(settings: GoogleSettings, stored: str) -> Any:
    """A google-auth ``Credentials`` from stored JSON; client and endpoint always from settings.

    Unreadable credentials raise :class:`ReauthRequired` (the host must reconnect).
    """
    from google.oauth2.credentials import Credentials

    try:
        data = json.loads(stored)
        refresh_token = data["refresh_token"]
        if not isinstance(data, dict) or not isinstance(refresh_token, str) or not refresh_token:
            raise ValueError("no refresh token")
        token = data.get("token") or None
        expiry = _parse_expiry(data.get("expiry"))
        scopes = data.get("scopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise ValueError("malformed scopes")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired(
            "The stored Google credentials are unreadable; reconnect the calendar."
        ) from None
    return cast(Any, Credentials)(
        token=token,
        refresh_token=refresh_token,
        token_uri=settings.token_uri,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=scopes,
        # google-auth compares expiry with a naive UTC clock: convert at this boundary only.
        expiry=None if expiry is None else expiry.astimezone(UTC).replace(tzinfo=None),
    )


def _parse_expiry(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("expiry must be a string")
    parsed = datetime.fromisoformat(value)
    # google-auth's own to_json writes naive UTC ("2025-01-01T10:00:00.000000Z" or no suffix).
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def credentials_to_json(
    *, refresh_token: str, token: str | None, expiry: datetime | None, scopes: Sequence[str]
) -> str:
    """Serialize credentials in the stored format (see the module docstring). ``expiry`` is aware."""
    if expiry is not None:
        require_aware(expiry, "expiry")
    return json.dumps(
        {
            "type": _CREDENTIALS_TYPE,
            "version": 1,
            "refresh_token": refresh_token,
            "token": token,
            "expiry": None if expiry is None else expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scopes": list(scopes),
        },
        sort_keys=True,
    )


def credentials_json_of(creds: Any) -> str | None:
    """The stored format of a google-auth ``Credentials`` (None without a refresh token)."""
    if not creds.refresh_token:
        return None
    expiry = creds.expiry
    return credentials_to_json(
        refresh_token=creds.refresh_token,
        token=creds.token,
        expiry=None if expiry is None else expiry.replace(tzinfo=UTC),
        scopes=list(creds.granted_scopes or creds.scopes or SCOPES),
    )


def same_credentials(a: str, b: str) -> bool:
    """Whether two stored credentials hold the same tokens (expiry and formatting aside)."""
    try:
        da, db = json.loads(a), json.loads(b)
    except ValueError:
        return False
    keys = ("refresh_token", "token")
    return isinstance(da, dict) and isinstance(db, dict) and all(da.get(k) == db.get(k) for k in keys)
