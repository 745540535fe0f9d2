"""Embedded booking forms work without cookies: they carry a token signed for the page, for a while.

Browsers that block third-party cookies (Safari; Chromium's off-the-record profiles) send no
cookie from a page framed by the website widget, so the double-submit cookie cannot prove such a
post. An embedded form's token is an HMAC (a key derived from ``SLOTBOT_SECRET_KEY``) over the page
and an expiry: it proves the form came from this deployment, for this page, recently. Pages that
are not embedded keep the cookie.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.handlers.pages.form_token import EMBEDDED_FORM_SECONDS, signed_token, signed_token_ok
from bot.keys import SESSIONS
from storage.models import Booking
from tests.conftest import TEST_KEY, AppClient
from tests.support.page_client import offered_starts

EMBEDDED = "/meetings/demo/intro?embed=1"


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True)


async def _embedded_form(client: TestClient, path: str = EMBEDDED) -> tuple[datetime, str]:
    """An offered start and the token of the embedded form for it, as a browser without cookies."""
    starts = offered_starts(await (await client.get(path)).text())
    form = await (await client.get(f"{path}&start={starts[3].isoformat()}&d=30".replace("+", "%2B"))).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token and 'name="start"' in form
    client.session.cookie_jar.clear()  # the frame's cookies are blocked
    return starts[3], unquote(token.group(1))


def _booking(start: datetime, token: str, email: str = "sam@example.com") -> dict[str, str]:
    return {"csrf": token, "start": start.isoformat(), "d": "30", "tz": "Europe/Lisbon",
            "name": "Sam", "email": email}


async def _bookings(client: TestClient) -> int:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return int((await session.execute(select(func.count()).select_from(Booking))).scalar_one())


async def test_an_embedded_form_books_without_any_cookie(client: TestClient) -> None:
    start, token = await _embedded_form(client)
    booked = await client.post(EMBEDDED, data=_booking(start, token))
    assert booked.status == 200 and "booked" in await booked.text()
    assert await _bookings(client) == 1


async def test_the_signed_token_is_for_embedded_forms_of_its_own_page_only(client: TestClient) -> None:
    start, token = await _embedded_form(client)
    plain = await client.post("/meetings/demo/intro", data=_booking(start, token))  # not embedded
    assert plain.status == 403 and "The form expired" in await plain.text()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    forged = await client.post(EMBEDDED, data=_booking(start, tampered))
    assert forged.status == 403
    assert await _bookings(client) == 0


def test_a_signed_token_is_bound_to_its_page_and_expires() -> None:
    import base64

    keys = (base64.urlsafe_b64decode(TEST_KEY + "="),)
    now = 1_900_000_000.0
    token = signed_token(keys, page_id=7, now=now)
    assert signed_token_ok(keys, token, page_id=7, now=now + EMBEDDED_FORM_SECONDS - 1)
    assert not signed_token_ok(keys, token, page_id=8, now=now)
    assert not signed_token_ok(keys, token, page_id=7, now=now + EMBEDDED_FORM_SECONDS + 1)
    rotated = (bytes(32), *keys)  # a new key in front: forms issued before still post
    assert signed_token_ok(rotated, token, page_id=7, now=now)
    assert not signed_token_ok((bytes(32),), token, page_id=7, now=now)
    for junk in ("", "x", "1.2", "e1.abc.def", "e1.99999999999999999999.zz", token + "x"):
        assert not signed_token_ok(keys, junk, page_id=7, now=now)
