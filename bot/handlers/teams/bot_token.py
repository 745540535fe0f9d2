"""The bot's own access token for the Bot Connector: client credentials through msal, in threads.

Every reply, update and proactive message carries ``Authorization: Bearer <token>``, a token the
bot gets from its tenant's authority (``TEAMS_LOGIN_URL``, default
``https://login.microsoftonline.com/<TEAMS_TENANT_ID>``) with its app id and password, for the
scope ``TEAMS_OAUTH_SCOPE/.default``. msal is synchronous, so :class:`BotToken` runs it in the
app's worker threads (built as the Microsoft calendar provider builds msal: its requests session,
``TEAMS_CA_BUNDLE`` trust, no instance discovery for a private authority) and keeps the token
until five minutes before it expires; concurrent callers share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msal

from bot.calendar.microsoft.msal_http import build_app
from bot.calendar.threads import WorkerThreads
from bot.settings import MicrosoftSettings, TeamsSettings

EARLY_SECONDS = 300.0
TOKEN_TIMEOUT = 15.0


class TokenRefused(Exception):
    """The authority refused the bot's credentials (``str()``: its error code, no secrets)."""


class BotToken:
    """The bot's Bot Connector token, fetched when missing or about to expire."""

    def __init__(self, settings: TeamsSettings, threads: WorkerThreads,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._threads = threads
        self._clock = clock
        self._app: msal.ConfidentialClientApplication | None = None
        self._token = ""
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        """A valid access token (fetched in a worker thread when needed)."""
        if self._token and self._clock() < self._until:
            return self._token
        async with self._lock:
            if not (self._token and self._clock() < self._until):
                answer = await self._threads.run(self._acquire, timeout=TOKEN_TIMEOUT,
                                                 what="Teams: the bot's token")
                if "access_token" not in answer:
                    raise TokenRefused(str(answer.get("error") or "no access token"))
                self._token = str(answer["access_token"])
                lifetime = float(answer.get("expires_in") or 3600)
                self._until = self._clock() + max(lifetime - EARLY_SECONDS, lifetime / 2)
        return self._token

    def _acquire(self) -> dict[str, Any]:
        """In a worker thread: build msal once (it fetches the authority's metadata), then ask."""
        if self._app is None:
            settings = self._settings
            self._app = build_app(
                MicrosoftSettings(client_id=settings.app_id, client_secret=settings.app_password,
                                  authority=settings.authority, ca_bundle=settings.ca_bundle),
                cache=None, validate_authority=None, timeout=TOKEN_TIMEOUT,
            )
        scope = self._settings.oauth_scope.rstrip("/") + "/.default"
        answer: dict[str, Any] = self._app.acquire_token_for_client(scopes=[scope])
        return answer
