"""Migration 0012 (page locations, reminders, colour; bookings' language and location; host photos)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storage.db import create_engine, upgrade
from tests.support.migrations import downgrade, insert_host


async def test_0012_gives_existing_pages_and_bookings_empty_values_and_goes_back_down(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0011")
        async with engine.begin() as conn:
            await insert_host(conn)
            await conn.execute(text(
                "INSERT INTO scheduling_pages (owner_id, slug, title, description, durations, rules,"
                " questions, enabled, is_default, in_widget, created_at, updated_at)"
                " SELECT id, 'intro', 'Intro', '', '[30]', '{}', '[]', true, true, false,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"))
        await upgrade(engine, "0012")
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT location_kind, location_value, reminders, remind_host, colour"
                " FROM scheduling_pages"))).one()
            assert (row.location_kind, row.location_value, row.colour) == ("", "", None)
            assert row.reminders in ("[]", [])
            assert row.remind_host in (False, 0)
            users = await conn.run_sync(lambda sync: inspect(sync).get_columns("users"))
            assert "photo_url" in {c["name"] for c in users}
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0011")
        async with engine.connect() as conn:
            bookings = await conn.run_sync(lambda sync: inspect(sync).get_columns("bookings"))
            assert not {"language", "location", "join_url", "cancel_reason"} & {c["name"] for c in bookings}
            # Nothing below ``users`` went with its column (a table copy would have cascaded).
            assert (await conn.execute(text("SELECT count(*) FROM scheduling_pages"))).scalar_one() == 1
    finally:
        await engine.dispose()
