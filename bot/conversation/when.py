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

DEFAULT_WORKDAYS = 3
"""Working days after today in the default window."""

_DATEPARSER_LANGUAGES = {"en": "en", "pt_BR": "pt", "pt": "pt", "da": "da"}

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4, "cinco": 5,
    "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10,
    "en": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7, "otte": 8,
    "ni": 9, "ti": 10,
}
_NUMBER = r"\d+|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class When:
    """A parsed window. ``start``/``end`` are aware, in the speaker's zone, ``end`` exclusive.

    ``daily`` restricts every day of a multi-day window to local hours ``(from, to)`` (``to`` of
    ``time(0)`` is midnight); on a one-day window those hours are already in ``start``/``end``.
    ``explicit`` is false when nothing about time was said and the default window was chosen.
    """

    start: datetime
    end: datetime
    duration_minutes: int | None = None
    daily: tuple[time, time] | None = None
    explicit: bool = True


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
    rest = _GREETINGS.sub(" ", normalize(text))
    hours, point, rest = _hours(rest)
    duration, rest = find_duration(rest)
    if point is not None:
        hours = _meet(hours, (point, min(point + (duration or 60), 24 * 60)))
    part, rest = _part_of_day(rest)
    if part is not None:
        hours = _meet(hours, part)
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
            daily = (_clock(hours[0]), _clock(hours[1]))
    if start < local_now < end:
        start = local_now
    return When(start, end, duration, daily, True)


def normalize(text: str) -> str:
    """Lower case, dashes unified, sentence punctuation dropped, spaces collapsed."""
    out = text.lower().replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ")
    out = re.sub(r"[?!;\"“”()]|,(?=\s|$)", " ", out)
    out = re.sub(r"\.(?=\s|$)(?<!kl\.)(?<![ap]\.m\.)", " ", out)
    return " ".join(out.split())


_GREETINGS = re.compile(
    r"\b(?:good (?:morning|afternoon|evening)|bom dia|boa tarde|boa noite"
    r"|god (?:morgen|dag|eftermiddag|aften)|goddag)\b"
)


def _cut(text: str, match: re.Match[str]) -> str:
    return " ".join((text[: match.start()] + " " + text[match.end() :]).split())


# --- hours -----------------------------------------------------------------------------------

_SUFFIX = r"(?:a\.m\.?|p\.m\.?|am|pm|h)"


def _time_re(p: str) -> str:
    guard = r"(?<![\d/.:-])" if p == "a" else r"(?<!\d)"
    return (
        guard + rf"(?P<{p}h>\d{{1,2}})(?!\d)(?:[:.h](?P<{p}m>\d{{2}}))?"
        rf"(?:\s*(?P<{p}s>{_SUFFIX})(?![a-z]))?"
    )


_KL = r"(?:kl\.?\s*|klokken\s+)?"
_END = r"(?![\d/]|[.:-]\d)"
_RANGE = re.compile(
    r"(?:\b(?:from|between|das|dos|de|entre|fra|mellem)\s+)?" + _KL + _time_re("a")
    + r"\s*(?:-|\b(?:to|til|until|till|às|as|a|e|and|og|até|ate)\b)\s*" + _KL + _time_re("b") + _END
)
_AFTER = re.compile(
    r"\b(?:after|from|depois d[aeo]s?|a partir d[aeo]s?|efter|fra)\s+" + _KL + _time_re("a") + _END
)
_BEFORE = re.compile(
    r"\b(?:before|until|till|antes d[aeo]s?|até [àa]s|até|ate|før|inden)\s+" + _KL + _time_re("a")
    + _END
)
_AT = re.compile(r"(?:\b(?:at|às|as|ved)\s+|\bkl\.?\s*|\bklokken\s+)" + _time_re("a") + _END)
_BARE = re.compile(
    r"(?<![\d/.:-])\b(?P<ah>\d{1,2})(?::(?P<am>\d{2}))?\s*(?P<as>a\.m\.?|p\.m\.?|am|pm)(?![a-z])"
    r"|(?<![\d/.:-])\b(?P<hh>\d{1,2})h(?P<hm>\d{2})?\b"
    r"|(?<![\d/.:-])\b(?P<ch>\d{1,2}):(?P<cm>\d{2})\b"
)
_NOON = re.compile(r"\b(?:noon|midday|meio-dia|meio dia|middag)\b")
_MIDNIGHT = re.compile(r"\b(?:midnight|meia-noite|meia noite|midnat)\b")


