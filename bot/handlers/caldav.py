"""The dashboard's CalDAV form: connect or reconnect an iCloud, Fastmail, Nextcloud or other CalDAV account.

``GET /dashboard/connect/caldav`` shows what Slotbot will read and change, then the form (the app
password never travels through chat); ``POST`` checks it against the server and lands on the
dashboard, or shows the form again with the sentence for what went wrong and the values kept
(the password excepted).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts.caldav import DISCLOSURE, CalDavAccounts
from bot.accounts.connections import ConnectError
from bot.accounts.tokens import Session
from bot.calendar.caldav.connect import PRESETS, CalDavForm, CalDavRefused
from bot.handlers.dashboard_base import N_, message, page, reconnect_id, signed_in, translator
from bot.keys import CALDAV, SCHEDULER

NOT_SET_UP = N_("CalDAV calendars are not set up on this server.")


def setup(app: web.Application) -> None:
    """Add the CalDAV form's routes (before the dashboard's ``/dashboard/connect/{kind}``)."""
    app.router.add_get("/dashboard/connect/caldav", signed_in(form_page))
    app.router.add_post("/dashboard/connect/caldav", signed_in(submit))


def _service(request: web.Request) -> CalDavAccounts | None:
    return request.app.get(CALDAV)


def _form_response(request: web.Request, session: Session, form: CalDavForm, *, reconnect: int | None,
                   error: str = "", error_field: str = "", status: int = 200) -> web.Response:
    context: dict[str, Any] = {
        "csrf": session.csrf_token, "form": form, "reconnect": reconnect, "error": error,
        "error_field": error_field, "presets": PRESETS, "disclosure": DISCLOSURE,
    }
    return page(request, "connect_caldav.html", context, status)



async def form_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form (prefilled, password excepted, when reconnecting)."""
    service = _service(request)
    _ = translator(request).gettext
    if service is None:
        return message(request, _("Cannot connect"), _(NOT_SET_UP), 404)
    reconnect = reconnect_id(request.query.get("reconnect"))
    preset = request.query.get("server", "icloud")
    form = CalDavForm(preset if preset in PRESETS else "icloud", "", "")
    if reconnect is not None:
        saved = await service.saved_form(session.user_id, reconnect)
        if saved is None:
            return message(request, _("Cannot reconnect"), _("That calendar account is not connected."), 404)
        form = saved
    return _form_response(request, session, form, reconnect=reconnect)


async def submit(request: web.Request, session: Session) -> web.StreamResponse:
    """Check and store the connection, or show the form again with the sentence."""
    service = _service(request)
    _ = translator(request).gettext
    if service is None:
        return message(request, _("Cannot connect"), _(NOT_SET_UP), 404)
    data = await request.post()

    def text(name: str, limit: int) -> str:
        value = data.get(name)
        return value[:limit] if isinstance(value, str) else ""

    form = CalDavForm(server=text("server", 16), username=text("username", 254),
                      password=text("password", 1024), url=text("url", 2000))
    reconnect = reconnect_id(data.get("reconnect"))
    try:
        connected = await service.connect(session.user_id, form, reconnect_id=reconnect)
    except CalDavRefused as exc:
        kept = CalDavForm(form.server if form.server in PRESETS else "other", form.username, "", form.url)
        return _form_response(request, session, kept, reconnect=reconnect, error=str(exc),
                              error_field=exc.field, status=400)
    except ConnectError as exc:
        return message(request, _("Nothing was connected"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther(
        "/dashboard?" + urlencode({"notice": "connected", "connection": connected.connection_id})
    )
