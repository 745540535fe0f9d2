"""A feed connection's stored credentials (its address, a secret) and what may be shown of it.

A calendar's "secret address in iCal format" grants read access to whoever holds it, so the URL is
a credential: :func:`dump_credentials` writes ``{"v": 1, "url"}`` for sealing into the connection
(``accounts/credentials.py``), :func:`load_credentials` reads it back. Nothing shows it whole:
:func:`feed_label` is the host name and a short hint (a digest, not a piece of the URL) that
tells two feeds of one host apart, and :func:`feed_address` turns ``webcal://`` into
``https://`` before the SSRF policy checks it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from yarl import URL

from bot.calendar.base import ReauthRequired
from bot.calendar.ssrf import UrlRefused

CREDENTIALS_VERSION = 1
WEBCAL_SCHEMES = ("webcal://", "webcals://")
MAX_URL_LENGTH = 4000


@dataclass(frozen=True, slots=True)
class FeedCredentials:
    """Where one feed is: its https URL (kept out of ``repr``)."""

    url: str = field(repr=False)

    @property
    def host(self) -> str:
        """The URL's host name (safe to show)."""
        return URL(self.url).host or ""

    @property
    def label(self) -> str:
        """The host and the hint, as the dashboard shows the feed."""
        return feed_label(self.url)


def feed_address(text: str) -> str:
    """``text`` as the https URL to fetch: trimmed, ``webcal://`` (or ``webcals://``) made ``https://``.

    Other schemes are left for :meth:`~bot.calendar.ssrf.AddressPolicy.check_url` to refuse; a
    value too long to be an address raises :class:`~bot.calendar.ssrf.UrlRefused`.
    """
    address = text.strip()
    if len(address) > MAX_URL_LENGTH:
        raise UrlRefused("That address is too long to be a calendar feed.")
    for scheme in WEBCAL_SCHEMES:
        if address.lower().startswith(scheme):
            return "https://" + address[len(scheme):]
    return address


def is_feed_address(text: str) -> bool:
    """Whether ``text`` looks like a feed address (``https://``, ``webcal://``), not a file name."""
    return text.strip().lower().startswith(("https://", "http://", *WEBCAL_SCHEMES))


def feed_hint(url: str) -> str:
    """Six hex digits derived from the whole address: tells feeds of one host apart, reveals nothing."""
    return hashlib.sha256(b"slotbot-feed-hint:" + url.encode("utf-8")).hexdigest()[:6]


def feed_host(url: str) -> str:
    """The host name of ``url`` (``"feed"`` when it has none): the one part of it safe to show."""
    try:
        return URL(url).host or "feed"
    except (ValueError, TypeError):
        return "feed"


def feed_label(url: str) -> str:
    """``host #hint``: how a feed is named on the dashboard, in messages and in logs."""
    return f"{feed_host(url)} #{feed_hint(url)}"


def dump_credentials(credentials: FeedCredentials) -> str:
    """Serialize ``credentials`` (a secret: store it sealed)."""
    return json.dumps({"v": CREDENTIALS_VERSION, "url": credentials.url}, separators=(",", ":"))


def load_credentials(text: str) -> FeedCredentials:
    """Parse what :func:`dump_credentials` wrote; unreadable credentials mean adding the feed again."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CREDENTIALS_VERSION:
            raise ValueError("unknown credentials format")
        url = data["url"]
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ValueError("malformed credentials")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired("the stored feed address cannot be read; add the feed again") from None
    return FeedCredentials(url)
