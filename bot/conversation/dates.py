"""Dates, times and lengths for the reader: Babel formats in their locale, instants in their zone.

Every datetime shown in chat goes through here, so a Danish reader sees ``fre. 27. mar.`` and
``14.00-17.00``, a Brazilian one ``sex., 27 de mar.`` and ``14:00 - 17:00``, an English one
``Fri, Mar 27`` and ``2:00 - 5:00 PM``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    get_timezone_location,
)
from babel.lists import format_list
from babel.units import format_unit


def _hour_skeleton(locale: str) -> str:
    """``Hm`` for 24-hour locales, ``hm`` for 12-hour ones (from the locale's short time format)."""
    pattern = Locale.parse(locale).time_formats["short"].pattern
    return "Hm" if "H" in pattern else "hm"


def day(value: date, locale: str) -> str:
    """A day heading: ``Fri, Mar 27`` / ``sex., 27 de mar.`` / ``fre. 27. mar.``."""
    return format_skeleton("MMMEd", value, locale=locale)


def long_day(value: date, locale: str) -> str:
    """A day with its weekday and year written out."""
    return format_date(value, "full", locale=locale)


def clock(value: datetime, zone: ZoneInfo, locale: str) -> str:
    """A time of day in ``zone``."""
    return format_time(value.astimezone(zone), "short", locale=locale)


def hours(start: datetime, end: datetime, zone: ZoneInfo, locale: str) -> str:
    """A range of hours within a day, in ``zone``: ``2:00 - 5:00 PM`` / ``14.00-17.00``."""
    return format_interval(
        start.astimezone(zone), end.astimezone(zone), skeleton=_hour_skeleton(locale),
        tzinfo=zone, locale=locale,
    )


def days(first: date, last: date, locale: str) -> str:
    """A range of days, both included: ``Fri, Mar 27 - Thu, Apr 2``."""
    if first == last:
        return day(first, locale)
    return format_interval(first, last, skeleton="MMMEd", locale=locale)


def moment(value: datetime, zone: ZoneInfo, locale: str) -> tuple[str, str]:
    """The day and the time of an instant in ``zone`` (for sentences such as "{date} at {time}")."""
    local = value.astimezone(zone)
    return day(local.date(), locale), clock(local, zone, locale)


def minutes(value: int, locale: str) -> str:
    """A length: ``45 minutes`` / ``1 hora`` / ``1 time 30 minutter``."""
    hours_part, rest = divmod(value, 60)
    if not hours_part:
        return format_unit(value, "duration-minute", locale=locale)
    if not rest:
        return format_unit(hours_part, "duration-hour", locale=locale)
    return format_list(
        [format_unit(hours_part, "duration-hour", locale=locale),
         format_unit(rest, "duration-minute", locale=locale)],
        style="unit", locale=locale,
    )


def either(values: list[str], locale: str) -> str:
    """``30 or 60 minutes`` style lists."""
    return format_list(values, style="or", locale=locale) if values else ""


def all_of(values: list[str], locale: str) -> str:
    """``a, b and c``."""
    return format_list(values, locale=locale) if values else ""


def zone_name(zone: ZoneInfo, locale: str) -> str:
    """A zone as people say it: ``Denmark Time`` / ``Horário Dinamarca`` / ``Danmark-tid``."""
    if zone.key in ("UTC", "GMT", "Universal", "Zulu") or zone.key.startswith("Etc/"):
        return zone.key.removeprefix("Etc/")
    return get_timezone_location(zone, locale=locale)
