"""Migration 0010 (the tasks calendar switch, the tasks calendar, tasks' events) on SQLite and
PostgreSQL: existing hosts keep the switch off, existing rows are kept, and it goes back down."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import create_engine, current_revision, upgrade
from tests.support.migrations import columns, downgrade, insert_host


async def test_0010_keeps_the_switch_off_and_the_rows_and_goes_back_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0009")
        async with engine.begin() as conn:
            user = await insert_host(conn, calendar_sync=True)
            await conn.execute(text(
                "INSERT INTO tasks (owner_id, title, due_date, timezone, done, created_at, updated_at)"
                " VALUES (:u, 'Send the proposal', '2026-11-27', 'UTC', false, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"), {"u": user})
        await upgrade(engine, "0010")
        assert await current_revision(engine) == "0010"
        async with engine.connect() as conn:
            switch = (await conn.execute(text("SELECT tasks_in_calendar FROM users"))).scalar_one()
            assert switch in (False, 0)
            row = (await conn.execute(text("SELECT version, event_id, event_version FROM tasks"))).one()
            assert tuple(row) == (0, None, None)
            assert "holds_tasks" in await conn.run_sync(columns, "calendars")
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0009")
        async with engine.connect() as conn:
            assert "tasks_in_calendar" not in await conn.run_sync(columns, "users")
            assert "holds_tasks" not in await conn.run_sync(columns, "calendars")
            assert not {"version", "event_id", "event_version"} & await conn.run_sync(columns, "tasks")
            assert (await conn.execute(text("SELECT count(*) FROM tasks"))).scalar_one() == 1
    finally:
        await engine.dispose()
