"""The demo's "when am I free?" page: the demo host's free time, computed by the real engine.

It goes through the same path as a chat question: :class:`bot.scheduling.scheduler.Scheduler` asks the
host's calendars, the engine applies the rules, and unreadable calendars are shown as unknown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date, format_time
from sqlalchemy import select

from bot.availability import merge
from bot.demo.seed import DEMO_SLUG
from bot.i18n import translations
from bot.keys import SCHEDULER, SESSIONS, START_LINKS, TEMPLATES
from storage.models import User

LOCALES = {"en": "en", "pt": "pt_BR", "da": "da"}


def setup(app: web.Application) -> None:
    """Add ``/demo/free`` to ``app``."""
    app.router.add_get("/demo/free", free_page)
    app.setdefault(START_LINKS, []).append(
        ("/demo/free", "Free time", "When is the demo host free this week? (the availability engine)")
    )


def free_ranges(slots: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join touching or overlapping slots into ranges (epoch seconds)."""
    return merge(slots)


async def free_page(request: web.Request) -> web.Response:
    """Free ranges per day for the next ``days`` (1-14) days in the host's zone."""
    lang = request.query.get("lang", "en")
    locale = LOCALES.get(lang, "en")
    try:
        days = min(14, max(1, int(request.query.get("days", "7"))))
    except ValueError:
        raise web.HTTPBadRequest(reason="days must be a number from 1 to 14") from None
    async with request.app[SESSIONS]() as session:
        user = (await session.execute(select(User).where(User.slug == DEMO_SLUG))).scalar_one_or_none()
    if user is None:
        raise web.HTTPNotFound(reason="The demo host does not exist (run slotbot demo)")
    zone = ZoneInfo(user.timezone)
    now = datetime.now(UTC)
    first = now.astimezone(zone).date()
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(first + timedelta(days=days), time(0), zone)
    answer = await request.app[SCHEDULER].availability(user.id, start=start, end=end, now=now)
    slots = [(int(s.start.timestamp()), int(s.end.timestamp())) for s in answer.result.slots]
    ranges = free_ranges(slots)

    def local_day(item: tuple[int, int]) -> date:
        return datetime.fromtimestamp(item[0], zone).date()

    by_day = {day: list(items) for day, items in groupby(ranges, key=local_day)}
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        rows.append(
            {
                "day": format_date(day, "full", locale=locale),
                "ranges": [
                    format_time(datetime.fromtimestamp(s, zone), "short", locale=locale)
                    + " \u2013 "
                    + format_time(datetime.fromtimestamp(e, zone), "short", locale=locale)
                    for s, e in by_day.get(day, [])
                ],
            }
        )
    return request.app[TEMPLATES].response(
        "free_time.html",
        {
            "host": user.display_name,
            "timezone": user.timezone,
            "rows": rows,
            "calendars": answer.calendars,
            "problems": answer.problems,
            "lang": lang if lang in LOCALES else "en",
            "days": days,
            "_": translations(locale, "dashboard").gettext,
        },
    )
