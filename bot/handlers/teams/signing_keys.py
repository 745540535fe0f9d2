"""The Bot Framework's signing keys: fetched over aiohttp, kept fresh, never on a blocking call.

Teams signs every activity it sends with a key published at the OpenID metadata's ``jwks_uri``
(``TEAMS_OPENID_METADATA_URL``); each key lists the channels it endorses (``["msteams"]``).
:class:`SigningKeys` fetches the metadata and the key set through the app's shared HTTP session
(``TEAMS_CA_BUNDLE`` adds trust for a private endpoint), refreshes them every 12 hours, and on a
key id it does not know refetches at most once per 5 minutes, so a forged ``kid`` cannot make
Slotbot hammer the endpoint. Concurrent requests share one fetch. ``bot.handlers.teams.sdk`` hands
the keys to botbuilder, whose own fetch would block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

REFRESH_SECONDS = 12 * 3600.0
UNKNOWN_KID_SECONDS = 300.0
FETCH_SECONDS = 10.0


class KeysUnavailable(Exception):
    """The key set could not be fetched (the request is refused, never answered with 500)."""


class SigningKeys:
    """The JSON Web Keys the Bot Framework signs with (see the module docstring)."""

    def __init__(self, metadata_url: str, http: Callable[[], aiohttp.ClientSession],
                 tls: ssl.SSLContext | bool, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = metadata_url
        self._http = http
        self._tls = tls
        self._clock = clock
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def keys(self) -> list[dict[str, Any]]:
        """The keys of the last fetch (each with its ``kid`` and ``endorsements``)."""
        return self._keys

    def knows(self, kid: str) -> bool:
        """Whether a fresh key set holds ``kid``."""
        return self._fresh() and any(key.get("kid") == kid for key in self._keys)

    def _fresh(self) -> bool:
        return self._fetched_at is not None and self._clock() - self._fetched_at < REFRESH_SECONDS

    async def ensure(self, kid: str) -> bool:
        """Make sure the key ``kid`` is known, fetching when needed; whether it is."""
        if self.knows(kid):
            return True
        async with self._lock:
            if self.knows(kid):
                return True
            recently = self._fetched_at is not None and self._clock() - self._fetched_at < UNKNOWN_KID_SECONDS
            if self._fresh() and recently:
                return False  # an unknown key id was asked for again: no new fetch yet
            await self._fetch()
        return self.knows(kid)

    async def _fetch(self) -> None:
        try:
            metadata = await self._get(self._url)
            jwks = await self._get(str(metadata["jwks_uri"]))
            keys = [key for key in jwks["keys"] if isinstance(key, dict)]
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            log.warning("teams signing keys unavailable", extra={"error": type(exc).__name__})
            raise KeysUnavailable(type(exc).__name__) from None
        self._keys = keys
        self._fetched_at = self._clock()
        log.info("teams signing keys fetched", extra={"keys": len(keys)})

    async def _get(self, url: str) -> Any:
        timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
        async with self._http().get(url, ssl=self._tls, timeout=timeout) as response:
            response.raise_for_status()
            return await response.json(content_type=None)
