"""A visitor of a scheduling page over plain HTTP (aiohttp client), as a browser without scripts.

Used by the booking race test and the pages benchmark: open the page (which sets the
double-submit form cookie ``slotbot_form``), read the offered slots from its links, post the
booking form with the cookie and its token. Cookies are handled explicitly, one visitor per
:class:`PageVisitor`, so many visitors can share one ``ClientSession`` (made with
``cookie_jar=aiohttp.DummyCookieJar()``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import aiohttp

FORM_COOKIE = "slotbot_form"
_SLOT_LINK = re.compile(r'href="[^"]*[?&]start=([^&"]+)&amp;')
_SLOT_DATA = re.compile(r'<script type="application/json" id="slot-data">(.*?)</script>', re.S)


def offered_starts(html: str) -> list[datetime]:
    """The starts of the slots a page offers: its month's slot data (what its calendar's days
    open), else its slot links, in time order."""
    data = _SLOT_DATA.search(html)
    if data:
        return [datetime.fromisoformat(raw) for raw in json.loads(data.group(1))["starts"]]
    return [datetime.fromisoformat(unquote(raw)) for raw in _SLOT_LINK.findall(html)]


def day_links(html: str) -> list[str]:
    """The slot links of the day a page shows (starts as ISO text)."""
    return [unquote(raw) for raw in _SLOT_LINK.findall(html)]


def spread_starts(starts: list[datetime], *, minutes: int, zone: str, count: int | None = None,
                  after: date | None = None) -> list[datetime]:
    """Offered starts whose ``minutes``-long meetings do not overlap, from the day after ``after``
    (the host's date in ``zone``, default today) on; ``count`` of them (all when None)."""
    local = ZoneInfo(zone)
    first = (after or datetime.now(local).date()) + timedelta(days=1)
    chosen: list[datetime] = []
    for start in sorted(starts):
        if start.astimezone(local).date() < first:
            continue
        if not chosen or start >= chosen[-1] + timedelta(minutes=minutes):
            chosen.append(start)
        if count is not None and len(chosen) == count:
            break
    if count is not None and len(chosen) < count:
        raise AssertionError(f"the page offers fewer than {count} separate slots from {first} on")
    return chosen


@dataclass
class Answer:
    """A response: status, content type and body."""

    status: int
    content_type: str
    text: str


class PageVisitor:
    """One visitor (one form cookie) of the page at ``url``."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self.url = url
        self.token = ""

    async def open(self, query: str = "") -> Answer:
        """GET the page; keeps the form cookie it sets (or the one already held)."""
        headers = {"Cookie": f"{FORM_COOKIE}={self.token}"} if self.token else {}
        async with self._http.get(self.url + query, headers=headers) as response:
            answer = Answer(response.status, response.content_type, await response.text())
            cookie = response.cookies.get(FORM_COOKIE)
        if cookie is not None:
            self.token = cookie.value
        if not self.token:
            raise AssertionError(f"{self.url} set no {FORM_COOKIE} cookie ({answer.status})")
        return answer

    async def book(self, start: datetime, *, duration: int, name: str, email: str,
                   timezone: str = "Europe/Lisbon", note: str = "") -> Answer:
        """POST the booking form for ``start`` (call :meth:`open` once first)."""
        form = {"csrf": self.token, "start": start.isoformat(), "d": str(duration), "tz": timezone,
                "name": name, "email": email, "note": note}
        async with self._http.post(
            self.url, data=form, headers={"Cookie": f"{FORM_COOKIE}={self.token}"}
        ) as response:
            return Answer(response.status, response.content_type, await response.text())
