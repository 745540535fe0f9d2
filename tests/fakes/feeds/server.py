"""A fake ICS feed host: calendars with ETag / Last-Modified, and every way a feed goes wrong.

Routes (``fake.url(path)`` gives the full address; a secret-looking token is part of each path,
as in a real "secret address in iCal format"):

* ``/feeds/{token}/{name}.ics``: a calendar set with :meth:`FakeFeeds.publish`; conditional
  GET (``If-None-Match`` / ``If-Modified-Since`` -> 304); scripted faults (``fail_next``:
  a status such as 404/500/429 with ``Retry-After``, or a delay);
* ``/huge.ics?bytes=N&length=0|1``: N bytes streamed in pieces (``length=1`` announces them in
  ``Content-Length``, ``length=0`` sends them chunked); :attr:`FakeFeeds.huge_sent` counts what
  went out before the client stopped reading;
* ``/slow.ics?seconds=S``: waits S seconds before answering; ``/trickle.ics?seconds=S``: sends
  the headers at once, then the body S seconds late;
* ``/hop/{n}/{name}.ics``: a chain of n redirects (301, 302, 307, 308 in turn), then the calendar;
* ``/redirect?to=URL``: one redirect to any address (another feed, 169.254.169.254, 10.0.0.1...);
* ``/status/{code}``: that status, with ``Retry-After: 120`` for 429 and 503.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

from tests.fakes.base import CALL, FakeServer, TlsFiles

TOKEN = "s3cr3t-4f9c2b7e1d8a6035"  # the "secret address" part
"""The secret part of every feed path: must never show up in a log line or a page."""


@dataclass
class Feed:
    """One published calendar."""

    body: str
    etag: str
    modified: datetime
    cache_control: str | None = None


def calendar(*events: tuple[datetime, datetime], name: str | None = "Team holidays",
             transparent: bool = False) -> str:
    """An iCalendar text with one VEVENT per ``(start, end)`` (UTC), optionally shown as free."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Slotbot tests//Fake feeds//EN"]
    if name is not None:
        lines.append(f"X-WR-CALNAME:{name}")
    for number, (start, end) in enumerate(events):
        lines += [
            "BEGIN:VEVENT", f"UID:event-{number}-{start:%Y%m%dT%H%M%S}@feeds.example",
            f"DTSTAMP:{start:%Y%m%dT%H%M%SZ}", f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}", "SUMMARY:Busy",
        ]
        if transparent:
            lines.append("TRANSP:TRANSPARENT")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class FakeFeeds(FakeServer):
    """The fake feed host (see the module docstring)."""

    name = "feeds"

    def __init__(self, *, tls: TlsFiles | None = None) -> None:
        super().__init__(tls=tls)
        self.feeds: dict[str, Feed] = {}
        self.huge_sent = 0
        self.etags = True
        self.last_modified = True

    def routes(self, app: web.Application) -> None:
        """The routes of the module docstring."""
        app.router.add_get("/feeds/{token}/{name}.ics", self._feed)
        app.router.add_get("/huge.ics", self._huge)
        app.router.add_get("/slow.ics", self._slow)
        app.router.add_get("/trickle.ics", self._trickle)
        app.router.add_get("/hop/{n:\\d+}/{name}.ics", self._hop)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/status/{code:\\d+}", self._status)

    # -- the knobs ---------------------------------------------------------------------------

    def publish(self, name: str, body: str, *, cache_control: str | None = None) -> str:
        """Publish (or change) feed ``name``; its address (with the secret token) is returned."""
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        now = datetime.now(UTC).replace(microsecond=0)
        self.feeds[name] = Feed(body, etag, now, cache_control)
        return self.feed_url(name)

    def feed_url(self, name: str, *, scheme: str | None = None) -> str:
        """The address of feed ``name`` (``scheme`` replaces https, e.g. ``webcal``)."""
        url = self.url(f"/feeds/{TOKEN}/{name}.ics")
        return url if scheme is None else scheme + url[url.index("://"):]

    def url(self, path: str) -> str:
        """``base_url + path``."""
        return self.base_url + path

    def fetches(self, name: str) -> list[int]:
        """The statuses answered for feed ``name``, in order."""
        return [r.status for r in self.requests if r.path == f"/feeds/{TOKEN}/{name}.ics"]

    # -- handlers ------------------------------------------------------------------------------

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        fault = self.take_fault(request[CALL])
        await self.pause(fault)
        if fault is not None and fault.status is not None:
            return web.Response(status=fault.status, headers=fault.headers, text="no")
        feed = self.feeds.get(request.match_info["name"])
        if feed is None or request.match_info["token"] != TOKEN:
            return web.Response(status=404, text="not found")
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if self.etags:
            headers["ETag"] = feed.etag
        if self.last_modified:
            headers["Last-Modified"] = format_datetime(feed.modified, usegmt=True)
        if feed.cache_control:
            headers["Cache-Control"] = feed.cache_control
        if self.etags and request.headers.get("If-None-Match") == feed.etag:
            return web.Response(status=304, headers=headers)
        since = request.headers.get("If-Modified-Since")
        if self.last_modified and since and "If-None-Match" not in request.headers:
            if parsedate_to_datetime(since) >= feed.modified:
                return web.Response(status=304, headers=headers)
        return web.Response(body=feed.body.encode(), headers=headers)

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        total = int(request.query.get("bytes", "0"))
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        if request.query.get("length") == "1":
            response.content_length = total
        await response.prepare(request)
        piece = b"BEGIN:VCALENDAR\r\n" + b"X" * (64 * 1024 - 17)
        self.huge_sent = 0
        try:
            while self.huge_sent < total:
                chunk = piece[: total - self.huge_sent]
                await response.write(chunk)
                self.huge_sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client stopped reading: what we want to see
        return response

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(float(request.query.get("seconds", "30")))
        return web.Response(text="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await response.prepare(request)
        await response.write(b"BEGIN:VCALENDAR\r\n")
        await asyncio.sleep(float(request.query.get("seconds", "30")))
        await response.write(b"END:VCALENDAR\r\n")
        return response

    async def _hop(self, request: web.Request) -> web.StreamResponse:
        left = int(request.match_info["n"])
        name = request.match_info["name"]
        if left == 0:
            raise web.HTTPFound(f"/feeds/{TOKEN}/{name}.ics")
        kinds = (web.HTTPMovedPermanently, web.HTTPFound, web.HTTPTemporaryRedirect,
                 web.HTTPPermanentRedirect)
        raise kinds[left % 4](f"/hop/{left - 1}/{name}.ics")

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query["to"])

    async def _status(self, request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        headers = {"Retry-After": "120"} if code in (429, 503) else {}
        return web.Response(status=code, headers=headers, text=f"status {code}")
