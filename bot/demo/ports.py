"""Ports for the demo's local servers, kept across starts so stored addresses stay right.

The demo's CalDAV server and feed are connected to the demo host once, with their addresses; the
next start tries the same ports (``<data folder>/demo-ports.json``) and only when one is taken
takes another (and the demo re-points its connection).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

PORTS_FILE = "demo-ports.json"


def bound_socket(preferred: int = 0) -> socket.socket:
    """A socket bound on 127.0.0.1 to ``preferred`` when free, else to any free port."""
    for port in (preferred, 0) if preferred else (0,):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise OSError("no free port on 127.0.0.1")


def remembered(data_dir: Path) -> dict[str, int]:
    """The ports the last start used, by server name (empty when unknown or unreadable)."""
    try:
        data = json.loads((data_dir / PORTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: port for name, port in data.items() if isinstance(port, int) and 0 < port < 65536}


def remember(data_dir: Path, ports: dict[str, int]) -> None:
    """Keep ``ports`` for the next start."""
    fd = os.open(data_dir / PORTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(ports, sort_keys=True) + "\n")
