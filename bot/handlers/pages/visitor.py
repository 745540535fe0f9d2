"""What every visitor-facing page shares: language, zone, rate limits, slot lists.

Used by :mod:`bot.handlers.pages.page` (scheduling pages) and :mod:`bot.handlers.pages.manage` (manage
links); their forms' tokens live in :mod:`bot.handlers.pages.form_token`. Responses say
``X-Robots-Tag: noindex`` and ``Cache-Control: no-store``; templates get ``_`` (the page's
translations) in their context.
"""

from __future__ import annotations

import time as monotonic
from collections import deque
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale

from bot.availability import AvailabilityRules, find_slots
from bot.handlers.pages.month import choose_month, clock_of, day_times, month_grid
from bot.i18n import translations
from bot.keys import SCHEDULER, TEMPLATES
from bot.pages.public import PublicHost
from bot.scheduling.results import UserAvailability
from bot.templating import CONTENT_SECURITY_POLICY
from bot.zone_names import zone_choices, zone_label
from bot.zones import zone_named

LANGUAGES = {"en": "en", "pt": "pt_BR", "da": "da"}

SLOWDOWN_STEP = 0.25  # seconds more for each plausible attempt past a page's limit...
MAX_SLOWDOWN = 2.0  # ...up to this: a page slows down under load, it never closes


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (in memory, per process).

    :meth:`allow` refuses past the limit (a client's own budget); :meth:`slowdown` never refuses
    but makes events past the limit wait (a page shared by every visitor, which no crowd of
    clients may close).
    """

    def __init__(self, limit: int, window: float) -> None:
        self._limit, self._window = limit, window
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, moment: float) -> deque[float]:
        """The events of ``key`` inside the window ending at ``moment`` (at most what counts)."""
        events = self._events.get(key)
        if events is None:
            if len(self._events) > 10_000:
                self._events = {k: v for k, v in self._events.items() if v and v[-1] > moment - self._window}
            events = self._events[key] = deque(maxlen=self._limit + int(MAX_SLOWDOWN / SLOWDOWN_STEP))
        while events and events[0] <= moment - self._window:
            events.popleft()
        return events

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record an event for ``key``; False when over the limit."""
        moment = monotonic.monotonic() if now is None else now
        events = self._recent(key, moment)
        if len(events) >= self._limit:
            return False
        events.append(moment)
        return True

    def slowdown(self, key: str, now: float | None = None) -> float:
        """Record an event for ``key``; the seconds to wait before serving it (never a refusal).

        Nothing within the limit; past it :data:`SLOWDOWN_STEP` more for each event over, at most
        :data:`MAX_SLOWDOWN`.
        """
        moment = monotonic.monotonic() if now is None else now
        events = self._recent(key, moment)
        over = len(events) + 1 - self._limit
        events.append(moment)
        return min(MAX_SLOWDOWN, max(0, over) * SLOWDOWN_STEP)


def language(request: web.Request, preferred: str | None = None) -> str:
    """The visitor's language: ``?lang=``, else the page's own, else Accept-Language, else English."""
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked
    if preferred in LANGUAGES:
        return preferred
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def locale_of(lang: str) -> Locale:
    """The Babel locale of a page language."""
    return Locale.parse(LANGUAGES.get(lang, "en"))


def zone_or(text: str | None, fallback: str) -> str:
    """``text`` when it names an IANA zone, else ``fallback``."""
    return zone_named(text) or fallback


def zone_note(lang: str, asked: str | None, shown: str) -> str:
    """The note telling a visitor their ``?tz=`` names no zone (empty when it does, or is absent)."""
    if not asked or zone_named(asked) is not None:
        return ""
    name = asked if len(asked) <= 40 else asked[:40] + "…"
    _ = translator(lang)
    return _("“{zone}” is not a time zone we know, so times are shown in {shown}.").format(
        zone=name, shown=shown)


EARLIEST, LATEST = 1971, 9000  # years: a moment outside them is no time anyone offers


def visitor_moment(text: str) -> datetime | None:
    """A time a visitor sent (ISO 8601 with an offset), or None: not one, naive, or far outside any
    calendar (where date arithmetic would overflow)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or not EARLIEST <= moment.year <= LATEST:
        return None
    return moment


def translator(lang: str) -> Callable[[str], str]:
    """The ``_`` of templates and handlers for a page language (the ``pages`` catalog)."""
    return translations(LANGUAGES.get(lang, "en"), "pages").gettext


def respond(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """Render a visitor page (translated for ``context["lang"]``), never cached, never indexed."""
    lang = str(context.setdefault("lang", "en"))
    context.setdefault("_", translator(lang))
    response = request.app[TEMPLATES].response(name, context, status=status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


def message(request: web.Request, lang: str, title: str, text: str, status: int = 200) -> web.Response:
    """A short page with a title and a sentence (both already translated)."""
    return respond(request, "page_message.html", {"title": title, "text": text, "lang": lang}, status)


def not_found(request: web.Request) -> web.Response:
    """The readable 404 of visitor pages."""
    lang = language(request)
    _ = translator(lang)
    return respond(request, "page_message.html", {
        "title": _("Page not found"), "text": _("There is no scheduling page at this address."),
        "lang": lang, "link": ("/", _("Go to the start page")),  # a custom domain's "/" leads on too
    }, 404)


FRAMEABLE_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'self'", "frame-ancestors *")


def allow_framing(response: web.StreamResponse) -> None:
    """Let any site frame this response (pages a host offers in the website chat widget)."""
    response.headers["Content-Security-Policy"] = FRAMEABLE_POLICY


async def offered(
    request: web.Request, host: PublicHost, rules: AvailabilityRules, minutes: int, now: datetime,
    *, start: datetime, end: datetime,
) -> UserAvailability:
    """What a visitor may pick: the host's free slots of ``minutes`` from ``start`` to ``end`` (one
    availability call; the rules' horizon and notice still apply)."""
    return await request.app[SCHEDULER].availability(
        host.id, start=start, end=end, now=now, rules=rules, duration_minutes=minutes)


def offers(rules: AvailabilityRules, start: datetime, minutes: int, now: datetime) -> bool:
    """Whether ``rules`` offer ``start`` for ``minutes`` at all, busy time aside (PURE: no calendar
    is asked, so junk is told from plausible attempts at no cost)."""
    if minutes not in rules.durations:
        return False
    zone = rules.zone
    day = start.astimezone(zone).date()
    result = find_slots(rules, window_start=datetime.combine(day, time(0), zone),
                        window_end=datetime.combine(day + timedelta(days=1), time(0), zone),
                        now=now, calendars={}, duration_minutes=minutes)
    return any(slot.start == start for slot in result.slots)


async def month_picker(request: web.Request, host: PublicHost, rules: AvailabilityRules, minutes: int,
                       zone: ZoneInfo, locale: Locale, now: datetime,
                       focus: datetime | None = None) -> dict[str, Any]:
    """The month calendar's context (one availability call covering the visible month): the grid,
    the selected day's times, the clock, the zone's label and choices, and the month's starts for
    the page's script (which re-renders the times when the visitor switches zone). ``focus``: a
    chosen time, whose day is shown."""
    day = focus.astimezone(zone).date().isoformat() if focus else request.query.get("day")
    choice = choose_month(request.query.get("month"), day, rules=rules, now=now,
                          zone=zone, host_zone=ZoneInfo(host.timezone))
    answer = await offered(request, host, rules, minutes, now, start=choice.start, end=choice.end)
    starts = [slot.start for slot in answer.result.slots]
    grid = month_grid(choice, starts, zone, locale)
    clock = clock_of(request.query.get("clock"), locale)
    return {
        "calendar": grid, "clock": clock, "complete": answer.complete,
        "times": day_times(starts, grid["selected"], zone, locale, clock),
        "zone_label": zone_label(zone.key, locale, now), "zones": zone_choices(locale, now),
        "slot_data": {"starts": [start.isoformat() for start in starts], "clock": clock,
                      "day": None if grid["selected"] is None else grid["selected"].isoformat(),
                      "locale": str(locale).replace("_", "-")},
    }
