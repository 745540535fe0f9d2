"""``/healthz`` is ready only when bookings can work: the database answers, its migrations are at
head, its tables are whole and a write goes through (in a transaction that rolls back). Start-up
(``serve`` and ``demo``) refuses a database or data folder it cannot write, in one line, exit 2."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from tests.cli.test_cli import _start_demo, run
from tests.conftest import TEST_KEY


async def _health(aiohttp_client: Any, make_settings: Any, **env: str) -> tuple[int, dict[str, Any]]:
    client: TestClient = await aiohttp_client(create_app(make_settings(**env)))
    response = await client.get("/healthz")
    return response.status, await response.json()


async def _read_only(database_url: str) -> str:
    """The app's URL for the same database, which now refuses writes (as after a failover to a
    read-only replica, or a data folder mounted read-only)."""
    if database_url.startswith("sqlite"):
        return database_url.replace(":///", ":///file:", 1) + "?mode=ro&uri=true"
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    finally:
        await conn.close()
    return database_url


async def test_ready_when_everything_works(aiohttp_client: Any, make_settings: Any,
                                           engine: AsyncEngine) -> None:
    assert await _health(aiohttp_client, make_settings) == (200, {"status": "ok", "database": "ok"})


async def test_a_database_that_refuses_writes_is_not_ready(
        aiohttp_client: Any, make_settings: Any, engine: AsyncEngine, database_url: str) -> None:
    url = await _read_only(database_url)
    status, body = await _health(aiohttp_client, make_settings, DATABASE_URL=url)
    assert (status, body) == (503, {"status": "degraded", "database": "read-only"})


async def test_a_damaged_table_is_not_ready(aiohttp_client: Any, make_settings: Any,
                                            engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE bookings RENAME TO bookings_gone"))
    status, body = await _health(aiohttp_client, make_settings)
    assert (status, body) == (503, {"status": "degraded", "database": "damaged"})


async def test_migrations_behind_head_are_not_ready(aiohttp_client: Any, make_settings: Any,
                                                    engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    status, body = await _health(aiohttp_client, make_settings)
    assert (status, body) == (503, {"status": "degraded", "database": "not migrated"})


def test_serve_refuses_a_database_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    env = {"SLOTBOT_SECRET_KEY": TEST_KEY, "DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    assert run("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    refused = run("serve", "--port", "0", env=env, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("slotbot: ") and refused.stderr.count("\n") == 1
    assert "cannot be written" in refused.stderr and "Traceback" not in refused.stderr


def _without_privileges() -> list[str]:
    """A prefix that runs a command without root's power to write anywhere (none needed else)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a folder unwritable")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]


def test_demo_refuses_a_read_only_data_folder_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process, _ = _start_demo(data_dir, tmp_path)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    for item in data_dir.iterdir():
        item.chmod(0o444)
    data_dir.chmod(0o555)
    try:
        refused = run("demo", "--data-dir", str(data_dir), "--port", "0", cwd=tmp_path,
                      prefix=_without_privileges())
    finally:
        data_dir.chmod(0o755)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("slotbot: ") and refused.stderr.count("\n") == 1
    assert "not writable" in refused.stderr and "Traceback" not in refused.stderr
