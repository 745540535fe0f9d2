"""Time expressions in plain language -> an aware window and an optional duration. PURE.

Start with :func:`parse_when`. It takes the text, the speaker's language, zone and ``now`` (no
clock, no I/O) and answers a :class:`When`: a window ``[start, end)`` of aware datetimes in the
speaker's zone, optional hours applied on every day of it (``daily``), an optional meeting length,
and whether anything about time was said at all (``explicit``).

Calendar dates and relative days ("tomorrow", "friday", "3 april", "amanhã", "i morgen"...) come
from dateparser's ``search_dates`` (``PREFER_DATES_FROM=future``, ``RELATIVE_BASE`` = now in the
speaker's zone). Small rules here handle what dateparser does not (or not well), in English,
Portuguese and Danish, whatever the speaker's language:

* parts of a day: morning 06-12, afternoon 12-18, evening 18-23 ("afternoon", "à tarde",
  "eftermiddag"); without a date: today, or tomorrow once that part of today is over;
* hours: "2-5pm", "14h-17h", "kl. 14-17", "between 10 and noon", "after 3pm", "before 11",
  "at 15:00" (a point is one hour long, or the meeting length when one is given); two bare hours
  up to 7 without am/pm ("2-5") are read as afternoon hours;
* weeks: "next week"/"próxima semana"/"næste uge" (Monday to Monday), "this week"/"esta
  semana"/"denne uge" (to next Monday), "the weekend"/"fim de semana"/"weekenden"; a weekday with
  one of them ("tuesday next week") is that day of that week;
* spans: "in the next 3 days"/"nos próximos 3 dias"/"de næste 3 dage" (the rest of today and
  the 3 days after it), also weeks and working days;
* "the day after tomorrow"/"depois de amanhã"/"overmorgen";
* a meeting length: "for 45 minutes"/"por 45 minutos"/"i 45 minutter", "an hour", "1h30",
  "half an hour"/"meia hora"/"en halv time".

Hours, parts of a day and lengths are read by :mod:`bot.conversation.daytime`; days and weeks here.
Nothing said about time: :data:`DEFAULT_WORKDAYS` -- the rest of today and the next 3 working
days. Windows are built from local midnights with ``zoneinfo``, so a week across a DST change is
one hour shorter (or longer) than 7 x 24 hours, as it should be.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateparser.search import search_dates

from bot.conversation.daytime import (
    NUMBER,
    NUMBERS,
    clock,
    cut,
    find_duration,
    hours_in,
    meet,
    part_of_day,
)
from bot.conversation.daytime import normalize as normalize  # re-exported (callers use when.normalize)

DEFAULT_WORKDAYS = 3
"""Working days after today in the default window."""

MAX_TEXT = 500
"""Only the start of a longer text is read (a time question is short; this bounds the work)."""

_DATEPARSER_LANGUAGES = {"en": "en", "pt_BR": "pt", "pt": "pt", "da": "da"}


@dataclass(frozen=True, slots=True)
class When:
    """A parsed window. ``start``/``end`` are aware, in the speaker's zone, ``end`` exclusive.

    ``daily`` restricts every day of a multi-day window to local hours ``(from, to)`` (``to`` of
    ``time(0)`` is midnight); on a one-day window those hours are already in ``start``/``end``.
    ``explicit`` is false when nothing about time was said and the default window was chosen.
    ``point`` is true when one moment of one day was asked about ("at 3pm tomorrow"): the window
    is that moment, an hour long (or the meeting length asked for).
    """

    start: datetime
    end: datetime
    duration_minutes: int | None = None
    daily: tuple[time, time] | None = None
    explicit: bool = True
    point: bool = False


def parse_when(
    text: str,
    *,
    language: str,
    timezone: str,
    now: datetime,
    workdays: Collection[int] = (0, 1, 2, 3, 4),
) -> When:
    """The window ``text`` speaks of (see the module docstring); ``workdays`` (0 = Monday) shape
    the default window."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    today = local_now.date()
    rest = _GREETINGS.sub(" ", normalize(text[:MAX_TEXT]))
    hours, point, rest = hours_in(rest)
    duration, rest = find_duration(rest)
    if point is not None:
        hours = meet(hours, (point, min(point + (duration or 60), 24 * 60)))
    part, rest = part_of_day(rest)
    if part is not None:
        hours = meet(hours, part)
    days, weekly, rest = _spans(rest, today, workdays)
    if days is not None and weekly:
        day = _in_week(rest, language, zone, days)
        days = days if day is None else (day, day + timedelta(days=1))
    if days is None:
        days = _dates(rest, language, zone, local_now)
    if days is None and hours is not None:
        over = _at(today, hours[1], zone) if hours[1] < 24 * 60 else _midnight(today + timedelta(1), zone)
        day = today if over > local_now else today + timedelta(days=1)
        days = (day, day + timedelta(days=1))
    if days is None:
        last = _add_workdays(today, DEFAULT_WORKDAYS, workdays)
        return When(local_now, _midnight(last + timedelta(days=1), zone), duration, None, False)
    first, after = days
    start, end = _midnight(first, zone), _midnight(after, zone)
    daily = None
    if hours is not None:
        if after - first == timedelta(days=1):
            start = _at(first, hours[0], zone)
            end = _at(first, hours[1], zone) if hours[1] < 24 * 60 else end
        else:
            daily = (clock(hours[0]), clock(hours[1]))
    at_point = point is not None and daily is None
    if start < local_now < end:
        start = local_now
    return When(start, end, duration, daily, True, at_point)


