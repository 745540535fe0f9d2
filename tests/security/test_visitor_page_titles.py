"""A page title is one line: the editor flattens line breaks, and a stored title with one never 500s.

A title is used in e-mail subjects, chat notices and calendar events. With a line break in it
every booking on the page failed (an e-mail subject may not contain one). The page editor
flattens line breaks in single-line fields (title, question labels) and normalises them in the
description; titles stored before are flattened wherever they are used.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.booking.events import booking_event
from bot.keys import SESSIONS
from bot.pages.settings import parse_page_form
from storage.models import Booking, OutboxMessage, SchedulingPage, User
from tests.conftest import AppClient
from tests.handlers.pages.test_page_admin import GOOD
from tests.support.page_client import offered_starts

BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"]


@pytest.mark.parametrize("brk", BREAKS)
def test_the_page_editor_flattens_line_breaks_in_single_line_fields(brk: str) -> None:
    values = parse_page_form({**GOOD, "title": f"Sales{brk}demo", "question_0": "Com\x07pany",
                              "description": f"Thirty minutes{brk}with us.\x07"})
    assert values.title == "Sales demo"
    assert values.description == "Thirty minutes\nwith us."
    assert values.questions == [{"label": "Com pany", "required": True},
                                {"label": "Phone", "required": False}]


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():  # stored before the editor flattened
        await session.execute(update(SchedulingPage).values(
            title="Intro\ncall\u2028today", questions=[{"label": "Com\npany", "required": False}]))
    return client


async def test_a_stored_title_with_a_line_break_books_fine(client: TestClient) -> None:
    page = await client.get("/meetings/demo")
    assert page.status == 200 and "Intro call today with Demo Host" in await page.text()
    token = page.cookies["slotbot_form"].value
    start = offered_starts(await page.text())[2]
    booked = await client.post("/meetings/demo", data={
        "csrf": token, "start": start.isoformat(), "d": "30", "tz": "Europe/Lisbon",
        "name": "Ana", "email": "ana@example.com", "q1": "Acme"})
    assert booked.status == 200, await booked.text()
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        messages = (await session.execute(select(OutboxMessage))).scalars()
        subjects = [message.payload.get("subject", "") for message in messages]
        booking = (await session.execute(select(Booking))).scalar_one()
        host = (await session.execute(select(User))).scalars().first()
    assert "Ana booked Intro call today" in subjects
    assert all("\n" not in subject and "\u2028" not in subject for subject in subjects)
    assert booking.answers == {"Com pany": "Acme"}
    assert host is not None
    assert booking_event(host, "Intro\ncall", booking).title == "Intro call: Ana"
    manage = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"]+)"', await booked.text())
    assert manage
    shown = await client.get(manage.group(1), params={"cancel": "1"})  # the cancel question
    csrf = re.search(r'name="csrf" value="([^"]+)"', await shown.text())
    assert csrf
    cancelled = await client.post(manage.group(1) + "/cancel", data={"csrf": csrf.group(1)})
    assert cancelled.status == 200
