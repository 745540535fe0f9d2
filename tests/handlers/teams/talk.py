"""Talking to the app as Teams does: post signed activities, read what reached the connector."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.keys import SECRETS, SESSIONS
from storage.models import Calendar, CalendarConnection, ChatIdentity

if TYPE_CHECKING:
    from tests.fakes.teams import FakeBotFramework, Sent


async def post(client: TestClient, fake: FakeBotFramework, activity: dict[str, Any],
               **token: Any) -> ClientResponse:
    """POST ``activity`` to /api/messages, signed (``token``: claim and key overrides)."""
    return await client.post("/api/messages", data=json.dumps(activity),
                             headers=fake.headers(activity, **token))


async def say(client: TestClient, fake: FakeBotFramework, text: str, *, user: str = "29:ulla",
              **fields: Any) -> Sent:
    """Send a message in the user's personal chat; the card the bot answers with."""
    activity = fake.message(text, user=user, **fields)
    conversation = activity["conversation"]["id"]
    before = len(fake.sent_to(conversation))
    response = await post(client, fake, activity)
    assert response.status == 200, await response.text()
    await fake.wait_for(lambda: len(fake.sent_to(conversation)) > before)
    return fake.sent_to(conversation)[before]


def card_of(sent: Sent | dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card of a sent message."""
    activity = sent if isinstance(sent, dict) else sent.activity
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


def texts(card: dict[str, Any]) -> str:
    """Every text of a card (text blocks, facts, action titles), one string."""
    found: list[str] = []

    def walk(element: Any) -> None:
        if isinstance(element, list):
            for item in element:
                walk(item)
        elif isinstance(element, dict):
            kind = element.get("type", "")
            if kind == "TextBlock":
                found.append(element["text"])
            elif kind.startswith("Action."):
                found.append(element["title"])
            elif "title" in element and "value" in element:  # a fact
                found.extend((element["title"], element["value"]))
            for value in element.values():
                if isinstance(value, list | dict):
                    walk(value)

    walk(card.get("body", []))
    return "\n".join(found)


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action of a card's action sets."""
    return [action for element in card.get("body", []) if element.get("type") == "ActionSet"
            for action in element["actions"]]


async def user_of(client: TestClient, external_id: str = "29:ulla", channel: str = "teams") -> int:
    """The Slotbot user id behind a chat identity."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(ChatIdentity.user_id).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == external_id))).scalar_one()


async def connect_local(client: TestClient, user_id: int, *, calendars: tuple[str, ...] = ("Work",)) -> int:
    """Give the user a local calendar account whose calendars are checked (the first: default)."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        connection = CalendarConnection(
            user_id=user_id, provider="local", account_email="ulla@example.com",
            credentials=client.app[SECRETS].seal(json.dumps({}), purpose=CREDENTIALS_PURPOSE))
        session.add(connection)
        await session.flush()
        for n, name in enumerate(calendars):
            session.add(Calendar(connection_id=connection.id, user_id=user_id, external_id=name.lower(),
                                 name=name, access_role="owner", is_default=n == 0, checks_conflicts=True,
                                 time_zone="Europe/Copenhagen"))
        return connection.id
