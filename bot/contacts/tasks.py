"""A host's tasks: a title, a due date (and maybe a time), an optional contact, done or not.

Start with :class:`Tasks`. What a host typed is checked once by :meth:`TaskDetails.validated`
(a :class:`TaskRefused` carries one sentence per field). A due time is a wall time in the host's
zone, kept with the zone's name, so the due instant is aware (:attr:`storage.models.Task.due_at`).
Listing puts open tasks first, soonest due first (a task due some time that day before those due
at a time), then done ones, most recently done first.

**The seam for "Sync tasks to my calendar".** Every change (created, updated, done, undone,
deleted) calls each registered :data:`TaskListener` *inside the change's transaction*, with the
task as it now is (for a deletion: as it was). A listener that keeps a calendar in step enqueues
an outbox row there (``bot.notices.outbox``), so a crash loses nothing: :mod:`bot.contacts.task_events`
registers one. Every change of what a task is (``updated``, ``done``, ``undone``) counts up its
``version``, which names its calendar event (a replaced event gets a new id).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.plain_text import one_line
from storage.models import Contact, Task, User, utcnow

MAX_TITLE = 300
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

ChangeKind = Literal["created", "updated", "done", "undone", "deleted"]


@dataclass(frozen=True, slots=True)
class TaskChange:
    """What happened to a task, for the listeners."""

    kind: ChangeKind
    task_id: int
    owner_id: int


TaskListener = Callable[[AsyncSession, TaskChange, Task], Awaitable[None]]
"""Called with the open transaction's session, the change and the task, on every change."""


class TaskNotFound(Exception):
    """No such task among the host's own."""


