"""A Graph client for tests against the fake Graph: Slotbot's own Graph class
with a token the fake issued, plus raw aiohttp requests (same TLS trust) to read error answers.

``GraphClient(fake, settings, session, scopes=READ_WRITE)``: ``graph`` (the production client),
``await raw(method, url_or_path, json=None, prefer="") -> (status, JSON body or None)``,
``await delta_round(url, prefer="") -> (items, pages)`` (follows ``@odata.nextLink`` up to the
``@odata.deltaLink``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.calendar.microsoft.graph import Graph
from bot.calendar.microsoft.msal_http import tls_context
from bot.settings import MicrosoftSettings

if TYPE_CHECKING:
    from tests.fakes.microsoft.server import FakeMicrosoft

READ_WRITE = ("https://graph.microsoft.com/Calendars.ReadWrite", "offline_access")


class GraphClient:
    """Graph for the fake's default user, and raw aiohttp requests for error answers."""

    def __init__(
        self,
        fake: FakeMicrosoft,
        settings: MicrosoftSettings,
        session: aiohttp.ClientSession,
        scopes: tuple[str, ...] = READ_WRITE,
    ) -> None:
        self.token, _ = fake.tokens.issue(scopes, ttl=3600, subject=fake.user())
        self.session = session
        self.base = settings.graph_base
        self.ssl = tls_context(settings.ca_bundle)

        async def token() -> str:
            return self.token

        self.graph = Graph(settings, lambda: session, token, asyncio.Semaphore(4), timeout=10)

    async def raw(self, method: str, url: str, *, json: Any = None, prefer: str = "") -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} | ({"Prefer": prefer} if prefer else {})
        target = url if url.startswith("https://") else self.base + url
        async with self.session.request(method, target, json=json, headers=headers, ssl=self.ssl) as response:
            return response.status, (await response.json() if response.content_length else None)

    async def delta_round(
        self, url: str, prefer: str = ""
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every item and page until the deltaLink."""
        pages = []
        while True:
            page = await self.graph.get_json(url, headers={"Prefer": prefer} if prefer else None)
            pages.append(page)
            if "@odata.deltaLink" in page:
                return [i for p in pages for i in p["value"]], pages
            url = page["@odata.nextLink"]
