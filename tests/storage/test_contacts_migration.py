"""Migration 0008 (contact details, search text, moved engagements, tasks) on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage.db import create_engine, current_revision, upgrade
from tests.support.migrations import columns, downgrade, insert_host


async def test_0008_fills_search_text_adds_tasks_and_goes_back_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await insert_host(conn)
            await conn.execute(
                text(
                    "INSERT INTO contacts (owner_id, email, name, created_at, updated_at) SELECT id,"
                    " 'ana@example.com', 'Ana LÚCIA', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"
                )
            )
        await upgrade(engine, "0008")
        assert await current_revision(engine) == "0008"
        async with engine.connect() as conn:
            found = (await conn.execute(text("SELECT search_text, company FROM contacts"))).one()
            assert tuple(found) == ("ana lúcia\nana@example.com", "")
            assert {"company", "phone", "notes", "search_text"} <= await conn.run_sync(columns, "contacts")
            assert "moved_at" in await conn.run_sync(columns, "meeting_engagements")
            assert {"due_date", "due_time", "timezone", "done", "contact_id"} <= await conn.run_sync(
                columns, "tasks"
            )
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0007")
        async with engine.connect() as conn:
            assert "tasks" not in await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "search_text" not in await conn.run_sync(columns, "contacts")
            assert (await conn.execute(text("SELECT name FROM contacts"))).scalar_one() == "Ana LÚCIA"
        await upgrade(engine, "0008")
        assert await current_revision(engine) == "0008"
    finally:
        await engine.dispose()
