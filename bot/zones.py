"""Time zone names people type (a visitor's ``?tz=``, a host's setting): known, or None.

:func:`zone_named` is the one check. ``ZoneInfo`` reads a name as a path under the zone database,
so a typed name can fail in several ways (unknown, not a normalized relative path, a folder, too
long for a file name); every one of them means "not a zone" here, never an error.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_ZONE_NAME = 64  # the longest IANA name is about half of this


def zone_named(text: str | None) -> str | None:
    """``text`` when it names an IANA time zone, else None."""
    if not text or len(text) > MAX_ZONE_NAME:
        return None
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return text
