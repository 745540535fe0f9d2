"""A throw-away PostgreSQL server for the test session (real server, loopback only).

Used when ``SLOTBOT_TEST_POSTGRES_URL`` is not set but PostgreSQL's binaries are installed.
initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port


@dataclass
class PostgresServer:
    url: str
    data_dir: Path
    _run_as: list[str]
    _bin: Path

    def stop(self) -> None:
        subprocess.run(
            [*self._run_as, str(self._bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def find_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, found)
    return Path(candidates[0]).parent if candidates else None



def start() -> PostgresServer:
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries not found (install the postgresql package)")
    root = Path(tempfile.mkdtemp(prefix="slotbot-pg-"))
    data = root / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres")
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(
        [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
         "-w", "start"],
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return PostgresServer(
        url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        data_dir=data,
        _run_as=run_as,
        _bin=bin_dir,
    )
