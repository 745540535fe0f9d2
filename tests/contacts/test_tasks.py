"""Tasks: checked details, open first by due, aware due times in the host's zone, done and undone,
another host's tasks and contacts refused, and the listener seam called inside each change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.directory import ContactDetails, Contacts
from bot.contacts.tasks import TaskChange, TaskDetails, TaskNotFound, TaskRefused, Tasks
from storage.models import OutboxMessage, Task, User

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 13:00 in Copenhagen


async def _hosts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session, session.begin():
        one = User(display_name="One", slug="one", timezone="Europe/Copenhagen")
        two = User(display_name="Two", slug="two", timezone="America/Sao_Paulo")
        session.add_all([one, two])
        await session.flush()
        return one.id, two.id


async def test_tasks_are_listed_open_first_by_due_with_aware_times(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one, two = await _hosts(sessions)
    tasks = Tasks(sessions)
    ana = await Contacts(sessions).add(one, ContactDetails("ana@example.com", "Ana"))
    late = await tasks.create(one, TaskDetails("Send the proposal", "2026-11-27", "14:30", ana))
    early = await tasks.create(one, TaskDetails("Call back", "2026-11-27", "09:00"))
    all_day = await tasks.create(one, TaskDetails("Order lunch", "2026-11-27"))
    overdue = await tasks.create(one, TaskDetails("Book the room", "2026-11-25", "12:59"))
    finished = await tasks.create(one, TaskDetails("Old thing", "2026-11-01"))
    await tasks.set_done(one, finished, True)
    await tasks.create(two, TaskDetails("Not yours", "2026-11-20"))

    listed = await tasks.list(one, now=NOW)
    assert [t.id for t in listed] == [overdue, all_day, early, late, finished]
    assert [(t.due_words, t.overdue) for t in listed] == [
        ("Wed 25 Nov 2026, 12:59", True),
        ("Fri 27 Nov 2026", False),
        ("Fri 27 Nov 2026, 09:00", False),
        ("Fri 27 Nov 2026, 14:30", False),
        ("Sun 1 Nov 2026", False),
    ]
    assert listed[3].contact_name == "Ana" and listed[4].done
    assert [t.id for t in await tasks.list(one, contact_id=ana)] == [late]
    async with sessions() as session:
        stored = await session.get(Task, late)
    assert stored is not None and stored.due_at == datetime(2026, 11, 27, 13, 30, tzinfo=UTC)

    await tasks.set_done(one, finished, False)
    assert [t.id for t in await tasks.list(one, now=NOW)][:1] == [finished]  # open again, due first
    await tasks.update(one, late, TaskDetails("Send the proposal v2", "2026-11-26", "", None))
    changed = await tasks.get(one, late)
    assert (changed.title, changed.due_date, changed.due_time, changed.contact_id) == (
        "Send the proposal v2",
        date(2026, 11, 26),
        None,
        None,
    )
    await tasks.delete(one, late)
    with pytest.raises(TaskNotFound):
        await tasks.get(one, late)


async def test_another_hosts_tasks_and_contacts_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one, two = await _hosts(sessions)
    tasks = Tasks(sessions)
    theirs = await tasks.create(two, TaskDetails("Theirs", "2026-11-27"))
    their_contact = await Contacts(sessions).add(two, ContactDetails("x@example.com"))
    for call in (
        tasks.get(one, theirs),
        tasks.set_done(one, theirs, True),
        tasks.delete(one, theirs),
        tasks.update(one, theirs, TaskDetails("Mine now", "2026-11-27")),
    ):
        with pytest.raises(TaskNotFound):
            await call
    with pytest.raises(TaskRefused) as refused:
        await tasks.create(one, TaskDetails("Spy", "2026-11-27", "", their_contact))
    assert refused.value.problems == {"contact": "That is not one of your contacts."}
    assert (await tasks.get(two, theirs)).title == "Theirs"


@pytest.mark.parametrize(
    ("details", "fields"),
    [
        (TaskDetails("", "2026-11-27"), {"title"}),
        (TaskDetails("x" * 301, "2026-11-27"), {"title"}),
        (TaskDetails("Ok", ""), {"due_date"}),
        (TaskDetails("Ok", "27/11/2026"), {"due_date"}),
        (TaskDetails("Ok", "2026-02-30"), {"due_date"}),
        (TaskDetails("Ok", "2026-11-27", "24:00"), {"due_time"}),
        (TaskDetails("Ok", "2026-11-27", "9.30"), {"due_time"}),
        (TaskDetails(" ", "soon", "later"), {"title", "due_date", "due_time"}),
    ],
)
def test_task_details_are_checked(details: TaskDetails, fields: set[str]) -> None:
    with pytest.raises(TaskRefused) as refused:
        details.validated()
    assert set(refused.value.problems) == fields


def test_good_details() -> None:
    assert TaskDetails(" Call\nAna ", " 2026-11-27 ", "9:05").validated() == (
        "Call Ana",
        date(2026, 11, 27),
        time(9, 5),
    )


async def test_listeners_run_inside_each_change(sessions: async_sessionmaker[AsyncSession]) -> None:
    one, _ = await _hosts(sessions)
    seen: list[tuple[str, str]] = []

    async def listener(session: AsyncSession, change: TaskChange, task: Task) -> None:
        seen.append((change.kind, task.title))
        assert change.owner_id == one and change.task_id == task.id
        # What a calendar sync would do: enqueue its work in the same transaction.
        session.add(
            OutboxMessage(
                kind="task_event",
                payload={"task": task.id, "kind": change.kind},
                dedupe_key=f"task:{task.id}:{change.kind}:{len(seen)}",
            )
        )

    tasks = Tasks(sessions)
    tasks.listen(listener)
    task_id = await tasks.create(one, TaskDetails("Write", "2026-11-27"))
    await tasks.update(one, task_id, TaskDetails("Write more", "2026-11-28"))
    await tasks.set_done(one, task_id, True)
    await tasks.set_done(one, task_id, True)  # no change, no call
    await tasks.set_done(one, task_id, False)
    await tasks.delete(one, task_id)
    assert seen == [
        ("created", "Write"),
        ("updated", "Write more"),
        ("done", "Write more"),
        ("undone", "Write more"),
        ("deleted", "Write more"),
    ]
    async with sessions() as session:
        kinds = (await session.execute(select(OutboxMessage.payload))).scalars().all()
    assert [k["kind"] for k in kinds] == ["created", "updated", "done", "undone", "deleted"]

    async def failing(session: AsyncSession, change: TaskChange, task: Task) -> None:
        raise RuntimeError("calendar down")

    tasks.listen(failing)
    with pytest.raises(RuntimeError):
        await tasks.create(one, TaskDetails("Never kept", "2026-11-27"))
    assert [
        t.title for t in await tasks.list(one)
    ] == []  # the change and its listener's work: all or nothing
