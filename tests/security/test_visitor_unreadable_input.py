"""Visitor input that cannot be stored as text is refused with a 400, before the database is asked.

PostgreSQL cannot keep a NUL character in text, and the database is the first to notice: a NUL in
a name, a note, a slug, a manage token or the widget's page gave a 500 (the widget even answered
an HTML one). Every visitor input -- path, query string, form, the widget's JSON -- goes through
one reader first; what it cannot read gets a readable page (JSON for the JSON API) and no handler
runs, so no statement reaches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AppClient


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    # The outbox worker polls once at start and then sleeps: what the database is sent is ours.
    client = await app_client(seed_demo=True, outbox_worker=False)
    await client.get("/meetings/demo")  # the form cookie, and every cache warm
    return client


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the app sends from now on."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _token(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "slotbot_form")


FORM = {"start": "2031-01-06T10:00:00+00:00", "d": "30", "tz": "Europe/Lisbon", "name": "Ana",
        "email": "ana@example.com", "note": "hello"}


@pytest.mark.parametrize("field", ["name", "email", "note", "tz", "start", "q1", "mode"])
async def test_a_nul_in_the_booking_form_is_refused_before_the_database(
    client: TestClient, statements: list[str], field: str
) -> None:
    statements.clear()
    response = await client.post("/meetings/demo", data={**FORM, "csrf": _token(client),
                                                         field: "x\x00y"})
    assert response.status == 400 and response.content_type == "text/html"
    assert "could not be read" in await response.text()
    assert statements == []


@pytest.mark.parametrize("path", [
    "/meetings/de%00mo", "/meetings/demo/in%00tro", "/meetings/demo?tz=Europe/Lis%00bon",
    "/meetings/demo?name=a%00", "/meetings-manage/abc%00def", "/meetings-manage/abc?tz=%00",
])
async def test_a_nul_in_a_visitor_address_is_refused_before_the_database(
    client: TestClient, statements: list[str], path: str
) -> None:
    statements.clear()
    response = await client.get(path)
    assert response.status == 400 and response.content_type == "text/html"
    assert statements == []


async def test_a_nul_in_a_manage_form_is_refused(client: TestClient, statements: list[str]) -> None:
    statements.clear()
    response = await client.post("/meetings-manage/abc/reschedule",
                                 data={"csrf": _token(client), "start": "2031-01-06T10:00:00+00:00\x00"})
    assert response.status == 400 and statements == []


@pytest.mark.parametrize("body", [
    {"page": "de\u0000mo", "text": "hi"},
    {"page": "demo/in\u0000tro", "text": "hi"},
    {"page": "demo/intro", "text": "book\u0000"},
    {"page": "demo/intro", "text": "hi", "lang": "p\u0000t"},
])
async def test_a_nul_in_the_widget_api_is_a_json_400(
    client: TestClient, statements: list[str], body: dict[str, str]
) -> None:
    statements.clear()
    response = await client.post("/widget/messages", data=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.content_type == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # the widget can read why
    assert "error" in await response.json()
    assert statements == []


async def test_the_refusal_speaks_the_visitors_language(client: TestClient) -> None:
    response = await client.get("/meetings/de%00mo?lang=da")
    assert response.status == 400 and "Forespørgslen kunne ikke læses" in await response.text()
