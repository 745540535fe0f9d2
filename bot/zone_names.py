"""Friendly names for IANA time zones: "Tokyo — GMT+9", in the visitor's language.

:func:`zone_choices` lists the canonical zones (backward-compatible aliases such as
``US/Eastern`` left out) with Babel's localized city and the offset at a given moment, sorted by
offset then name: what a zone picker offers. :func:`zone_label` names one zone the same way.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

REGIONS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/",
           "Indian/", "Pacific/")


def canonical_zones() -> list[str]:
    """The IANA zones a person lives in: regional and canonical (no aliases, no ``Etc/``), plus UTC."""
    aliases = get_global("zone_aliases")
    regional = sorted(n for n in available_timezones() if n.startswith(REGIONS) and n not in aliases)
    return [*regional, "UTC"]


def gmt_offset(offset: timedelta | None) -> str:
    """``GMT+9``, ``GMT+5:30``, ``GMT-3`` or ``GMT`` for a UTC offset."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_city(name: str, locale: Locale) -> str:
    """The zone's city in ``locale`` ("Tóquio"), or its last name part when Babel has none."""
    if name == "UTC":
        return "UTC"
    try:
        return str(get_timezone_location(ZoneInfo(name), locale=locale, return_city=True))
    except (LookupError, ValueError):
        return name.rsplit("/", 1)[-1].replace("_", " ")


def zone_label(name: str, locale: Locale, moment: datetime) -> str:
    """"Tokyo — GMT+9": the zone's city in ``locale`` and its offset at ``moment``."""
    return f"{zone_city(name, locale)} — {gmt_offset(moment.astimezone(ZoneInfo(name)).utcoffset())}"


def zone_choices(locale: Locale, moment: datetime) -> list[tuple[str, str]]:
    """Every canonical zone as (IANA name, label), by offset at ``moment`` then label.

    Labels change only with the offsets, so they are kept per locale and hour.
    """
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return _choices(str(locale), hour)


@functools.lru_cache(maxsize=16)
def _choices(locale_name: str, hour: datetime) -> list[tuple[str, str]]:
    locale = Locale.parse(locale_name)
    rows = [(hour.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0), zone_label(name, locale, hour),
             name) for name in canonical_zones()]
    rows.sort()
    return [(name, label) for _, label, name in rows]
