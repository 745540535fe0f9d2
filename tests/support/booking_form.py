"""Book through a scheduling page as a browser without scripts would (aiohttp test client)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp.test_utils import TestClient

from tests.support.page_client import offered_starts


@dataclass
class Booked:
    """The confirmation page a booking POST answered, and what was posted."""

    status: int
    html: str
    start: str
    manage_path: str


async def book_on_page(client: TestClient, *, path: str = "/meetings/demo", view_query: str = "",
                       form: dict[str, str] | None = None, post_query: str = "", pick: int = 2,
                       headers: dict[str, str] | None = None) -> Booked:
    """Open ``path`` (``view_query`` added), pick its ``pick``-th slot, open its form and post it
    with ``form``'s fields (name, e-mail, zone and language have defaults; ``lang`` is posted as
    the form's hidden field gives it unless ``form`` sets it; ``headers`` go with the POST)."""
    page = await (await client.get(path + view_query)).text()
    start = offered_starts(page)[pick].isoformat()  # the month's times: today may have few left
    joiner = "&" if view_query else "?"
    opened = await (await client.get(f"{path}{view_query}{joiner}start={quote(start)}&d=30")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', opened)
    lang = re.search(r'name="lang" value="([^"]*)"', opened)
    assert csrf and lang, opened
    data = {"csrf": csrf.group(1), "start": start, "d": "30", "tz": "Europe/Lisbon", "name": "Ana Lúcia",
            "email": "ana@example.com", "lang": lang.group(1), **(form or {})}
    response = await client.post(path + post_query, data=data, headers=headers)
    html = await response.text()
    manage = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"/]+)"', html)
    return Booked(response.status, html, start, manage.group(1) if manage else "")
