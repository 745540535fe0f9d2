"""Tasks from chat, over the real app backend and database: "task: send the proposal to Rui on
Friday" in English, Portuguese and Danish -> a task due that day (at a time when one is said),
linked to the one contact the title names; App Home lists the open tasks."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import SecretBox
from storage.models import Contact, Task
from tests.conversation.test_conversation import sections, texts
from tests.support.conversation_world import NOW, World, make_world

# NOW is Thursday 26 March 2026 in Copenhagen.


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                make_settings: Any) -> World:
    made = await make_world(sessions, secrets, make_settings)
    async with made.sessions() as session, session.begin():
        session.add_all([Contact(owner_id=made.speaker.user_id, email="rui@example.pt", name="Rui Costa"),
                         Contact(owner_id=made.speaker.user_id, email="bo@example.dk", name="Bo Berg"),
                         Contact(owner_id=made.speaker.user_id, email="bo2@example.dk", name="Bo Lund")])
    return made


async def _tasks(world: World) -> list[tuple[str, date, time | None, str | None]]:
    async with world.sessions() as session:
        query = select(Task, Contact.email).outerjoin(Contact, Contact.id == Task.contact_id)
        rows = await session.execute(query.order_by(Task.id))
        return [(t.title, t.due_date, t.due_time, email) for t, email in rows]


async def test_a_task_from_chat_in_three_languages(world: World) -> None:
    talk = world.conversation
    en = await talk.message(world.speaker, "task: Send the proposal to Rui on Friday", now=NOW)
    assert texts(en) == ("Added the task “Send the proposal to Rui”, due Fri, Mar 27. "
                         "It is on Rui Costa's record too.")
    pt = await talk.message(world.as_locale("pt_BR"), "tarefa: ligar para o Bo amanhã às 15h", now=NOW)
    assert "Tarefa “ligar para o Bo” adicionada" in texts(pt)
    assert "registro" not in texts(pt)  # two contacts are called Bo: linked to neither
    da = await talk.message(world.as_locale("da"), "opgave: bestil lokale", now=NOW)
    assert "Opgaven “bestil lokale” er tilføjet" in texts(da)
    assert await _tasks(world) == [
        ("Send the proposal to Rui", date(2026, 3, 27), None, "rui@example.pt"),
        ("ligar para o Bo", date(2026, 3, 27), time(15, 0), None),
        ("bestil lokale", date(2026, 3, 26), None, None),  # no day said: today
    ]
    empty = await talk.message(world.speaker, "task:", now=NOW)
    assert "What is to be done?" in texts(empty) and len(await _tasks(world)) == 3


async def test_app_home_lists_the_open_tasks(world: World) -> None:
    talk = world.conversation
    home = await talk.home(world.speaker, now=NOW)
    assert "Tasks" not in [title for title, _ in sections(home)]
    await talk.command(world.speaker, "task call Bo Berg tomorrow at 9:30", now=NOW)
    home = await talk.home(world.speaker, now=NOW)
    [lines] = [lines for title, lines in sections(home) if title == "Tasks"]
    assert lines == ["Fri, Mar 27, 09:30 · call Bo Berg"]
