"""In a real Chromium: a Danish browser books, and the confirmation, its .ics download and its
calendar links are the meeting, in Danish, at desktop and phone widths."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from bot.booking.events import invitation_uid
from bot.keys import SESSIONS
from storage.models import Booking

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_danish_browser_books_and_adds_the_meeting_to_its_calendar(
    live_demo: LiveDemo, browser: Browser, tmp_path: Path, width: int
) -> None:
    context = await browser.new_context(locale="da-DK", viewport={"width": width, "height": 900},
                                        timezone_id="Asia/Tokyo", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto(live_demo.url("/meetings/demo?tz=Asia/Tokyo"))  # no ?lang=: the browser's language
    await page.locator('a[href*="start="]').nth(4).click()
    await page.fill("input[name=name]", "Ana Lúcia")
    await page.fill("input[name=email]", "ana@example.com")
    await page.locator("form[method=post] button[type=submit]").first.click()
    await page.wait_for_selector("h1#done")
    assert await page.inner_text("h1#done") == "Du er booket"
    assert "Tokyo-tid" in await page.inner_text(".confirmation-facts")
    async with live_demo.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert booking.language == "da" and booking.timezone == "Asia/Tokyo"

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Hent (.ics)").click()
    download = await info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    event = next(iter(icalendar.Calendar.from_ical(saved.read_text("utf-8")).walk("VEVENT")))
    assert str(event["UID"]) == invitation_uid(booking)
    assert event.decoded("DTSTART") == booking.start_at.astimezone(UTC)
    assert event.decoded("DTEND") == booking.end_at.astimezone(UTC)

    google = await page.get_by_role("link", name="Google Calendar").get_attribute("href") or ""
    start, end = booking.start_at.astimezone(UTC), booking.end_at.astimezone(UTC)
    assert parse_qs(urlsplit(google).query)["dates"] == [f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"]
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways
    await context.close()
