"""The meetings dashboard (calendar settings), its sign-in and the OAuth connect callbacks.

A host arrives through a one-time login link from chat (``/dashboard/login?token=...``), which
becomes a session cookie (HttpOnly, SameSite=Lax, Secure on https). Every form carries the
session's CSRF token. Connecting shows what Slotbot will read and write before sending the host to
the provider; the callback lands back on the dashboard.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from bot.accounts.calendars import CalendarSettings, SettingsRefused
from bot.accounts.connections import ConnectError, Connections
from bot.accounts.tokens import Session, TokenRefused
from bot.handlers import caldav, contacts, exchange, feeds, record_meetings, sync, task_calendar, tasks
from bot.handlers.dashboard_base import (
    COOKIE,
    message,
    page,
    reconnect_id,
    session_of,
    signed_in,
    translator,
)
from bot.keys import CALDAV, CONNECTIONS, EXCHANGE, FEEDS, SCHEDULER, SESSIONS, SETTINGS, TOKENS
from storage.models import Calendar, CalendarConnection, User

NOTICE_CODES = ("connected", "colleague", "feed-refreshed", "sync-on", "sync-off")
"""The dashboard's notices by code (``/dashboard?notice=<code>&connection=<id>``); see :func:`_notice`."""


def setup(app: web.Application) -> None:
    """Add the dashboard and OAuth routes (the Exchange form's first: its paths are fixed)."""
    exchange.setup(app)
    caldav.setup(app)
    feeds.setup(app)  # the ICS feed form, Refresh and the free-as-busy switch
    sync.setup(app)  # the "Calendar sync" switch
    contacts.setup(app)  # contacts: list, search, record page, CSV import
    record_meetings.setup(app)  # schedule, move and cancel meetings from a record
    tasks.setup(app)
    task_calendar.setup(app)  # the Tasks page's "Show my open tasks in my calendar" switch
    app.router.add_get("/dashboard/login", login)
    app.router.add_post("/dashboard/logout", signed_in(logout))
    app.router.add_get("/dashboard", signed_in(dashboard))
    app.router.add_get("/dashboard/connect/{kind}", signed_in(connect_page))
    app.router.add_post("/dashboard/connect/{kind}", signed_in(connect_start))
    app.router.add_post("/dashboard/connections/{id:\\d+}/{action}", signed_in(connection_action))
    app.router.add_post("/dashboard/calendars/{id:\\d+}/{action}", signed_in(calendar_action))
    app.router.add_get("/oauth/{kind}/callback", oauth_callback)


async def login(request: web.Request) -> web.StreamResponse:
    """Redeem a one-time login link and start a session.

    The answer is built while the link is being redeemed, so a failure spends nothing.
    """
    target = _next(request.query.get("next", ""))
    try:
        async with request.app[TOKENS].login(request.query.get("token", "")) as (cookie, _):
            response = web.Response(status=303, headers={"Location": target})
            response.set_cookie(
                COOKIE,
                cookie,
                httponly=True,
                samesite="Lax",
                secure=request.app[SETTINGS].base_url.startswith("https://"),
                path="/",
            )
    except TokenRefused as exc:
        _ = translator(request).gettext
        return message(request, _("This link cannot be used"),
                       _("{reason}. Ask Slotbot for a new one.").format(reason=str(exc).capitalize()), 403)
    return response


def _next(target: str) -> str:
    """Where a login link leads: a dashboard path only (never another site), in printable ASCII
    (no control characters, spaces or line separators that could break or forge the header)."""
    printable = all("!" <= char <= "~" for char in target)
    dashboard = target == "/dashboard" or target.startswith(("/dashboard/", "/dashboard?"))
    if printable and dashboard and "//" not in target and "\\" not in target:
        return target
    return "/dashboard"


async def logout(request: web.Request, session: Session) -> web.StreamResponse:
    """End the session."""
    await request.app[TOKENS].end_session(request.cookies.get(COOKIE))
    response = web.Response(status=303, headers={"Location": "/"})
    response.del_cookie(COOKIE, path="/")
    return response


async def dashboard(request: web.Request, session: Session) -> web.StreamResponse:
    """Connected accounts, their health, the calendars checked and the default."""
    async with request.app[SESSIONS]() as db:
        user = await db.get(User, session.user_id)
        connections = (
            await db.execute(
                select(CalendarConnection)
                .where(CalendarConnection.user_id == session.user_id)
                .order_by(CalendarConnection.id)
            )
        ).scalars().all()
        calendars = (
            await db.execute(
                select(Calendar).where(Calendar.user_id == session.user_id).order_by(Calendar.id)
            )
        ).scalars().all()
    _ = translator(request).gettext
    if user is None:
        return message(request, _("Unknown user"), _("This account no longer exists."), 404)
    connections_view = [
        {
            "id": c.id,
            "provider": c.provider,
            "label": _label(request, c.provider),
            "email": c.account_email,
            "status": c.status,
            "error": c.last_error,
            "calendars": [cal for cal in calendars if cal.connection_id == c.id],
        }
        for c in connections
    ]
    await feeds.add_views(request, connections_view)
    await sync.add_views(request, connections_view, user.timezone)
    return page(
        request,
        "dashboard.html",
        {
            "user": user,
            "csrf": session.csrf_token,
            "connections": connections_view,
            "providers": list(request.app[CONNECTIONS].providers.values()),
            "exchange": request.app.get(EXCHANGE) is not None,
            "caldav": request.app.get(CALDAV) is not None,
            "feeds": request.app.get(FEEDS) is not None,
            "notice": _notice(request, connections_view),
        },
    )


