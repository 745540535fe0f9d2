"""The month calendar in a real Chromium at desktop and phone widths.

The visitor's zone is detected, the calendar and the selected day's times show without horizontal
scrolling, switching zone re-renders the times in the page (no navigation), picking a time opens
the form with its summary, booking works, and the manage page moves the meeting through the same
calendar. Screenshots of each step go to ``/tmp/shots/calendar/`` (for a person to look at).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import Booking
from tests.support.browser import wait_until

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TOKYO, NEW_YORK = "Asia/Tokyo", "America/New_York"
TIMEOUT_MS = 15_000
SHOTS = Path("/tmp/shots/calendar")


async def _open(browser: Browser, width: int) -> Page:
    context = await browser.new_context(locale="en-US", timezone_id=TOKYO,
                                        viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


async def _shot(page: Page, name: str, width: int) -> None:
    await page.screenshot(path=str(SHOTS / f"browser-{name}-{width}.png"), full_page=True)


async def _times(page: Page) -> list[tuple[datetime, str]]:
    """The selected day's times: (start, the label shown)."""
    links = page.locator("#slot-list a.slot")
    found = []
    for index in range(await links.count()):
        link = links.nth(index)
        start = parse_qs(urlsplit(await link.get_attribute("href") or "").query)["start"][0]
        found.append((datetime.fromisoformat(start), (await link.inner_text()).strip()))
    return found


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment:%M} {moment:%p}"


def _spaces(text: str) -> str:
    return re.sub(r"[\s\u202f\u00a0]+", " ", text)


async def _no_sideways_scroll(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
async def test_calendar_zone_switch_form_booking_and_move(live_demo: LiveDemo, browser: Browser,
                                                          width: int) -> None:
    page = await _open(browser, width)
    await page.goto(live_demo.url("/meetings/demo"))
    await page.wait_for_url(re.compile(r"tz=Asia(%2F|/)Tokyo"))  # detected from the browser
    await expect(page.locator(".month-grid")).to_be_visible()
    selected = page.locator("a.day.selected")
    await expect(selected).to_have_count(1)
    day = await selected.get_attribute("data-date")
    tokyo = await _times(page)
    assert tokyo and all(_spaces(label) == _clock(s.astimezone(ZoneInfo(TOKYO))) for s, label in tokyo)
    assert {s.astimezone(ZoneInfo(TOKYO)).date().isoformat() for s, _ in tokyo} == {day}
    await expect(page.locator("#zone-shown")).to_have_text("Times in Tokyo — GMT+9")
    await expect(page.locator("#options .show-times")).to_be_hidden()  # options apply at once
    await _no_sideways_scroll(page, width)
    await _shot(page, "page", width)

    # Switching zone re-renders the times here: no request, no navigation.
    requests: list[str] = []
    # Pages and data only: the browser may fetch the favicon at any moment.
    page.on("request", lambda request: requests.append(request.url)
            if request.resource_type in ("document", "fetch", "xhr") else None)
    await page.evaluate("window.stillHere = true")
    await page.locator("#tz").fill(NEW_YORK)
    await page.locator("#tz").dispatch_event("change")
    await expect(page.locator("#zone-shown")).to_have_text("Times in New York — GMT-5")
    new_york = await _times(page)
    zone = ZoneInfo(NEW_YORK)
    assert new_york and all(_spaces(label) == _clock(s.astimezone(zone)) for s, label in new_york)
    assert {s.astimezone(zone).date().isoformat() for s, _ in new_york} == {day}
    assert [label for _, label in new_york] != [label for _, label in tokyo]
    assert requests == [] and await page.evaluate("window.stillHere === true")  # the same document
    assert "tz=America%2FNew_York" in page.url  # the address follows (a reload keeps the zone)
    await _shot(page, "page-new-york", width)

    # Picking a time opens the form, summarised in the visitor's zone.
    start, label = new_york[len(new_york) // 2]
    await page.locator("#slot-list a.slot").nth(len(new_york) // 2).click()
    await expect(page.locator("#book")).to_be_visible()
    summary = _spaces(await page.locator("#book-title").inner_text())
    local = start.astimezone(zone)
    assert summary.startswith(f"{local:%a}, {local:%b} {local.day}, ") and summary.endswith("New York time")
    assert _spaces(label).split(" ")[0] in summary
    await expect(page.locator("#slot-list a.slot.chosen")).to_have_count(1)
    field = await page.get_by_label("Name", exact=True).bounding_box()
    form = await page.locator("#book").bounding_box()
    assert field and form and field["width"] > form["width"] * 0.8  # full width
    await _no_sideways_scroll(page, width)
    await _shot(page, "form", width)

    await page.get_by_label("Name", exact=True).fill("Kenji")
    await page.get_by_label("E-mail", exact=True).fill(f"kenji{width}@example.com")
    await page.get_by_role("button", name="Book this time").click()
    manage_link = page.locator('a[href*="/meetings-manage/"]:not([href$=".ics"])').first
    await expect(manage_link).to_be_visible()
    async with live_demo.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert (booking.start_at, booking.timezone) == (start, NEW_YORK)
    await _shot(page, "booked", width)

    # The manage page: "Move" first, through the same calendar; a later day, a time, confirm.
    await page.goto(urljoin(page.url, await manage_link.get_attribute("href") or ""))
    await expect(page.locator(".month-grid")).to_be_visible()
    text = await page.locator("main").inner_text()
    assert text.index("Move it to another time") < text.index("Cancel this meeting")
    await _no_sideways_scroll(page, width)
    await _shot(page, "manage", width)
    await page.locator("a.day.available:not(.selected)").last.click()
    await expect(page.locator("#slot-list a.slot").first).to_be_visible()
    target = (await _times(page))[0][0]
    await page.locator("#slot-list a.slot").first.click()
    await page.get_by_role("button", name="Move the meeting").click()
    await expect(page.locator("main")).to_contain_text("Your meeting is now on")
    await _shot(page, "moved", width)

    async def moved() -> bool:
        async with live_demo.app[SESSIONS]() as session:
            return (await session.execute(select(Booking.start_at))).scalar_one() == target

    await wait_until(moved, seconds=10, what="the moved booking")
