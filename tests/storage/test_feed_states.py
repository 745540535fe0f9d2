"""Migration 0007 (``feed_states``) on SQLite and PostgreSQL: up, down, up, and what it guards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.db import alembic_config, create_engine, current_revision, session_factory, upgrade
from storage.models import CalendarConnection, FeedState, User

T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _downgrade(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


async def test_0007_adds_feed_states_and_goes_back_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0006")
        async with engine.connect() as conn:
            assert "feed_states" not in await conn.run_sync(_tables)
        await upgrade(engine, "0007")
        assert await current_revision(engine) == "0007"
        async with engine.connect() as conn:
            assert "feed_states" in await conn.run_sync(_tables)
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("feed_states")})
        assert {"body", "body_hash", "etag", "last_modified", "fetched_at", "failing_since",
                "next_refresh_at", "free_as_busy"} <= columns
        assert not {"url", "credentials"} & columns  # the address lives in the sealed credentials
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, "0006")
        async with engine.connect() as conn:
            assert "feed_states" not in await conn.run_sync(_tables)
        await upgrade(engine, "0007")
        assert await current_revision(engine) == "0007"
    finally:
        await engine.dispose()


async def _connection(sessions: async_sessionmaker, slug: str) -> int:  # type: ignore[type-arg]
    async with sessions() as session, session.begin():
        user = User(display_name=slug, email=f"{slug}@example.com", slug=slug)
        session.add(user)
        await session.flush()
        connection = CalendarConnection(user_id=user.id, provider="feed", account_email=f"{slug}.example")
        session.add(connection)
        await session.flush()
        return connection.id


async def test_a_feed_state_belongs_to_a_connection_and_goes_with_it(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    connection_id = await _connection(sessions, "hannah")
    async with sessions() as session, session.begin():
        session.add(FeedState(connection_id=connection_id, body="BEGIN:VCALENDAR", etag='"a"',
                              fetched_at=T0, next_refresh_at=T0))
    async with sessions() as session:
        state = await session.get(FeedState, connection_id)
        assert state is not None and state.free_as_busy is False and state.fetched_at == T0
    async with sessions() as session, session.begin():  # one row per connection
        session.add(FeedState(connection_id=connection_id, next_refresh_at=T0))
        with pytest.raises(IntegrityError):
            await session.flush()
    async with sessions() as session, session.begin():  # no row without its connection
        session.add(FeedState(connection_id=connection_id + 999, next_refresh_at=T0))
        with pytest.raises(IntegrityError):
            await session.flush()
    async with sessions() as session, session.begin():
        await session.execute(delete(CalendarConnection).where(CalendarConnection.id == connection_id))
    async with sessions() as session:
        assert (await session.execute(select(FeedState))).scalars().all() == []
