"""The aiohttp application: ``create_app(settings)`` mounts routes and lifecycles, nothing else.

The services come from :func:`bot.wiring.build` (the composition root) and are published under
the typed ``web.AppKey`` s of :mod:`bot.keys`, where the handlers find them. ``cleanup_ctx`` opens
and closes, in order, the database engine, the one shared HTTP ``ClientSession``, the outbox
worker and the ICS feeds' background refresh. Routes are added by the handler modules in
``bot/handlers/``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import wiring
from bot.handlers import brand, dashboard, hooks, site
from bot.handlers.demo import free_time
from bot.handlers.demo import login as demo_login
from bot.handlers.forwarded import forwarded
from bot.handlers.pages import admin as page_admin
from bot.handlers.pages import page as pages
from bot.handlers.slack import listeners as slack
from bot.handlers.teams import listeners as teams
from bot.handlers.visitor_input import readable_input
from bot.handlers.web_chat import chat as web_chat
from bot.keys import (
    BOOKINGS,
    CALDAV,
    CHAT_NOTIFIER,
    CONNECTIONS,
    CONTACTS,
    CONVERSATION,
    DOMAINS,
    ENGINE,
    EXCHANGE,
    FEEDS,
    HTTP,
    IDENTITIES,
    LINKS,
    OUTBOX,
    OUTBOX_REGISTRARS,
    PROVIDERS,
    PUBLIC_PAGES,
    READ_SESSIONS,
    RECORD_MEETINGS,
    SCHEDULER,
    SECRETS,
    SESSIONS,
    SETTINGS,
    SYNC,
    TASK_CALENDAR,
    TASKS,
    TEMPLATES,
    TOKENS,
    OutboxRegistrar,
)
from bot.settings import Settings
from bot.templating import CONTENT_SECURITY_POLICY
from storage.db import is_busy

log = logging.getLogger(__name__)

AppHook = Callable[[web.Application], Awaitable[None]]

BUSY_REASON = "Slotbot is busy"
BUSY_DETAIL = "Nothing was changed. Please try again in a few seconds."
BUSY_RETRY_SECONDS = 5

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> web.Application:
    """Build the web application for ``settings`` (an ``engine`` may be passed in by tests)."""
    app = web.Application(
        middlewares=[forwarded, _errors, _security_headers, readable_input, _custom_domains],
        client_max_size=256 * 1024,
    )
    services = wiring.build(settings, engine=engine)
    _publish(app, services)
    app.cleanup_ctx.append(_database(services))
    app.cleanup_ctx.append(_http_session(services))
    app.cleanup_ctx.append(_outbox_worker(services))
    app.cleanup_ctx.append(_feed_refresher(services))
    app.cleanup_ctx.append(_calendar_sync(services))
    site.setup(app)
    brand.setup(app)  # favicon, page colours' style sheets
    dashboard.setup(app)
    hooks.setup(app)  # calendar sync's push notifications (Google, Microsoft Graph)
    pages.setup(app)
    page_admin.setup(app)
    slack.setup(app)  # only when Slack is configured
    teams.setup(app, services.threads)  # only when Teams is configured (blocking msal: the pool)
    web_chat.setup(app)  # the chat page, the website widget (and their demo pages)
    if settings.demo:
        free_time.setup(app)
        demo_login.setup(app)
    return app


def _publish(app: web.Application, services: wiring.Services) -> None:
    """Put each service under its key, where the handlers look for it."""
    app[SETTINGS] = services.settings
    app[SECRETS] = services.secrets
    app[TEMPLATES] = services.templates
    app[LINKS] = services.links
    app[PROVIDERS] = services.providers
    app[ENGINE] = services.engine
    app[SESSIONS] = services.sessions
    app[READ_SESSIONS] = services.read_sessions
    app[SCHEDULER] = services.scheduler
    app[TOKENS] = services.tokens
    app[DOMAINS] = services.domains
    app[BOOKINGS] = services.bookings
    app[CONNECTIONS] = services.connections
    app[IDENTITIES] = services.identities
    app[CHAT_NOTIFIER] = services.chat_notifier
    app[CONVERSATION] = services.conversation
    app[OUTBOX] = services.outbox
    app[PUBLIC_PAGES] = services.public_pages
    app[CONTACTS] = services.contacts
    app[TASKS] = services.tasks
    app[RECORD_MEETINGS] = services.record_meetings
    app[TASK_CALENDAR] = services.task_calendar
    if services.exchange is not None:
        app[EXCHANGE] = services.exchange
    if services.caldav is not None:
        app[CALDAV] = services.caldav
    if services.feeds is not None:
        app[FEEDS] = services.feeds
    app[SYNC] = services.sync


def _database(services: wiring.Services) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        services.threads.shutdown()
        if services.owns_engine:
            await services.engine.dispose()

    return context


def _http_session(services: wiring.Services) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        app[HTTP] = await services.http.open()
        try:
            yield
        finally:
            await services.http.close()
            if services.caldav is not None:
                await services.caldav.close()

    return context


def _outbox_worker(services: wiring.Services) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        worker = services.outbox
        for register in app.get(OUTBOX_REGISTRARS, []):
            register(app, worker)
        worker.start()
        yield
        await worker.stop()

    return context


def _feed_refresher(services: wiring.Services) -> Callable[[web.Application], AsyncIterator[None]]:
    """The ICS feeds' background refresh (``calendar/feeds/refresh.py``), while the app runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        refresher = services.feeds.refresher if services.feeds is not None else None
        if refresher is not None:
            refresher.start()
        yield
        if refresher is not None:
            await refresher.stop()

    return context


