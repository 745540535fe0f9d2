"""The Tasks page's "Show my open tasks in my calendar" switch: the "Slotbot tasks" calendar.

Turning it on (:meth:`TaskCalendar.turn_on`) makes a calendar named :data:`CALENDAR_NAME` in the
account of the host's **default calendar**, when its provider can (:class:`~bot.calendar.
sub_calendars.SubCalendars`: Google, Microsoft 365, the local calendar of the demo); any other
gets a sentence (:class:`TaskCalendarRefused`). The calendar is stored as a ``Calendar`` row of
that connection marked ``holds_tasks`` and **never checked for conflicts** (tasks never block
booking; calendar sync never reads it). A tasks calendar kept from before in the same account is
reused. Then every open task gets a sync message (:mod:`bot.contacts.task_events`).

Turning it off (:meth:`TaskCalendar.turn_off`) removes the events through the outbox; the
calendar itself is deleted only when the host asked (``delete_calendar``), by
:data:`DROP_CALENDAR_KIND`, which takes the events with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import default_calendar
from bot.calendar.base import CalendarError, ReauthRequired
from bot.calendar.sub_calendars import SubCalendars
from bot.contacts.task_events import enqueue_task_sync, forget_events, tasks_calendar
from bot.notices.outbox import enqueue
from bot.scheduling.scheduler import Scheduler
from storage.models import Calendar, CalendarConnection, Task, User

CALENDAR_NAME = "Slotbot tasks"
DROP_CALENDAR_KIND = "task.drop_calendar"
_LABELS = {"google": "Google", "microsoft": "Microsoft 365", "local": "Slotbot calendar",
           "exchange": "Microsoft Exchange", "caldav": "CalDAV", "feed": "an ICS feed"}


class TaskCalendarRefused(Exception):
    """The switch cannot be turned on; the message is a sentence for the host."""


@dataclass(frozen=True, slots=True)
class TaskCalendarState:
    """What the Tasks page shows beside the switch."""

    on: bool
    calendar_name: str  # the tasks calendar's name ("" when there is none)
    account: str  # where it is (or would be): "Google · hana@example.com"
    events: int  # open tasks with an event now


class TaskCalendar:
    """The switch of every host (each call names the host: ``owner_id``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._locks: dict[int, asyncio.Lock] = {}

    async def state(self, owner_id: int) -> TaskCalendarState:
        """Whether the switch is on, and which calendar the tasks are in."""
        async with self._sessions() as session:
            user = await session.get(User, owner_id)
            calendar = await tasks_calendar(session, owner_id) or await default_calendar(session, owner_id)
            connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            events = (await session.execute(select(Task.id).where(
                Task.owner_id == owner_id, Task.event_id.is_not(None)))).all()
        account = (f"{_LABELS.get(connection.provider, connection.provider)} · {connection.account_email}"
                   if connection is not None else "")
        name = calendar.name if calendar is not None and calendar.holds_tasks else ""
        return TaskCalendarState(bool(user and user.tasks_in_calendar), name, account, len(events))

    async def turn_on(self, owner_id: int) -> None:
        """Make (or reuse) the tasks calendar and put every open task in it."""
        lock = self._locks.setdefault(owner_id, asyncio.Lock())
        async with lock:
            calendar_id = await self._calendar_for(owner_id)
            async with self._sessions() as session, session.begin():
                user = await session.get(User, owner_id)
                if user is None:
                    raise TaskCalendarRefused("No such host.")
                user.tasks_in_calendar = True
                calendar = await session.get(Calendar, calendar_id)
                assert calendar is not None
                calendar.holds_tasks, calendar.checks_conflicts = True, False
                open_tasks = (await session.execute(select(Task).where(
                    Task.owner_id == owner_id, Task.done.is_(False)))).scalars()
                for task in open_tasks:
                    enqueue_task_sync(session, task)

    async def _calendar_for(self, owner_id: int) -> int:
        """The id of the tasks calendar in the default calendar's account (made when missing)."""
        async with self._sessions() as session:
            user = await session.get(User, owner_id)
            default = await default_calendar(session, owner_id)
            connection = await session.get(CalendarConnection, default.connection_id) if default else None
            kept = await tasks_calendar(session, owner_id)
        if user is None or default is None or connection is None:
            raise TaskCalendarRefused("Connect a calendar first: the tasks go into the account of your "
                                      "default calendar.")
        if kept is not None and kept.connection_id == connection.id:
            return kept.id
        provider = self._scheduler.provider_for(connection, zone=user.timezone)
        if not isinstance(provider, SubCalendars):
            label = _LABELS.get(connection.provider, connection.provider)
            raise TaskCalendarRefused(
                f"Showing tasks in your calendar needs a Google or Microsoft 365 default calendar "
                f"(or the demo's calendar); your default calendar is in {label}.")
        try:
            made = await provider.create_calendar(CALENDAR_NAME, user.timezone)
        except ReauthRequired:
            raise TaskCalendarRefused(
                "Your calendar account does not let Slotbot make a calendar yet: reconnect it on the "
                "dashboard (its consent now asks for that permission), then try again.") from None
        except CalendarError as exc:
            raise TaskCalendarRefused(f"The “{CALENDAR_NAME}” calendar could not be made ({exc.reason}); "
                                      "try again in a moment.") from None
        async with self._sessions() as session, session.begin():
            if kept is not None:  # the default moved to another account: that one is left as it is
                old = await session.get(Calendar, kept.id)
                if old is not None:
                    old.holds_tasks = False
                await session.flush()
            row = (await session.execute(select(Calendar).where(
                Calendar.connection_id == connection.id, Calendar.external_id == made.external_id))
            ).scalar_one_or_none()
            if row is None:
                row = Calendar(connection_id=connection.id, user_id=owner_id, external_id=made.external_id,
                               name=made.name, access_role=made.access_role.value, time_zone=made.time_zone,
                               is_default=False, checks_conflicts=False)
                session.add(row)
            row.holds_tasks, row.checks_conflicts = True, False
            await session.flush()
            return row.id

    async def turn_off(self, owner_id: int, *, delete_calendar: bool = False) -> None:
        """Take the tasks out of the calendar; delete the calendar too when asked."""
        async with self._sessions() as session, session.begin():
            user = await session.get(User, owner_id)
            if user is None:
                return
            user.tasks_in_calendar = False
            calendar = await tasks_calendar(session, owner_id)
            if delete_calendar and calendar is not None:
                enqueue(session, DROP_CALENDAR_KIND, {"owner_id": owner_id, "calendar_id": calendar.id})
                return
            written = (await session.execute(select(Task).where(
                Task.owner_id == owner_id, Task.event_id.is_not(None)))).scalars()
            for task in written:
                enqueue_task_sync(session, task)

    async def drop_calendar(self, payload: dict[str, Any]) -> None:
        """The outbox handler of :data:`DROP_CALENDAR_KIND`: delete the calendar, its events with it
        (nothing when the host turned the switch on again meanwhile)."""
        owner_id, calendar_id = int(payload["owner_id"]), int(payload["calendar_id"])
        async with self._sessions() as session:
            user = await session.get(User, owner_id)
            calendar = await session.get(Calendar, calendar_id)
            connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
        if user is None or calendar is None or connection is None or calendar.user_id != owner_id:
            return
        if user.tasks_in_calendar or not calendar.holds_tasks or calendar.is_default:
            return
        provider = self._scheduler.provider_for(connection, zone=user.timezone)
        if isinstance(provider, SubCalendars):
            await provider.delete_calendar(calendar.external_id)
        async with self._sessions() as session, session.begin():
            row = await session.get(Calendar, calendar_id)
            if row is not None:
                await session.delete(row)
            await forget_events(session, owner_id)