def _minutes(hour: str, minute: str | None, suffix: str | None) -> int | None:
    h, m = int(hour), int(minute or 0)
    suffix = suffix.replace(".", "") if suffix else None
    if m > 59:
        return None
    if suffix in ("am", "pm"):
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if suffix == "pm" else 0)
    elif h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


def _afternoon(value: int, suffix: str | None) -> int:
    """A bare small hour (1-6, no am/pm, no "h") is an afternoon hour: "at 3" is 15:00."""
    return value + 12 * 60 if suffix is None and 60 <= value < 7 * 60 else value


def _range(match: re.Match[str]) -> tuple[int, int] | None:
    a_suffix, b_suffix = match["as"], match["bs"]
    a = _minutes(match["ah"], match["am"], a_suffix if a_suffix != "h" else None)
    b = _minutes(match["bh"], match["bm"], b_suffix if b_suffix != "h" else None)
    if a is None or b is None:
        return None
    if a_suffix is None and b_suffix and b_suffix[0] == "p" and a < 12 * 60 and a + 12 * 60 < b:
        a += 12 * 60
    elif a_suffix is None and b_suffix is None and 60 <= a < 7 * 60 and 60 <= b <= 7 * 60:
        a, b = a + 12 * 60, b + 12 * 60
    if b == 0:
        b = 24 * 60
    return (a, b) if b > a else None


def _hours(text: str) -> tuple[tuple[int, int] | None, int | None, str]:
    """Daily hours (minutes after midnight) and a point in time said in ``text``; the rest."""
    text = _MIDNIGHT.sub("24:00", _NOON.sub("12:00", text))
    hours: tuple[int, int] | None = None
    point: int | None = None
    for match in _RANGE.finditer(text):
        found = _range(match)
        if found is not None:
            return found, None, _cut(text, match)
    for pattern, kind in ((_AFTER, "after"), (_BEFORE, "before"), (_AT, "at")):
        said = pattern.search(text)
        if said is None:
            continue
        suffix = said["as"]
        value = _minutes(said["ah"], said["am"], suffix if suffix != "h" else None)
        if value is None:
            continue
        value = _afternoon(value, suffix)
        text = _cut(text, said)
        if kind == "after":
            hours = _meet(hours, (value, 24 * 60))
        elif kind == "before":
            hours = _meet(hours, (0, value))
        else:
            point = value
    if point is None:
        for match in _BARE.finditer(text):
            if match["ah"]:
                value = _minutes(match["ah"], match["am"], match["as"])
            elif match["hh"]:
                value = _minutes(match["hh"], match["hm"], None)
                if value is not None and value < 5 * 60:  # "1h", "2h": a length, not a time
                    continue
            else:
                value = _minutes(match["ch"], match["cm"], None)
            if value is not None:
                point, text = value, _cut(text, match)
                break
    return hours, point, text


