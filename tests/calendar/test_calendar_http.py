"""The shared HTTP policy (retries, Retry-After, status mapping) and paging of the providers.

The providers' own tests and the contract suite drive this through the real client libraries
against the fakes; these cases pin the policy's arithmetic and edges on their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.calendar.base import (
    AccessLost,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from bot.calendar.http import ErrorVocabulary, Gone, RetryPolicy, StatusError, parse_retry_after, status_error
from bot.calendar.paging import collect_pages, next_link_on

NOW = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)
WORDS = ErrorVocabulary(
    "Example", rate_limit_reasons=frozenset({"rateLimitExceeded"}), permission_reasons=frozenset({"scope"})
)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _policy(sleeps: Sleeps, **kw: object) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, now=lambda: NOW, random=lambda: 0.0, **kw)  # type: ignore[arg-type]


def _answers(*outcomes: StatusError | Exception | str) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """An attempt answering ``outcomes`` in turn (raising the exceptions), and its call count."""
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return attempt, calls


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after(" 0.25 ", now=NOW) == 0.25
    assert parse_retry_after("-3", now=NOW) == 0.0
    assert parse_retry_after("Mon, 03 Mar 2031 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Mon, 03 Mar 2031 11:00:00 GMT", now=NOW) == 0.0  # in the past
    for unusable in (None, "", "soon", "Mon, 99 Foo"):
        assert parse_retry_after(unusable, now=NOW) is None


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    assert [policy.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert RetryPolicy(random=lambda: 1.0).backoff(1) == 0.5  # jitter 0.5: down to half
    assert RetryPolicy(random=lambda: 1.0, jitter=0.0).backoff(1) == 1.0


async def test_429_is_retried_after_retry_after_then_answers() -> None:
    sleeps = Sleeps()
    attempt, calls = _answers(StatusError(429, retry_after="2"), StatusError(429, retry_after="2"), "ok")
    assert await _policy(sleeps).run(attempt, vocabulary=WORDS, what="read") == "ok"
    assert sleeps.calls == [2.0, 2.0] and len(calls) == 3


async def test_an_http_date_retry_after_uses_the_injected_clock() -> None:
    sleeps = Sleeps()
    attempt, _ = _answers(StatusError(503, retry_after="Mon, 03 Mar 2031 12:00:05 GMT"), "ok")
    assert await _policy(sleeps).run(attempt, vocabulary=WORDS, what="read") == "ok"
    assert sleeps.calls == [5.0]


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (StatusError(429), RateLimited),
        (StatusError(403, reasons={"rateLimitExceeded"}), RateLimited),
        (StatusError(500), ProviderUnavailable),
        (StatusError(503), ProviderUnavailable),
    ],
)
async def test_exhausted_retries_raise_after_exactly_max_retries(
    failure: StatusError, error: type[Exception]
) -> None:
    sleeps = Sleeps()
    attempt, calls = _answers(failure)
    with pytest.raises(error) as raised:
        await _policy(sleeps, max_retries=3).run(attempt, vocabulary=WORDS, what="read")
    assert len(calls) == 4 and sleeps.calls == [0.5, 1.0, 2.0]
    assert not isinstance(raised.value, RateLimited) or raised.value.retry_after is None


async def test_a_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    sleeps = Sleeps()
    attempt, calls = _answers(StatusError(429, retry_after="31"))
    with pytest.raises(RateLimited) as raised:
        await _policy(sleeps, max_retry_after=30.0).run(attempt, vocabulary=WORDS, what="read")
    assert raised.value.retry_after == 31.0 and sleeps.calls == [] and len(calls) == 1


async def test_no_retries_means_one_attempt() -> None:
    sleeps = Sleeps()
    attempt, calls = _answers(StatusError(500))
    with pytest.raises(ProviderUnavailable):
        await _policy(sleeps, max_retries=0).run(attempt, vocabulary=WORDS, what="read")
    assert len(calls) == 1 and sleeps.calls == []


async def test_transport_failures_and_timeouts_are_not_retried() -> None:
    for failure in (ProviderTimeout("slow"), ProviderUnavailable("down")):
        sleeps = Sleeps()
        attempt, calls = _answers(failure)
        with pytest.raises(type(failure)):
            await _policy(sleeps).run(attempt, vocabulary=WORDS, what="read")
        assert len(calls) == 1 and sleeps.calls == []


async def test_401_forces_one_refresh_then_needs_reauth() -> None:
    refreshes: list[int] = []

    async def refresh() -> None:
        refreshes.append(1)

    attempt, calls = _answers(StatusError(401), "ok")
    assert await _policy(Sleeps()).run(attempt, vocabulary=WORDS, what="read", refresh=refresh) == "ok"
    assert len(refreshes) == 1 and len(calls) == 2

    attempt, calls = _answers(StatusError(401))
    with pytest.raises(ReauthRequired):
        await _policy(Sleeps()).run(attempt, vocabulary=WORDS, what="read", refresh=refresh)
    assert len(refreshes) == 2 and len(calls) == 2

    attempt, calls = _answers(StatusError(401))
    with pytest.raises(ReauthRequired):
        await _policy(Sleeps()).run(attempt, vocabulary=WORDS, what="read")  # nothing to refresh
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("answer", "missing_ok", "error"),
    [
        (StatusError(401), False, ReauthRequired),
        (StatusError(403, reasons={"scope"}), False, ReauthRequired),
        (StatusError(403, reasons={"forbidden"}), False, AccessLost),
        (StatusError(403), True, AccessLost),
        (StatusError(404), False, AccessLost),
        (StatusError(410), False, AccessLost),
        (StatusError(404), True, Gone),
        (StatusError(410), True, Gone),
        (StatusError(400, reasons={"badRequest"}), False, ProviderUnavailable),
        (StatusError(502), False, ProviderUnavailable),
    ],
)
def test_one_status_mapping(answer: StatusError, missing_ok: bool, error: type[Exception]) -> None:
    mapped = status_error(answer, WORDS, missing_ok=missing_ok)
    assert type(mapped) is error
    assert str(mapped).startswith(("Example", "The Example"))


async def test_pages_are_followed_to_the_end_and_bounded() -> None:
    async def fetch(cursor: int | None) -> tuple[list[int], int | None]:
        page = 0 if cursor is None else cursor
        return [page], (page + 1 if page < 4 else None)

    assert await collect_pages(fetch, None, what="numbers") == [0, 1, 2, 3, 4]
    assert await collect_pages(fetch, None, what="numbers", max_pages=5) == [0, 1, 2, 3, 4]
    with pytest.raises(ProviderUnavailable, match="numbers: more than 4 pages"):
        await collect_pages(fetch, None, what="numbers", max_pages=4)


def test_next_links_stay_on_the_configured_origin() -> None:
    base = "https://graph.example/v1.0"
    assert next_link_on(None, base, service="Graph") is None
    assert next_link_on("", base, service="Graph") is None
    link = "https://GRAPH.example/v1.0/me/calendars?$skip=3"
    assert next_link_on(link, base, service="Graph") == link
    for elsewhere in ("https://evil.example/v1.0/me", "http://graph.example/v1.0/me", 42):
        with pytest.raises(ProviderUnavailable):
            next_link_on(elsewhere, base, service="Graph")
