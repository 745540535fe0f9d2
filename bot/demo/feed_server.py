"""The demo's ICS feed: a "secret address" calendar served over https on 127.0.0.1 by the demo.

The feed is the bundled ``demo/data/company.ics`` (company events that block time). Its address
carries a token made on the first start and kept in the data folder, as real "secret addresses in
iCal format" do. It answers with an ETag and Last-Modified and honours ``If-None-Match`` and
``If-Modified-Since`` (304), so the demo shows Slotbot's conditional refresh at work.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from pathlib import Path

from aiohttp import web

from bot.demo.certificate import TlsFiles
from bot.demo.ports import bound_socket

TOKEN_FILE = "feed-token"  # noqa: S105 (a file name)


def company_feed() -> bytes:
    """The bundled feed's bytes."""
    return resources.files("bot.demo").joinpath("data/company.ics").read_bytes()


def feed_token(data_dir: Path) -> str:
    """The feed address's token (made once, kept 0600 in the data folder)."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


@dataclass(frozen=True, slots=True)
class RunningFeed:
    """The feed server: its address (a secret, as a real feed's is) and its runner."""

    url: str
    port: int
    runner: web.AppRunner


class CompanyFeed:
    """The feed's handler: the bundled calendar with validators, at ``/calendars/<token>.ics``."""

    def __init__(self, token: str, body: bytes, modified: datetime) -> None:
        self._path = f"/calendars/{token}.ics"
        self._body = body
        self._etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        self._modified = modified.replace(microsecond=0)

    @property
    def path(self) -> str:
        """The feed's path."""
        return self._path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The calendar, or 304 when the client's copy is current, or 404 for any other path."""
        if request.path != self._path:
            raise web.HTTPNotFound(text="No calendar here.")
        headers = {"ETag": self._etag, "Last-Modified": format_datetime(self._modified, usegmt=True),
                   "Cache-Control": "private, max-age=900"}
        if self._not_modified(request):
            return web.Response(status=304, headers=headers)
        return web.Response(body=self._body, headers=headers,
                            content_type="text/calendar", charset="utf-8")

    def _not_modified(self, request: web.Request) -> bool:
        tags = request.headers.get("If-None-Match")
        if tags is not None:
            return self._etag in {tag.strip() for tag in tags.split(",")} or tags.strip() == "*"
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since) >= self._modified
            except (TypeError, ValueError):
                return False
        return False


async def serve_feed(data_dir: Path, tls: TlsFiles, port: int = 0) -> RunningFeed:
    """Serve the company feed over https on 127.0.0.1 (``port``, or any free one if it is taken)."""
    feed = CompanyFeed(feed_token(data_dir), company_feed(), datetime.now(UTC))
    app = web.Application()
    app.router.add_get("/{tail:.*}", feed.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = bound_socket(port)
    await web.SockSite(runner, sock, ssl_context=tls.server_context()).start()
    bound = sock.getsockname()[1]
    return RunningFeed(f"https://127.0.0.1:{bound}{feed.path}", bound, runner)

