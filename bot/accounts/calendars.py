"""A host's calendar settings: which calendars are checked, which one is the default.

Bookings land only in the default calendar, so only a calendar the account *owns* can be the
default. A calendar is checked for conflicts only while it can be read; one that lost its access
can be removed (which unblocks booking, see PRODUCT S8). :func:`default_calendar` is the one
query for "the calendar bookings land in" (bookings, their calendar events, the demo).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import AccessRole
from storage.models import Calendar


def is_default_of(user_id: int) -> ColumnElement[bool]:
    """The condition that picks ``user_id``'s default calendar (at most one: the database says so)."""
    return and_(Calendar.user_id == user_id, Calendar.is_default)


async def default_calendar(session: AsyncSession, user_id: int) -> Calendar | None:
    """The calendar ``user_id``'s bookings land in, or None (no calendar connected)."""
    return (await session.execute(select(Calendar).where(is_default_of(user_id)))).scalar_one_or_none()


class SettingsRefused(Exception):
    """The change is not allowed; the message is a sentence for the user."""


class CalendarSettings:
    """Changes to a user's calendars, each checked against who owns them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _own(self, session: AsyncSession, user_id: int, calendar_id: int) -> Calendar:
        calendar = await session.get(Calendar, calendar_id)
        if calendar is None or calendar.user_id != user_id:
            raise SettingsRefused("That calendar is not one of yours.")
        return calendar

    async def set_checked(self, user_id: int, calendar_id: int, checked: bool) -> None:
        """Check (or stop checking) a calendar for conflicts; the default is always checked."""
        async with self._sessions() as session, session.begin():
            calendar = await self._own(session, user_id, calendar_id)
            if checked and calendar.holds_tasks:
                raise SettingsRefused("The tasks calendar is never checked: tasks do not block booking.")
            if not checked and calendar.is_default:
                raise SettingsRefused(
                    "The default calendar is always checked: choose another default first."
                )
            calendar.checks_conflicts = checked

    async def set_default(self, user_id: int, calendar_id: int) -> None:
        """Make a calendar the one bookings land in (it must be owned and readable)."""
        async with self._sessions() as session, session.begin():
            calendar = await self._own(session, user_id, calendar_id)
            if calendar.holds_tasks:
                raise SettingsRefused("The tasks calendar holds your tasks only: choose another default.")
            if calendar.access_role != AccessRole.OWNER.value:
                raise SettingsRefused(
                    f"{calendar.name} belongs to someone else, so bookings cannot be written to it."
                )
            if calendar.status != "active":
                raise SettingsRefused(f"{calendar.name} cannot be read right now.")
            await session.execute(
                update(Calendar)
                .where(is_default_of(user_id))
                .values(is_default=False)
                .execution_options(synchronize_session=False)
            )
            await session.flush()
            calendar.is_default, calendar.checks_conflicts = True, True

    async def remove_inactive(self, user_id: int, calendar_id: int) -> None:
        """Remove a calendar that lost its access (active calendars are unchecked instead)."""
        async with self._sessions() as session, session.begin():
            calendar = await self._own(session, user_id, calendar_id)
            if calendar.status == "active":
                raise SettingsRefused(
                    f"{calendar.name} still works: stop checking it instead of removing it."
                )
            await session.delete(calendar)
