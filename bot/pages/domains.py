"""Custom domains: an admin adds host names; every user's pages are served on each of them.

A path means the same page on every domain (slugs are global), so adding or removing a domain
never moves a page. A user picks the domain their links use (:mod:`bot.pages.links`); removing a domain
deactivates it, and links fall back to the deployment's own address. :meth:`Domains.is_custom`
is answered from a short-lived cache, because every request asks it.
"""

from __future__ import annotations

import re
import time as monotonic
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CustomDomain, User

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainError(ValueError):
    """A host name that cannot be added (the message says why)."""


def normalize_hostname(text: str) -> str:
    """``text`` as a lower-case ASCII host name with an optional port; raises :class:`DomainError`."""
    value = text.strip().lower().rstrip(".")
    if not value or any(c in value for c in "/@?#\\ \t\r\n") or "://" in value:
        raise DomainError("Give a host name only, like meet.example.com (no https://, no path).")
    host, _, port = value.partition(":")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise DomainError(f"{port!r} is not a port number.")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError(f"{host!r} is not a valid host name.") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(LABEL.match(label) for label in labels):
        raise DomainError(f"{host!r} is not a valid host name.")
    return f"{ascii_host}:{port}" if port else ascii_host


class Domains:
    """Adds, lists and removes custom domains; answers whether a request's host is one of them."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = monotonic.monotonic,
    ) -> None:
        self._sessions = sessions
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, frozenset[str]] | None = None

    async def active(self) -> frozenset[str]:
        """The host names of active custom domains."""
        if self._cached is not None and self._clock() - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        async with self._sessions() as session:
            names = frozenset(
                (await session.execute(select(CustomDomain.hostname).where(CustomDomain.active))).scalars()
            )
        self._cached = (self._clock(), names)
        return names

    async def is_custom(self, host: str) -> bool:
        """Whether ``host`` (a request's Host header) is an active custom domain."""
        try:
            name = normalize_hostname(host)
        except DomainError:
            return False
        names = await self.active()
        return name in names or name.partition(":")[0] in names

    async def all(self) -> list[CustomDomain]:
        """Every domain, active or not, by name."""
        async with self._sessions() as session:
            rows = await session.execute(select(CustomDomain).order_by(CustomDomain.hostname))
            return list(rows.scalars())

    async def add(self, hostname: str) -> CustomDomain:
        """Add (or re-activate) a domain."""
        name = normalize_hostname(hostname)
        try:
            async with self._sessions() as session, session.begin():
                existing = (
                    await session.execute(select(CustomDomain).where(CustomDomain.hostname == name))
                ).scalar_one_or_none()
                if existing is not None:
                    existing.active = True
                    domain = existing
                else:
                    domain = CustomDomain(hostname=name, active=True)
                    session.add(domain)
        except IntegrityError:
            raise DomainError(f"{name} is already added.") from None
        self._cached = None
        return domain

    async def remove(self, hostname: str) -> None:
        """Deactivate a domain: it stops serving pages and its users' links use the main address."""
        name = normalize_hostname(hostname)
        async with self._sessions() as session, session.begin():
            domain = (
                await session.execute(select(CustomDomain).where(CustomDomain.hostname == name))
            ).scalar_one_or_none()
            if domain is None:
                raise DomainError(f"{name} is not a custom domain here.")
            domain.active = False
            await session.execute(update(User).where(User.domain_id == domain.id).values(domain_id=None))
        self._cached = None
