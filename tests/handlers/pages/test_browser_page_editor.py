"""The page editor in Chromium at desktop and phone widths: add a range, turn a day on, reorder a
question, save; a destructive action opens a dialog and does nothing when cancelled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from bot.keys import SESSIONS
from storage.models import SchedulingPage

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

TIMEOUT_MS = 15_000
SHOTS_VARIABLE = "SLOTBOT_SHOTS"  # a folder to keep the screenshots in (else the test's tmp_path)


async def _page(demo: LiveDemo) -> SchedulingPage:
    async with demo.app[SESSIONS]() as session:
        return (await session.execute(select(SchedulingPage).order_by(SchedulingPage.id))).scalars().first()


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_editor_adds_a_range_turns_a_day_on_and_saves(
    live_demo: LiveDemo, browser: Browser, width: int, tmp_path: Path
) -> None:
    shots = Path(os.environ.get(SHOTS_VARIABLE) or tmp_path)
    context = await browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(live_demo.url("/demo/login"))
    stored = await _page(live_demo)
    await page.goto(live_demo.url(f"/dashboard/pages/{stored.id}"))

    monday = page.locator("[data-day]").filter(has=page.get_by_label("Available on Monday"))
    await expect(monday.locator("input[type=time]")).to_have_count(2)  # the spare row is gone
    await monday.get_by_role("button", name="Add a range on Monday").click()
    await monday.locator("input[type=time]").nth(2).fill("18:00")
    await monday.locator("input[type=time]").nth(3).fill("19:30")

    saturday = page.locator("[data-day]").filter(has=page.get_by_label("Available on Saturday"))
    await expect(saturday.locator("[data-rows]")).to_be_hidden()
    await page.get_by_label("Available on Saturday").check()
    await expect(saturday.locator("[data-rows]")).to_be_visible()
    await saturday.locator("input[type=time]").nth(0).fill("10:00")
    await saturday.locator("input[type=time]").nth(1).fill("12:00")

    await page.get_by_role("button", name="Add a question").click()
    await page.get_by_label("Question", exact=True).last.fill("Your company")
    await page.get_by_role("button", name="Add a question").click()
    await page.get_by_label("Question", exact=True).last.fill("Topic")
    await page.get_by_role("button", name="Up (move this question)").last.click()

    await page.select_option("#f-location-kind", "link")
    await expect(page.get_by_label("Video link (https://…)")).to_be_visible()
    await page.get_by_label("Video link (https://…)").fill("https://meet.example.com/ana")
    await page.screenshot(path=str(shots / f"editor-edited-{width}.png"), full_page=True)
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("[role=status]")).to_contain_text("Saved")

    saved = await _page(live_demo)
    assert saved.rules["weekly"]["mon"] == ["09:00-17:00", "18:00-19:30"]
    assert saved.rules["weekly"]["sat"] == ["10:00-12:00"]
    assert [q["label"] for q in saved.questions] == ["Topic", "Your company"]
    assert (saved.location_kind, saved.location_value) == ("link", "https://meet.example.com/ana")

    # Deleting asks in a dialog; cancelling keeps the page.
    await page.get_by_role("button", name=f"Delete {saved.title}").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await page.screenshot(path=str(shots / f"delete-dialog-{width}.png"))
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    assert (await _page(live_demo)).id == saved.id
    await context.close()
