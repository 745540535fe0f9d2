"""Line breaks of every kind, and other control characters, never get into a one-line field.

Besides CR and LF there are VT, FF, NEL (U+0085), LINE SEPARATOR (U+2028), PARAGRAPH SEPARATOR
(U+2029) and the other C0/C1 controls. A visitor's name and e-mail address that hold one are
refused (they go into e-mail headers and chat notices); a note keeps its lines as ``\\n`` with
the other controls dropped; answers to the page's questions and the page editor's question
labels are flattened onto one line.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.booking.visitor import InvalidVisitor, Visitor
from bot.keys import SESSIONS
from bot.pages.settings import parse_page_form
from storage.models import Booking, SchedulingPage
from tests.conftest import AppClient
from tests.handlers.pages.test_page_admin import GOOD
from tests.support.page_client import offered_starts

BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"]
CONTROLS = [*BREAKS, "\x07", "\x1b", "\x7f", "\x9b", "\t"]


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("field", ["name", "email"])
def test_names_and_addresses_with_a_control_character_are_refused(field: str, control: str) -> None:
    details = {"name": "Eve Lyn", "email": "eve@example.com"}
    details[field] = details[field][:2] + control + details[field][2:]  # inside: ends are trimmed
    with pytest.raises(InvalidVisitor, match="one line"):
        Visitor(**details).validated()


@pytest.mark.parametrize("brk", BREAKS)
def test_notes_keep_their_lines_and_answers_are_flattened(brk: str) -> None:
    visitor = Visitor("Eve", "eve@example.com", note=f"first{brk}second\x07\r\nthird",
                      answers={"Company": f"Acme{brk}Inc\x1b"}).validated()
    assert visitor.note == "first\nsecond\nthird"
    assert visitor.answers == {"Company": "Acme Inc"}


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(questions=[{"label": "Company"}]))
    return client


async def test_the_booking_form_refuses_and_normalises(client: TestClient) -> None:
    page = await client.get("/meetings/demo")
    token, start = page.cookies["slotbot_form"].value, offered_starts(await page.text())[2]
    form = {"csrf": token, "start": start.isoformat(), "d": "30", "tz": "Europe/Lisbon",
            "email": "eve@example.com"}
    refused = await client.post("/meetings/demo", data={**form, "name": "Eve\u2028Bcc: x@example.com"})
    assert refused.status == 400 and "must be on one line" in await refused.text()
    booked = await client.post("/meetings/demo", data={**form, "name": "Eve", "note": "a\u2029b\x0cc\x07",
                                                       "q1": "Acme\u2028Inc"})
    assert booked.status == 200
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert booking.note == "a\nb\nc" and list(booking.answers.values()) == ["Acme Inc"]


def test_the_page_editor_flattens_question_labels_and_cleans_the_description() -> None:
    values = parse_page_form({**GOOD, "question_0": "Com\x07pany", "question_1": "Ph\x1bone",
                              "description": "Thirty\u2029minutes\x7f with us."})
    assert values.questions == [{"label": "Com pany", "required": True},
                                {"label": "Ph one", "required": False}]
    assert values.description == "Thirty\nminutes with us."

