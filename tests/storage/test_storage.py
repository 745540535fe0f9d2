"""Migrations and the invariants the schema itself guards, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import (
    DatabaseNotMigrated,
    alembic_config,
    create_engine,
    current_revision,
    head_revision,
    read_session_factory,
    require_migrated,
)
from storage.models import (
    Booking,
    Calendar,
    CalendarConnection,
    ChatIdentity,
    CustomDomain,
    SchedulingPage,
    User,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _user(session: AsyncSession, slug: str, **extra: object) -> User:
    user = User(display_name=slug.title(), email=f"{slug}@example.com", slug=slug, **extra)
    session.add(user)
    await session.flush()
    return user


def _booking(host_id: int, start: datetime, minutes: int = 30, **extra: object) -> Booking:
    return Booking(
        host_id=host_id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        timezone="Europe/Copenhagen",
        visitor_name="Visitor",
        visitor_email="visitor@example.com",
        manage_token_hash=f"{start.timestamp()}-{minutes}-{id(extra)}-{extra.get('status', '')}",
        **extra,
    )


async def test_migrations_reach_head_and_match_models(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()
    await require_migrated(engine)

    def check(conn: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.check(config)  # raises when models and migrations drift

    async with engine.begin() as conn:
        await conn.run_sync(check)


async def test_unmigrated_database_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(DatabaseNotMigrated, match="slotbot db upgrade"):
            await require_migrated(engine)
    finally:
        await engine.dispose()


async def test_one_user_per_chat_identity(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        alice = await _user(session, "alice")
        bob = await _user(session, "bob")
        session.add(ChatIdentity(user_id=alice.id, channel="slack", tenant="T1", external_id="U1"))
    # Same Slack user in another team is someone else: allowed.
    async with sessions() as session, session.begin():
        session.add(ChatIdentity(user_id=bob.id, channel="slack", tenant="T2", external_id="U1"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(ChatIdentity(user_id=bob.id, channel="slack", tenant="T1", external_id="U1"))


async def test_slug_unique_across_domains(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        one = CustomDomain(hostname="meet.example.com")
        two = CustomDomain(hostname="book.example.org")
        session.add_all([one, two])
        await session.flush()
        await _user(session, "example", domain_id=one.id)
        domain_two = two.id
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await _user(session, "example", domain_id=domain_two)
    async with sessions() as session:
        count = len((await session.execute(select(User).where(User.slug == "example"))).all())
    assert count == 1


async def test_page_slugs_unique_per_owner_and_one_default_page(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        user = await _user(session, "host")
        session.add(SchedulingPage(owner_id=user.id, slug="intro", title="Intro", is_default=True))
        user_id = user.id
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(SchedulingPage(owner_id=user_id, slug="intro", title="Again"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(SchedulingPage(owner_id=user_id, slug="other", title="O", is_default=True))


async def _connection(session: AsyncSession, user_id: int, email: str) -> CalendarConnection:
    connection = CalendarConnection(user_id=user_id, provider="google", account_email=email)
    session.add(connection)
    await session.flush()
    return connection


async def test_at_most_one_default_calendar(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        user = await _user(session, "cal")
        first = await _connection(session, user.id, "a@example.com")
        second = await _connection(session, user.id, "b@example.com")
        session.add(Calendar(connection_id=first.id, user_id=user.id, external_id="primary",
                             name="Work", access_role="owner", is_default=True))
        session.add(Calendar(connection_id=first.id, user_id=user.id, external_id="team",
                             name="Team", access_role="reader"))
        ids = (user.id, second.id)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Calendar(connection_id=ids[1], user_id=ids[0], external_id="primary",
                                 name="Home", access_role="owner", is_default=True))


async def test_calendar_user_must_match_its_connection(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        owner = await _user(session, "owner")
        other = await _user(session, "other")
        connection = await _connection(session, owner.id, "owner@example.com")
        ids = (other.id, connection.id)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Calendar(connection_id=ids[1], user_id=ids[0], external_id="x",
                                 name="Stolen", access_role="owner", is_default=True))


async def test_overlapping_bookings_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        host = await _user(session, "busy")
        other = await _user(session, "free")
        session.add(_booking(host.id, T0))
        host_id, other_id = host.id, other.id
    # Overlapping by one minute at either end: refused.
    for start in (T0 + timedelta(minutes=29), T0 - timedelta(minutes=29), T0):
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                session.add(_booking(host_id, start))
    # Touching is not overlapping; another host may use the same time; cancelled ones don't count.
    async with sessions() as session, session.begin():
        session.add(_booking(host_id, T0 + timedelta(minutes=30)))
        session.add(_booking(host_id, T0 - timedelta(minutes=30)))
        session.add(_booking(other_id, T0))
        session.add(_booking(host_id, T0 + timedelta(minutes=10), status="cancelled"))
    async with sessions() as session:
        active = (
            await session.execute(
                select(Booking).where(Booking.host_id == host_id, Booking.status != "cancelled")
            )
        ).scalars().all()
    assert len(active) == 3


async def test_rescheduling_into_an_overlap_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        host = await _user(session, "mover")
        first = _booking(host.id, T0)
        second = _booking(host.id, T0 + timedelta(hours=2))
        cancelled = _booking(host.id, T0 + timedelta(minutes=5), status="cancelled")
        session.add_all([first, second, cancelled])
        await session.flush()
        ids = (second.id, cancelled.id)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            moved = await session.get(Booking, ids[0])
            assert moved is not None
            moved.start_at, moved.end_at = T0 + timedelta(minutes=15), T0 + timedelta(minutes=45)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            revived = await session.get(Booking, ids[1])
            assert revived is not None
            revived.status = "confirmed"


async def test_concurrent_overlapping_bookings_exactly_one_wins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        host_id = (await _user(session, "race")).id

    async def attempt(offset: int) -> bool:
        try:
            async with sessions() as session, session.begin():
                session.add(_booking(host_id, T0 + timedelta(minutes=offset % 3)))
                await session.flush()
                await asyncio.sleep(0.01)  # hold the transaction open while others try
        except IntegrityError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert sum(results) == 1
    async with sessions() as session:
        rows = (await session.execute(select(Booking).where(Booking.host_id == host_id))).all()
    assert len(rows) == 1


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Exception, match="naive"):
        async with sessions() as session, session.begin():
            host = await _user(session, "naive")
            session.add(_booking(host.id, datetime(2026, 3, 2, 9, 0)))


async def test_datetimes_round_trip_as_aware_utc(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Copenhagen"), fold=1)
    async with sessions() as session, session.begin():
        host = await _user(session, "roundtrip")
        booking = _booking(host.id, local)
        session.add(booking)
        await session.flush()
        booking_id = booking.id
    async with sessions() as session:
        stored = await session.get(Booking, booking_id)
        assert stored is not None
        assert stored.start_at.tzinfo is not None
        assert stored.start_at.timestamp() == local.timestamp()  # fold=1: compare instants
        assert stored.start_at.utcoffset() == timedelta(0)
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT start_at FROM bookings"))).scalar_one()
    assert str(raw).startswith("2026-10-25 01:30")


async def test_reads_do_not_wait_for_a_writer(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
                                              ) -> None:
    """A visitor's page reads while a booking holds the write lock (SQLite: a deferred BEGIN)."""
    reads = read_session_factory(engine)
    async with sessions() as writer, writer.begin():
        writer.add(User(display_name="Writer", slug="writer", timezone="UTC"))
        await writer.flush()
        async with reads() as reader:
            found = await asyncio.wait_for(
                reader.execute(select(User.slug).where(User.slug == "writer")), timeout=5)
            assert found.first() is None  # not committed yet: the reader sees its snapshot
    async with reads() as reader:
        assert (await reader.execute(select(User.slug))).scalars().all() == ["writer"]
