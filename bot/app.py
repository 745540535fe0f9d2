"""The aiohttp application: ``create_app(settings)`` wires everything from :class:`Settings`.

Shared state lives under typed ``web.AppKey`` s (below). ``cleanup_ctx`` opens and closes, in
order, the database engine, one shared HTTP ``ClientSession`` and the outbox worker. Routes are
added by the handler modules in ``bot/handlers/``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts.connections import Connections, GoogleConnect, MicrosoftConnect
from bot.accounts.identities import Identities
from bot.accounts.tokens import Tokens
from bot.booking.events import SYNC_EVENT_KIND, EventSync
from bot.booking.service import Bookings
from bot.calendar.base import ProviderRegistry
from bot.calendar.google.provider import google_factory
from bot.calendar.local import local_factory
from bot.calendar.microsoft.provider import microsoft_factory
from bot.calendar.threads import WorkerThreads
from bot.conversation.backend import AppBackend
from bot.conversation.core import Conversation
from bot.handlers import dashboard, site
from bot.handlers.demo import free_time
from bot.handlers.demo import login as demo_login
from bot.handlers.pages import admin as page_admin
from bot.handlers.pages import page as pages
from bot.handlers.slack import listeners as slack
from bot.handlers.web_chat import chat as web_chat
from bot.keys import (
    BOOKINGS,
    CHAT_NOTIFIER,
    CONNECTIONS,
    CONVERSATION,
    DOMAINS,
    ENGINE,
    HTTP,
    IDENTITIES,
    LINKS,
    OUTBOX,
    OUTBOX_REGISTRARS,
    PROVIDERS,
    READ_SESSIONS,
    SCHEDULER,
    SECRETS,
    SESSIONS,
    SETTINGS,
    TEMPLATES,
    TOKENS,
    OutboxRegistrar,
)
from bot.notices.chat import NOTICE_KIND, ChatNotifier
from bot.notices.email import EMAIL_KIND, Mailer
from bot.notices.outbox import OutboxWorker
from bot.pages.domains import Domains
from bot.pages.links import Links
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from bot.templating import CONTENT_SECURITY_POLICY, Templates
from storage.crypto import SecretBox
from storage.db import create_engine, read_session_factory, session_factory

log = logging.getLogger(__name__)

AppHook = Callable[[web.Application], Awaitable[None]]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> web.Application:
    """Build the web application for ``settings`` (an ``engine`` may be passed in by tests)."""
    app = web.Application(
        middlewares=[_errors, _security_headers, _custom_domains], client_max_size=256 * 1024
    )
    app[SETTINGS] = settings
    app[SECRETS] = SecretBox(settings.secret_keys)
    app[TEMPLATES] = Templates()
    app[LINKS] = Links(settings.base_url)
    app[PROVIDERS] = _providers(app, settings)
    app.cleanup_ctx.append(_database(engine))
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_outbox_worker)
    add_outbox_handlers(app, _outbox_handlers)
    site.setup(app)
    dashboard.setup(app)
    pages.setup(app)
    page_admin.setup(app)
    slack.setup(app)  # only when Slack is configured
    web_chat.setup(app)  # the chat page, the website widget (and their demo pages)
    if settings.demo:
        free_time.setup(app)
        demo_login.setup(app)
    return app


def _outbox_handlers(app: web.Application, worker: OutboxWorker) -> None:
    worker.register(EMAIL_KIND, Mailer(app[SETTINGS].smtp).send_payload)
    worker.register(SYNC_EVENT_KIND, EventSync(app[SESSIONS], app[SCHEDULER]).sync)
    worker.register(NOTICE_KIND, app[CHAT_NOTIFIER].handle)


def _providers(app: web.Application, settings: Settings) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: app[SESSIONS]))
    timeout = settings.calendar_timeout_seconds
    threads = WorkerThreads()  # the one pool for every provider's blocking library calls

    async def shutdown(app: web.Application) -> None:
        threads.shutdown()

    app.on_cleanup.append(shutdown)
    if settings.google.enabled:
        registry.register("google", google_factory(settings.google, threads=threads, timeout=timeout))
    if settings.microsoft.enabled:
        registry.register(
            "microsoft",
            microsoft_factory(
                settings.microsoft, lambda: app[HTTP], threads=threads, request_timeout=timeout
            ),
        )
    return registry


def _shutdown(pool: ThreadPoolExecutor) -> Callable[[web.Application], Awaitable[None]]:
    async def shutdown(app: web.Application) -> None:
        pool.shutdown(wait=False, cancel_futures=True)

    return shutdown


def _database(given: AsyncEngine | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        engine = given or create_engine(app[SETTINGS].database_url)
        app[ENGINE] = engine
        app[SESSIONS] = session_factory(engine)
        app[READ_SESSIONS] = read_session_factory(engine)
        app[SCHEDULER] = Scheduler(
            app[SESSIONS],
            app[PROVIDERS],
            app[SECRETS],
            timeout=app[SETTINGS].calendar_timeout_seconds,
            read_sessions=app[READ_SESSIONS],
        )
        app[TOKENS] = Tokens(app[SESSIONS], app[SECRETS])
        app[DOMAINS] = Domains(app[SESSIONS])
        app[BOOKINGS] = Bookings(
            app[SESSIONS], app[SCHEDULER], links=app[LINKS]
        )
        app[CONNECTIONS] = Connections(
            app[SETTINGS],
            app[SESSIONS],
            app[SECRETS],
            app[TOKENS],
            app[PROVIDERS],
            {
                "google": GoogleConnect(app[SETTINGS]),
                "microsoft": MicrosoftConnect(app[SETTINGS], lambda: app[HTTP]),
            },
        )
        app[IDENTITIES] = Identities(app[SESSIONS], default_timezone=app[SETTINGS].default_timezone)
        app[CHAT_NOTIFIER] = ChatNotifier(app[SESSIONS])
        app[CONVERSATION] = Conversation(
            AppBackend(
                sessions=app[SESSIONS],
                scheduler=app[SCHEDULER],
                tokens=app[TOKENS],
                links=app[LINKS],
                connections=app[CONNECTIONS],
                identities=app[IDENTITIES],
            )
        )
        yield
        if given is None:
            await engine.dispose()

    return context


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=app[SETTINGS].calendar_timeout_seconds * 3)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        app[HTTP] = session
        yield


async def _outbox_worker(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    worker = OutboxWorker(app[SESSIONS], {}, poll_seconds=settings.outbox_poll_seconds)
    app[OUTBOX] = worker
    for register in app.get(OUTBOX_REGISTRARS, []):
        register(app, worker)
    worker.start()
    yield
    await worker.stop()


def add_outbox_handlers(app: web.Application, registrar: OutboxRegistrar) -> None:
    """Have ``registrar`` register its outbox handlers when the worker starts."""
    app.setdefault(OUTBOX_REGISTRARS, []).append(registrar)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# What a custom domain serves: the visitor's side only (no dashboard, no sign-in, no chat hooks).
CUSTOM_DOMAIN_PATHS = ("/meetings/", "/meetings-manage/", "/static/", "/robots.txt", "/healthz")


@web.middleware
async def _custom_domains(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(CUSTOM_DOMAIN_PATHS) or not await request.app[DOMAINS].is_custom(request.host):
        return await handler(request)
    raise web.HTTPNotFound()


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type != "text/plain" or exc.empty_body:
            raise
        return _error_page(request, exc.status, exc.reason)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return _error_page(request, 500, "Something went wrong on our side")


def _error_page(request: web.Request, status: int, reason: str) -> web.Response:
    templates = request.app[TEMPLATES]
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return web.json_response({"error": reason}, status=status)
    return templates.response("error.html", {"status": status, "reason": reason}, status=status)
