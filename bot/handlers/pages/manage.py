"""Manage links: ``/meetings-manage/<token>`` shows a booking; visitors cancel or move it there.

The token (192 random bits, only its hash stored) is the only key: the URL holds no personal
data. Each request reads the booking, its host and its page's view once
(:meth:`bot.pages.public.PublicPages.booking`). Moving offers the free times of the booking's page
for the same length (none while a calendar cannot be read); the choice goes through
:meth:`bot.booking.service.Bookings.reschedule`, which re-checks live availability.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime

from bot.booking.visitor import BookingBlocked, BookingError, SlotTaken
from bot.handlers.pages.form_token import csrf_ok, csrf_token, set_csrf
from bot.handlers.pages.visitor import (
    days,
    language,
    locale_of,
    message,
    offered,
    respond,
    translator,
    visitor_moment,
    zone_note,
    zone_or,
)
from bot.keys import BOOKINGS, PUBLIC_PAGES
from bot.pages.public import ManagedBooking, Mode


def setup(app: web.Application) -> None:
    """Add the manage-link routes."""
    app.router.add_get("/meetings-manage/{token}", manage_view)
    app.router.add_post("/meetings-manage/{token}/cancel", manage_cancel)
    app.router.add_post("/meetings-manage/{token}/reschedule", manage_reschedule)


async def manage_view(request: web.Request, *, note: str = "", status: int = 200,
                      found: ManagedBooking | None = None) -> web.Response:
    """The booking, a cancel button and (for upcoming meetings) the times it can move to.

    ``found``: the booking as this request read it already.
    """
    found = found or await request.app[PUBLIC_PAGES].booking(request.match_info["token"])
    lang = language(request)
    _ = translator(lang)
    if found is None:
        return _invalid(request, lang)
    host, view = found.host, found.view
    locale = locale_of(lang)
    zone_name = zone_or(request.query.get("tz"), found.timezone)
    note = " ".join(part for part in (note, zone_note(lang, request.query.get("tz"), zone_name)) if part)
    zone = ZoneInfo(zone_name)
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "booking": found, "host": host, "title": view.page.title if view else _("Meeting"), "lang": lang,
        "when": format_datetime(found.start.astimezone(zone), "full", locale=locale),
        "tz": zone_name, "path": request.path, "message": note, "days": [],
        "movable": found.status != "cancelled" and found.start > now and view is not None,
    }
    if context["movable"] and view is not None:
        if view.rules is None:
            context["movable"] = False
        elif view.mode is Mode.BLOCKED:
            context["complete"] = False  # a calendar cannot be read: no time is offered
        else:
            length = int((found.end - found.start).total_seconds() // 60)
            answer = await offered(request, host, view.rules, length, now)
            context["days"] = days(list(answer.result.slots), zone, locale)
            context["complete"] = answer.complete
    token = csrf_token(request)
    context["csrf"] = token
    response = respond(request, "manage.html", context, status)
    set_csrf(request, response, token, "/meetings-manage")
    return response


def _invalid(request: web.Request, lang: str) -> web.Response:
    _ = translator(lang)
    return message(request, lang, _("Link not valid"), _("This link does not belong to a booking."), 404)


async def manage_cancel(request: web.Request) -> web.Response:
    """Cancel through a manage link."""
    data = await request.post()
    lang = language(request)
    _ = translator(lang)
    if not csrf_ok(request, data.get("csrf")):
        return message(request, lang, _("Form expired"), _("Reload the page and try again."), 403)
    try:
        await request.app[BOOKINGS].cancel(request.match_info["token"])
    except BookingError as exc:
        return message(request, lang, _("Not cancelled"), str(exc), 404)
    return message(request, lang, _("Cancelled"),
                   _("The meeting is cancelled and both of you have been told."))


async def manage_reschedule(request: web.Request) -> web.Response:
    """Move the booking to the chosen time."""
    data = await request.post()
    lang = language(request)
    _ = translator(lang)
    if not csrf_ok(request, data.get("csrf")):
        return message(request, lang, _("Form expired"), _("Reload the page and try again."), 403)
    token = request.match_info["token"]
    found = await request.app[PUBLIC_PAGES].booking(token)
    if found is None:
        return _invalid(request, lang)
    start = visitor_moment(str(data.get("start", "")))
    if start is None:
        return await manage_view(request, note=_("Please pick a time from the list."), status=400,
                                 found=found)
    try:
        moved = await request.app[BOOKINGS].reschedule(token, start=start, now=datetime.now(UTC),
                                                       found=found)
    except SlotTaken as exc:
        return await manage_view(request, note=str(exc), status=409, found=found)
    except BookingBlocked as exc:
        return message(request, lang, _("Booking is paused"), str(exc), 503)
    except BookingError as exc:
        return await manage_view(request, note=str(exc), status=400, found=found)
    when = format_datetime(moved.start.astimezone(ZoneInfo(found.timezone)), "full", locale=locale_of(lang))
    return message(request, lang, _("Moved"),
                   _("Your meeting is now on {when}. Both of you have been told.").format(when=when))
