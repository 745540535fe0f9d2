"""The demo's seeded page: plain for tests, with a video link and reminders for ``slotbot demo``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo.seed import DEMO_VIDEO_LINK, seed
from bot.pages.location import LocationKind
from storage.crypto import SecretBox
from storage.models import SchedulingPage


async def _page(sessions: async_sessionmaker[AsyncSession]) -> SchedulingPage:
    async with sessions() as session:
        return (await session.execute(select(SchedulingPage))).scalar_one()


async def test_the_demo_shows_a_video_link_and_reminders(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    await seed(sessions, secrets, showcase=True)
    page = await _page(sessions)
    assert (page.location_kind, page.location_value) == (LocationKind.LINK.value, DEMO_VIDEO_LINK)
    assert page.reminders == [1440, 60] and page.remind_host


async def test_a_plain_seed_has_neither(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    await seed(sessions, secrets)
    page = await _page(sessions)
    assert (page.location_kind, page.reminders, page.remind_host) == ("", [], False)
