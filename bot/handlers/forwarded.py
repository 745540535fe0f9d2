"""Behind a reverse proxy: the visitor's own address, scheme and host, from headers worth believing.

Operators put Slotbot behind a proxy that terminates TLS and forwards ``X-Forwarded-For``,
``X-Forwarded-Proto`` and ``X-Forwarded-Host``. Anyone can send those headers, so they are read
only from a peer in ``SLOTBOT_TRUSTED_PROXIES``: :func:`forwarded` (a middleware) then hands the
handlers a clone of the request whose ``remote``, ``scheme`` and ``host`` are the visitor's, so
``request.secure`` decides cookies and ``request.remote`` keys the per-client limits.

The visitor is found by walking ``X-Forwarded-For`` from the right past trusted proxies: each
proxy appends the address it saw, so what a visitor writes into the header themselves stays on
the left, unread. The scheme and host are the ones that same hop reported. An https
``SLOTBOT_BASE_URL`` means TLS ends in front of Slotbot, so requests count as https unless a
trusted proxy says otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from bot.environment import Network
from bot.keys import SETTINGS

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a request really comes from: what differs from the connection (None: unchanged)."""

    remote: str | None = None
    scheme: str | None = None
    host: str | None = None


def _address(text: str) -> Address | None:
    """An address of a forwarded-for list (``1.2.3.4``, ``1.2.3.4:5``, ``[::1]:5``, ``::1``), or None."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def _values(headers: Sequence[str]) -> list[str]:
    return [part.strip() for header in headers for part in header.split(",")]


def _at(values: list[str], index: int, hops: int) -> str | None:
    """The value the hop at ``index`` of ``hops`` reported: lists as long as the chain line up with
    it, a single value is the nearest proxy's word."""
    if not values:
        return None
    return values[index] if len(values) == hops else values[-1]


def seen_through(peer: str | None, *, forwarded_for: Sequence[str], proto: Sequence[str],
                 host: Sequence[str], proxies: Sequence[Network], assume_https: bool) -> Seen:
    """Where a request from ``peer`` with these forwarded headers comes from (PURE)."""
    scheme = "https" if assume_https else None
    if not _trusted(_address(peer or ""), proxies):
        return Seen(scheme=scheme)
    chain = _values(forwarded_for)
    index = len(chain) - 1
    while index > 0 and _trusted(_address(chain[index]), proxies):
        index -= 1
    client = _address(chain[index]) if chain else None
    said_proto = _at([p.lower() for p in _values(proto)], index, len(chain))
    said_host = _at(_values(host), index, len(chain))
    return Seen(
        remote=None if client is None else str(client),
        scheme=said_proto if said_proto in ("http", "https") else scheme,
        host=said_host if said_host and HOST.match(said_host) else None,
    )


@web.middleware
async def forwarded(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Hand the handlers the request as the visitor sent it (see the module doc)."""
    settings = request.app[SETTINGS]
    headers = request.headers
    seen = seen_through(
        request.remote, forwarded_for=headers.getall("X-Forwarded-For", []),
        proto=headers.getall("X-Forwarded-Proto", []), host=headers.getall("X-Forwarded-Host", []),
        proxies=settings.trusted_proxies, assume_https=settings.base_url.startswith("https://"),
    )
    if seen == Seen():
        return await handler(request)
    return await handler(request.clone(
        remote=seen.remote or request.remote or "", scheme=seen.scheme or request.scheme,
        host=seen.host or request.host,
    ))
