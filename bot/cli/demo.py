"""Running the local demo: migrate, seed, serve, and print where to go."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.calendars import DemoServices, LocalServers, connect_demo_calendars, start_local_servers
from bot.demo.certificate import TlsFiles, make_tls_files
from bot.demo.contacts import seed_contacts
from bot.demo.ews.sample import HOST, HOST_PASSWORD, seeded_store
from bot.demo.ews.server import serve
from bot.demo.seed import DEMO_SLUG, DemoExchange, DemoSetupError, seed
from bot.keys import (
    CALDAV,
    CONNECTIONS,
    DEMO_EXCHANGE,
    DOMAINS,
    FEEDS,
    SECRETS,
    SESSIONS,
    START_LINKS,
    TASK_CALENDAR,
)
from bot.logs import configure_logging
from bot.settings import Settings, load_environment
from storage.db import create_engine, first_line, upgrade
from storage.readiness import DatabaseNotWritable, require_writable


def demo_settings(
    data_dir: Path, key: str, *, host: str, port: int, local_ca: Path | None = None
) -> Settings:
    """Settings for the demo: the process environment, with the demo's own database and key.

    The demo's own servers (CalDAV, the ICS feed, Exchange) listen on 127.0.0.1 over https: with
    ``local_ca`` (their certificate), loopback is allowed (as an operator allows an on-premises
    server's private network) and the certificate trusted, for this app only.
    """
    env = load_environment()
    if local_ca is not None:
        allowed = env.get("SLOTBOT_ALLOWED_PRIVATE_NETWORKS", "").strip()
        env["SLOTBOT_ALLOWED_PRIVATE_NETWORKS"] = ",".join(filter(None, (allowed, "127.0.0.0/8")))
        env["SLOTBOT_EXTRA_CA_FILE"] = str(local_ca)
    env.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'slotbot.db'}",
            "SLOTBOT_SECRET_KEY": key,
            "SLOTBOT_DEMO": "true",
            "SLOTBOT_HOST": host,
            "SLOTBOT_PORT": str(port),
            "SLOTBOT_BASE_URL": f"http://{_url_host(host)}:{port}",
            "SLOTBOT_DATA_DIR": str(data_dir),
            "SMTP_HOST": "",  # the demo prints mail to its log
        }
    )
    env.setdefault("SLOTBOT_LOG_FORMAT", "text")
    env.setdefault("SLOTBOT_OUTBOX_POLL_SECONDS", "0.5")
    env.setdefault("SLOTBOT_SYNC_POLL_SECONDS", "30")  # calendar sync: the demo shows changes soon
    return Settings.from_env(env)


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 (display only)


def run_demo(data_dir: Path, key: str, *, host: str, port: int, exchange: bool = False) -> int:
    """Migrate and seed the demo database, then serve until interrupted (``exchange``: with EWS)."""
    return asyncio.run(_run(data_dir, key, host=host, port=port, exchange=exchange))


async def start_demo_exchange(tls: TlsFiles) -> tuple[DemoExchange, web.AppRunner]:
    """The demo's Exchange server on 127.0.0.1 (https, the local certificate, the sample mailboxes)."""
    running = await serve(seeded_store(), "127.0.0.1", 0, (tls.cert, tls.key))
    found = DemoExchange(url=running.url, email=HOST, password=HOST_PASSWORD, certificate=tls.cert)
    return found, running.runner


async def _run(data_dir: Path, key: str, *, host: str, port: int, exchange: bool = False) -> int:
    # Bind first, so that with port 0 the links printed carry the real port.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DemoSetupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    tls = make_tls_files(data_dir / "tls", "demo-local", days=30)
    settings = demo_settings(data_dir, key, host=host, port=sock.getsockname()[1], local_ca=tls.cert)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    engine = create_engine(settings.database_url)
    runner: web.AppRunner | None = None
    ews: DemoExchange | None = None
    ews_runner: web.AppRunner | None = None
    local: LocalServers | None = None
    try:
        if exchange:
            ews, ews_runner = await start_demo_exchange(tls)
        local = await start_local_servers(data_dir, tls)
        await _prepare_database(engine, data_dir)
        app = create_app(settings, engine=engine)
        if ews is not None:
            app[DEMO_EXCHANGE] = ews
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        demo_host = await seed(app[SESSIONS], app[SECRETS], showcase=True)
        if await seed_contacts(app[SESSIONS], demo_host):
            # The first start shows the sample tasks in a local "Slotbot tasks" calendar too.
            await app[TASK_CALENDAR].turn_on(demo_host.user_id)
        extra = await _custom_domain(app, settings.base_url)
        servers = list(local.lines)
        if ews is not None:
            servers.append(("Demo Exchange", f"{ews.url}  (sign in as {ews.email}, password {ews.password})"))
        services = DemoServices(app[SESSIONS], app[CONNECTIONS], app.get(CALDAV), app.get(FEEDS))
        problems = await connect_demo_calendars(services, demo_host.user_id, local)
        await web.SockSite(runner, sock).start()
        _print_welcome(settings.base_url, [*app.get(START_LINKS, []), *extra], servers, data_dir)
        for problem in problems:
            print(problem, flush=True)
        await _wait_for_signal()
    finally:
        if runner is not None:
            await runner.cleanup()
        if ews_runner is not None:
            await ews_runner.cleanup()
        if local is not None:
            await local.stop()
        await engine.dispose()
        sock.close()
    return 0


async def _prepare_database(engine: AsyncEngine, data_dir: Path) -> None:
    """Migrate the demo database and check it takes writes; a failure is one line for the user."""
    try:
        await upgrade(engine)
        await require_writable(engine)
    except (DatabaseNotWritable, SQLAlchemyError, OSError) as exc:
        raise DemoSetupError(f"cannot use the database in {data_dir}: {first_line(exc)}") from None


async def _custom_domain(app: web.Application, base_url: str) -> list[tuple[str, str, str]]:
    """On 127.0.0.1, ``localhost`` plays a custom domain: the same pages under another host name."""
    address = urlsplit(base_url)
    if address.hostname != "127.0.0.1":
        return []
    domain = await app[DOMAINS].add(f"localhost:{address.port}")
    return [(f"http://{domain.hostname}/meetings/{DEMO_SLUG}", "Custom domain", "")]


def _print_welcome(base_url: str, links: list[tuple[str, str, str]], servers: list[tuple[str, str]],
                   data_dir: Path) -> None:
    rows = [("Start page", f"{base_url}/")]
    rows += [(title, href if "://" in href else f"{base_url}{href}") for href, title, _ in links]
    rows += servers
    rows += [("Health", f"{base_url}/healthz"), ("Data folder", str(data_dir))]
    width = max(len(title) for title, _ in rows) + 2
    lines = ["", "Slotbot demo is running (press Ctrl+C to stop)."]
    lines += [f"  {title + ':':<{width}} {target}" for title, target in rows]
    print("\n".join(lines), flush=True)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
