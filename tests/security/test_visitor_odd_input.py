"""Odd visitor input gets the default or a readable 400, never a 500.

A ``?tz=`` that names no zone (even one too long for a file name) shows the page in the host's
zone with a visible note; a time far outside any calendar (``9999-12-31...``) is not a time on the
list; a body that is not UTF-8, or a broken multipart body, is refused with a readable page.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import Booking
from tests.conftest import AppClient
from tests.support.page_client import offered_starts

FAR = "9999-12-31T23:59:59-05:00"  # past the last instant a datetime can hold, once in UTC


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True)


def _token(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "slotbot_form")


def _shown_zone(body: str) -> str:
    found = re.search(r'name="tz" value="([^"]*)"', body)
    assert found
    return found.group(1)


@pytest.mark.parametrize("zone", ["A" * 300, "Mars/Olympus", "../../etc/passwd", "Europe"])
async def test_an_unknown_zone_shows_the_hosts_zone_with_a_note(client: TestClient, zone: str) -> None:
    response = await client.get("/meetings/demo", params={"tz": zone})
    body = await response.text()
    assert response.status == 200 and _shown_zone(body) == "Europe/Copenhagen"
    assert "is not a time zone we know" in body and "Europe/Copenhagen" in body
    assert zone[:300] not in body or len(zone) < 60  # a long name is not echoed whole
    danish = await (await client.get("/meetings/demo", params={"tz": zone, "lang": "da"})).text()
    assert "er ikke en tidszone, vi kender" in danish
    plain = await (await client.get("/meetings/demo", params={"tz": "Europe/Lisbon"})).text()
    assert "is not a time zone we know" not in plain


async def test_an_unknown_zone_in_the_booking_form_books_in_the_hosts_zone(client: TestClient) -> None:
    starts = offered_starts(await (await client.get("/meetings/demo")).text())
    response = await client.post("/meetings/demo", data={
        "csrf": _token(client), "start": starts[2].isoformat(), "d": "30", "tz": "A" * 300,
        "name": "Ana", "email": "ana@example.com"})
    assert response.status == 200
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(Booking.timezone))).scalar_one() == "Europe/Copenhagen"


async def test_a_time_far_outside_any_calendar_is_not_on_the_list(client: TestClient) -> None:
    shown = await client.get("/meetings/demo", params={"start": FAR, "d": "30"})
    assert shown.status == 200
    await client.get("/meetings/demo")
    for csrf, status in ((_token(client), 400), ("forged", 403)):
        posted = await client.post("/meetings/demo", data={"csrf": csrf, "start": FAR, "d": "30",
                                                           "name": "Ana", "email": "ana@example.com"})
        assert posted.status == status and "Traceback" not in await posted.text()
        if status == 400:
            assert "Please pick a time from the list." in await posted.text()


async def test_moving_to_a_time_far_outside_any_calendar_is_refused(client: TestClient) -> None:
    starts = offered_starts(await (await client.get("/meetings/demo")).text())
    booked = await client.post("/meetings/demo", data={
        "csrf": _token(client), "start": starts[2].isoformat(), "d": "30", "tz": "Europe/Lisbon",
        "name": "Ana", "email": "ana@example.com"})
    manage = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"]+)"', await booked.text())
    assert manage
    view = await client.get(manage.group(1), params={"tz": "B" * 300, "cancel": "1"})
    assert view.status == 200 and "is not a time zone we know" in await view.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', await view.text())
    assert csrf
    moved = await client.post(manage.group(1) + "/reschedule", data={"csrf": csrf.group(1), "start": FAR})
    assert moved.status == 400 and "Please pick a time from the list." in await moved.text()


@pytest.mark.parametrize(("body", "content_type"), [
    (b"csrf=x&name=\xff\xfe&email=a@example.com", "application/x-www-form-urlencoded"),
    (b"--xx\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nzz", "multipart/form-data; boundary=xx"),
    (b"garbage", "multipart/form-data"),
    (b"--xx\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n\xff\r\n--xx--\r\n",
     "multipart/form-data; boundary=xx"),
    (b"name=a", "application/x-www-form-urlencoded; charset=klingon"),
])
async def test_a_body_that_cannot_be_read_gets_a_readable_400(
    client: TestClient, body: bytes, content_type: str
) -> None:
    for path in ("/meetings/demo", "/meetings-manage/abc/cancel"):
        response = await client.post(path, data=body, headers={"Content-Type": content_type})
        text = await response.text()
        assert response.status == 400, (path, text[:200])
        assert response.content_type == "text/html" and "could not be read" in text


async def test_the_widget_refuses_a_body_that_is_not_utf8_with_json(client: TestClient) -> None:
    response = await client.post("/widget/messages", data=b'{"page": "demo", "text": "\xff"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400 and "error" in await response.json()


async def test_an_address_that_is_not_utf8_is_just_an_address(client: TestClient) -> None:
    for path in ("/meetings/demo?tz=%FF%FE", "/meetings/%FF", "/meetings/demo?lang=%C3"):
        response = await client.get(path)
        assert response.status in (200, 404) and response.content_type == "text/html"
