"""Migration 0009 (calendar sync states, the hosts' sync switch) on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage.db import create_engine, current_revision, upgrade
from tests.support.migrations import downgrade, insert_host


async def test_0009_turns_sync_on_for_existing_hosts_and_goes_back_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0008")
        async with engine.begin() as conn:
            await insert_host(conn)
            await conn.execute(text(
                "INSERT INTO contacts (owner_id, email, name, company, phone, notes, search_text, created_at,"
                " updated_at) SELECT id, 'ana@example.com', 'Ana', '', '', '', 'ana', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP FROM users"))
        await upgrade(engine, "0009")
        assert await current_revision(engine) == "0009"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT calendar_sync FROM users"))).scalar_one() in (True, 1)
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "calendar_sync_states" in tables
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0008")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "calendar_sync_states" not in tables
            users = await conn.run_sync(lambda sync: inspect(sync).get_columns("users"))
            columns = {c["name"] for c in users}
            assert "calendar_sync" not in columns
            # Nothing below ``users`` went with the column (a table copy would have cascaded).
            assert (await conn.execute(text("SELECT count(*) FROM contacts"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_0011_counts_busy_versions_from_zero_and_goes_back_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0010")
        async with engine.begin() as conn:
            await insert_host(conn)
            await conn.execute(text(
                "INSERT INTO contacts (owner_id, email, name, company, phone, notes, search_text, created_at,"
                " updated_at) SELECT id, 'ana@example.com', 'Ana', '', '', '', 'ana', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP FROM users"))
        await upgrade(engine, "0011")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT busy_version FROM users"))).scalar_one() == 0
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0010")
        async with engine.connect() as conn:
            users = await conn.run_sync(lambda sync: inspect(sync).get_columns("users"))
            assert "busy_version" not in {c["name"] for c in users}
            assert (await conn.execute(text("SELECT count(*) FROM contacts"))).scalar_one() == 1
    finally:
        await engine.dispose()
