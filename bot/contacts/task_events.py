"""A host's open tasks as events in their "Slotbot tasks" calendar, kept in step through the outbox.

Every change of a task (:class:`~bot.contacts.tasks.TaskChange`) enqueues :data:`SYNC_TASK_KIND`
in the change's own transaction (:func:`task_listener`, registered with ``Tasks.listen``). The
handler, :class:`TaskEventSync`, reads the task as it is *now* and makes the calendar match: an
event written for an older version, or for a task that is done, deleted or no longer wanted
(the switch is off), is deleted; an open task without a current event gets one. Event uids
derive from the task and its version (:func:`task_uid`), so a retried create finds the first
event (Google's id from the uid, Graph's ``transactionId``, the local calendar's uid) instead of
writing a second; running a message twice changes nothing.

A task's event (:func:`task_event`) is all-day on the due date, or 30 minutes at the due time in
the task's zone; shown as free; titled with the task (and the contact's name); no attendees, no
invitations. The tasks calendar is never checked for conflicts, so neither calendar sync nor the
free time ever reads it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import CalendarProvider, NewEvent
from bot.contacts.tasks import TaskChange
from bot.notices.outbox import enqueue
from bot.plain_text import one_line
from bot.scheduling.scheduler import Scheduler
from storage.models import Calendar, CalendarConnection, Contact, Task, User

SYNC_TASK_KIND = "task.sync_event"
TIMED_TASK = timedelta(minutes=30)


def task_uid(task_id: int, version: int) -> str:
    """The uid of a task's event for one version of the task."""
    return f"slotbot-task-{task_id}-{version}@slotbot"


def task_event(task: Task, contact_name: str = "") -> NewEvent:
    """The calendar event of an open task (see the module docstring)."""
    zone = ZoneInfo(task.timezone)
    due = task.due_at
    if due is None:
        start = datetime.combine(task.due_date, time(0), zone)
        end = datetime.combine(task.due_date + timedelta(days=1), time(0), zone)
    else:
        start, end = due, due + TIMED_TASK
    title = f"{task.title} ({contact_name})" if contact_name else task.title
    return NewEvent(
        uid=task_uid(task.id, task.version), title=one_line(title), start=start, end=end,
        time_zone=task.timezone, description="A task from Slotbot.", all_day=due is None,
        free=True, send_invitations=False,
    )


async def tasks_calendar(session: AsyncSession, owner_id: int) -> Calendar | None:
    """The host's "Slotbot tasks" calendar, or None."""
    return (await session.execute(
        select(Calendar).where(Calendar.user_id == owner_id, Calendar.holds_tasks))).scalar_one_or_none()


def enqueue_task_sync(session: AsyncSession, task: Task) -> None:
    """Have the outbox bring ``task``'s event in step (inside the caller's transaction).

    The payload names the event written so far, so a deleted task's event can still be found.
    """
    enqueue(session, SYNC_TASK_KIND, {"task_id": task.id, "owner_id": task.owner_id,
                                      "event_id": task.event_id})


async def task_listener(session: AsyncSession, change: TaskChange, task: Task) -> None:
    """The :class:`~bot.contacts.tasks.Tasks` listener: a sync message for hosts with the switch on
    (or an event still to remove)."""
    user = await session.get(User, change.owner_id)
    if (user is not None and user.tasks_in_calendar) or task.event_id:
        enqueue_task_sync(session, task)


class TaskEventSync:
    """The outbox handler that writes, replaces and removes task events."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler) -> None:
        self._sessions = sessions
        self._scheduler = scheduler

    async def sync(self, payload: dict[str, Any]) -> None:
        """Bring the event of ``payload["task_id"]`` in step with the task."""
        task_id, owner_id = int(payload["task_id"]), int(payload["owner_id"])
        async with self._sessions() as session:
            task = await session.get(Task, task_id)
            user = await session.get(User, owner_id)
            calendar = await tasks_calendar(session, owner_id)
            connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            contact = await session.get(Contact, task.contact_id) if task and task.contact_id else None
        if user is None:
            return
        provider = (self._scheduler.provider_for(connection, zone=user.timezone)
                    if calendar is not None and connection is not None else None)
        if task is None or task.owner_id != owner_id:
            gone = payload.get("event_id")
            if gone and provider is not None and calendar is not None:
                await provider.delete_event(str(gone), calendar_id=calendar.external_id)
            return
        wanted = user.tasks_in_calendar and provider is not None and not task.done
        if task.event_id and (not wanted or task.event_version != task.version):
            if provider is not None and calendar is not None:  # a removed calendar took its events
                await provider.delete_event(task.event_id, calendar_id=calendar.external_id)
            # An event taken away for good gives the task a new version, so the next one is a new
            # event (Google keeps a deleted event's id: inserting it again is a duplicate).
            await self._store(task_id, None, None, bump=not wanted)
            task.event_id = None
        if wanted and not task.event_id and provider is not None and calendar is not None:
            await self._create(provider, calendar, task, (contact.name or contact.email) if contact else "")

    async def _create(self, provider: CalendarProvider, calendar: Calendar, task: Task, contact: str) -> None:
        created = await provider.create_event(task_event(task, contact), calendar_id=calendar.external_id)
        if not await self._store(task.id, created.external_id, task.version):
            # The task was deleted while its event was being written: take the event away again.
            await provider.delete_event(created.external_id, calendar_id=calendar.external_id)

    async def _store(self, task_id: int, event_id: str | None, version: int | None, *, bump: bool = False
                     ) -> bool:
        values: dict[str, Any] = {"event_id": event_id, "event_version": version}
        if bump:
            values["version"] = Task.version + 1
        async with self._sessions() as session, session.begin():
            done = await session.execute(update(Task).where(Task.id == task_id).values(**values))
            return bool(getattr(done, "rowcount", 0))


async def forget_events(session: AsyncSession, owner_id: int) -> None:
    """Clear the host's tasks' event ids (their calendar was deleted, and the events with it)."""
    await session.execute(update(Task).where(Task.owner_id == owner_id, Task.event_id.is_not(None))
                          .values(event_id=None, event_version=None))
