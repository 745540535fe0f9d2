"""Times of day, parts of a day and meeting lengths said in plain language. PURE.

Used by :mod:`bot.conversation.when`, which turns them into a window. Every function takes
normalized text (:func:`normalize`) and answers what it found plus the text with that part cut
out, so the next rule (and finally dateparser) only sees what is left. Minutes after midnight are
plain integers here; ``24 * 60`` is the end of a day. See ``when``'s docstring for the phrases.
"""

from __future__ import annotations

import re
from datetime import time

NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4, "cinco": 5,
    "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10,
    "en": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7, "otte": 8,
    "ni": 9, "ti": 10,
}
NUMBER = r"\d+|" + "|".join(sorted(NUMBERS, key=len, reverse=True))


def normalize(text: str) -> str:
    """Lower case, dashes unified, sentence punctuation dropped, spaces collapsed."""
    out = text.lower().replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ")
    out = re.sub(r"[?!;\"“”()]|,(?=\s|$)", " ", out)
    out = re.sub(r"\.(?=\s|$)(?<!kl\.)(?<![ap]\.m\.)", " ", out)
    return " ".join(out.split())


def cut(text: str, match: re.Match[str]) -> str:
    """``text`` without what ``match`` found."""
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


def hours_in(text: str) -> tuple[tuple[int, int] | None, int | None, str]:
    """Daily hours (minutes after midnight) and a point in time said in ``text``; the rest."""
    text = _MIDNIGHT.sub("24:00", _NOON.sub("12:00", text))
    hours: tuple[int, int] | None = None
    point: int | None = None
    for match in _RANGE.finditer(text):
        found = _range(match)
        if found is not None:
            return found, None, cut(text, match)
    for pattern, kind in ((_AFTER, "after"), (_BEFORE, "before"), (_AT, "at")):
        said = pattern.search(text)
        if said is None:
            continue
        suffix = said["as"]
        value = _minutes(said["ah"], said["am"], suffix if suffix != "h" else None)
        if value is None:
            continue
        value = _afternoon(value, suffix)
        text = cut(text, said)
        if kind == "after":
            hours = meet(hours, (value, 24 * 60))
        elif kind == "before":
            hours = meet(hours, (0, value))
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
                point, text = value, cut(text, match)
                break
    return hours, point, text


def meet(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    """The overlap of two hour ranges (``b`` alone when there is none or ``a`` is None)."""
    if a is None:
        return b
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if end > start else b


def clock(minutes: int) -> time:
    """Minutes after midnight as a wall time (``24 * 60`` is ``time(0)``, the end of the day)."""
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
    rf"|(?P<n>\d+(?:[.,]\d+)?|{'|'.join(k for k in NUMBERS if ' ' not in k and k != 'few')})\s*-?\s*"
    r"(?P<unit>minutes|minute|mins|min|minutos|minuto|minutter|minut|m|hours|hour|hrs|hr|h"
    r"|horas|hora|timer|time)"
    r")(?![\w])"
)


def find_duration(text: str) -> tuple[int | None, str]:
    """A meeting length in minutes said in (normalized) ``text``, and the rest of the text."""
    match = _LENGTH_WORDS.search(text)
    if match is not None:
        return (90 if match["ninety"] else 30), cut(text, match)
    for match in _LENGTH.finditer(text):
        if match["h"]:
            minutes = int(match["h"]) * 60 + int(match["m"])
        else:
            word, unit = match["n"], match["unit"]
            if unit in ("time", "timer") and word in ("a", "an", "one"):
                continue  # "find a time" is not an hour
            count = float(word.replace(",", ".")) if word[0].isdigit() else float(NUMBERS[word])
            hours = unit in _HOUR_UNITS
            if hours and unit == "h" and count >= 5:
                continue  # "15h" is a time of day
            minutes = round(count * 60) if hours else round(count)
        if 5 <= minutes <= 8 * 60:
            return minutes, cut(text, match)
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


def part_of_day(text: str) -> tuple[tuple[int, int] | None, str]:
    """Morning, afternoon or evening hours said in ``text``, and the rest."""
    for pattern, hours in _PARTS:
        match = pattern.search(text)
        if match is not None:
            return hours, cut(text, match)
    return None, text
