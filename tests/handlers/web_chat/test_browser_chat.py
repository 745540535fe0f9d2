"""The web chat and the website widget in a real Chromium, against the demo as ``slotbot demo`` runs it.

The demo host signs in through /demo/login, opens the chat and asks when they are free tomorrow in
English, Portuguese and Danish; a visitor on the demo's customer site opens the widget, asks for a
meeting, opens the scheduling page inside the widget and books; the widget also works on a site of
another origin (CORS, framing). No page may break Slotbot's Content Security Policy.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.conversation import dates
from bot.keys import SESSIONS
from storage.models import Booking
from tests.support.browser import collect_problems
from tests.support.chat_calendar import ZONE, free_ranges, known_tomorrow
from tests.support.widget_visitor import site_serving, widget_books

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TIMEOUT_MS = 15_000
QUESTIONS = [
    (None, "en", "when am I free tomorrow?", "You're free at these times"),
    ("pt_BR", "pt_BR", "quando estou livre amanhã?", "Você está livre nestes horários"),
    ("da", "da", "hvornår er jeg ledig i morgen?", "Du er ledig på disse tidspunkter"),
]


async def _open(browser: Browser, problems: list[str], locale: str = "en-US") -> Page:
    context = await browser.new_context(locale=locale, timezone_id="Europe/Lisbon")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    collect_problems(page, problems)
    return page


def _spaces(text: str) -> str:
    return re.sub(r"[\s\u202f\u00a0\u2009]+", " ", text).strip()


async def test_the_demo_host_asks_when_they_are_free_in_three_languages(
    live_demo: LiveDemo, browser: Browser
) -> None:
    tomorrow = await known_tomorrow(live_demo.app[SESSIONS])
    problems: list[str] = []
    page = await _open(browser, problems)
    await page.goto(live_demo.url("/demo/login"))
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await page.goto(live_demo.url("/dashboard/chat"))
    for choice, locale, question, heading in QUESTIONS:
        if choice is not None:
            async with page.expect_navigation():
                await page.locator("#chat-language-select").select_option(choice)
        await expect(page.locator("#chat-language-change")).to_be_hidden()  # the script submits it
        await page.locator("#chat-text").fill(question)
        await page.locator("#chat-text").press("Enter")
        answer = page.locator("li.chat-message.from-bot").last
        await expect(answer).to_contain_text(heading)
        asked = page.locator("li.chat-message.from-you").last
        await expect(asked).to_have_text(re.compile(re.escape(question)))
        await expect(answer).to_have_attribute("lang", locale.replace("_", "-"))
        lines = [_spaces(text) for text in await answer.locator(".chat-section li").all_inner_texts()]
        assert lines == [_spaces(dates.hours(s, e, ZONE, locale)) for s, e in free_ranges(tomorrow)]
        assert _spaces(dates.day(tomorrow, locale)) in _spaces(await answer.inner_text())
    # The link is ready to copy, and nothing a user typed becomes markup.
    await page.locator("#chat-text").fill("<img src=x onerror=alert(1)> del mit link")
    await page.locator("#chat-text").press("Enter")
    share = page.locator(".chat-share textarea").last
    await expect(share).to_have_value(re.compile(r"/meetings/demo$"))
    assert await page.locator("#chat-log img").count() == 0
    assert problems == []


async def _booked(demo: LiveDemo, email: str) -> Booking:
    async with demo.app[SESSIONS]() as session:
        return (await session.execute(select(Booking).where(Booking.visitor_email == email))).scalar_one()


async def test_a_visitor_books_inside_the_widget_on_the_demo_customer_site(
    live_demo: LiveDemo, browser: Browser
) -> None:
    problems: list[str] = []
    page = await _open(browser, problems)
    await page.goto(live_demo.url("/demo/site"))
    await expect(page.locator("h1")).to_have_text("Design for calm, useful software")
    frame = await widget_books(page, "can I book a meeting?", "Of course!", "Book here",
                                name="Vera Costa", email="vera@example.com", booked="You're booked")
    await expect(frame.locator("main")).to_contain_text("vera@example.com")
    booking = await _booked(live_demo, "vera@example.com")
    assert booking.status == "confirmed" and booking.timezone == "Europe/Lisbon"
    # The site's own look is untouched by the widget, and the widget's by the site.
    assert await page.evaluate("getComputedStyle(document.body).fontFamily") == (
        'Georgia, "Times New Roman", serif')
    assert problems == []


@pytest.fixture
async def customer_site(live_demo: LiveDemo) -> AsyncIterator[str]:
    """A website of another origin (another port) with the widget pasted in, and no CSP of its own."""
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Kaffebar</title>"
        "<style>body { font-family: monospace; } button { background: red !important; }</style></head>"
        "<body><h1>Kaffebar Lisboa</h1><p>Book a tasting with us.</p>"
        f"<script src='{live_demo.base_url}/widget.js?page=demo/intro' data-lang='da' async></script>"
        "</body></html>"
    )

    async with site_serving(html, host="127.0.0.1") as url:
        yield url


async def test_the_widget_on_a_site_of_another_origin(
    live_demo: LiveDemo, browser: Browser, customer_site: str
) -> None:
    problems: list[str] = []
    page = await _open(browser, problems, locale="pt-BR")
    await page.goto(customer_site)
    await widget_books(page, "quero marcar uma reunião", "Claro!", "Agendar aqui",
                        name="João Silva", email="joao@example.com", booked="Agendamento confirmado")
    assert (await _booked(live_demo, "joao@example.com")).status == "confirmed"
    bubble_color = await page.locator("[data-slotbot-widget] .sb-bubble").evaluate(
        "node => getComputedStyle(node).backgroundColor")
    assert bubble_color == "rgb(35, 88, 196)"  # the site's `button { red !important }` stays outside
    assert problems == []
