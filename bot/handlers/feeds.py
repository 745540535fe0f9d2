"""The dashboard's ICS feed pages: add a calendar by its address, refresh it, its free-as-busy switch.

``GET /dashboard/connect/feed`` shows what Slotbot will read, then the form (the address is a
secret: it goes through this form, behind the one-time login, never chat); ``POST`` fetches and
checks it and lands on the dashboard, or shows the form again with the sentence for what went
wrong. The address is never put back into the page, even then. ``POST
/dashboard/connections/{id}/feed-refresh`` fetches a feed now; ``POST
/dashboard/connections/{id}/free-as-busy`` (``value=on|off``) switches whether its events shown
as free count as busy. :func:`add_views` gives the dashboard what it shows of each feed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts.connections import ConnectError
from bot.accounts.feeds import DISCLOSURE, FeedAccounts, FeedRefused
from bot.accounts.tokens import Session
from bot.handlers.dashboard_base import N_, message, page, signed_in, translator
from bot.keys import FEEDS, SCHEDULER

MAX_ADDRESS = 4000
NOT_SET_UP = N_("Calendar feeds are not set up on this server.")


def setup(app: web.Application) -> None:
    """Add the feed routes (before the dashboard's ``/dashboard/connect/{kind}`` and
    ``/dashboard/connections/{id}/{action}``)."""
    app.router.add_get("/dashboard/connect/feed", signed_in(form_page))
    app.router.add_post("/dashboard/connect/feed", signed_in(submit))
    app.router.add_post("/dashboard/connections/{id:\\d+}/feed-refresh", signed_in(refresh))
    app.router.add_post("/dashboard/connections/{id:\\d+}/free-as-busy", signed_in(free_as_busy))


def _service(request: web.Request) -> FeedAccounts | None:
    return request.app.get(FEEDS)


def _form(request: web.Request, session: Session, *, error: str = "", free_as_busy: bool = False,
          status: int = 200) -> web.Response:
    context: dict[str, Any] = {
        "csrf": session.csrf_token, "error": error, "disclosure": DISCLOSURE, "free_as_busy": free_as_busy,
    }
    return page(request, "connect_feed.html", context, status)


async def form_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form: the address and the free-as-busy switch."""
    if _service(request) is None:
        _ = translator(request).gettext
        return message(request, _("Cannot add a feed"), _(NOT_SET_UP), 404)
    return _form(request, session)


async def submit(request: web.Request, session: Session) -> web.StreamResponse:
    """Fetch, check and store the feed, or show the form again with the sentence."""
    service = _service(request)
    _ = translator(request).gettext
    if service is None:
        return message(request, _("Cannot add a feed"), _(NOT_SET_UP), 404)
    data = await request.post()
    address = data.get("url")
    free = data.get("free_as_busy") == "on"
    if not isinstance(address, str) or len(address) > MAX_ADDRESS:
        return _form(request, session, error=_("That is not a calendar address."), free_as_busy=free,
                     status=400)
    try:
        connected = await service.add(session.user_id, address, free_as_busy=free)
    except FeedRefused as exc:
        return _form(request, session, error=str(exc), free_as_busy=free, status=400)
    except ConnectError as exc:
        return message(request, _("Nothing was added"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther(
        "/dashboard?" + urlencode({"notice": "connected", "connection": connected.connection_id})
    )


async def refresh(request: web.Request, session: Session) -> web.StreamResponse:
    """Fetch one feed now; a failure is the feed's sentence."""
    service = _service(request)
    if service is None:
        raise web.HTTPNotFound()
    connection_id = int(request.match_info["id"])
    try:
        done = await service.refresh(session.user_id, connection_id)
    except ConnectError as exc:
        return message(request, translator(request).gettext("That did not work"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    if done.error is not None:
        return message(request, translator(request).gettext("The feed did not load"), done.error, 502)
    query = {"notice": "feed-refreshed", "connection": connection_id}
    raise web.HTTPSeeOther("/dashboard?" + urlencode(query))


async def free_as_busy(request: web.Request, session: Session) -> web.StreamResponse:
    """Switch "count events shown as free as busy" for one feed."""
    service = _service(request)
    if service is None:
        raise web.HTTPNotFound()
    data = await request.post()
    try:
        value = data.get("value") == "on"
        await service.set_free_as_busy(session.user_id, int(request.match_info["id"]), value)
    except ConnectError as exc:
        return message(request, translator(request).gettext("That did not work"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther("/dashboard")


async def add_views(request: web.Request, connections: list[dict[str, Any]]) -> None:
    """Give each feed connection's dashboard entry its ``feed`` view (the switch, when it loaded)."""
    service = _service(request)
    feeds = [c for c in connections if c["provider"] == "feed"]
    views = await service.views([c["id"] for c in feeds]) if service is not None and feeds else {}
    for entry in feeds:
        entry["feed"] = views.get(entry["id"])
