"""The dashboard's Exchange form: connect or reconnect a mailbox, add a colleague's calendar.

``GET /dashboard/connect/exchange`` shows what Slotbot will read and change, then the form (the
password never travels through chat); ``POST`` checks it against the server and lands on the
dashboard, or shows the form again with the sentence for what went wrong and the values kept
(the password excepted). ``POST /dashboard/connections/{id}/colleague`` adds a colleague's
calendar by address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts.connections import ConnectError
from bot.accounts.exchange import DISCLOSURE, ExchangeAccounts
from bot.accounts.tokens import Session
from bot.calendar.exchange.connect import ExchangeForm, ExchangeRefused
from bot.handlers.dashboard_base import N_, message, page, reconnect_id, signed_in, translator
from bot.keys import DEMO_EXCHANGE, EXCHANGE, SCHEDULER

VERSION_CHOICES = (
    ("", N_("Find out (recommended)")),
    ("2010sp2", "Exchange 2010 SP2 or SP3"),
    ("2013", "Exchange 2013"),
    ("2016", "Exchange 2016"),
    ("2019", N_("Exchange 2019 or Subscription Edition")),
)


def setup(app: web.Application) -> None:
    """Add the Exchange form's routes (before the dashboard's ``/dashboard/connect/{kind}``)."""
    app.router.add_get("/dashboard/connect/exchange", signed_in(form_page))
    app.router.add_post("/dashboard/connect/exchange", signed_in(submit))
    app.router.add_post("/dashboard/connections/{id:\\d+}/colleague", signed_in(add_colleague))


def _service(request: web.Request) -> ExchangeAccounts | None:
    return request.app.get(EXCHANGE)


def _form_response(request: web.Request, session: Session, form: ExchangeForm, *, reconnect: int | None,
                   error: str = "", error_field: str = "", status: int = 200) -> web.Response:
    context: dict[str, Any] = {
        "csrf": session.csrf_token, "form": form, "reconnect": reconnect, "error": error,
        "error_field": error_field, "disclosure": DISCLOSURE,
        "versions": [(code, translator(request).gettext(name)) for code, name in VERSION_CHOICES],
        "demo": request.app.get(DEMO_EXCHANGE),
    }
    return page(request, "connect_exchange.html", context, status)



async def form_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form (prefilled, password excepted, when reconnecting)."""
    service = _service(request)
    _ = translator(request).gettext
    if service is None:
        return message(request, _("Cannot connect"), _("Exchange is not set up on this server."), 404)
    reconnect = reconnect_id(request.query.get("reconnect"))
    demo = request.app.get(DEMO_EXCHANGE)
    form = ExchangeForm(email=demo.email if demo else "", password="", ews_url=demo.url if demo else "")
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
        return message(request, _("Cannot connect"), _("Exchange is not set up on this server."), 404)
    data = await request.post()

    def text(name: str, limit: int = 500) -> str:
        value = data.get(name)
        return value[:limit] if isinstance(value, str) else ""

    form = ExchangeForm(
        email=text("email", 254), password=text("password", 1024), username=text("username", 254),
        ews_url=text("ews_url", 2000), version=text("version", 16),
    )
    reconnect = reconnect_id(data.get("reconnect"))
    try:
        connected = await service.connect(session.user_id, form, reconnect_id=reconnect)
    except ExchangeRefused as exc:
        kept = ExchangeForm(form.email, "", form.username, form.ews_url, form.version)
        return _form_response(request, session, kept, reconnect=reconnect, error=str(exc),
                              error_field=exc.field, status=400)
    except ConnectError as exc:
        return message(request, _("Nothing was connected"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    raise web.HTTPSeeOther(
        "/dashboard?" + urlencode({"notice": "connected", "connection": connected.connection_id})
    )


async def add_colleague(request: web.Request, session: Session) -> web.StreamResponse:
    """Add a colleague's calendar (readable, or free/busy only) to an Exchange connection."""
    service = _service(request)
    if service is None:
        raise web.HTTPNotFound()
    data = await request.post()
    email = data.get("email")
    try:
        name = await service.add_colleague(session.user_id, int(request.match_info["id"]),
                                           email if isinstance(email, str) else "")
    except (ExchangeRefused, ConnectError) as exc:
        return message(request, translator(request).gettext("That calendar was not added"), str(exc), 400)
    request.app[SCHEDULER].forget(session.user_id)
    del name
    query = {"notice": "colleague", "connection": request.match_info["id"]}
    raise web.HTTPSeeOther("/dashboard?" + urlencode(query))
