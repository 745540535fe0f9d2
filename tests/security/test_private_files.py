"""The demo's data folder is private (0700) and SQLite database files are created for their owner
only (0600, the -wal and -shm files alike), as the README promises; so is everything the demo's
own servers keep there (a certificate key, CalDAV collections, the feed's secret token)."""

from __future__ import annotations

import signal
import stat
from pathlib import Path

from storage.db import create_engine, upgrade
from tests.cli.test_cli import _start_demo


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/new.db")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:  # the WAL files exist while a connection is open
            await conn.exec_driver_sql("SELECT 1")
            files = sorted(tmp_path.glob("new.db*"))  # noqa: ASYNC240 (a test's look at a folder)
            assert [f.name for f in files] == ["new.db", "new.db-shm", "new.db-wal"]
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await engine.dispose()


def test_the_demo_data_folder_and_database_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process, _ = _start_demo(data_dir, tmp_path)
    try:
        files = {f.name: _mode(f) for f in data_dir.iterdir() if f.is_file()}
        # Everything the demo's own servers keep (certificate key, CalDAV collections, feed token).
        inside = {str(p.relative_to(data_dir)): _mode(p) for p in data_dir.rglob("*")}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert _mode(data_dir) == 0o700
    assert files == {name: 0o600 for name in files} and "slotbot.db" in files
    assert {"tls/demo-local.key", "caldav/users", "feed-token"} <= set(inside)
    assert {name: mode & 0o077 for name, mode in inside.items()} == {name: 0 for name in inside}
