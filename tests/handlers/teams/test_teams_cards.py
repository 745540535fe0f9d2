"""Replies as Adaptive Cards, and button presses: Action.Execute answered with the card that
replaces the pressed one, Action.Submit updating the pressed message, sharing into the
conversation the answer was for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp.test_utils import TestClient

from bot.conversation.reply import Button, Fields, Reply, Section, Text
from bot.handlers.teams import cards
from bot.keys import SESSIONS
from storage.models import CalendarConnection
from tests.handlers.teams.talk import actions, card_of, connect_local, post, say, texts, user_of

if TYPE_CHECKING:
    from tests.fakes.teams import FakeBotFramework

pytest_plugins = ["tests.fakes.teams", "tests.fakes.google"]

PERSONAL = "a:personal-29:ulla"
CHANNEL = "19:general@thread.tacv2;messageid=1700000000002"


def test_a_reply_becomes_an_adaptive_card_with_a_text_fallback() -> None:
    reply = Reply((
        Text("Your link: https://slotbot.test/meetings/ulla"),
        Section("Friday", ("09:00-10:00", "13:00-15:00")),
        Fields((("Who", "Vera <vera@example.com>"), ("When", "Friday at 09:00"))),
        Button("Share in this conversation", action="share_link", value="Book me: https://x", primary=True),
        Button("Open the page", url="https://slotbot.test/meetings/ulla"),
        Text("Note"),
    ))
    card = cards.card(reply, origin="19:channel")
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    kinds = [element["type"] for element in card["body"]]
    assert kinds == ["TextBlock", "Container", "FactSet", "ActionSet", "TextBlock"]
    assert all(block["wrap"] for block in card["body"] if block["type"] == "TextBlock")
    share, page = card["body"][3]["actions"]
    assert share["type"] == "Action.Execute" and share["verb"] == "slotbot.share_link"
    assert share["data"] == {"slotbot": "share_link", "value": "Book me: https://x", "to": "19:channel"}
    assert share["style"] == "positive"
    assert page == {"type": "Action.OpenUrl", "title": "Open the page",
                    "url": "https://slotbot.test/meetings/ulla", "id": "slotbot-4"}
    assert card["fallbackText"] == reply.plain_text()
    message = cards.message(reply)
    assert message["summary"] == "Your link: https://slotbot.test/meetings/ulla"
    assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    # Extension results are 1.3 cards: Action.Execute does not exist there.
    small = cards.card(reply, version="1.3")
    assert [a["type"] for a in small["body"][3]["actions"]] == ["Action.Submit", "Action.OpenUrl"]
    assert cards.pressed(share["data"]) == ("share_link", "Book me: https://x", "19:channel")
    assert cards.pressed({"slotbot": "drop_tables", "value": ""}) is None


def test_long_replies_stay_within_limits() -> None:
    reply = Reply(tuple(Text("x" * 5000) for _ in range(150)))
    card = cards.card(reply)
    assert len(card["body"]) == 100 and all(len(b["text"]) <= 4000 for b in card["body"])
    assert len(card["fallbackText"]) <= 2000


async def _connected(client: TestClient, connection_id: int) -> bool:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return await session.get(CalendarConnection, connection_id) is not None


def _execute(fake: FakeBotFramework, data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return fake.invoke("adaptiveCard/action", {
        "action": {"type": "Action.Execute", "verb": f"slotbot.{data.get('slotbot')}", "data": data},
        "trigger": "manual"}, user="29:ulla", **fields)


async def test_disconnect_button_replaces_the_card_in_place(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    connection_id = await connect_local(client, await user_of(client))
    menu = card_of(await say(client, teams_fake, "disconnect"))
    [button] = [a for a in actions(menu) if a["type"] == "Action.Execute"]
    assert button["data"] == {"slotbot": "disconnect", "value": str(connection_id)}
    response = await post(client, teams_fake, _execute(teams_fake, button["data"]))
    assert response.status == 200
    answer = await response.json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Disconnected ulla@example.com" in texts(answer["value"])
    assert not await _connected(client, connection_id)
    # Pressed again (an old card): the answer says so, still a card in place.
    again = await (await post(client, teams_fake, _execute(teams_fake, button["data"]))).json()
    assert "not connected" in texts(again["value"])


async def test_a_submit_press_updates_the_pressed_message(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    connection_id = await connect_local(client, await user_of(client))
    pressed = teams_fake.message("", user="29:ulla", replyToId="1:menu-card",
                                 value={"slotbot": "disconnect", "value": str(connection_id)})
    assert (await post(client, teams_fake, pressed)).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL, "update"))
    [update] = teams_fake.sent_to(PERSONAL, "update")
    assert update.activity_id == "1:menu-card"
    assert "Disconnected ulla@example.com" in texts(card_of(update))
    assert not await _connected(client, connection_id)


async def test_share_posts_the_link_where_it_was_asked_for(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    # Asked in a channel: the link comes to the 1:1 chat; sharing posts it in the channel.
    ask = teams_fake.message("share my link", user="29:ulla", mention=True, conversation=CHANNEL,
                             conversation_type="channel")
    assert (await post(client, teams_fake, ask)).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL) and teams_fake.sent_to(CHANNEL))
    [share] = [a for a in actions(card_of(teams_fake.sent_to(PERSONAL)[0])) if a["type"] == "Action.Execute"]
    assert share["data"]["to"] == CHANNEL
    response = await post(client, teams_fake, _execute(teams_fake, share["data"]))
    answer = await response.json()
    assert answer == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                      "value": "Posted in the conversation."}
    posted = teams_fake.sent_to(CHANNEL)[-1]
    assert "/meetings/" in texts(card_of(posted)) and "Book a time with" in texts(card_of(posted))
    # Asked in the 1:1 chat: sharing posts it there.
    link = card_of(await say(client, teams_fake, "share my link"))
    [share] = [a for a in actions(link) if a["type"] == "Action.Execute"]
    assert "to" not in share["data"]
    before = len(teams_fake.sent_to(PERSONAL))
    await post(client, teams_fake, _execute(teams_fake, share["data"]))
    assert "Book a time with" in texts(card_of(teams_fake.sent_to(PERSONAL)[before]))


async def test_a_share_into_an_unknown_conversation_stays_here(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    data = {"slotbot": "share_link", "value": "Book a time with Ulla: https://x", "to": "19:not-known"}
    before = len(teams_fake.sent_to(PERSONAL))
    await post(client, teams_fake, _execute(teams_fake, data))
    assert teams_fake.sent_to("19:not-known") == []
    assert "Book a time with Ulla" in texts(card_of(teams_fake.sent_to(PERSONAL)[before]))


async def test_foreign_button_data_is_not_acted_on(client: TestClient, teams_fake: FakeBotFramework) -> None:
    response = await post(client, teams_fake, _execute(teams_fake, {"slotbot": "drop", "value": "1"}))
    assert (await response.json())["type"] == "application/vnd.microsoft.activity.message"
    unknown = teams_fake.invoke("task/fetch", {}, user="29:ulla")
    assert (await post(client, teams_fake, unknown)).status == 501