def _notice(request: web.Request, connections: list[dict[str, Any]]) -> str:
    """The sentence for the URL's notice code (:data:`NOTICE_CODES`), filled from the host's own data.

    The URL carries a code and ids only, never text, so a link cannot make the dashboard show
    words of someone else's choosing; an unknown code or another host's connection shows nothing.
    """
    catalog = translator(request)
    _, ngettext = catalog.gettext, catalog.ngettext
    code = request.query.get("notice", "")
    if code == "sync-on":  # about the host's own switch, no connection in it
        return _("Calendar sync is on: meetings with your contacts are recorded on their records again.")
    if code == "sync-off":
        return _("Calendar sync is off. What was recorded stays on your contacts' records.")
    connection = next((c for c in connections if str(c["id"]) == request.query.get("connection")), None)
    if code not in NOTICE_CODES or connection is None:
        return ""
    calendars, email = connection["calendars"], connection["email"]
    count = len(calendars)
    if code == "feed-refreshed":
        return _("Loaded the calendar feed {email} again.").format(email=email)
    if code == "colleague":
        return ngettext("Added a colleague's calendar to {email}: {count} calendar now.",
                        "Added a colleague's calendar to {email}: {count} calendars now.",
                        count).format(email=email, count=count)
    default = next((cal.name for cal in calendars if cal.is_default), None)
    if default:
        return ngettext("Connected {email}: {count} calendar found; bookings land in {calendar}.",
                        "Connected {email}: {count} calendars found; bookings land in {calendar}.",
                        count).format(email=email, count=count, calendar=default)
    return ngettext("Connected {email}: {count} calendar found.",
                    "Connected {email}: {count} calendars found.", count).format(email=email, count=count)


def _label(request: web.Request, kind: str) -> str:
    provider = request.app[CONNECTIONS].providers.get(kind)
    _ = translator(request).gettext
    labels = {"local": _("Local calendar"), "exchange": "Microsoft Exchange", "caldav": "CalDAV",
              "feed": _("Calendar feed (ICS)")}
    return provider.label if provider is not None else labels.get(kind, kind)


async def connect_page(request: web.Request, session: Session) -> web.StreamResponse:
    """What Slotbot will read and write, shown before consent."""
    try:
        provider = request.app[CONNECTIONS].provider(request.match_info["kind"])
    except ConnectError as exc:
        return message(request, translator(request).gettext("Cannot connect"), str(exc), 404)
    async with request.app[SESSIONS]() as db:
        user = await db.get(User, session.user_id)
    return page(
        request,
        "connect.html",
        {"provider": provider, "csrf": session.csrf_token, "email": user.email if user else None},
    )


async def connect_start(request: web.Request, session: Session) -> web.StreamResponse:
    """Send the host to the provider's consent page."""
    form = await request.post()
    reconnect = form.get("reconnect")
    try:
        url = await request.app[CONNECTIONS].begin(
            session.user_id,
            request.match_info["kind"],
            reconnect_id=reconnect_id(reconnect),
        )
    except ConnectError as exc:
        return message(request, translator(request).gettext("Cannot connect"), str(exc), 400)
    raise web.HTTPSeeOther(url)


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    """The provider's redirect: finish connecting and land on the dashboard."""
    session = await session_of(request)
    try:
        connected = await request.app[CONNECTIONS].finish(
            request.match_info["kind"],
            dict(request.query),
            session_user=session.user_id if session else None,
        )
    except TokenRefused as exc:
        _ = translator(request).gettext
        return message(request, _("This sign-in cannot be used"), f"{str(exc).capitalize()}.", 403)
    except ConnectError as exc:
        return message(request, translator(request).gettext("Nothing was connected"), str(exc), 400)
    request.app[SCHEDULER].forget(connected.user_id)
    raise web.HTTPSeeOther(
        "/dashboard?" + urlencode({"notice": "connected", "connection": connected.connection_id})
    )


async def connection_action(request: web.Request, session: Session) -> web.StreamResponse:
    """Refresh, disconnect or reconnect one connected account."""
    connections: Connections = request.app[CONNECTIONS]
    connection_id = int(request.match_info["id"])
    action = request.match_info["action"]
    try:
        if action == "refresh":
            await connections.refresh_calendars(session.user_id, connection_id)
        elif action == "disconnect":
            await connections.disconnect(session.user_id, connection_id)
        else:
            raise web.HTTPNotFound()
    except ConnectError as exc:
        return message(request, translator(request).gettext("That did not work"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther("/dashboard")


async def calendar_action(request: web.Request, session: Session) -> web.StreamResponse:
    """Check, uncheck, make default or remove one calendar."""
    settings = CalendarSettings(request.app[SESSIONS])
    calendar_id = int(request.match_info["id"])
    action = request.match_info["action"]
    try:
        if action == "check":
            await settings.set_checked(session.user_id, calendar_id, True)
        elif action == "uncheck":
            await settings.set_checked(session.user_id, calendar_id, False)
        elif action == "default":
            await settings.set_default(session.user_id, calendar_id)
        elif action == "remove":
            await settings.remove_inactive(session.user_id, calendar_id)
        else:
            raise web.HTTPNotFound()
    except SettingsRefused as exc:
        return message(request, translator(request).gettext("That did not work"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther("/dashboard")
