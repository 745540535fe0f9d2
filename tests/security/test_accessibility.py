"""Every page people see passes axe-core with no serious or critical violation, at 1280 and 390 px.

The demo app (``tests.support.browser``: the seeded demo host, its local calendar) in Chromium;
axe-core from ``.ci/node`` (``tests.support.axe``), its default rules, none disabled. Visited:
the scheduling page (coloured, so the host's accent is checked too), its form, the confirmation
after a real booking, the manage page, the free-time page, the dashboard's pages (signed in
through ``/demo/login``), the web chat, the Teams demo, the widget's demo site, a 404 and a page
that is off. Every violation found is printed (page, rule, impact, targets) before the test fails.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from bot.contacts.directory import ContactDetails
from bot.keys import CONTACTS, SESSIONS
from storage.models import SchedulingPage, User
from tests.support.axe import Violation, describe, load_axe, serious_violations

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TIMEOUT_MS = 15_000
PAGE_COLOUR = "#e8a317"  # a light amber: the accent must be darkened to read


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script (skipped locally without it; a failure in CI)."""
    return load_axe()


async def _check(page: Page, source: str, name: str, found: list[Violation]) -> None:
    await page.wait_for_load_state("load")
    found.extend(await serious_violations(page, source, name))


@pytest.mark.parametrize("width", [1280, 390])
async def test_every_page_has_no_serious_accessibility_violation(
    live_demo: LiveDemo, browser: Browser, axe_source: str, width: int
) -> None:
    demo = live_demo
    async with demo.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(colour=PAGE_COLOUR))
    contact_id = await demo.app[CONTACTS].add(
        demo.host.user_id, ContactDetails(email="bea@example.com", name="Bea Borges", company="Acme"))
    context = await browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    found: list[Violation] = []

    async def visit(path: str, name: str | None = None) -> None:
        await page.goto(demo.url(path))
        await _check(page, axe_source, name or path, found)

    # The visitor's side: the page, its form, the confirmation, the manage page.
    await visit("/meetings/demo", "scheduling page")
    slot = page.locator('a[href*="start="]').first
    href = await slot.get_attribute("href")
    assert href, "the demo page offers no time"
    await page.goto(demo.url(href) if href.startswith("/") else href)
    await _check(page, axe_source, "scheduling page: the form", found)
    await page.locator('input[name="name"]').fill("Ana Lima")
    await page.locator('input[name="email"]').fill("ana@example.com")
    await page.locator('form:has(input[name="start"]) [type="submit"]').first.click()
    await page.wait_for_url(re.compile(r".*/meetings/demo.*"))
    await _check(page, axe_source, "confirmation", found)
    manage_link = page.locator('a[href*="/meetings-manage/"]:not([href$=".ics"])').first
    manage = await manage_link.get_attribute("href")
    assert manage, "the confirmation has no manage link"
    await page.goto(manage)
    await _check(page, axe_source, "manage page", found)
    await visit("/meetings/nobody", "404 (visitor page)")
    await visit("/no-such-page", "404 (site)")
    await visit("/demo/free", "free time")

    # The host's side, signed in.
    await visit("/demo/login", "dashboard")
    for path in ("/dashboard/pages", "/dashboard/pages/new", "/dashboard/contacts",
                 f"/dashboard/contacts/{contact_id}", "/dashboard/contacts/new", "/dashboard/tasks",
                 "/dashboard/connect/caldav", "/dashboard/connect/exchange", "/dashboard/connect/feed"):
        await visit(path)
    await page.goto(demo.url("/dashboard/pages"))
    editor = [href for href in await page.locator('a[href^="/dashboard/pages/"]').evaluate_all(
        "links => links.map(a => a.getAttribute('href'))") if re.fullmatch(r"/dashboard/pages/\d+", href)]
    assert editor, "the pages list links to no editor"
    await visit(editor[0], "page editor")

    # Chat and the widget.
    await visit("/demo/chat", "web chat")
    await visit("/demo/teams", "Teams demo")
    await visit("/demo/site", "widget site")

    # A page that is off.
    async with demo.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).values(pages_enabled=False))
    await visit("/meetings/demo", "page off")
    await context.close()

    print(f"\naxe at {width} px, serious or critical violations:\n{describe(found)}")
    assert not found, f"axe found serious or critical violations at {width} px:\n{describe(found)}"
