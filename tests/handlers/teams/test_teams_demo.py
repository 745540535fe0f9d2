"""The demo's Teams preview: the cards the bot would send for the web chat's questions, as HTML
and as JSON, faithful to each other; in Chromium at desktop and phone widths."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient

from bot.i18n import translations
from tests.conftest import AppClient

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]
SHOTS = os.environ.get("SLOTBOT_SCREENSHOTS")  # a folder to keep the screenshots in (to look at them)


@pytest.fixture
async def demo(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_DEMO="true")


def _activities(page: str) -> list[dict[str, Any]]:
    return [json.loads(html.unescape(block)) for block in re.findall(r"<pre>(.*?)</pre>", page, re.DOTALL)]


def _card_texts(activity: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(element: Any) -> None:
        if isinstance(element, dict):
            if element.get("type") == "TextBlock":
                found.append(element["text"])
            for value in element.values():
                walk(value)
        elif isinstance(element, list):
            for item in element:
                walk(item)

    for attachment in activity.get("attachments") or activity["composeExtension"]["attachments"]:
        walk(attachment["content"]["body"])
    return found


async def test_the_preview_shows_the_web_chats_questions_as_cards_and_json(demo: TestClient) -> None:
    response = await demo.get("/demo/teams")
    assert response.status == 200
    page = await response.text()
    for question in ("when am I free tomorrow?", "share my link", "calendars", "help"):
        assert html.escape(question) in page
    activities = _activities(page)
    assert len(activities) == 7  # four answers, an unfurl, a notice, the welcome
    assert activities[0]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert activities[0]["attachments"][0]["content"]["version"] == "1.5"
    assert activities[4]["composeExtension"]["attachments"][0]["content"]["version"] == "1.3"
    for activity in activities:  # the HTML preview shows every text of the JSON it came from
        for text in _card_texts(activity):
            assert html.escape(text, quote=False) in page or text in html.unescape(page), text
    free = translations("en", "conversation").gettext("You're free at these times:")
    assert free in html.unescape(page) and 'class="ac-action primary"' in page
    assert (await demo.get("/demo/teams/card.css")).content_type == "text/css"
    start = await (await demo.get("/")).text()
    assert 'href="/demo/teams"' in start


async def test_the_preview_speaks_the_chosen_language_and_any_question(demo: TestClient) -> None:
    danish = await (await demo.get("/demo/teams?lang=da")).text()
    assert html.escape("hvornår er jeg ledig i morgen?") in danish
    said = translations("da", "conversation").gettext("Here is what I can do:")
    assert said in html.unescape(danish)
    asked = await (await demo.get("/demo/teams", params={"q": "my pages"})).text()
    assert len(_activities(asked)) == 4
    assert translations("en", "conversation").gettext("Your scheduling pages:") in html.unescape(asked)


async def test_no_preview_outside_the_demo(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True)
    assert (await client.get("/demo/teams")).status == 404


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_preview_in_chromium(live_demo: LiveDemo, browser: Browser, tmp_path: Path,
                                       width: int) -> None:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico") else None)
    await page.goto(live_demo.url("/demo/teams"))
    cards = page.locator(".ac-card")
    assert await cards.count() == 7
    assert await cards.first.is_visible()
    assert await page.locator(".ac-action.primary").first.is_visible()  # styles applied (no CSP refusal)
    primary = page.locator(".ac-action.primary").first
    colour = await primary.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(91, 95, 199)"
    overflow: Callable[[], Awaitable[int]] = lambda: page.evaluate(  # noqa: E731
        "document.documentElement.scrollWidth")
    assert await overflow() <= width  # nothing wider than a phone's screen
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"teams-demo-{width}.png"), full_page=False)
    assert problems == []
    await context.close()
