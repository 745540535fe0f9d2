"""The demo's other calendars: a CalDAV account (Radicale) and an ICS feed, both connected to the
demo host through the same services the dashboard's forms use, so their busy time merges with the
sample calendar everywhere (free time, pages, chat).

:func:`start_local_servers` starts them (each is optional: one that cannot start is a line in the
welcome, not a failed demo); :func:`connect_demo_calendars` connects each on the first start
after it ran (so a calendar the host disconnects stays disconnected) and re-points the connection
when its server had to move to another port.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.accounts.caldav import KIND as CALDAV_KIND
from bot.accounts.caldav import CalDavAccounts
from bot.accounts.connections import ConnectError, Connections
from bot.accounts.feeds import FeedAccounts, FeedRefused
from bot.calendar.caldav.connect import CalDavForm, CalDavRefused
from bot.calendar.feeds.credentials import feed_label
from bot.calendar.feeds.provider import KIND as FEED_KIND
from bot.demo.certificate import TlsFiles
from bot.demo.feed_server import serve_feed
from bot.demo.ports import bound_socket, remember, remembered
from bot.demo.radicale import DemoCalDav, DemoRadicale, RadicaleUnavailable
from storage.models import CalendarConnection

log = logging.getLogger(__name__)


@dataclass
class LocalServers:
    """What :func:`start_local_servers` started, and the welcome's lines about it."""

    data_dir: Path
    previous: dict[str, int]
    ports: dict[str, int] = field(default_factory=dict)
    caldav: DemoCalDav | None = None
    feed_url: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (title, what) for the welcome
    _radicale: DemoRadicale | None = None
    _feed_runner: web.AppRunner | None = None

    async def stop(self) -> None:
        """Stop every server started."""
        if self._feed_runner is not None:
            await self._feed_runner.cleanup()
            self._feed_runner = None
        if self._radicale is not None:
            await self._radicale.stop()
            self._radicale = None


async def start_local_servers(data_dir: Path, tls: TlsFiles) -> LocalServers:
    """Start the demo's CalDAV server and feed on 127.0.0.1, on the ports of the last start if free."""
    servers = LocalServers(data_dir, remembered(data_dir))
    sock = bound_socket(servers.previous.get("caldav", 0))
    caldav_port = sock.getsockname()[1]
    sock.close()
    radicale = DemoRadicale(data_dir / "caldav", tls, caldav_port)
    try:
        servers.caldav = await radicale.start()
    except RadicaleUnavailable as exc:
        await radicale.stop()
        servers.lines.append(("Demo CalDAV", f"not started: {exc}"))
    else:
        servers._radicale = radicale
        servers.ports["caldav"] = caldav_port
        servers.lines.append(("Demo CalDAV", f"{radicale.url}  (user {servers.caldav.username}, "
                                             f"password {servers.caldav.password})"))
    try:
        feed = await serve_feed(data_dir, tls, servers.previous.get("feed", 0))
    except OSError as exc:
        servers.lines.append(("Demo ICS feed", f"not started: {exc.strerror or exc}"))
    else:
        servers._feed_runner, servers.feed_url = feed.runner, feed.url
        servers.ports["feed"] = feed.port
        servers.lines.append(("Demo ICS feed", feed.url))
    return servers


@dataclass(frozen=True, slots=True)
class DemoServices:
    """The app's services the demo connects through (those the app has: feeds and CalDAV can be off)."""

    sessions: async_sessionmaker[AsyncSession]
    connections: Connections
    caldav: CalDavAccounts | None
    feeds: FeedAccounts | None


async def connect_demo_calendars(services: DemoServices, user_id: int, servers: LocalServers) -> list[str]:
    """Connect the demo host to the servers started (first start) or re-point moved ones; the problems.

    The ports are remembered only for what got connected, so a failure is tried again next time.
    """
    problems: list[str] = []
    done = dict(servers.previous)
    caldav, caldav_port = services.caldav, servers.ports.get("caldav")
    if servers.caldav and caldav is not None and caldav_port and caldav_port != done.get("caldav"):
        try:
            await _connect_caldav(caldav, services.sessions, user_id, servers.caldav)
        except (CalDavRefused, ConnectError) as exc:
            problems.append(f"Demo CalDAV not connected: {exc}")
        else:
            done["caldav"] = caldav_port
    feed_port = servers.ports.get("feed")
    feeds = services.feeds
    if servers.feed_url and feeds is not None and feed_port and feed_port != done.get("feed"):
        try:
            await _connect_feed(feeds, services, user_id, servers.feed_url, done.get("feed"))
        except (FeedRefused, ConnectError) as exc:
            problems.append(f"Demo ICS feed not connected: {exc}")
        else:
            done["feed"] = feed_port
    remember(servers.data_dir, done)
    return problems


async def _connections(sessions: async_sessionmaker[AsyncSession], user_id: int,
                       kind: str) -> list[CalendarConnection]:
    async with sessions() as session:
        found = await session.execute(select(CalendarConnection).where(
            CalendarConnection.user_id == user_id, CalendarConnection.provider == kind))
        return list(found.scalars())


async def _connect_caldav(accounts: CalDavAccounts, sessions: async_sessionmaker[AsyncSession],
                          user_id: int, server: DemoCalDav) -> None:
    """Connect the demo account, or reconnect the one connected before (its server moved)."""
    for connection in await _connections(sessions, user_id, CALDAV_KIND):
        saved = await accounts.saved_form(user_id, connection.id)
        if saved is not None and saved.username == server.username and "127.0.0.1" in saved.url:
            form = CalDavForm("other", server.username, server.password, url=server.url)
            await accounts.connect(user_id, form, reconnect_id=connection.id)
            return
    await accounts.connect(user_id, CalDavForm("other", server.username, server.password, url=server.url))
    log.info("demo caldav connected")


async def _connect_feed(feeds: FeedAccounts, services: DemoServices, user_id: int, url: str,
                        old_port: int | None) -> None:
    """Add the demo feed; when it moved from ``old_port``, remove the feed at its old address."""
    existing = {c.account_email: c for c in await _connections(services.sessions, user_id, FEED_KIND)}
    await feeds.add(user_id, url)
    if old_port:
        moved = existing.get(feed_label(str(URL(url).with_port(old_port))))
        if moved is not None:
            with contextlib.suppress(ConnectError):
                await services.connections.disconnect(user_id, moved.id)
    log.info("demo feed connected")
