"""Helpers for the migration tests: go down to a revision, list a table's columns, add a host as
an old revision's ``users`` table takes it."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import alembic_config


def downgrade(conn: Connection, revision: str) -> None:
    """Alembic's downgrade to ``revision`` on ``conn`` (use with ``conn.run_sync``)."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


def columns(conn: Connection, table: str) -> set[str]:
    """The column names of ``table`` (use with ``conn.run_sync``)."""
    return {c["name"] for c in inspect(conn).get_columns(table)}


async def insert_host(conn: AsyncConnection, *, calendar_sync: bool | None = None) -> int:
    """Add host ``h@example.com`` with the columns every revision since 0001 has (and
    ``calendar_sync`` when given: revisions from 0009 require it); return its id."""
    names = "display_name, email, timezone, locale, slug, pages_enabled, is_admin, created_at"
    values = "'H', 'h@example.com', 'UTC', 'en', 'h', true, false, CURRENT_TIMESTAMP"
    if calendar_sync is not None:
        names += ", calendar_sync"
        values += ", true" if calendar_sync else ", false"
    await conn.execute(text(f"INSERT INTO users ({names}) VALUES ({values})"))
    return int((await conn.execute(text("SELECT max(id) FROM users"))).scalar_one())
