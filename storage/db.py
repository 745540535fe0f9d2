"""Engine, sessions and migrations: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL.

SQLite is configured for a server: a new database file is private (0600), WAL, foreign keys on, a
busy timeout (30 s, or the URL's ``?timeout=SECONDS``), and every transaction begun with
``BEGIN IMMEDIATE`` so writes are serialized and a check-then-insert (like the booking overlap
check) cannot interleave with another writer -- except sessions from :func:`read_session_factory`,
which only read and begin a plain (deferred) transaction. Sessions may carry the app's
:class:`SecretBox` (:func:`session_factory`), for what is sealed on the way in (outbox secrets).

:func:`is_busy` recognises the error of a write that waited out the lock (SQLite's "database is
locked", PostgreSQL's lock timeouts, deadlocks and serialization failures): the transaction was
rolled back and can simply be tried again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.crypto import SecretBox

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class DatabaseNotMigrated(Exception):
    """The database schema is older than this version of Slotbot (or empty)."""


READ_ONLY_OPTION = "slotbot_read_only"
SECRETS_INFO = "slotbot_secrets"
DEFAULT_BUSY_SECONDS = 30.0
"""How long an SQLite write waits for the lock before giving up (``?timeout=`` overrides it)."""
# What SQLite and PostgreSQL say when a write could not get its lock (or lost a deadlock).
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_POSTGRES_BUSY = frozenset({"55P03", "40P01", "40001"})


def is_sqlite(url: str) -> bool:
    """Whether ``url`` points at SQLite."""
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with Slotbot's connection settings."""
    if is_sqlite(url):
        _create_private(url)
        busy = busy_seconds(url)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": busy}, pool_pre_ping=False
        )
        _configure_sqlite(engine, busy_ms=round(busy * 1000))
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _create_private(url: str) -> None:
    """Create a new SQLite database file for its owner only (0600), before SQLite makes it 0644;
    its ``-wal`` and ``-shm`` files take the database file's mode. An existing file is left as
    it is, and a folder that is missing or read-only is left for connecting to report."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:") or "uri" in parsed.query:
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        return


def busy_seconds(url: str) -> float:
    """The SQLite busy timeout of ``url``: its ``?timeout=`` query value, else 30 seconds."""
    value = make_url(url).query.get("timeout")
    if isinstance(value, tuple):
        value = value[-1]
    try:
        seconds = float(value) if value is not None else DEFAULT_BUSY_SECONDS
    except ValueError:
        raise ValueError(f"the database URL's timeout must be a number of seconds, not {value!r}") from None
    return max(seconds, 0.0)


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database was busy: retrying will do."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            orig = current.orig
            code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            if code in _POSTGRES_BUSY or str(orig).lower().startswith(_SQLITE_BUSY):
                return True
        current = current.__cause__ or current.__context__
    return False


def _configure_sqlite(engine: AsyncEngine, *, busy_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Read-only sessions (see read_session_factory) read a WAL snapshot without the write lock.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def session_factory(
    engine: AsyncEngine, *, secrets: SecretBox | None = None
) -> async_sessionmaker[AsyncSession]:
    """The session factory used everywhere (objects stay usable after commit).

    With ``secrets``, its sessions carry the box (see :func:`secret_box`), so what is written
    through them can be sealed on the way, e.g. the secrets of outbox payloads.
    """
    return async_sessionmaker(engine, expire_on_commit=False, info={SECRETS_INFO: secrets})


def secret_box(session: AsyncSession) -> SecretBox | None:
    """The :class:`SecretBox` the session's factory was given, if any."""
    box = session.info.get(SECRETS_INFO)
    return box if isinstance(box, SecretBox) else None


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only (visitor pages, availability): on SQLite they do not take the
    write lock, so readers never queue behind writers. Never write through them."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at Slotbot's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    """The newest migration revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def require_migrated(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseNotMigrated` unless the database is at the head revision."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise DatabaseNotMigrated(
            f"the database is {state}, this version needs {head}: run `slotbot db upgrade` first"
        )


def first_line(exc: BaseException) -> str:
    """The first line of a database error (the driver's message, without SQL or parameters)."""
    message = str(getattr(exc, "orig", None) or exc)
    return message.splitlines()[0] if message else type(exc).__name__
