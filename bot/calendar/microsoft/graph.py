"""Microsoft Graph over aiohttp for one mailbox: bearer token, concurrency bound, the shared policy.

:class:`Graph` sends each request as one attempt of :meth:`bot.calendar.http.RetryPolicy.run`
(retries on 429/5xx, ``Retry-After``, one forced token refresh on a 401, the shared status
mapping fed with Graph's ``error.code``). A timeout is :class:`~bot.calendar.base.ProviderTimeout`,
any other transport failure :class:`~bot.calendar.base.ProviderUnavailable`; neither is retried.
Graph is plain HTTPS JSON under ``settings.graph_base``, trusted through ``settings.ca_bundle``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from bot.calendar.base import ProviderTimeout, ProviderUnavailable
from bot.calendar.http import ErrorVocabulary, RetryPolicy, StatusError
from bot.calendar.microsoft.msal_http import tls_context
from bot.calendar.paging import next_link_on
from bot.settings import MicrosoftSettings

log = logging.getLogger(__name__)

VOCABULARY = ErrorVocabulary("Microsoft Graph")
"""Graph's words for the shared status mapping (its throttling is plain 429/503)."""

TokenSource = Callable[[], Awaitable[str]]
"""Gives the bearer token to send (cached by the provider until it expires)."""


def graph_error_codes(body: object) -> tuple[str, ...]:
    """Graph's ``error.code`` of an error body (empty when there is none)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return (str(error["code"]),)
    return ()


class Graph:
    """Requests to Graph for one mailbox; ``limit`` bounds how many are in flight at once."""

    def __init__(
        self,
        settings: MicrosoftSettings,
        session: Callable[[], aiohttp.ClientSession],
        token: TokenSource,
        limit: asyncio.Semaphore,
        *,
        timeout: float,
        refresh: Callable[[], Awaitable[None]] | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._base = settings.graph_base.rstrip("/")
        self._session = session
        self._token = token
        self._refresh = refresh
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl: ssl.SSLContext | bool = tls_context(settings.ca_bundle) if settings.ca_bundle else True
        self._retry = retry

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """An absolute, already-encoded Graph URL for ``path`` (segments quoted by the caller)."""
        query = "?" + urlencode(params, quote_via=quote, safe="$,") if params else ""
        return f"{self._base}{path}{query}"

    def next_link(self, data: Mapping[str, Any], name: str = "@odata.nextLink") -> str | None:
        """A page's ``@odata.nextLink`` (or another link, ``name``), checked to stay on the
        configured Graph (or None)."""
        return next_link_on(data.get(name), self._base, service="Microsoft Graph")

    async def get_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET ``url`` and return its JSON object."""
        body = await self.request("GET", url, headers=headers)
        if not isinstance(body, dict):
            raise ProviderUnavailable("Microsoft Graph gave an unexpected answer")
        return body

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> object:
        """Send one request through the shared policy; return the JSON body of the 2xx answer.

        ``missing_ok`` turns 404/410 into :class:`~bot.calendar.http.Gone`.
        """

        async def attempt() -> object:
            token = await self._token()
            request_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            request_headers.update(headers or {})
            try:
                async with self._limit:
                    async with self._session().request(
                        method,
                        URL(url, encoded=True),
                        json=json_body,
                        headers=request_headers,
                        ssl=self._ssl,
                        timeout=self._timeout,
                    ) as response:
                        status = response.status
                        retry_after = response.headers.get("Retry-After")
                        text = await response.text()
            except TimeoutError:
                raise ProviderTimeout("Microsoft Graph did not answer in time.") from None
            except aiohttp.ClientError as exc:
                log.info("microsoft graph unreachable: %s", type(exc).__name__)
                raise ProviderUnavailable("Microsoft Graph could not be reached") from None
            body: object = None
            if text.strip():
                try:
                    body = json.loads(text)
                except ValueError:
                    body = None
            if 200 <= status < 300:
                return body
            raise StatusError(status, reasons=graph_error_codes(body), retry_after=retry_after)

        return await self._retry.run(
            attempt,
            vocabulary=VOCABULARY,
            what=f"a {method} request",
            missing_ok=missing_ok,
            refresh=self._refresh,
        )
