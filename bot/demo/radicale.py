"""The demo's CalDAV server: Radicale in a child process on 127.0.0.1, over https, seeded once.

Radicale comes with the ``demo`` extra (``pip install '.[demo]'``, as the README's demo command
does); without it the demo runs without a CalDAV calendar and says so. The server keeps its
collections, its sign-in file (one user, ``demo``, with a password made on the first start) and
nothing else in ``<data folder>/caldav``. Its output goes to /dev/null.

The first start seeds a "Team calendar" from the bundled ``demo/data/team.ics``, one resource per
event, as a CalDAV client would write them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import ssl
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import aiohttp
from icalendar import Calendar

from bot.calendar.caldav.webdav import authorization
from bot.demo.certificate import TlsFiles

USERNAME = "demo"
CALENDAR = "team"
CALENDAR_NAME = "Team calendar"
START_SECONDS = 20.0
_MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
    'xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop>'
    f"<D:displayname>{CALENDAR_NAME}</D:displayname><I:calendar-color>#2e7d32</I:calendar-color>"
    "<C:supported-calendar-component-set><C:comp name=\"VEVENT\"/></C:supported-calendar-component-set>"
    "</D:prop></D:set></C:mkcalendar>"
)


class RadicaleUnavailable(Exception):
    """The demo's CalDAV server could not start (one line, shown in the demo's welcome)."""


@dataclass(frozen=True, slots=True)
class DemoCalDav:
    """Where the demo's CalDAV server listens and its sample account."""

    url: str
    username: str
    password: str = field(repr=False)


def installed() -> bool:
    """Whether Radicale (the ``demo`` extra) is installed."""
    return importlib.util.find_spec("radicale") is not None


def team_events() -> list[tuple[str, str]]:
    """The seeded events as (resource name, iCalendar text): one VEVENT per resource, with its zone."""
    text = resources.files("bot.demo").joinpath("data/team.ics").read_text(encoding="utf-8")
    source = Calendar.from_ical(text)
    zones = [item for item in source.subcomponents if item.name == "VTIMEZONE"]
    found = []
    for event in source.walk("VEVENT"):
        single = Calendar()
        for name in ("VERSION", "PRODID", "CALSCALE"):
            single.add(name, source[name])
        for zone in zones:
            single.add_component(zone)
        single.add_component(event)
        uid = str(event["UID"]).split("@", 1)[0]
        found.append((f"{uid}.ics", single.to_ical().decode("utf-8")))
    return found


class DemoRadicale:
    """Radicale for the demo: :meth:`start` (and seed), :meth:`stop`."""

    def __init__(self, folder: Path, tls: TlsFiles, port: int) -> None:
        self._folder = folder
        self._tls = tls
        self._port = port
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"https://127.0.0.1:{self._port}/"

    async def start(self) -> DemoCalDav:
        """Start the server, wait until it answers and seed it on the first start."""
        if not installed():
            raise RadicaleUnavailable("not installed (pip install '.[demo]' adds it)")
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        password = self._password()
        command = [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{self._port}",
            "--server-ssl", "True",
            "--server-certificate", str(self._tls.cert), "--server-key", str(self._tls.key),
            "--storage-filesystem-folder", str(self._folder / "collections"),
            "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self._folder / "users"),
            "--auth-htpasswd-encryption", "plain", "--auth-delay", "0",
            "--rights-type", "owner_only", "--web-type", "none",
        ]
        self._process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"},
            umask=0o077,  # its collections stay private, like the rest of the data folder
        )
        await self._wait_until_listening()
        account = DemoCalDav(self.url, USERNAME, password)
        await self._seed(account)
        return account

    async def stop(self) -> None:
        """Stop the server process."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _password(self) -> str:
        users = self._folder / "users"
        if users.exists():
            line = users.read_text(encoding="utf-8").strip()
            name, _, password = line.partition(":")
            if name == USERNAME and password:
                return password
        password = "demo-" + secrets.token_urlsafe(12)
        fd = os.open(users, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{USERNAME}:{password}\n")
        return password

    async def _wait_until_listening(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        while loop.time() < deadline:
            if self._process is None or self._process.returncode is not None:
                raise RadicaleUnavailable("Radicale stopped at start")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self._port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        await self.stop()
        raise RadicaleUnavailable(f"Radicale did not answer within {START_SECONDS:.0f} s")

    async def _seed(self, account: DemoCalDav) -> None:
        """Make the team calendar with its events unless it is there already."""
        context = ssl.create_default_context(cafile=str(self._tls.cert))
        headers = {"Authorization": authorization(account.username, account.password)}
        home = f"{self.url}{USERNAME}/"
        calendar = f"{home}{CALENDAR}/"
        timeout = aiohttp.ClientTimeout(total=10)
        connector = aiohttp.TCPConnector(ssl=context)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as client:
            try:
                # The first signed-in request makes the user's principal collection.
                async with client.request("PROPFIND", home, headers={"Depth": "0"}) as answer:
                    await answer.read()
                async with client.request("PROPFIND", calendar, headers={"Depth": "0"}) as answer:
                    if answer.status == 207:
                        return
                async with client.request("MKCALENDAR", calendar, data=_MKCALENDAR,
                                          headers={"Content-Type": "application/xml"}) as answer:
                    if answer.status != 201:
                        raise RadicaleUnavailable(f"could not make the team calendar ({answer.status})")
                for name, text in team_events():
                    async with client.put(calendar + name, data=text.encode("utf-8"),
                                          headers={"Content-Type": "text/calendar; charset=utf-8"}) as put:
                        if put.status not in (201, 204):
                            raise RadicaleUnavailable(f"could not store a sample event ({put.status})")
            except aiohttp.ClientError as exc:
                raise RadicaleUnavailable(f"could not reach it to seed it ({type(exc).__name__})") from None

