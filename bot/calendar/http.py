"""The one HTTP policy of the calendar providers: retries, ``Retry-After`` and status -> error.

Start here when a provider talks HTTP (directly with aiohttp, or through a client library). The
provider runs each request as an *attempt*: it returns the answer for a 2xx, raises
:class:`StatusError` (the status, the service's own error reasons, the raw ``Retry-After``) for
anything else, and raises a :class:`~bot.calendar.base.CalendarError` for transport failures
(those are never retried; a timeout is :class:`~bot.calendar.base.ProviderTimeout`).
:meth:`RetryPolicy.run` then does the rest, the same way for every provider:

* 401: one forced token refresh (``refresh``), then :class:`ReauthRequired`;
* 429, 5xx and a 403 whose reason is in :attr:`ErrorVocabulary.rate_limit_reasons` (Google's
  ``rateLimitExceeded``): retried at most :attr:`RetryPolicy.max_retries` times, after the
  ``Retry-After`` the service gave (delta-seconds or an HTTP date, parsed here only) or an
  exponential backoff with jitter; a ``Retry-After`` beyond :attr:`RetryPolicy.max_retry_after`
  gives up at once. Then 429 (and the rate-limit 403) raise :class:`RateLimited` and 5xx
  :class:`ProviderUnavailable`;
* everything else maps once through :func:`status_error`: 403 with a permission reason ->
  :class:`ReauthRequired`, 403/404/410 -> :class:`AccessLost` (404/410 -> :class:`Gone` with
  ``missing_ok``), 409 -> :class:`Conflict` (a :class:`ProviderUnavailable` carrying the
  service's codes), other statuses -> :class:`ProviderUnavailable`.

Messages name the service and its error codes only: never a token, a body or a URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from random import random as _uniform
from typing import TypeVar

from bot.calendar.base import (
    AccessLost,
    CalendarError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a provider retries a throttled or failed request.

    The delay before retry ``n`` (0-based) is the service's ``Retry-After`` when it gave one,
    else ``min(backoff_cap, backoff_base * 2**n)`` shortened by up to ``jitter`` (a fraction) at
    random. ``sleep``, ``now`` (for ``Retry-After`` dates) and ``random`` are injectable so tests
    neither wait nor depend on luck.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    now: Callable[[], datetime] = field(default=_utc_now, compare=False)
    random: Callable[[], float] = field(default=_uniform, compare=False)

    def backoff(self, retry: int) -> float:
        """The delay before retry number ``retry`` (0-based) when the service advised none."""
        delay = min(self.backoff_cap, self.backoff_base * 2.0**retry)
        return delay * (1.0 - self.jitter * self.random())

    def retry_after(self, value: str | None) -> float | None:
        """``Retry-After`` in seconds (delta-seconds or an HTTP date); None if absent or unusable."""
        return parse_retry_after(value, now=self.now())

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        vocabulary: ErrorVocabulary,
        what: str,
        missing_ok: bool = False,
        refresh: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``attempt`` until it answers, retrying as the module docstring says.

        ``refresh`` forces a new access token after a 401 (at most once per call); without it a
        401 is :class:`ReauthRequired` at once. ``what`` names the request in the log.
        """
        retries = 0
        refreshed = False
        while True:
            try:
                return await attempt()
            except StatusError as answer:
                failure = answer
            if failure.status == 401 and refresh is not None and not refreshed:
                refreshed = True
                await refresh()
                continue
            advised = self.retry_after(failure.retry_after)
            error = status_error(failure, vocabulary, missing_ok=missing_ok, retry_after=advised)
            if not vocabulary.retryable(failure) or retries >= self.max_retries:
                raise error
            delay = self.backoff(retries) if advised is None else advised
            if delay > self.max_retry_after:
                raise error
            retries += 1
            log.info(
                "%s: %s answered %d; retry %d in %.2f s", vocabulary.service, what, failure.status,
                retries, delay,
            )
            await self.sleep(delay)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date, never negative.

    None when the header is absent or unreadable (then the caller backs off on its own).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class StatusError(Exception):
    """A non-2xx answer, in the service's own words: what an attempt raises for :meth:`RetryPolicy.run`.

    ``reasons`` are the service's error codes (Google ``errors[].reason``, a Graph
    ``error.code``); ``retry_after`` is the raw ``Retry-After`` header. Never a body or a token.
    """

    def __init__(self, status: int, *, reasons: Iterable[str] = (), retry_after: str | None = None) -> None:
        self.status = status
        self.reasons = frozenset(reasons)
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} {', '.join(sorted(self.reasons))}".strip())

    @property
    def detail(self) -> str:
        """``status reasons`` for a safe message."""
        return f"{self.status} {', '.join(sorted(self.reasons)) or 'error'}"


@dataclass(frozen=True, slots=True)
class ErrorVocabulary:
    """A provider's own words for the shared status mapping.

    ``service`` names it in messages ("Google", "Microsoft Graph"). A 403 with a reason in
    ``rate_limit_reasons`` is a rate limit (retried); one in ``permission_reasons`` means the
    grant lacks a scope (:class:`ReauthRequired`).
    """

    service: str
    rate_limit_reasons: frozenset[str] = frozenset()
    permission_reasons: frozenset[str] = frozenset()

    def rate_limited(self, answer: StatusError) -> bool:
        """Whether ``answer`` asks to slow down (429, or a rate-limit 403)."""
        return answer.status == 429 or (
            answer.status == 403 and bool(answer.reasons & self.rate_limit_reasons)
        )

    def retryable(self, answer: StatusError) -> bool:
        """Whether ``answer`` is worth retrying (a rate limit or a server error)."""
        return self.rate_limited(answer) or answer.status >= 500


class Gone(CalendarError):
    """What was asked for no longer exists (404/410 where the caller said that is fine)."""

    reason = "gone"


class Conflict(ProviderUnavailable):
    """409: something with that name or id exists already (``reasons``: the service's codes)."""

    def __init__(self, message: str, reasons: frozenset[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


def status_error(
    answer: StatusError,
    vocabulary: ErrorVocabulary,
    *,
    missing_ok: bool = False,
    retry_after: float | None = None,
) -> CalendarError:
    """The :class:`CalendarError` for a non-2xx ``answer`` (the one status mapping)."""
    service, status = vocabulary.service, answer.status
    if status == 401:
        return ReauthRequired(f"{service} no longer accepts this connection's sign-in; reconnect it.")
    if vocabulary.rate_limited(answer):
        return RateLimited(f"{service} asked Slotbot to slow down ({status}).", retry_after)
    if status == 403 and answer.reasons & vocabulary.permission_reasons:
        return ReauthRequired(f"The {service} connection lacks a permission Slotbot needs; reconnect it.")
    if status in (404, 410) and missing_ok:
        return Gone(f"{service}: already gone ({status}).")
    if status in (403, 404, 410):
        return AccessLost(f"{service} refused access to this calendar ({answer.detail}).")
    if status >= 500:
        return ProviderUnavailable(f"{service} answered with a server error ({answer.detail}).")
    if status == 409:
        return Conflict(f"{service} says this exists already ({answer.detail}).", answer.reasons)
    return ProviderUnavailable(f"{service} refused the request ({answer.detail}).")
