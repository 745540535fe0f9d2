"""A "you call the visitor" page asks for the visitor's number on the form: a number that cannot be
called is refused beside its field (nothing booked, what was typed kept), a good one is where the
booking takes place."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.booking.location_text import callable_number
from bot.keys import SESSIONS
from bot.pages.location import LocationKind
from storage.models import Booking, SchedulingPage
from tests.conftest import AppClient
from tests.support.page_client import offered_starts


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True, outbox_worker=False)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(location_kind=LocationKind.VISITOR_PHONE.value))
    return client


async def _post(client: TestClient, phone: str | None) -> tuple[int, str]:
    page = await client.get("/meetings/demo")
    start = offered_starts(await page.text())[1]
    form = await client.get(f"/meetings/demo?start={start.isoformat()}".replace("+", "%2B"))
    assert 'type="tel"' in await form.text()  # the form asks for the number
    data = {"csrf": page.cookies["slotbot_form"].value, "start": start.isoformat(), "d": "30",
            "name": "Ana", "email": "ana@example.com"}
    if phone is not None:
        data["phone"] = phone
    answer = await client.post("/meetings/demo", data=data)
    return answer.status, await answer.text()


async def _bookings(client: TestClient) -> list[Booking]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return list((await session.execute(select(Booking))).scalars())


@pytest.mark.parametrize("phone", [None, "", "call me", "12"])
async def test_a_number_that_cannot_be_called_is_refused_beside_its_field(
    client: TestClient, phone: str | None,
) -> None:
    status, html = await _post(client, phone)
    assert status == 400
    assert "Please give a phone number the host can call." in html
    assert 'aria-invalid="true"' in html and 'id="f-phone"' in html
    assert 'value="Ana"' in html  # what was typed is kept
    assert await _bookings(client) == []


async def test_the_visitors_number_is_where_the_meeting_takes_place(client: TestClient) -> None:
    status, _ = await _post(client, "+45 12 34 56 78")
    assert status == 200
    [booking] = await _bookings(client)
    assert booking.location == "+45 12 34 56 78"


async def test_a_page_of_another_kind_asks_for_no_number(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(location_kind=LocationKind.IN_PERSON.value))
    page = await client.get("/meetings/demo")
    start = offered_starts(await page.text())[1]
    form = await client.get(f"/meetings/demo?start={start.isoformat()}".replace("+", "%2B"))
    assert 'id="f-phone"' not in await form.text()


def test_what_reads_as_a_number_to_call() -> None:
    assert callable_number("+45 12 34 56 78") and callable_number("(11) 98765-4321")
    assert not callable_number("12345") and not callable_number("call 12345678")
    assert not callable_number("1" * 21)