def _calendar_sync(services: wiring.Services) -> Callable[[web.Application], AsyncIterator[None]]:
    """Calendar sync's background task (``sync/service.py``), while the app runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        services.sync.start()
        yield
        await services.sync.stop()

    return context


def add_outbox_handlers(app: web.Application, registrar: OutboxRegistrar) -> None:
    """Have ``registrar`` register its outbox handlers when the worker starts."""
    app.setdefault(OUTBOX_REGISTRARS, []).append(registrar)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The security headers on every response, raised ones (redirects, errors) included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc.headers)
        raise
    _secure(response.headers)
    return response


def _secure(headers: MutableMapping[str, str]) -> None:
    """Add :data:`SECURITY_HEADERS` that a handler did not set itself (a framed page's CSP)."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


# What a custom domain serves: the visitor's side only (no dashboard, no sign-in, no chat hooks).
CUSTOM_DOMAIN_PATHS = ("/meetings/", "/meetings-manage/", brand.THEME_PREFIX, "/static/", "/robots.txt",
                       "/healthz", "/favicon.ico")


@web.middleware
async def _custom_domains(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(CUSTOM_DOMAIN_PATHS) or not await request.app[DOMAINS].is_custom(request.host):
        return await handler(request)
    if request.path == "/" and request.method in ("GET", "HEAD"):
        return await brand.domain_root(request)  # the domain's host's page, or how to find one
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
        return _error_page(request, exc.status, exc.reason, exc.headers)
    except Exception as exc:
        if is_busy(exc):  # a writer held the lock past the busy timeout; the request was rolled back
            log.warning("database busy", extra={"path": request.path})
            return _error_page(request, 503, BUSY_REASON, {"Retry-After": str(BUSY_RETRY_SECONDS)},
                               detail=BUSY_DETAIL)
        log.exception("unhandled error", extra={"path": request.path})
        return _error_page(request, 500, "Something went wrong on our side")


def _error_page(
    request: web.Request, status: int, reason: str, headers: Mapping[str, str] | None = None,
    *, detail: str = "",
) -> web.Response:
    """An error as JSON (``/api/``, JSON clients) or a page, keeping the error's own headers
    (``Allow``, ``Retry-After``); ``_errors`` is outside ``_security_headers``, so the security
    headers are added here."""
    templates = request.app[TEMPLATES]
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response = web.json_response({"error": f"{reason}. {detail}" if detail else reason}, status=status)
    else:
        context = {"status": status, "reason": reason, "detail": detail}
        response = templates.response("error.html", context, status=status)
    for name, value in (headers or {}).items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers.setdefault(name, value)
    _secure(response.headers)
    return response
