"""A meeting's time as a reader is told it, in their language and zone (Babel, CLDR data).

:func:`meeting_time` gives the day, then the start and end without seconds ("Wednesday,
December 2, 2026 · 10:00-10:30 AM", with the language's own dash and 12- or 24-hour clock).
:func:`zone_label` names the zone ("Tokyo time", "horário de Tóquio", "Tokyo-tid"; a zone
without a city by its name, "UTC"), :func:`length_label` the length ("30 minutes").
:func:`when_text` joins time and zone as the e-mails write them; :func:`moment_text` writes one
instant so; :func:`where_lines` says where a meeting is (its place, its video link). Languages are
any tag :func:`bot.i18n.supported_locale` reads (a booking's ``en``/``pt``/``da``, a host's
``pt_BR``); the words come from the ``emails`` catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_time, get_timezone_location
from babel.units import format_unit

from bot.i18n import supported_locale, translations

DOMAIN = "emails"
"""The catalog of what Slotbot writes about bookings (e-mails, times, the confirmation's links)."""


def locale_for(language: str | None) -> Locale:
    """The Babel locale of a language tag (English for anything Slotbot does not speak)."""
    return Locale.parse(supported_locale(language))


def emails_gettext(language: str | None) -> Callable[[str], str]:
    """The ``_`` of the ``emails`` catalog in ``language``."""
    return translations(supported_locale(language), DOMAIN).gettext


def meeting_time(start: datetime, end: datetime, zone: str, language: str | None) -> str:
    """The day, then the start and end as local clock times: ``Wednesday, December 2, 2026 ·
    10:00-10:30 AM`` (``onsdag den 2. december 2026 · 10.00-10.30``), dashes as CLDR writes them."""
    return " · ".join(meeting_parts(start, end, zone, language))


def meeting_parts(start: datetime, end: datetime, zone: str, language: str | None) -> tuple[str, str]:
    """:func:`meeting_time` in its two parts: the local day, and the start and end times."""
    local = ZoneInfo(zone)
    locale = locale_for(language)
    skeleton = "hm" if "h" in str(locale.time_formats["short"].pattern) else "Hm"
    day = format_date(start.astimezone(local).date(), "full", locale=locale)
    times = format_interval(start.astimezone(local), end.astimezone(local), skeleton, tzinfo=local,
                            locale=locale)
    return day, str(times)


def zone_label(zone: str, language: str | None) -> str:
    """The zone as a reader knows it: its city's time in their language, else its name."""
    if "/" not in zone or zone.startswith("Etc/"):
        return zone
    _ = emails_gettext(language)
    city = get_timezone_location(zone, locale=locale_for(language), return_city=True)
    return _("{city} time").format(city=city)


def length_label(minutes: int, language: str | None) -> str:
    """A meeting's length in words: ``30 minutes``, ``90 minutter``."""
    return str(format_unit(minutes, "duration-minute", length="long", locale=locale_for(language)))


def when_text(start: datetime, end: datetime, zone: str, language: str | None) -> str:
    """A meeting's time with its zone, as the e-mails write it."""
    return f"{meeting_time(start, end, zone, language)} ({zone_label(zone, language)})"


def moment_text(moment: datetime, zone: str, language: str | None) -> str:
    """One instant with its day and zone: ``Wednesday, December 2, 2026 · 10:00 AM (Tokyo time)``."""
    local = moment.astimezone(ZoneInfo(zone))
    locale = locale_for(language)
    day = format_date(local.date(), "full", locale=locale)
    return f"{day} · {format_time(local, 'short', locale=locale)} ({zone_label(zone, language)})"


def where_lines(location: str | None, join_url: str | None, language: str | None) -> str:
    """Where a meeting is, as lines of text: its place (unless that is the video link) and its video
    link; empty when neither is known."""
    _ = emails_gettext(language)
    lines = []
    if location and location != join_url:
        lines.append(_("Where: {place}").format(place=location))
    if join_url:
        lines.append(_("Join the video call: {link}").format(link=join_url))
    return "\n".join(lines)
