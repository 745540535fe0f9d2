"""Manage links: ``/meetings-manage/<token>`` shows a booking; visitors move or cancel it there.

The token (192 random bits, only its hash stored) is the only key: the URL holds no personal
data. Each request reads the booking, its host and its page's view once
(:meth:`bot.pages.public.PublicPages.booking`). Moving uses the scheduling page's month calendar
(:func:`bot.handlers.pages.visitor.month_picker`) for the same length; picking a time
(``?start=``) shows a confirm button that posts it to ``/reschedule``, which goes through
:meth:`bot.booking.service.Bookings.reschedule` (it re-checks live availability). Cancelling is
confirmed first (``?cancel=1``, with an optional reason for the host). Pages are in the language
the visitor booked in unless they pick another (``?lang=``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.booking.service import MAX_REASON
from bot.booking.visitor import BookingBlocked, BookingError, SlotTaken
from bot.handlers.pages.form_token import csrf_ok, csrf_token, set_csrf
from bot.handlers.pages.month import clock_of, slot_summary
from bot.handlers.pages.visitor import (
    language,
    locale_of,
    message,
    month_picker,
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


def host_page(found: ManagedBooking) -> str:
    """The address of the page the booking was made on (the host's default page when it is gone)."""
    path = f"/meetings/{found.host.slug}"
    if found.view is not None and not found.view.page.is_default:
        path += f"/{found.view.page.slug}"
    return path


async def manage_view(request: web.Request, *, note: str = "", status: int = 200,
                      found: ManagedBooking | None = None, done: str = "",
                      reason: str = "") -> web.Response:
    """The booking, moving it (the month calendar) first, then cancelling it (confirmed).

    ``found``: the booking as this request read it already; ``done``: a sentence saying what was
    just changed (the page then offers the way back to the host's page); ``reason``: a cancel
    reason to show again.
    """
    found = found or await request.app[PUBLIC_PAGES].booking(request.match_info["token"])
    lang = language(request, found.language if found else None)
    _ = translator(lang)
    if found is None:
        return _invalid(request, lang)
    host, view = found.host, found.view
    locale = locale_of(lang)
    zone_name = zone_or(request.query.get("tz"), found.timezone)
    note = " ".join(part for part in (note, zone_note(lang, request.query.get("tz"), zone_name)) if part)
    zone = ZoneInfo(zone_name)
    now = datetime.now(UTC)
    length = int((found.end - found.start).total_seconds() // 60)
    query = {"tz": zone_name, "lang": lang}
    if request.query.get("clock") in ("12", "24"):
        query["clock"] = request.query["clock"]
    context: dict[str, Any] = {
        "booking": found, "host": host, "title": view.page.title if view else _("Meeting"), "lang": lang,
        "when": slot_summary(found.start, length, zone, locale,
                             clock_of(request.query.get("clock"), locale), _),
        "tz": zone_name, "path": request.path, "message": note, "done": done, "query": query,
        "host_page": host_page(found), "reason": reason, "max_reason": MAX_REASON,
        "asking_cancel": request.query.get("cancel") == "1" and found.status != "cancelled",
        "movable": found.status != "cancelled" and found.start > now and view is not None and not done,
        "anchor": "move-confirm", "prefill": None, "picked": None, "calendar": None,
        "chosen_missing": False,
    }
    if context["movable"] and view is not None:
        if view.rules is None:
            context["movable"] = False
        elif view.mode is Mode.BLOCKED:
            context["complete"] = False  # a calendar cannot be read: no time is offered
        else:
            chosen = visitor_moment(request.query.get("start", ""))
            context.update(await month_picker(request, host, view.rules, length, zone, locale, now,
                                              focus=chosen))
            if chosen is not None and any(t["start"] == chosen.isoformat() for t in context["times"]):
                context["picked"] = {"start": chosen.isoformat(),
                                     "label": slot_summary(chosen, length, zone, locale,
                                                           context["clock"], _)}
            context["chosen_missing"] = chosen is not None and context["picked"] is None
    token = csrf_token(request)
    context["csrf"] = token
    response = respond(request, "manage.html", context, status)
    set_csrf(request, response, token, "/meetings-manage")
    return response


def _invalid(request: web.Request, lang: str) -> web.Response:
    _ = translator(lang)
    return message(request, lang, _("Link not valid"), _("This link does not belong to a booking."), 404)


async def manage_cancel(request: web.Request) -> web.Response:
    """Cancel through a manage link (the confirm step's form), keeping the visitor's reason."""
    data = await request.post()
    token = request.match_info["token"]
    found = await request.app[PUBLIC_PAGES].booking(token)
    lang = language(request, found.language if found else None)
    _ = translator(lang)
    if not csrf_ok(request, data.get("csrf")):
        return message(request, lang, _("Form expired"), _("Reload the page and try again."), 403)
    if found is None:
        return _invalid(request, lang)
    reason = str(data.get("reason", ""))[:MAX_REASON]
    try:
        await request.app[BOOKINGS].cancel(token, reason=reason)
    except BookingError as exc:
        return message(request, lang, _("Not cancelled"), _(str(exc)), 404)
    found = await request.app[PUBLIC_PAGES].booking(token) or found
    return await manage_view(request, found=found,
                             done=_("The meeting is cancelled and both of you have been told."))


async def manage_reschedule(request: web.Request) -> web.Response:
    """Move the booking to the chosen time."""
    data = await request.post()
    token = request.match_info["token"]
    found = await request.app[PUBLIC_PAGES].booking(token)
    lang = language(request, found.language if found else None)
    _ = translator(lang)
    if not csrf_ok(request, data.get("csrf")):
        return message(request, lang, _("Form expired"), _("Reload the page and try again."), 403)
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
        return await manage_view(request, note=_(str(exc)), status=409, found=found)
    except BookingBlocked as exc:
        return message(request, lang, _("Booking is paused"), _(str(exc)), 503)
    except BookingError as exc:
        return await manage_view(request, note=_(str(exc)), status=400, found=found)
    zone = ZoneInfo(zone_or(request.query.get("tz"), found.timezone))
    locale = locale_of(lang)
    minutes = int((moved.end - moved.start).total_seconds() // 60)
    when = slot_summary(moved.start, minutes, zone, locale, clock_of(request.query.get("clock"), locale), _)
    found = await request.app[PUBLIC_PAGES].booking(token) or found
    return await manage_view(request, found=found, done=_(
        "Your meeting is now on {when}. Both of you have been told.").format(when=when))