_GREETINGS = re.compile(
    r"\b(?:good (?:morning|afternoon|evening)|bom dia|boa tarde|boa noite"
    r"|god (?:morgen|dag|eftermiddag|aften)|goddag)\b"
)


# --- weeks, spans, dates ---------------------------------------------------------------------

_NEXT_WEEK = re.compile(
    r"\b(?:next week|the following week|(?:na )?próxima semana|(?:na )?proxima semana"
    r"|(?:na )?semana que vem|(?:i )?næste uge)\b"
)
_THIS_WEEK = re.compile(
    r"\b(?:(?:the )?rest of (?:the|this) week|this week|(?:n)?esta semana|(?:n)?essa semana"
    r"|(?:o )?resto da semana|(?:i )?denne uge|resten af ugen|(?:i )?den her uge)\b"
)
_WEEKEND = re.compile(
    r"\b(?:(?:this|the) weekend|weekend(?:en)?|(?:neste |no |nesse )?(?:fim|final) de semana"
    r"|i weekenden)\b"
)
_NEXT_SPAN = re.compile(
    r"\b(?:(?:in|over|during|within) )?(?:the )?(?:next|coming)"
    rf"(?: (?P<en>{NUMBER}))? (?P<enu>working days|business days|workdays|days|weeks)\b"
    r"|\b(?:n)?[oa]s próxim[oa]s"
    rf"(?: (?P<pt>{NUMBER}))? (?P<ptu>dias úteis|dias uteis|dias|semanas)\b"
    r"|\b(?:(?:i|inden ?for) )?(?:de )?næste"
    rf"(?: (?P<da>{NUMBER}))? (?P<dau>arbejdsdage|hverdage|dage|uger)\b"
)
_DAY_AFTER_TOMORROW = re.compile(
    r"\b(?:the )?day after tomorrow\b|\bdepois de amanhã\b|\b(?:i )?overmorgen\b"
)


def _spans(
    text: str, today: date, workdays: Collection[int]
) -> tuple[tuple[date, date] | None, bool, str]:
    """Day spans the rules know (weeks, "the next N days", the day after tomorrow); whether the span
    is a calendar week (in which a weekday may be named), and the rest of the text."""
    monday = today - timedelta(days=today.weekday())
    match = _NEXT_SPAN.search(text)
    if match is not None:
        word = match["en"] or match["pt"] or match["da"]
        count = 3 if word is None else int(word) if word.isdigit() else NUMBERS[word]
        unit = match["enu"] or match["ptu"] or match["dau"]
        if unit in ("weeks", "semanas", "uger"):
            last = today + timedelta(days=7 * count)
        elif unit in ("days", "dias", "dage"):
            last = today + timedelta(days=count)
        else:
            last = _add_workdays(today, count, workdays)
        return (today, last + timedelta(days=1)), False, cut(text, match)
    match = _DAY_AFTER_TOMORROW.search(text)
    if match is not None:
        day = today + timedelta(days=2)
        return (day, day + timedelta(days=1)), False, cut(text, match)
    for pattern, first, after in (
        (_NEXT_WEEK, monday + timedelta(days=7), monday + timedelta(days=14)),
        (_THIS_WEEK, today, monday + timedelta(days=7)),
        (_WEEKEND, max(today, monday + timedelta(days=5)), monday + timedelta(days=7)),
    ):
        match = pattern.search(text)
        if match is not None:
            return (first, after), True, cut(text, match)
    return None, False, text


def _dates(text: str, language: str, zone: ZoneInfo, local_now: datetime) -> tuple[date, date] | None:
    """Days named in ``text`` through dateparser: one day, or from the first to the last named."""
    found = _search(text, language, zone, local_now)
    if not found:
        return None
    return min(found), max(found) + timedelta(days=1)


def _in_week(text: str, language: str, zone: ZoneInfo, week: tuple[date, date]) -> date | None:
    base = datetime.combine(week[0] - timedelta(days=1), time(12), zone)
    days = [d for d in _search(text, language, zone, base) if week[0] <= d < week[1]]
    return days[0] if days else None


_IGNORED = {"may", "now", "sat", "sun", "second", "march", "i", "a", "e", "de", "on", "in", "at"}


def _search(text: str, language: str, zone: ZoneInfo, base: datetime) -> list[date]:
    if not text.strip():
        return []
    first = _DATEPARSER_LANGUAGES.get(language, "en")
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base.replace(tzinfo=None),
        "TIMEZONE": str(zone.key),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "DATE_ORDER": "MDY" if first == "en" else "DMY",
    }
    for code in _languages(first):
        found = search_dates(text, languages=[code], settings=settings) or []
        days = [value.astimezone(zone).date() for said, value in found if _meaningful(said)]
        if days:
            return days
    return []


def _languages(first: str) -> Iterable[str]:
    yield first
    yield from (code for code in ("en", "pt", "da") if code != first)


def _meaningful(said: str) -> bool:
    said = said.strip()
    if said in _IGNORED:
        return False
    return bool(re.search(r"[^\W\d_]", said) or re.search(r"\d[/.-]\d", said))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock(minutes), zone)


def _add_workdays(day: date, count: int, workdays: Collection[int]) -> date:
    """The ``count``-th working day after ``day`` (every day counts when none is a working day)."""
    days = set(workdays) or set(range(7))
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() in days:
            count -= 1
    return day
