"""Building iCalendar text and the busy time it should give, independently of the reader.

``calendar(...)`` wraps VEVENT bodies (and optional VTIMEZONEs) in a VCALENDAR; ``minutes``
turns busy intervals into the set of minutes they cover, and ``expected`` does the same for
occurrences written as zoneinfo datetimes, so that a test compares the reader's answer with
instants computed by zoneinfo arithmetic alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar.ics.expand import IcsCalendar

HOSTS = [ZoneInfo(name) for name in (
    "UTC", "Europe/Copenhagen", "America/New_York", "Asia/Kathmandu", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "Australia/Lord_Howe",
)]
"""Host zones with every kind of offset: zero, DST both ways, :45, +14, -11, a 30-minute DST."""


def calendar(*events: str, extra: str = "", crlf: bool = True) -> str:
    """A VCALENDAR holding ``events`` (VEVENT bodies) after ``extra`` (e.g. VTIMEZONEs)."""
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Slotbot tests//EN\n{extra}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n") if crlf else text


def minutes(intervals: Iterable[tuple[int, int]], lo: int, hi: int) -> set[int]:
    """The minutes (epoch // 60) that the intervals cover inside minutes ``lo`` .. ``hi``."""
    return {m for s, e in intervals for m in range(max(s // 60, lo), min((e + 59) // 60, hi))}


def expected(spans: Iterable[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> set[int]:
    """The minutes of ``spans`` (aware datetimes) inside the window ``[lo, hi)``."""
    first, last = int(lo.timestamp()) // 60, int(hi.timestamp()) // 60
    found: set[int] = set()
    for start, end in spans:
        a, b = int(start.astimezone(UTC).timestamp()) // 60, int(end.astimezone(UTC).timestamp()) // 60
        found.update(range(max(a, first), min(b, last)))
    return found


def busy_minutes(cal: IcsCalendar, lo: datetime, hi: datetime, host: ZoneInfo) -> set[int]:
    """The busy minutes of ``cal`` in ``[lo, hi)`` seen from ``host``, checked both ways.

    ``busy_intervals`` and the blocking ``busy_blocks`` must agree on the timed occurrences.
    """
    window_lo, window_hi = int(lo.timestamp()) // 60, int(hi.timestamp()) // 60
    from_intervals = minutes(cal.busy_intervals(lo, hi, host), window_lo, window_hi)
    timed = [(int(b.span.start.timestamp()), int(b.span.end.timestamp()))
             for b in cal.busy_blocks(lo, hi, host) if b.blocks_time() and hasattr(b.span.start, "hour")]
    from_blocks = minutes(timed, window_lo, window_hi)
    assert from_blocks <= from_intervals
    return from_intervals


def local(zone: ZoneInfo, *args: int) -> datetime:
    """``datetime(*args)`` on the wall clock of ``zone`` (fold=0, as RFC 5545 reads it)."""
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def repeated(first: datetime, count: int, length: timedelta, step: int = 7) -> list[tuple[datetime, datetime]]:  # noqa: E501
    """``count`` occurrences ``step`` days apart on ``first``'s wall clock, each ``length`` elapsed."""
    out = []
    for i in range(count):
        start = first + timedelta(days=step * i)  # aware + timedelta: wall-clock arithmetic
        out.append((start, start.astimezone(UTC) + length))
    return out
