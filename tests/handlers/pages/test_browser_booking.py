"""The demo scheduling page in a real Chromium: book, see the event land, zones, no JavaScript.

The app runs as ``slotbot demo`` runs it (``tests/browser.py``: the demo host ``demo`` with its
local calendar, the real outbox worker), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import collections
import json
import re
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot.booking.events import SYNC_EVENT_KIND
from bot.keys import SESSIONS
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND
from storage.models import Booking, LocalEvent

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

NEW_YORK = "America/New_York"
HOST_ZONE = "Europe/Copenhagen"
TIMEOUT_MS = 15_000


async def _open(browser: Browser, **options: object) -> Page:
    context = await browser.new_context(locale="en-US", **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


async def _offered(page: Page) -> list[tuple[datetime, str]]:
    """Every slot link on the page (the calendar's selected day): (start, the label the visitor reads)."""
    links = page.locator("ul.slots a")
    found = []
    for index in range(await links.count()):
        link = links.nth(index)
        href = await link.get_attribute("href") or ""
        start = parse_qs(urlsplit(href).query)["start"][0]
        found.append((datetime.fromisoformat(start), (await link.inner_text()).strip()))
    return found


async def _book(page: Page, index: int, *, name: str, email: str, note: str) -> datetime:
    """Pick the ``index``-th offered slot (of the next day with enough, when today has few times
    left), fill the form and book; return the slot's start."""
    offered = await _offered(page)
    if len(offered) <= index:
        async with page.expect_navigation():
            await page.locator("a.day.available:not(.selected)").first.click()
        offered = await _offered(page)
    assert len(offered) > index, "the demo page offers too few slots"
    start = offered[index][0]
    await page.locator("ul.slots a").nth(index).click()
    await expect(page.locator("#book")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("E-mail", exact=True).fill(email)
    await page.get_by_label("Note (optional)").fill(note)
    await page.get_by_role("button", name="Book this time").click()
    await expect(page.locator("h1")).to_have_text("You're booked")
    return start


async def _booking(demo: LiveDemo, email: str) -> Booking:
    async with demo.app[SESSIONS]() as session:
        return (
            await session.execute(select(Booking).where(Booking.visitor_email == email))
        ).scalar_one()


async def _calendar_events(demo: LiveDemo) -> dict[str, str]:
    """The demo calendar's stored events: uid -> iCalendar text."""
    async with demo.app[SESSIONS]() as session:
        rows = await session.execute(
            select(LocalEvent.uid, LocalEvent.ical).where(LocalEvent.calendar_id == demo.host.calendar_id)
        )
        return {row.uid: row.ical for row in rows}


def _mails_to(capsys: pytest.CaptureFixture[str], email: str) -> list[str]:
    """The e-mails to ``email`` the demo showed on its console (a sent one's row keeps no text)."""
    shown = capsys.readouterr().out
    sys.stdout.write(shown)  # put back, for a later look and the test's report
    to = re.compile(f"^To: .*<{re.escape(email)}>$", re.M)
    return [mail for mail in shown.split("----- e-mail (")[1:] if to.search(mail)]


def _mailed_link(capsys: pytest.CaptureFixture[str], email: str) -> str:
    """The manage link in the e-mail sent to ``email``."""
    texts = _mails_to(capsys, email)
    links = {m for text in texts for m in re.findall(r"https?://\S+/meetings-manage/[\w-]+", text)}
    assert len(links) == 1, texts
    return links.pop()


def _clock(moment: datetime, *, seconds: bool = False) -> str:
    """English time as a visitor reads it (CLDR puts a narrow space before AM/PM)."""
    tail = f":{moment:%S}" if seconds else ""
    return f"{moment.hour % 12 or 12}:{moment:%M}{tail} {moment:%p}"


def _spaces(text: str) -> str:
    return re.sub(r"[\s\u202f\u00a0]+", " ", text)


async def test_a_visitor_books_and_the_event_lands_in_the_demo_calendar(
    live_demo: LiveDemo, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    page = await _open(browser, timezone_id="Europe/Lisbon")
    await page.goto(live_demo.url("/meetings/demo"))
    await page.wait_for_url(re.compile(r"tz=Europe(%2F|/)Lisbon"))  # the page script's redirect
    start = await _book(page, 3, name="Ana Lima", email="ana@example.com", note="About the roadmap")
    confirmation = page.locator("main")
    await expect(confirmation).to_contain_text("Intro call with Demo Host")
    await expect(confirmation).to_contain_text("ana@example.com")
    lisbon = start.astimezone(ZoneInfo("Europe/Lisbon"))
    manage = await page.get_by_role("link", name="Change or cancel").get_attribute("href")
    assert manage and "/meetings-manage/" in manage
    manage = urljoin(page.url, manage)
    said = _spaces(await confirmation.inner_text())
    assert f"{lisbon:%A}, {lisbon:%B} {lisbon.day}, {lisbon.year}" in said
    end = lisbon + timedelta(minutes=30)  # start and end without seconds: "9:30-10:00 AM" (en dash)
    assert f"{lisbon.hour % 12 or 12}:{lisbon:%M} \u2013 {_clock(end)}" in said
    assert _clock(lisbon, seconds=True) not in said

    booking = await _booking(live_demo, "ana@example.com")
    assert (booking.start_at, booking.timezone, booking.note) == (start, "Europe/Lisbon",
                                                                  "About the roadmap")
    statuses = await live_demo.outbox_settled()
    kinds = collections.Counter(kind for kind, _ in statuses.values())
    # One calendar write, two e-mails (the visitor's invitation, the host's), the host's chat notice.
    assert kinds == {SYNC_EVENT_KIND: 1, EMAIL_KIND: 2, NOTICE_KIND: 1}, kinds
    assert {status for _, status in statuses.values()} == {"done"}
    uid = (await _booking(live_demo, "ana@example.com")).external_event_id
    events = await _calendar_events(live_demo)
    assert uid is not None and set(events) == {"sample", uid}
    event = icalendar.Calendar.from_ical(events[uid]).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == start
    assert "Ana Lima" in str(event["SUMMARY"])

    await page.goto(live_demo.url("/meetings/demo?tz=Europe/Lisbon"))
    offered = [moment for moment, _ in await _offered(page)]
    assert offered and start not in offered

    # The manage link of the confirmation cancels: the event leaves the calendar, the time is free.
    mailed = _mailed_link(capsys, "ana@example.com")
    assert mailed == manage  # the invitation's link is the confirmation page's
    await page.goto(mailed)
    await page.get_by_role("link", name="Cancel this meeting").click()  # asks first
    await page.get_by_label(re.compile("Reason")).fill("Something came up")
    await page.get_by_role("button", name="Yes, cancel the meeting").click()
    await expect(page.locator("main")).to_contain_text("The meeting is cancelled")
    assert (await _booking(live_demo, "ana@example.com")).cancel_reason == "Something came up"
    await live_demo.outbox_settled()
    assert set(await _calendar_events(live_demo)) == {"sample"}
    await page.goto(live_demo.url("/meetings/demo?tz=Europe/Lisbon"))
    month = await page.locator("#slot-data").text_content()  # every start of the month the page shows
    assert month and start.isoformat() in json.loads(month)["starts"]


async def test_the_page_script_shows_times_in_the_visitor_zone(
    live_demo: LiveDemo, browser: Browser
) -> None:
    page = await _open(browser, timezone_id=NEW_YORK)
    await page.goto(live_demo.url("/meetings/demo"))
    await page.wait_for_url(re.compile(r"tz=America(%2F|/)New_York"))
    assert await page.locator("#tz").input_value() == NEW_YORK
    offered = await _offered(page)
    assert offered
    zone = ZoneInfo(NEW_YORK)
    for start, label in offered:
        assert _spaces(label) == _clock(start.astimezone(zone)), (start, label)
    first_day = offered[0][0].astimezone(zone).date()
    heading = await page.locator("#times-day").inner_text()
    assert heading == f"{first_day:%A}, {first_day:%B} {first_day.day}, {first_day.year}"
    # The demo host works 09:00-17:00 in Copenhagen: 03:00 (or 04:00) to 11:00 in New York.
    assert all(start.astimezone(zone).hour < 12 for start, _ in offered)


async def test_the_page_works_without_javascript(
    live_demo: LiveDemo, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    page = await _open(browser, timezone_id=NEW_YORK, java_script_enabled=False)
    await page.goto(live_demo.url("/meetings/demo"))
    assert "tz=" not in page.url  # no script ran: the host's zone until the visitor picks one
    assert await page.locator("#tz").input_value() == HOST_ZONE
    await page.locator("#tz").fill("Asia/Tokyo")
    await page.get_by_role("button", name="Show times").click()
    await page.wait_for_url(re.compile(r"tz=Asia(%2F|/)Tokyo"))
    offered = await _offered(page)
    assert offered and all(
        _spaces(label) == _clock(start.astimezone(ZoneInfo("Asia/Tokyo"))) for start, label in offered
    )
    start = await _book(page, 1, name="Kenji", email="kenji@example.com", note="")
    booking = await _booking(live_demo, "kenji@example.com")
    assert (booking.start_at, booking.timezone, booking.status) == (start, "Asia/Tokyo", "confirmed")
    await live_demo.outbox_settled()
    written = (await _booking(live_demo, "kenji@example.com")).external_event_id
    assert written is not None and written in await _calendar_events(live_demo)
    assert any("(Tokyo time)" in mail for mail in _mails_to(capsys, "kenji@example.com"))  # visitor's zone
