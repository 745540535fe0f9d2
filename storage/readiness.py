"""Whether the database can serve bookings now: what ``/healthz`` and start-up check.

:func:`readiness` asks, in order: does the database answer, are its migrations at the head this
code knows, is every table whole (each model's table answers a query naming all its columns),
and does a write go through (an ``UPDATE`` of ``alembic_version`` in a transaction that is rolled
back, so nothing changes; on SQLite it takes the write lock, as a booking does). The first problem
found is the answer. :func:`require_writable` is the start-up check: a database that answers but
cannot be written (a read-only file, folder or replica) stops ``serve`` and ``demo`` at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import current_revision, first_line, head_revision
from storage.models import Base

UNREACHABLE = "unreachable"
NOT_MIGRATED = "not migrated"
DAMAGED = "damaged"
READ_ONLY = "read-only"


class DatabaseNotWritable(Exception):
    """The database answers but refuses writes (one line, shown to the user)."""


@dataclass(frozen=True, slots=True)
class Readiness:
    """The first problem found (None when ready) and, for the log, what exactly failed."""

    problem: str | None
    detail: str = ""

    @property
    def ready(self) -> bool:
        """Whether bookings can work."""
        return self.problem is None


async def readiness(engine: AsyncEngine) -> Readiness:
    """Check the database behind ``engine`` (see the module docstring)."""
    try:
        revision = await current_revision(engine)
    except (SQLAlchemyError, OSError) as exc:
        return Readiness(UNREACHABLE, first_line(exc))
    if revision != head_revision():
        return Readiness(NOT_MIGRATED, f"at revision {revision}, this version needs {head_revision()}")
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            try:
                await conn.execute(select(*table.columns).limit(0))
            except SQLAlchemyError as exc:
                return Readiness(DAMAGED, f"table {table.name}: {first_line(exc)}")
    try:
        await _write_and_roll_back(engine)
    except (SQLAlchemyError, OSError) as exc:
        return Readiness(READ_ONLY, first_line(exc))
    return Readiness(None)


async def require_writable(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseNotWritable` unless a write goes through (and is rolled back)."""
    try:
        await _write_and_roll_back(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseNotWritable(f"the database cannot be written: {first_line(exc)}") from None


async def _write_and_roll_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
        finally:
            await transaction.rollback()
