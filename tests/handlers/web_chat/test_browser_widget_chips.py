"""The widget's free-time chips in a real Chromium, on the demo's customer site, at 1280 and 390 px.

The browser is in Tokyo while the demo host is in Copenhagen: the chips' wording must be Tokyo's
(checked against a time computed here from the chip's instant), a chip opens the page's form at
its time inside the widget, and booking it makes the Booking at that instant. On 390 px the
booking view covers the viewport, focus is on its back button and Escape returns to the chat (and
to the chip). No page may break Slotbot's Content Security Policy. Screenshots go to
``/tmp/shots/widget/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_skeleton, format_time
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import Booking
from tests.support.browser import collect_problems
from tests.support.chat_calendar import known_tomorrow

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TIMEOUT_MS = 15_000
BROWSER_ZONE = "Asia/Tokyo"  # the demo host's zone is Europe/Copenhagen
SHOTS = Path("/tmp/shots/widget")
WIDGET = "[data-slotbot-widget]"


def _spaces(text: str) -> str:
    return re.sub(r"[\s\u202f\u00a0\u2009]+", " ", text).strip()


async def _open(browser: Browser, problems: list[str], width: int) -> Page:
    context = await browser.new_context(locale="en-US", timezone_id=BROWSER_ZONE,
                                        viewport={"width": width, "height": 844 if width < 500 else 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    collect_problems(page, problems)
    return page


async def _focused_class(page: Page) -> str:
    """The class of the element focused inside the widget's shadow root."""
    return str(await page.evaluate(
        "() => { const a = document.querySelector('[data-slotbot-widget]').shadowRoot.activeElement;"
        " return a ? a.className : ''; }"))


@pytest.fixture
def shots() -> Path:
    """The screenshots' folder."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def _name(moment: datetime) -> str:
    """A chip's accessible name, computed here: its day and its time."""
    day = format_skeleton("MMMEd", moment.date(), locale="en")
    return f"{day} at {format_time(moment, 'h:mm a', locale='en')}"


@pytest.mark.parametrize("width", [1280, 390])
async def test_chips_in_the_browsers_zone_open_the_prefilled_form_and_book(
    live_demo: LiveDemo, browser: Browser, width: int, shots: Path
) -> None:
    await known_tomorrow(live_demo.app[SESSIONS])
    problems: list[str] = []
    page = await _open(browser, problems, width)
    await page.goto(live_demo.url("/demo/site"))
    await page.locator(f"{WIDGET} .sb-bubble").click()
    await expect(page.locator(f"{WIDGET} .sb-message.sb-bot").first).to_contain_text("Demo Host")
    await page.locator(f"{WIDGET} .sb-input").fill("can I book a meeting?")
    await page.locator(f"{WIDGET} .sb-input").press("Enter")
    answer = page.locator(f"{WIDGET} .sb-message.sb-bot").last
    await expect(answer).to_contain_text("The times are in Japan Time (Asia/Tokyo).")
    chips = answer.locator("button.sb-chip")
    await expect(chips.first).to_be_visible()
    assert await chips.count() >= 4

    # Every chip's wording is its instant in Tokyo, and its name says the day too.
    tokyo = ZoneInfo(BROWSER_ZONE)
    for index in range(await chips.count()):
        chip = chips.nth(index)
        local = datetime.fromisoformat(str(await chip.get_attribute("data-start"))).astimezone(tokyo)
        assert _spaces(await chip.inner_text()) == _spaces(format_time(local, "h:mm a", locale="en"))
        assert _spaces(str(await chip.get_attribute("aria-label"))) == _spaces(_name(local))
    await page.screenshot(path=str(shots / f"chips-{width}.png"))

    chip = chips.nth(1)
    start = datetime.fromisoformat(str(await chip.get_attribute("data-start")))
    local = start.astimezone(tokyo)
    await answer.get_by_role("button", name=_name(local)).click()
    frame = page.frame_locator(f"{WIDGET} iframe.sb-frame")
    await expect(frame.locator("input[name=start]")).to_have_value(start.isoformat())
    await expect(frame.locator("#tz")).to_have_value(BROWSER_ZONE)
    await expect(frame.locator("#book-title")).to_contain_text(format_time(local, "h:mm", locale="en"))
    back = page.locator(f"{WIDGET} .sb-back")
    await expect(back).to_be_visible()
    assert await _focused_class(page) == "sb-back"

    panel = await page.locator(f"{WIDGET} .sb-panel").bounding_box()
    assert panel is not None
    viewport = page.viewport_size
    assert viewport is not None
    covers = (panel["x"] == 0 and panel["y"] == 0 and panel["width"] == viewport["width"]
              and panel["height"] == viewport["height"])
    if width <= 480:
        assert covers, panel
        assert await page.locator(f"{WIDGET} .sb-panel").get_attribute("aria-modal") == "true"
        await expect(page.locator(f"{WIDGET} .sb-close")).to_be_visible()
        # Escape returns to the chat and to the chip; the chip opens the form again.
        await page.keyboard.press("Escape")
        await expect(back).to_be_hidden()
        await expect(chip).to_be_visible()
        assert "sb-chip" in await _focused_class(page)
        await chip.click()
        await expect(frame.locator("input[name=start]")).to_have_value(start.isoformat())
    else:
        assert not covers and panel["width"] <= 442, panel  # a panel: 440 px and its border
    await frame.locator("input[name=name]").wait_for()
    await page.screenshot(path=str(shots / f"booking-{width}.png"))

    email = f"tokyo{width}@example.com"
    await frame.locator("input[name=name]").fill("Aiko Tanaka")
    await frame.locator("input[name=email]").fill(email)
    await frame.locator("#book button[type=submit]").click()
    await expect(frame.locator("h1")).to_have_text("You're booked")
    await page.screenshot(path=str(shots / f"booked-{width}.png"))
    async with live_demo.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking).where(Booking.visitor_email == email))).scalar_one()
    made = booking.start_at if booking.start_at.tzinfo else booking.start_at.replace(tzinfo=UTC)
    assert made == start and booking.timezone == BROWSER_ZONE and booking.status == "confirmed"
    assert problems == []
