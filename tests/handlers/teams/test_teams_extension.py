"""The message extension (pick one of your pages) and link unfurling, answered within 5 s as
Adaptive Cards 1.3: page title, lengths, next free times, a Book button."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp.test_utils import TestClient

from bot.i18n import translations
from tests.conftest import AppClient
from tests.handlers.teams.talk import post, say, texts, user_of

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.teams import FakeBotFramework


pytest_plugins = ["tests.fakes.teams", "tests.fakes.google"]

async def _invoke(client: TestClient, fake: FakeBotFramework, name: str, value: dict[str, Any],
                  **fields: Any) -> tuple[dict[str, Any], float]:
    began = time.perf_counter()
    response = await post(client, fake, fake.invoke(name, value, user="29:ulla", **fields))
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer["composeExtension"], time.perf_counter() - began


def _attachments(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    found: list[dict[str, Any]] = result["attachments"]
    for attachment in found:
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["content"]["version"] == "1.3"
        assert attachment["preview"]["contentType"] == "application/vnd.microsoft.card.thumbnail"
    return found


def _book_button(card: dict[str, Any]) -> dict[str, Any]:
    [book] = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert book["type"] == "Action.OpenUrl"
    return book


async def test_unfurl_a_slotbot_link(client: TestClient, teams_fake: FakeBotFramework) -> None:
    url = str(client.make_url("/meetings/demo"))
    result, seconds = await _invoke(client, teams_fake, "composeExtension/queryLink", {"url": url})
    [attachment] = _attachments(result)
    card = attachment["content"]
    shown = texts(card)
    assert "Demo Host" in shown and "30" in shown  # title with the host's name, the lengths
    assert translations("en", "conversation").gettext("Next free times ({zone}):").split("(")[0] in shown
    assert _book_button(card)["url"] == url
    assert attachment["preview"]["content"]["title"]
    assert seconds < 5


async def test_anonymous_unfurls_speak_the_readers_language(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    url = str(client.make_url("/meetings/demo"))
    result, _ = await _invoke(client, teams_fake, "composeExtension/anonymousQueryLink", {"url": url},
                              locale="pt-BR")
    [attachment] = _attachments(result)
    said = translations("pt_BR", "conversation").gettext("Book a time")
    assert _book_button(attachment["content"])["title"] == said


async def test_foreign_links_are_left_alone(client: TestClient, teams_fake: FakeBotFramework) -> None:
    for url in ("https://example.org/meetings/demo", str(client.make_url("/meetings/nobody")), ""):
        result, _ = await _invoke(client, teams_fake, "composeExtension/queryLink", {"url": url})
        assert _attachments(result) == []


async def test_pick_one_of_your_pages(client: TestClient, teams_fake: FakeBotFramework) -> None:
    value = {"commandId": "pages", "parameters": [{"name": "initialRun", "value": "true"}],
             "queryOptions": {"skip": 0, "count": 25}}
    result, seconds = await _invoke(client, teams_fake, "composeExtension/query", value)
    [page] = _attachments(result)
    assert "Meeting with Ulla Jensen" in texts(page["content"])
    assert "/meetings/ulla-jensen" in _book_button(page["content"])["url"]
    assert seconds < 5
    found, _ = await _invoke(client, teams_fake, "composeExtension/query",
                             {"commandId": "pages", "parameters": [{"name": "query", "value": "meet"}]})
    assert len(_attachments(found)) == 1
    none, _ = await _invoke(client, teams_fake, "composeExtension/query",
                            {"commandId": "pages", "parameters": [{"name": "query", "value": "zzz"}]})
    assert none == {"type": "message", "text": "None of your pages matches “zzz”."}


async def test_answers_come_within_five_seconds_when_calendars_are_slow(
        app_client: AppClient, teams_fake: FakeBotFramework, google_fake: FakeGoogle) -> None:
    from tests.handlers.slack.test_slack import connect_google

    client = await app_client(own_address=True, **teams_fake.env(), **google_fake.env())
    await say(client, teams_fake, "help")
    await connect_google(client, google_fake, await user_of(client))
    google_fake.latency = 8.0
    result, seconds = await _invoke(client, teams_fake, "composeExtension/query",
                                    {"commandId": "pages", "parameters": [{"name": "query", "value": ""}]})
    assert seconds < 5, seconds
    assert _attachments(result) == []  # not ready in time: Teams shows nothing rather than an error
