"""The page a visitor sees once booked: what, when, where, with whom, and "add to calendar".

:func:`confirmation_page` renders ``booked.html`` for a booking just made, in the visitor's
language and zone: the day with start and end (no seconds), the zone ("Tokyo time"), the length,
the place or video link when the booking has one, the host's photo or initials, the manage link,
and for a confirmed booking the .ics download (:mod:`bot.handlers.pages.ics_download`) and links
that open the same event in Google Calendar and Outlook (:mod:`bot.booking.add_to_calendar`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.booking.add_to_calendar import google_link, outlook_link
from bot.booking.meeting_time import emails_gettext, length_label, meeting_parts, zone_label
from bot.booking.service import Confirmation
from bot.booking.visitor import Visitor
from bot.handlers.pages.visitor import respond, translator
from bot.pages.public import ManagedBooking, PublicView


def initials(name: str) -> str:
    """Up to two initials of a name (``Demo Host`` -> ``DH``), for a host without a photo."""
    words = [word for word in name.split() if word[:1].isalnum()]
    picked = words[:1] + words[1:][-1:]
    return "".join(word[0] for word in picked).upper() or "?"


def web_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address a page may link to, else None."""
    text = (url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else None


def just_booked(view: PublicView, made: Confirmation, visitor: Visitor) -> ManagedBooking:
    """The booking ``visitor`` just made on ``view``, as its manage link would read it (no read)."""
    return ManagedBooking(
        id=made.booking_id, status=made.status, start=made.start, end=made.end,
        timezone=visitor.timezone, visitor_name=visitor.name, visitor_email=visitor.email,
        note=visitor.note, host=view.host, view=view, language=visitor.language,
        location=made.location, join_url=made.join_url,
    )


def confirmation_context(found: ManagedBooking, *, title: str, manage: str, lang: str) -> dict[str, Any]:
    """What ``booked.html`` shows of ``found`` (``manage``: its manage link), in ``lang``."""
    _ = translator(lang)
    host = found.host
    minutes = int((found.end - found.start).total_seconds() // 60)
    join = web_link(found.join_url)
    place = found.location if found.location and found.location != found.join_url else ""
    context: dict[str, Any] = {
        "title": title, "host": host, "initials": initials(host.display_name),
        "photo": web_link(host.photo_url) or (host.photo_url if (host.photo_url or "")[:1] == "/" else None),
        "status": found.status, "email": found.visitor_email, "manage": manage,
        "when": dict(zip(("day", "times"), meeting_parts(found.start, found.end, found.timezone, lang),
                         strict=True)),
        "zone": zone_label(found.timezone, lang), "zone_name": found.timezone,
        "length": length_label(minutes, lang), "place": place, "join_url": join,
        "calendar": None,
    }
    if found.status == "confirmed":
        mail = emails_gettext(lang)
        details = "\n".join(part for part in (
            mail("Join the video call: {link}").format(link=join) if join else "",
            mail("Change or cancel: {link}").format(link=manage)) if part)
        event = _("{title} with {host}").format(title=title, host=host.display_name)
        where = place or join or ""
        context["calendar"] = {
            "ics": f"{urlsplit(manage).path}/event.ics",  # served on this page's domain too
            "google": google_link(event, found.start, found.end, details=details, location=where),
            "outlook": outlook_link(event, found.start, found.end, details=details, location=where),
            "office": outlook_link(event, found.start, found.end, details=details, location=where,
                                   office=True),
        }
    return context


def confirmation_page(request: web.Request, found: ManagedBooking, *, title: str, manage: str,
                      lang: str, embedded: bool) -> web.Response:
    """The confirmation of ``found``, just booked (``embedded``: inside the website widget)."""
    context = confirmation_context(found, title=title, manage=manage, lang=lang)
    context.update({"lang": lang, "embed": embedded, "page_title": title})
    return respond(request, "booked.html", context)
