"""Helpers for the migration tests: go down to a revision, list a table's columns."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

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
