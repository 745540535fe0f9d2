"""The feed fetcher against the fake feed host: limits, redirects, the SSRF policy, 304s, errors.

The fake listens on 127.0.0.1 over TLS; the fetcher trusts its certificate and is allowed the
loopback network, as ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS=127.0.0.0/8`` would allow it, and names
are resolved by aiohttp's production resolver.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.calendar.base import CalendarError, ProviderTimeout
from bot.calendar.feeds.fetch import FeedError, FeedFetcher, FeedLimits, FeedTooLarge
from bot.calendar.ssrf import AddressPolicy, AddressRefused, UrlRefused
from bot.calendar.tls import trust_context
from tests.fakes.base import TlsFiles
from tests.fakes.feeds import TOKEN, FakeFeeds, calendar

pytest_plugins = ["tests.fakes.feeds.fixtures"]

LOOPBACK = AddressPolicy.parse("127.0.0.0/8")
MEETING = (datetime(2031, 3, 4, 9, tzinfo=UTC), datetime(2031, 3, 4, 10, tzinfo=UTC))


def _fetcher(tls: TlsFiles, policy: AddressPolicy = LOOPBACK, **limits: float) -> FeedFetcher:
    return FeedFetcher(policy=policy, ssl_context=trust_context(str(tls.cert)),
                       limits=FeedLimits(**limits))  # type: ignore[arg-type]


async def _refused(fetcher: FeedFetcher, url: str, error: type[Exception] = CalendarError) -> Exception:
    with pytest.raises(error) as raised:
        await fetcher.fetch(url)
    assert TOKEN not in str(raised.value)  # the address is a secret: never in a message
    return raised.value


async def test_a_feed_is_fetched_with_its_validators(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    body = calendar(MEETING)
    url = feeds.publish("team", body, cache_control="max-age=1800")

    fetched = await _fetcher(feeds_tls).fetch(url)

    assert fetched.body == body.encode() and not fetched.not_modified
    assert fetched.etag == feeds.feeds["team"].etag and fetched.last_modified
    assert fetched.max_age == 1800.0
    assert feeds.requests[-1].headers["user-agent"].startswith("Slotbot")


async def test_an_unchanged_feed_answers_304_to_its_etag_or_its_date(
    feeds: FakeFeeds, feeds_tls: TlsFiles
) -> None:
    url = feeds.publish("team", calendar(MEETING))
    fetcher = _fetcher(feeds_tls)
    first = await fetcher.fetch(url)

    again = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body is None
    assert feeds.requests[-1].headers["if-none-match"] == first.etag

    feeds.etags = False  # a server that only knows dates
    by_date = await fetcher.fetch(url, last_modified=first.last_modified)
    assert by_date.not_modified
    assert "if-none-match" not in feeds.requests[-1].headers

    feeds.etags = True
    feeds.publish("team", calendar(MEETING, MEETING))  # changed: a new body and a new ETag
    changed = await fetcher.fetch(url, etag=first.etag)
    assert changed.body is not None and changed.etag != first.etag
    assert feeds.fetches("team") == [200, 304, 304, 200]


async def test_a_304_without_validators_sent_is_an_error(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    feeds.fail_next(1, status=304)
    error = await _refused(_fetcher(feeds_tls), feeds.publish("team", calendar()), FeedError)
    assert isinstance(error, FeedError) and error.status == 304


async def test_webcal_is_https(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    feeds.publish("team", calendar(MEETING))
    for scheme in ("webcal", "WEBCAL", "webcals"):
        fetched = await _fetcher(feeds_tls).fetch(feeds.feed_url("team", scheme=scheme))
        assert fetched.body is not None


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1/feed.ics", "https://"),
    ("ftp://example.com/feed.ics", "https://"),
    ("https://user:secret@example.com/feed.ics", "user name or password"),
    ("https:///feed.ics", "no host"),
    ("not a url", "https://"),
])
async def test_addresses_that_are_not_https_feeds_are_refused(
    feeds_tls: TlsFiles, url: str, words: str
) -> None:
    error = await _refused(_fetcher(feeds_tls), url, UrlRefused)
    assert words in str(error)
    assert "secret" not in str(error)


@pytest.mark.parametrize("announced", [True, False])
async def test_a_body_over_the_cap_is_abandoned_while_streaming(
    feeds: FakeFeeds, feeds_tls: TlsFiles, announced: bool
) -> None:
    total = 40 * 1024 * 1024
    fetcher = _fetcher(feeds_tls, max_bytes=1024 * 1024)
    url = feeds.url(f"/huge.ics?bytes={total}&length={int(announced)}")

    error = await _refused(fetcher, url, FeedTooLarge)

    assert "larger than 1 MB" in str(error)
    assert feeds.huge_sent < total / 2  # the rest was never read
    small = await _fetcher(feeds_tls, max_bytes=2 * 1024 * 1024).fetch(feeds.url("/huge.ics?bytes=1500000"))
    assert small.body is not None and len(small.body) == 1500000


@pytest.mark.parametrize("path", ["/slow.ics?seconds=5", "/trickle.ics?seconds=5"])
async def test_a_slow_feed_times_out_within_the_total_limit(
    feeds: FakeFeeds, feeds_tls: TlsFiles, path: str
) -> None:
    began = time.monotonic()
    error = await _refused(_fetcher(feeds_tls, total_seconds=0.5), feeds.url(path), ProviderTimeout)
    assert time.monotonic() - began < 2.0
    assert "within 0.5 s" in str(error) and "127.0.0.1" in str(error)


async def test_five_redirects_are_followed_and_a_sixth_is_not(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    feeds.publish("team", calendar(MEETING))
    fetcher = _fetcher(feeds_tls)

    fetched = await fetcher.fetch(feeds.url("/hop/4/team.ics"))  # 4 hops + the last: 5 redirects
    assert fetched.body is not None

    error = await _refused(fetcher, feeds.url("/hop/5/team.ics"), FeedError)
    assert "more than 5 times" in str(error)


async def test_a_redirect_to_another_feed_is_followed(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    moved = feeds.publish("moved", calendar(MEETING, name="Moved"))
    fetched = await _fetcher(feeds_tls).fetch(feeds.url(f"/redirect?to={moved}"))
    assert fetched.body is not None and b"X-WR-CALNAME:Moved" in fetched.body


@pytest.mark.parametrize("target", [
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://10.0.0.1/feed.ics",  # a private network
    "https://[::ffff:169.254.169.254]/feed.ics",  # metadata, in IPv6 clothing
    "https://127.0.0.2/feed.ics",  # loopback outside the operator's allow-list
])
async def test_a_redirect_to_a_forbidden_address_is_refused_before_it_is_asked(
    feeds: FakeFeeds, feeds_tls: TlsFiles, target: str
) -> None:
    fetcher = _fetcher(feeds_tls, AddressPolicy.parse("127.0.0.1/32"))
    error = await _refused(fetcher, feeds.url(f"/redirect?to={target}"), AddressRefused)
    assert "SLOTBOT_ALLOWED_PRIVATE_NETWORKS" in str(error)
    assert len(feeds.requests) == 1  # only the redirect itself


async def test_a_redirect_to_plain_http_is_refused(feeds: FakeFeeds, feeds_tls: TlsFiles) -> None:
    await _refused(_fetcher(feeds_tls), feeds.url("/redirect?to=http://127.0.0.1/feed.ics"), UrlRefused)


async def test_loopback_is_refused_unless_the_operator_allows_it(
    feeds: FakeFeeds, feeds_tls: TlsFiles
) -> None:
    url = feeds.publish("team", calendar(MEETING))
    strict = _fetcher(feeds_tls, AddressPolicy())

    await _refused(strict, url, AddressRefused)  # an IP-literal host
    by_name = url.replace("127.0.0.1", "localhost")  # resolved by the production resolver
    await _refused(strict, by_name, AddressRefused)
    assert feeds.requests == []  # nothing reached the server

    assert (await _fetcher(feeds_tls).fetch(by_name)).body is not None  # allowed: 127.0.0.0/8


@pytest.mark.parametrize(("status", "words", "retry_after"), [
    (404, "no longer has this calendar", None),
    (410, "no longer has this calendar", None),
    (403, "refused access", None),
    (500, "server error (500)", None),
    (503, "server error (503)", 120.0),
    (429, "slow down", 120.0),
    (204, "instead of the calendar", None),
])
async def test_error_statuses_are_feed_errors_naming_the_host(
    feeds: FakeFeeds, feeds_tls: TlsFiles, status: int, words: str, retry_after: float | None
) -> None:
    error = await _refused(_fetcher(feeds_tls), feeds.url(f"/status/{status}"), FeedError)
    assert isinstance(error, FeedError)
    assert error.status == status and words in str(error) and "127.0.0.1" in str(error)
    assert error.retry_after == retry_after


async def test_an_untrusted_certificate_is_refused(feeds: FakeFeeds) -> None:
    url = feeds.publish("team", calendar(MEETING))
    fetcher = FeedFetcher(policy=LOOPBACK, ssl_context=trust_context())  # the system store only
    error = await _refused(fetcher, url, FeedError)
    assert "certificate is not trusted" in str(error)


async def test_proxies_from_the_environment_are_not_used(
    feeds: FakeFeeds, feeds_tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = feeds.publish("team", calendar(MEETING))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    assert (await _fetcher(feeds_tls).fetch(url)).body is not None


async def test_nothing_listening_is_a_feed_error(feeds_tls: TlsFiles) -> None:
    error = await _refused(_fetcher(feeds_tls), "https://127.0.0.1:9/feed.ics", FeedError)
    assert "could not connect to 127.0.0.1" in str(error)