class TaskRefused(Exception):
    """Details that cannot be kept: ``problems`` maps a field to the sentence shown beside it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """What a host typed: the title, the due date (``YYYY-MM-DD``), the time (``HH:MM`` or blank),
    and the contact (an id of one of the host's contacts, or None)."""

    title: str
    due_date: str
    due_time: str = ""
    contact_id: int | None = None

    def validated(self) -> tuple[str, date, time | None]:
        """The title, due date and time; :class:`TaskRefused` for unusable ones."""
        title, problems = one_line(self.title), {}
        day: date | None = None
        at: time | None = None
        if not title:
            problems["title"] = "Say what is to be done."
        elif len(title) > MAX_TITLE:
            problems["title"] = f"At most {MAX_TITLE} characters, please."
        try:
            day = date.fromisoformat(self.due_date.strip())
        except ValueError:
            problems["due_date"] = "Enter the due date as a date, e.g. 2026-11-27."
        if self.due_time.strip():
            found = _TIME.match(self.due_time.strip())
            if found is None:
                problems["due_time"] = "Enter the time as hours and minutes, e.g. 14:30, or leave it empty."
            else:
                at = time(int(found.group(1)), int(found.group(2)))
        if problems or day is None:
            raise TaskRefused(problems)
        return title, day, at


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as the dashboard shows it (its due date and time in the host's zone)."""

    id: int
    title: str
    due_date: date
    due_time: time | None
    due_words: str
    overdue: bool
    done: bool
    contact_id: int | None
    contact_name: str


def _sort_key(task: Task) -> tuple[bool, float, int]:
    if task.done:
        return True, -(task.done_at or task.updated_at).timestamp(), -task.id
    due = task.due_at
    start_of_day = datetime.combine(task.due_date, time(0), ZoneInfo(task.timezone))
    return False, (due or start_of_day).timestamp() - (0 if due else 0.5), task.id


class Tasks:
    """The tasks of every host (each call names the host: ``owner_id``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 listeners: Sequence[TaskListener] = ()) -> None:
        self._sessions = sessions
        self._listeners = list(listeners)

    def listen(self, listener: TaskListener) -> None:
        """Call ``listener`` on every change from now on (see the module doc)."""
        self._listeners.append(listener)

    async def list(self, owner_id: int, *, contact_id: int | None = None, now: datetime | None = None
                   ) -> list[TaskView]:
        """The host's tasks (only ``contact_id``'s, when given): open first by due, then done."""
        query = select(Task, Contact).outerjoin(Contact, Contact.id == Task.contact_id).where(
            Task.owner_id == owner_id)
        if contact_id is not None:
            query = query.where(Task.contact_id == contact_id)
        async with self._sessions() as session:
            zone = await _zone(session, owner_id)
            rows = (await session.execute(query)).all()
        moment = now or utcnow()
        ordered = sorted(rows, key=lambda row: _sort_key(row[0]))
        return [_view(task, contact, zone, moment) for task, contact in ordered]

    async def get(self, owner_id: int, task_id: int) -> TaskView:
        """One of the host's tasks, or :class:`TaskNotFound`."""
        async with self._sessions() as session:
            task = await _own(session, owner_id, task_id)
            contact = await session.get(Contact, task.contact_id) if task.contact_id else None
            return _view(task, contact, await _zone(session, owner_id), utcnow())

    async def create(self, owner_id: int, details: TaskDetails) -> int:
        """Add a task; its id. :class:`TaskRefused` for bad details or another host's contact."""
        title, day, at = details.validated()
        async with self._sessions() as session, session.begin():
            await _check_contact(session, owner_id, details.contact_id)
            task = Task(owner_id=owner_id, title=title, due_date=day, due_time=at,
                        timezone=(await _zone(session, owner_id)).key, contact_id=details.contact_id)
            session.add(task)
            await session.flush()
            await self._tell(session, "created", task)
            return task.id

    async def update(self, owner_id: int, task_id: int, details: TaskDetails) -> None:
        """Change a task's title, due date and time, and contact."""
        title, day, at = details.validated()
        async with self._sessions() as session, session.begin():
            task = await _own(session, owner_id, task_id)
            await _check_contact(session, owner_id, details.contact_id)
            task.title, task.due_date, task.due_time = title, day, at
            task.timezone, task.contact_id = (await _zone(session, owner_id)).key, details.contact_id
            task.updated_at, task.version = utcnow(), task.version + 1
            await session.flush()
            await self._tell(session, "updated", task)

    async def set_done(self, owner_id: int, task_id: int, done: bool) -> None:
        """Mark a task done (or not done again); nothing happens when it already is."""
        async with self._sessions() as session, session.begin():
            task = await _own(session, owner_id, task_id)
            if task.done == done:
                return
            task.done, task.done_at, task.updated_at = done, utcnow() if done else None, utcnow()
            task.version += 1
            await session.flush()
            await self._tell(session, "done" if done else "undone", task)

    async def delete(self, owner_id: int, task_id: int) -> None:
        """Delete a task."""
        async with self._sessions() as session, session.begin():
            task = await _own(session, owner_id, task_id)
            await self._tell(session, "deleted", task)
            await session.delete(task)

    async def _tell(self, session: AsyncSession, kind: ChangeKind, task: Task) -> None:
        change = TaskChange(kind, task.id, task.owner_id)
        for listener in self._listeners:
            await listener(session, change, task)


def due_words(task: Task, zone: ZoneInfo) -> str:
    """``Fri 27 Nov 2026`` or ``Fri 27 Nov 2026, 14:00``, in the host's zone."""
    due = task.due_at
    if due is None:
        day = task.due_date
        return f"{day:%a} {day.day} {day:%b %Y}"
    local = due.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def _view(task: Task, contact: Contact | None, zone: ZoneInfo, now: datetime) -> TaskView:
    due = task.due_at
    local = due.astimezone(zone) if due is not None else None
    today = now.astimezone(zone).date()
    overdue = not task.done and (due < now if due is not None else task.due_date < today)
    return TaskView(
        id=task.id, title=task.title,
        due_date=local.date() if local else task.due_date, due_time=local.time() if local else None,
        due_words=due_words(task, zone), overdue=overdue, done=task.done, contact_id=task.contact_id,
        contact_name=(contact.name or contact.email) if contact is not None else "",
    )


async def _zone(session: AsyncSession, owner_id: int) -> ZoneInfo:
    user = await session.get(User, owner_id)
    try:
        return ZoneInfo(user.timezone if user is not None else "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


async def _own(session: AsyncSession, owner_id: int, task_id: int) -> Task:
    task = await session.get(Task, task_id)
    if task is None or task.owner_id != owner_id:
        raise TaskNotFound(task_id)
    return task


async def _check_contact(session: AsyncSession, owner_id: int, contact_id: int | None) -> None:
    if contact_id is None:
        return
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.owner_id != owner_id:
        raise TaskRefused({"contact": "That is not one of your contacts."})
