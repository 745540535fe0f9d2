"""Fetching one ICS feed, safely: :class:`FeedFetcher`.

Every fetch, for the dashboard's form, the background refresh and ``slotbot free --ics URL``:

* the URL is checked first (``https://`` only, ``webcal://`` made ``https://`` by the caller or by
  :func:`~bot.calendar.feeds.credentials.feed_address`; no user name or password in it; an
  IP-literal host must pass the SSRF policy);
* its own ``aiohttp`` session over the policy's connector (:meth:`AddressPolicy.connector`), so the
  address actually connected is checked, after DNS, on every connection; no proxy or ``.netrc``
  from the environment (``trust_env=False``), no cookies kept; TLS trust as given (the system
  store, ``SSL_CERT_FILE``, ``SLOTBOT_EXTRA_CA_FILE``: ``bot.calendar.tls``);
* 20 s for everything (redirects and body included), 5 s to connect (:class:`FeedLimits`);
* redirects followed by hand, at most 5, each target re-checked with
  :meth:`AddressPolicy.redirect_target` before it is asked;
* the body read in pieces and abandoned as soon as it passes the size cap
  (``SLOTBOT_FEED_MAX_BYTES``, 20 MB), whatever ``Content-Length`` claimed, after decompression;
* a conditional GET with the stored ``ETag`` / ``Last-Modified``: 304 means the copy held is
  still right (:attr:`Fetched.not_modified`).

Errors are :class:`~bot.calendar.base.CalendarError` s whose message names the feed's host only,
never its address (the address is a secret): :class:`FeedError` (with the HTTP status when there
was one), :class:`~bot.calendar.base.ProviderTimeout`, and the policy's ``AddressRefused`` /
``UrlRefused``. No aiohttp exception text is ever passed on: it can contain the URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from bot.calendar.base import ProviderTimeout, ProviderUnavailable
from bot.calendar.feeds.credentials import feed_address, feed_host
from bot.calendar.http import parse_retry_after
from bot.calendar.ssrf import AddressPolicy

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Slotbot (calendar feed reader; +https://github.com/slotbot)"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How long and how much one fetch may take."""

    total_seconds: float = 20.0
    connect_seconds: float = 5.0
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's answer: a new body, or (``body`` None) a 304 confirming the copy held.

    ``etag`` / ``last_modified`` are the validators to send next time (for a 304, the ones given
    again or, when the server sent none, None: keep the stored ones); ``max_age`` the server's
    ``Cache-Control: max-age`` in seconds, if any.
    """

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None

    @property
    def not_modified(self) -> bool:
        """Whether the server answered 304 (the stored copy is current)."""
        return self.body is None


class FeedError(ProviderUnavailable):
    """A feed could not be fetched. The message names the host only.

    ``status`` is the HTTP status when the server answered (None: no usable answer);
    ``retry_after`` the seconds a 429 or 503 asked to wait.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FeedTooLarge(FeedError):
    """The body passed the size cap; the rest of it was not read."""


def status_error(host: str, status: int, retry_after: str | None = None) -> FeedError:
    """The :class:`FeedError` for a non-calendar answer ``status`` from ``host``."""
    wait = parse_retry_after(retry_after, now=datetime.now(UTC))
    if status in (401, 403):
        text = f"{host} refused access to the feed ({status}); its address may have been reset."
    elif status in (404, 410):
        text = f"{host} no longer has this calendar feed ({status})."
    elif status == 429:
        text = f"{host} asked Slotbot to slow down (429)."
    elif status >= 500:
        text = f"{host} answered with a server error ({status})."
    else:
        text = f"{host} answered {status} instead of the calendar."
    return FeedError(text, status=status, retry_after=wait)


def max_age(cache_control: str | None) -> float | None:
    """``max-age`` of a ``Cache-Control`` header, in seconds (None when absent)."""
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


class FeedFetcher:
    """Fetches feeds through the SSRF policy within :class:`FeedLimits` (see the module docstring).

    ``ssl_context`` is the TLS trust (``bot.calendar.tls.trust_context``); ``resolver`` makes the
    name resolver the policy filters (default: aiohttp's production resolver).
    """

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        ssl_context: ssl.SSLContext,
        limits: FeedLimits = FeedLimits(),
        resolver: Callable[[], AbstractResolver] | None = None,
    ) -> None:
        self.policy = policy
        self.limits = limits
        self._ssl = ssl_context
        self._resolver = resolver

    def check(self, url: str) -> URL:
        """``url`` (``webcal://`` made ``https://``) once the policy accepts it; raises
        :class:`~bot.calendar.ssrf.UrlRefused` or ``AddressRefused``."""
        return self.policy.check_url(feed_address(url))

    def _session(self) -> aiohttp.ClientSession:
        limits = self.limits
        connector = self.policy.connector(
            inner_resolver=self._resolver() if self._resolver else None, ssl=self._ssl, force_close=True,
        )
        timeout = aiohttp.ClientTimeout(
            total=limits.total_seconds, connect=limits.connect_seconds, sock_connect=limits.connect_seconds,
        )
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT},
        )

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """Fetch ``url``, conditionally when ``etag`` / ``last_modified`` are given."""
        start = self.check(url)
        host = start.host or feed_host(str(start))
        headers = {"Accept": "text/calendar, text/plain;q=0.5, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.limits.total_seconds):
                async with self._session() as session:
                    conditional = bool(etag or last_modified)
                    return await self._follow(session, start, host, headers, conditional=conditional)
        except TimeoutError:
            raise ProviderTimeout(
                f"{host} did not send the calendar within {self.limits.total_seconds:g} s."
            ) from None
        except aiohttp.ClientConnectorCertificateError:
            raise FeedError(f"{host}'s certificate is not trusted.") from None
        except aiohttp.ClientSSLError:
            raise FeedError(f"A secure connection to {host} could not be made.") from None
        except aiohttp.ClientConnectorDNSError:
            raise FeedError(f"{host} was not found (no such host name).") from None
        except aiohttp.ClientConnectorError:
            raise FeedError(f"Slotbot could not connect to {host}.") from None
        except aiohttp.ClientError:
            raise FeedError(f"{host} broke off the connection before the calendar was sent.") from None

    async def _follow(
        self, session: aiohttp.ClientSession, current: URL, host: str, headers: dict[str, str], *,
        conditional: bool,
    ) -> Fetched:
        for hop in range(self.limits.max_redirects + 1):
            async with session.get(current, headers=headers, allow_redirects=False) as response:
                status = response.status
                if status in REDIRECTS:
                    if hop == self.limits.max_redirects:
                        raise FeedError(
                            f"{host} redirected more than {self.limits.max_redirects} times.", status=status
                        )
                    current = self.policy.redirect_target(current, response.headers.get("Location"))
                    continue
                if status == 304 and conditional:
                    return Fetched(None, response.headers.get("ETag"), response.headers.get("Last-Modified"),
                                   max_age(response.headers.get("Cache-Control")))
                if status not in (200, 203):
                    raise status_error(host, status, response.headers.get("Retry-After"))
                body = await self._read(response, host)
                return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"),
                               max_age(response.headers.get("Cache-Control")))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _read(self, response: aiohttp.ClientResponse, host: str) -> bytes:
        cap = self.limits.max_bytes
        too_large = FeedTooLarge(f"{host} sent a calendar larger than {_size(cap)}, the most Slotbot reads.")
        if response.content_length is not None and response.content_length > cap:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    if count >= 1024:
        return f"{count / 1024:g} KB"
    return f"{count} bytes"
