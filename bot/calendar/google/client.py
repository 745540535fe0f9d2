"""Plumbing under the Google libraries: blocking calls in the app's threads, Google's error words.

The Google libraries (google-api-python-client over httplib2, google-auth, google-auth-oauthlib)
are synchronous: :func:`run_blocking` runs one call in the app's
:class:`~bot.calendar.threads.WorkerThreads` and turns transport failures into
:class:`~bot.calendar.base.ProviderUnavailable` (a timeout into
:class:`~bot.calendar.base.ProviderTimeout`). :data:`VOCABULARY` and :func:`status_of` feed the
shared status mapping of :mod:`bot.calendar.http` with Google's error reasons;
:func:`refresh_error` maps a failed token refresh. No message carries a token or Google's body.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from http.client import HTTPException
from typing import Any, TypeVar

from bot.calendar.base import CalendarError, ProviderTimeout, ProviderUnavailable, ReauthRequired
from bot.calendar.http import ErrorVocabulary, StatusError
from bot.calendar.threads import WorkerThreads

T = TypeVar("T")

VOCABULARY = ErrorVocabulary(
    "Google",
    rate_limit_reasons=frozenset({"rateLimitExceeded", "userRateLimitExceeded"}),
    permission_reasons=frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}),
)
"""Google's words for the shared status mapping: rate-limit and missing-scope 403 reasons."""


def untyped(name: str) -> Any:
    """Import a library that ships no type information (httplib2, oauthlib...) as ``Any``."""
    return importlib.import_module(name)


async def run_blocking(threads: WorkerThreads, fn: Callable[[], T], seconds: float, what: str) -> T:
    """Run a blocking Google library call in ``threads``; map transport failures.

    ``what`` names the call in messages ("Google: read busy times").
    """
    try:
        return await threads.run(fn, timeout=seconds, what=what)
    except CalendarError:
        raise
    except Exception as exc:
        mapped = _transport_error(exc, what)
        if mapped is None:
            raise
        raise mapped from None


def _transport_error(exc: Exception, what: str) -> CalendarError | None:
    from google.auth.exceptions import TransportError

    requests = untyped("requests")
    if isinstance(exc, requests.Timeout):
        return ProviderTimeout(f"No answer in time ({what}).")
    httplib2 = untyped("httplib2")
    failures = (OSError, HTTPException, TransportError, httplib2.HttpLib2Error, requests.RequestException)
    if isinstance(exc, failures):
        return ProviderUnavailable(f"Google could not be reached ({what}: {type(exc).__name__}).")
    return None


def status_of(exc: Any) -> StatusError:
    """A googleapiclient ``HttpError`` as the shared :class:`StatusError` (reasons, Retry-After)."""
    return StatusError(
        int(exc.resp.status), reasons=error_reasons(exc.content), retry_after=exc.resp.get("retry-after")
    )


def error_reasons(content: bytes) -> set[str]:
    """The ``reason`` values of a Google error body (``errors[]`` and ``details[]``)."""
    try:
        error = json.loads(content)["error"]
    except (ValueError, KeyError, TypeError):
        return set()
    reasons: set[str] = set()
    if isinstance(error, dict):
        for item in error.get("errors") or []:
            if isinstance(item, dict) and isinstance(item.get("reason"), str):
                reasons.add(item["reason"])
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
                reasons.add(detail["reason"])
    return reasons


def refresh_error(exc: BaseException) -> CalendarError:
    """Map a failed token refresh; the library's message (which may echo Google's body) is dropped."""
    from google.auth.exceptions import RefreshError

    if isinstance(exc, CalendarError):
        return exc
    if isinstance(exc, RefreshError):
        details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = details.get("error")
        if error == "invalid_grant":
            return ReauthRequired(
                "Google revoked or expired this connection's access; reconnect the calendar."
            )
        if getattr(exc, "retryable", False) or error in (None, "internal_failure", "temporarily_unavailable"):
            return ProviderUnavailable("Google could not refresh the connection's access right now.")
        return ProviderUnavailable(
            f"Google refused to refresh access ({error}); check the Google client settings."
        )
    return ProviderUnavailable(f"Google could not refresh the connection's access ({type(exc).__name__}).")
