"""``slotbot free --ics https://...``: a feed read by its address, as Slotbot's refresh reads it.

The same fetcher and limits as the app (``bot/calendar/feeds/fetch.py``): 20 s in all, 5 s to
connect, at most ``SLOTBOT_FEED_MAX_BYTES`` (20 MB), redirects by hand re-checked by the SSRF
policy, no proxy from the environment; ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS`` allows private
networks; TLS trusts the system store or ``SSL_CERT_FILE`` (plus ``SLOTBOT_EXTRA_CA_FILE``).
The address is a secret: messages name its host only (:func:`source_name`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from bot.calendar.base import CalendarError
from bot.calendar.feeds.credentials import feed_host, is_feed_address
from bot.calendar.feeds.fetch import DEFAULT_MAX_BYTES, FeedFetcher, FeedLimits
from bot.calendar.ssrf import AddressPolicy
from bot.calendar.tls import trust_context

__all__ = ["FeedFailed", "feed_bytes", "is_feed_address", "source_name"]


class FeedFailed(Exception):
    """The feed could not be read; the message is one line naming the host only."""


def source_name(source: str) -> str:
    """How ``--ics SOURCE`` is named in messages: a file's path, a feed's host only."""
    return f"the feed at {feed_host(source.strip())}" if is_feed_address(source) else source


def _fetcher(env: Mapping[str, str]) -> FeedFetcher:
    try:
        policy = AddressPolicy.parse(env.get("SLOTBOT_ALLOWED_PRIVATE_NETWORKS", ""))
    except ValueError as exc:
        raise FeedFailed(f"SLOTBOT_ALLOWED_PRIVATE_NETWORKS: {exc}") from None
    raw = env.get("SLOTBOT_FEED_MAX_BYTES", "").strip()
    if raw and not raw.isdigit():
        raise FeedFailed(f"SLOTBOT_FEED_MAX_BYTES must be a whole number of bytes, not {raw!r}")
    try:
        context = trust_context(env.get("SLOTBOT_EXTRA_CA_FILE") or None)
    except OSError as exc:
        raise FeedFailed(f"SLOTBOT_EXTRA_CA_FILE: cannot read it ({exc.strerror or exc})") from None
    limits = FeedLimits(max_bytes=int(raw) if raw else DEFAULT_MAX_BYTES)
    return FeedFetcher(policy=policy, ssl_context=context, limits=limits)


def feed_bytes(source: str, env: Mapping[str, str] | None = None) -> bytes:
    """The body of the feed at ``source`` (``https://`` or ``webcal://``); raises :class:`FeedFailed`."""
    fetcher = _fetcher(os.environ if env is None else env)
    try:
        fetched = asyncio.run(fetcher.fetch(source))
    except CalendarError as exc:
        raise FeedFailed(str(exc)) from None
    assert fetched.body is not None  # an unconditional fetch always has a body
    return fetched.body
