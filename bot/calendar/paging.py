"""Paged answers, the one way: follow a cursor page by page, at most so many pages.

Start here when a provider lists something the service answers in pages: Google's
``pageToken``/``nextPageToken``, Graph's ``@odata.nextLink`` (later CalDAV and EWS paging).
:func:`collect_pages` gathers the items; a service that keeps sending pages past ``max_pages``
is a broken answer (:class:`~bot.calendar.base.ProviderUnavailable`), never an endless loop.
A next link that is a URL must stay on the configured service (:func:`next_link_on`), so a
bearer token is never sent anywhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from bot.calendar.base import ProviderUnavailable

T = TypeVar("T")
C = TypeVar("C")

MAX_PAGES = 50
"""Pages a listing may take unless the provider says otherwise."""


async def collect_pages(
    fetch: Callable[[C], Awaitable[tuple[Sequence[T], C | None]]],
    first: C,
    *,
    what: str,
    max_pages: int = MAX_PAGES,
) -> list[T]:
    """Every item of a paged listing.

    ``fetch(cursor)`` reads one page and returns its items and the next cursor (None on the
    last page); ``first`` is the first page's cursor. More than ``max_pages`` pages raise
    :class:`ProviderUnavailable` naming ``what`` ("Microsoft Graph calendars").
    """
    page, cursor = await fetch(first)
    items = list(page)
    pages = 1
    while cursor is not None:
        if pages >= max_pages:
            raise ProviderUnavailable(f"{what}: more than {max_pages} pages.")
        page, cursor = await fetch(cursor)
        items.extend(page)
        pages += 1
    return items


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``base``."""
    one, other = urlsplit(url), urlsplit(base)
    return (one.scheme, one.netloc.lower()) == (other.scheme, other.netloc.lower())


def next_link_on(link: object, base: str, *, service: str) -> str | None:
    """A page's next link, checked to stay on ``base``'s origin; None when there is no next page.

    A link elsewhere (or not a string) raises :class:`ProviderUnavailable`: the request would
    carry the connection's bearer token to another host.
    """
    if not link:
        return None
    if not isinstance(link, str) or not same_origin(link, base):
        raise ProviderUnavailable(f"{service} returned a next page outside its endpoint.")
    return link
