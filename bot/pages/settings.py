"""Hosts manage their scheduling pages: create, edit, delete, default page, the all-pages switch,
their URL slug and the domain their links use.

:func:`parse_page_form` turns the dashboard's form into page values (pure; every problem is
collected as a sentence, nothing is half-applied). :class:`PageSettings` stores them; the database
guards the invariants (a page slug is unique per host, one default page, a user slug is unique
across every domain) and a clash comes back as a :class:`PageSettingsError` sentence.
Changes take effect at once: nothing about pages is cached. The form itself (its fields, checks
and rows) lives in :mod:`bot.pages.page_form`; its names are re-exported here.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pages.page_form import SLUG, PageSettingsError, PageValues, page_form, parse_page_form
from bot.pages.public import pages_default_first
from bot.zones import zone_named
from storage.models import Booking, CustomDomain, SchedulingPage, User

__all__ = ["PageSettings", "PageSettingsError", "PageValues", "page_form", "parse_page_form"]
EDITED_RULES = frozenset({"weekly", "overrides", "buffer_before", "buffer_after", "notice",
                          "horizon_days", "max_per_day", "increment"})
"""The rules the editor shows; others stored on a page (e.g. ``extra_hours``) are kept on save."""


class PageSettings:
    """Stores a host's pages and profile choices."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def pages(self, user_id: int) -> list[SchedulingPage]:
        """The host's pages, default first."""
        async with self._sessions() as session:
            rows = await session.execute(pages_default_first(user_id))
            return list(rows.scalars())

    async def page(self, user_id: int, page_id: int) -> SchedulingPage | None:
        """One of the host's pages (None for someone else's)."""
        async with self._sessions() as session:
            page = await session.get(SchedulingPage, page_id)
        return page if page is not None and page.owner_id == user_id else None

    async def save(self, user_id: int, page_id: int | None, values: PageValues) -> SchedulingPage:
        """Create (``page_id`` None) or update a page."""
        try:
            async with self._sessions() as session, session.begin():
                if page_id is None:
                    count = await session.scalar(
                        select(func.count())
                        .select_from(SchedulingPage)
                        .where(SchedulingPage.owner_id == user_id)
                    )
                    page = SchedulingPage(owner_id=user_id, is_default=not count)
                    session.add(page)
                else:
                    found = await session.get(SchedulingPage, page_id)
                    if found is None or found.owner_id != user_id:
                        raise PageSettingsError(["That page does not exist."])
                    page = found
                kept = {k: v for k, v in (page.rules or {}).items() if k not in EDITED_RULES}
                for name in ("title", "slug", "description", "durations", "questions", "language",
                             "enabled", "in_widget", "location_value", "reminders", "remind_host",
                             "colour"):
                    setattr(page, name, getattr(values, name))
                page.rules = {**kept, **values.rules}
                page.location_kind = values.location_kind.value
        except IntegrityError:
            clash = f"You already have a page at “{values.slug}”; pick another address."
            raise PageSettingsError([clash], {"slug": clash}) from None
        return page

    async def delete(self, user_id: int, page_id: int) -> None:
        """Delete a page; its bookings stay (without a page). The next page becomes the default."""
        async with self._sessions() as session, session.begin():
            page = await session.get(SchedulingPage, page_id)
            if page is None or page.owner_id != user_id:
                raise PageSettingsError(["That page does not exist."])
            was_default = page.is_default
            await session.execute(update(Booking).where(Booking.page_id == page_id).values(page_id=None))
            await session.delete(page)
            await session.flush()
            if was_default:
                following = (await session.execute(
                    select(SchedulingPage)
                    .where(SchedulingPage.owner_id == user_id)
                    .order_by(SchedulingPage.id)
                )).scalars().first()
                if following is not None:
                    following.is_default = True

    async def make_default(self, user_id: int, page_id: int) -> None:
        """Make ``page_id`` the page a shared link opens."""
        async with self._sessions() as session, session.begin():
            page = await session.get(SchedulingPage, page_id)
            if page is None or page.owner_id != user_id:
                raise PageSettingsError(["That page does not exist."])
            await session.execute(
                update(SchedulingPage).where(SchedulingPage.owner_id == user_id).values(is_default=False)
            )
            await session.flush()
            page.is_default = True

    async def set_pages_enabled(self, user_id: int, enabled: bool) -> None:
        """Turn all of the host's pages on or off (nothing is deleted)."""
        async with self._sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(pages_enabled=enabled))

    async def set_profile(self, user_id: int, *, slug: str, domain_id: int | None, timezone: str) -> None:
        """Change the user's URL slug (every page follows), link domain and time zone."""
        slug = slug.strip().lower()
        problems = []
        if not SLUG.match(slug):
            problems.append("Your address may use a-z, 0-9 and dashes (at most 64).")
        if zone_named(timezone) is None:
            problems.append(f"{timezone[:64]!r} is not a time zone (use a name like Europe/Copenhagen).")
        if problems:
            raise PageSettingsError(problems)
        try:
            async with self._sessions() as session, session.begin():
                if domain_id is not None:
                    domain = await session.get(CustomDomain, domain_id)
                    if domain is None or not domain.active:
                        raise PageSettingsError(["That domain is not available."])
                await session.execute(
                    update(User).where(User.id == user_id)
                    .values(slug=slug, domain_id=domain_id, timezone=timezone)
                )
        except IntegrityError:
            raise PageSettingsError(
                [f"The address “{slug}” is taken on every domain; pick another."]
            ) from None
