"""``/meetings-manage/<token>/event.ics``: a booking's event as a file for the visitor's calendar.

The manage token is the key, as for the manage page. The file is the event the visitor's
invitation carries (:func:`bot.booking.add_to_calendar.calendar_file`): same uid, time, title
and sequence, so a calendar that has the invitation updates it rather than adding another. A
cancelled booking's file cancels it (``METHOD:CANCEL``); an unknown token is the readable 404 of
manage links.
"""

from __future__ import annotations

from aiohttp import web

from bot.booking.add_to_calendar import calendar_file
from bot.handlers.pages.visitor import language, message, translator
from bot.keys import LINKS, READ_SESSIONS


def setup(app: web.Application) -> None:
    """Add the download route."""
    app.router.add_get("/meetings-manage/{token}/event.ics", ics_download)


async def ics_download(request: web.Request) -> web.Response:
    """The booking's event as ``text/calendar``, to save (``Content-Disposition: attachment``)."""
    found = await calendar_file(request.app[READ_SESSIONS], request.app[LINKS], request.match_info["token"])
    if found is None:
        lang = language(request)
        _ = translator(lang)
        return message(request, lang, _("Link not valid"), _("This link does not belong to a booking."), 404)
    response = web.Response(body=found.ics.encode("utf-8"), content_type="text/calendar", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
