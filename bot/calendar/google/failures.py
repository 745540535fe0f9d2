"""What the Google client libraries' exceptions mean to Slotbot (one attempt's failure)."""

from __future__ import annotations

from bot.calendar.base import CalendarError, ProviderUnavailable
from bot.calendar.changes import CursorExpired
from bot.calendar.google.client import refresh_error, status_of


class Duplicate(CalendarError):
    """An event with this id exists already (a retried insert: the first one is read instead)."""


def failure_of(exc: Exception) -> Exception:
    """What a library exception of one attempt means (a StatusError goes to the shared policy)."""
    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import Error as ClientError
    from googleapiclient.errors import HttpError

    if isinstance(exc, RefreshError):
        return refresh_error(exc)
    if isinstance(exc, HttpError):
        answer = status_of(exc)
        if answer.status == 410 and "fullSyncRequired" in answer.reasons:
            return CursorExpired("Google asks for a full sync again.")
        return Duplicate() if answer.status == 409 and "duplicate" in answer.reasons else answer
    if isinstance(exc, ClientError | ValueError):
        # An answer the client library could not use (not JSON, unexpected shape...).
        return ProviderUnavailable(f"Google sent an unusable answer ({type(exc).__name__}).")
    return exc