def _meet(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    if a is None:
        return b
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if end > start else b


def _clock(minutes: int) -> time:
    return time(0) if minutes >= 24 * 60 else time(minutes // 60, minutes % 60)


# --- meeting length --------------------------------------------------------------------------

_LENGTH_WORDS = re.compile(
    r"(?:\b(?:for|por|durante|de|i|på|of)\s+)?\b(?:"
    r"(?P<ninety>an hour and a half|one and a half hours?|1\.5 hours?|1,5 hora?s?|uma hora e meia"
    r"|halvanden time|1,5 timer?)"
    r"|(?P<half>half an hour|a half hour|half hour|meia hora|meia-hora|en halv time|½ time)"
    r")\b"
)
_HOUR_UNITS = ("hours", "hour", "hrs", "hr", "h", "horas", "hora", "timer", "time")
_LENGTH = re.compile(
    r"(?:\b(?:for|por|durante|de|i|på|of)\s+)?\b(?:"
    r"(?P<h>\d)h(?P<m>\d{2})(?:\s*min)?"
    rf"|(?P<n>\d+(?:[.,]\d+)?|{'|'.join(k for k in _NUMBERS if ' ' not in k and k != 'few')})\s*-?\s*"
    r"(?P<unit>minutes|minute|mins|min|minutos|minuto|minutter|minut|m|hours|hour|hrs|hr|h"
    r"|horas|hora|timer|time)"
    r")(?![\w])"
)


def find_duration(text: str) -> tuple[int | None, str]:
    """A meeting length in minutes said in (normalized) ``text``, and the rest of the text."""
    match = _LENGTH_WORDS.search(text)
    if match is not None:
        return (90 if match["ninety"] else 30), _cut(text, match)
    for match in _LENGTH.finditer(text):
        if match["h"]:
            minutes = int(match["h"]) * 60 + int(match["m"])
        else:
            word, unit = match["n"], match["unit"]
            if unit in ("time", "timer") and word in ("a", "an", "one"):
                continue  # "find a time" is not an hour
            count = float(word.replace(",", ".")) if word[0].isdigit() else float(_NUMBERS[word])
            hours = unit in _HOUR_UNITS
            if hours and unit == "h" and count >= 5:
                continue  # "15h" is a time of day
            minutes = round(count * 60) if hours else round(count)
        if 5 <= minutes <= 8 * 60:
            return minutes, _cut(text, match)
    return None, text


# --- parts of a day --------------------------------------------------------------------------

_PARTS = (
    (re.compile(
        r"\b(?:(?:this|in the) )?mornings?\b|\b(?:de|pela|na parte da) manhã\b|\bmanhã\b"
        r"|\b(?:i )?formiddag(?:en)?\b|\bom morgenen\b|\btidlig\b"), (6 * 60, 12 * 60)),
    (re.compile(
        r"\b(?:(?:this|in the) )?afternoons?\b|\b(?:à|a|de|pela|na parte da) tarde\b"
        r"|(?<!mais )\btarde\b|\b(?:i )?eftermiddag(?:en)?\b"), (12 * 60, 18 * 60)),
    (re.compile(
        r"\b(?:(?:this|in the) )?evenings?\b|\btonight\b|\b(?:à|de|pela) noite\b|\bnoite\b"
        r"|\b(?:i )?aften(?:en)?\b"), (18 * 60, 23 * 60)),
)


def _part_of_day(text: str) -> tuple[tuple[int, int] | None, str]:
    for pattern, hours in _PARTS:
        match = pattern.search(text)
        if match is not None:
            return hours, _cut(text, match)
    return None, text


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
    rf"(?: (?P<en>{_NUMBER}))? (?P<enu>working days|business days|workdays|days|weeks)\b"
    r"|\b(?:n)?[oa]s próxim[oa]s"
    rf"(?: (?P<pt>{_NUMBER}))? (?P<ptu>dias úteis|dias uteis|dias|semanas)\b"
    r"|\b(?:(?:i|inden ?for) )?(?:de )?næste"
    rf"(?: (?P<da>{_NUMBER}))? (?P<dau>arbejdsdage|hverdage|dage|uger)\b"
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
        count = 3 if word is None else int(word) if word.isdigit() else _NUMBERS[word]
        unit = match["enu"] or match["ptu"] or match["dau"]
        if unit in ("weeks", "semanas", "uger"):
            last = today + timedelta(days=7 * count)
        elif unit in ("days", "dias", "dage"):
            last = today + timedelta(days=count)
        else:
            last = _add_workdays(today, count, workdays)
        return (today, last + timedelta(days=1)), False, _cut(text, match)
    match = _DAY_AFTER_TOMORROW.search(text)
    if match is not None:
        day = today + timedelta(days=2)
        return (day, day + timedelta(days=1)), False, _cut(text, match)
    for pattern, first, after in (
        (_NEXT_WEEK, monday + timedelta(days=7), monday + timedelta(days=14)),
        (_THIS_WEEK, today, monday + timedelta(days=7)),
        (_WEEKEND, max(today, monday + timedelta(days=5)), monday + timedelta(days=7)),
    ):
        match = pattern.search(text)
        if match is not None:
            return (first, after), True, _cut(text, match)
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
    return datetime.combine(day, _clock(minutes), zone)


def _add_workdays(day: date, count: int, workdays: Collection[int]) -> date:
    """The ``count``-th working day after ``day`` (every day counts when none is a working day)."""
    days = set(workdays) or set(range(7))
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() in days:
            count -= 1
    return day
