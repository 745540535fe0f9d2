"""A real CalDAV server for the tests: Radicale in a process, behind a counting TLS proxy.

* :class:`Radicale` runs ``python -m radicale`` on 127.0.0.1 (a free port, htpasswd sign-in with
  plain passwords, the rights file :data:`RIGHTS`, output to /dev/null) and makes fresh accounts:
  :meth:`Radicale.account` -> :class:`Account`, whose helpers talk to Radicale directly (never
  through the proxy, so they are not counted): ``mkcalendar(name, display=, color=)``,
  ``readonly(name)`` (a calendar in the account's home that the rights give it read access to
  only, made by the ``curator`` account), ``put(calendar, text, name=)``, ``delete(path)``.
* :class:`CalDavProxy` (on :class:`tests.fakes.base.FakeServer`, https with the tests'
  certificate) forwards every request to Radicale and gives the contract suite its knobs:
  ``requests`` (every request: method, path, ``depth`` header), ``reports(path=None)``,
  ``propfinds(depth=None)``, ``unauthorized``; ``fail_next(count, status=, retry_after=,
  delay=, when=)`` (scripted answers; :func:`busy_request` / :func:`listing_request` pick the
  requests); ``latency`` (added to REPORTs and Depth 1 PROPFINDs: the reads whose size grows
  with the calendar); ``lost[path] = 403 | 404`` (a calendar the account can no longer read);
  ``max_in_flight``.

Fixtures live in :mod:`tests.fakes.caldav.fixtures`.
"""

from __future__ import annotations

import base64
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.fakes.base import CALL, FakeServer, Recorded, TlsFiles

RIGHTS = """\
[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[readonly]
user: .+
collection: {user}/readonly-[^/]+(/.*)?
permissions: r

[curator-principals]
user: curator
collection: [^/]+
permissions: R

[curator]
user: curator
collection: [^/]+/readonly-[^/]+(/.*)?
permissions: rw

[calendars]
user: .+
collection: {user}/[^/]+(/.*)?
permissions: rw
"""
CURATOR = ("curator", "curator-secret-1")
_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def dav(method: str, url: str, auth: tuple[str, str], body: str = "", headers: dict[str, str] | None = None,
        ) -> tuple[int, str]:
    """One blocking request straight to Radicale: (status, body)."""
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method)
    request.add_header("Authorization", _basic(*auth))
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@dataclass
class Account:
    """A fresh Radicale account and its helpers (direct to Radicale)."""

    server: Radicale
    username: str
    password: str

    @property
    def home(self) -> str:
        """The account's calendar home path."""
        return f"/{self.username}/"

    def mkcalendar(self, name: str, *, display: str = "", color: str = "",
                   auth: tuple[str, str] | None = None) -> str:
        """Make a calendar ``{home}{name}/``; its path."""
        props = f"<D:displayname>{display or name}</D:displayname>"
        if color:
            props += f"<I:calendar-color>{color}</I:calendar-color>"
        body = (
            '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
            f'xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop>{props}</D:prop></D:set></C:mkcalendar>'
        )
        path = f"{self.home}{name}/"
        status, text = dav("MKCALENDAR", self.server.url + path, auth or (self.username, self.password), body)
        assert status == 201, (status, text)
        return path

    def readonly(self, name: str, *, display: str = "") -> str:
        """A calendar in the home this account may only read (``readonly-{name}``); its path."""
        return self.mkcalendar(f"readonly-{name}", display=display or name, auth=CURATOR)

    def put(self, calendar: str, text: str, *, name: str = "", as_curator: bool = False) -> str:
        """Store iCalendar ``text`` in ``calendar``; the event's path."""
        path = f"{calendar}{name or f'event-{next(_numbers)}'}.ics"
        auth = CURATOR if as_curator else (self.username, self.password)
        status, answer = dav("PUT", self.server.url + path, auth, text, {"Content-Type": "text/calendar"})
        assert status in (201, 204), (status, answer)
        return path

    def delete(self, path: str) -> int:
        """DELETE ``path`` (a calendar or an event); the status."""
        return dav("DELETE", self.server.url + path, (self.username, self.password))[0]


class Radicale:
    """``python -m radicale`` on 127.0.0.1 with htpasswd sign-in and :data:`RIGHTS`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._users = folder / "users"
        self._count = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Radicale:
        """Start the server and wait until it answers."""
        (self.folder / "rights").write_text(RIGHTS)
        self._users.write_text(f"{CURATOR[0]}:{CURATOR[1]}\n")
        self.port = _free_port()
        command = [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{self.port}",
            "--storage-filesystem-folder", str(self.folder / "collections"),
            "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self._users),
            "--auth-htpasswd-encryption", "plain", "--auth-delay", "0",
            "--rights-type", "from_file", "--rights-file", str(self.folder / "rights"),
        ]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("radicale exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("radicale did not start")

    def stop(self) -> None:
        """Stop the server process."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def account(self, prefix: str = "user") -> Account:
        """A new account (its principal made by a first sign-in)."""
        self._count += 1
        account = Account(self, f"{prefix}{self._count}-{os.getpid()}", f"app-pw-{self._count}-Secret")
        with self._users.open("a") as users:
            users.write(f"{account.username}:{account.password}\n")
        status, _ = dav("PROPFIND", self.url + account.home, (account.username, account.password),
                        headers={"Depth": "0"})
        assert status == 207, status
        return account


def busy_request(call: Recorded) -> bool:
    """A calendar-query REPORT (what reading busy time counts)."""
    return call.method == "REPORT"


def listing_request(call: Recorded) -> bool:
    """A Depth 1 PROPFIND (listing the calendars of a home)."""
    return call.method == "PROPFIND" and call.headers.get("depth") == "1"


HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class CalDavProxy(FakeServer):
    """Radicale behind https, counting requests and answering scripted faults (module docstring)."""

    name = "caldav"

    def __init__(self, upstream: str, *, tls: TlsFiles) -> None:
        super().__init__(tls=tls)
        self.upstream = upstream
        self.lost: dict[str, int] = {}
        self.max_in_flight = 0
        self._in_flight = 0
        self._client: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        """Forward every path."""
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_cleanup.append(self._close_client)

    async def _close_client(self, app: web.Application) -> None:
        if self._client is not None:
            await self._client.close()

    def reports(self, path: str | None = None) -> list[Recorded]:
        """The REPORTs received (to ``path`` only, when given)."""
        return [c for c in self.requests if c.method == "REPORT" and (path is None or c.path == path)]

    def propfinds(self, depth: str | None = None) -> list[Recorded]:
        """The PROPFINDs received (with this Depth only, when given)."""
        return [c for c in self.requests
                if c.method == "PROPFIND" and (depth is None or c.headers.get("depth") == depth)]

    @property
    def unauthorized(self) -> int:
        """How many requests were answered 401."""
        return sum(1 for c in self.requests if c.status == 401)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        call = request[CALL]
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            fault = self.take_fault(call)
            slow = busy_request(call) or listing_request(call)
            await self.pause(fault, None if slow else 0.0)
            for path, status in self.lost.items():
                if call.path.startswith(path):
                    return web.Response(status=status)
            if fault is not None and fault.status is not None:
                return web.Response(status=fault.status, headers=fault.headers)
            if self._client is None:
                self._client = aiohttp.ClientSession(auto_decompress=False)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
            async with self._client.request(
                request.method, self.upstream + request.rel_url.raw_path_qs, headers=headers,
                data=await request.read(), allow_redirects=False,
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
                return web.Response(status=answer.status, body=body, headers=kept)
        finally:
            self._in_flight -= 1
