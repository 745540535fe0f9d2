"""Free ranges per day (PURE): the working hours of the rules inside a window (and inside the hours
asked for), minus busy time, cut at ``now``, grouped by local day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.availability import (
    AvailabilityRules,
    Interval,
    ceil_seconds,
    floor_seconds,
    intersect,
    local_seconds,
    merge,
    subtract,
    working_intervals,
)

MIN_MINUTES = 15
"""Shortest free range shown when no meeting length was asked for."""


@dataclass(frozen=True, slots=True)
class FreeDay:
    """The free ranges of one local day (aware UTC datetimes)."""

    day: date
    ranges: tuple[tuple[datetime, datetime], ...]


def free_ranges(
    rules: AvailabilityRules,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    busy: Sequence[Interval],
    daily: tuple[time, time] | None = None,
    min_minutes: int = MIN_MINUTES,
) -> list[FreeDay]:
    """Working hours in ``[max(start, now), end)`` (and in ``daily`` hours) minus ``busy``.

    ``busy`` are epoch-second intervals; ranges shorter than ``min_minutes`` are left out.
    """
    zone = rules.zone
    low, high = max(ceil_seconds(start), ceil_seconds(now)), floor_seconds(end)
    if high <= low:
        return []
    blocked = merge(busy)
    out: list[FreeDay] = []
    for day, range_start, range_end in working_intervals(rules, low, high):
        window: list[Interval] = [(max(range_start, low), min(range_end, high))]
        if daily is not None:
            after = local_seconds(day, daily[0], zone)
            before = (
                local_seconds(day + timedelta(days=1), time(0), zone)
                if daily[1] == time(0)
                else local_seconds(day, daily[1], zone)
            )
            window = intersect(window, [(after, before)])
        free = [
            (s, e) for s, e in subtract(window, blocked) if e - s >= max(min_minutes, 1) * 60
        ]
        if not free:
            continue
        spans = tuple(
            (datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) for s, e in free
        )
        if out and out[-1].day == day:
            out[-1] = FreeDay(day, out[-1].ranges + spans)
        else:
            out.append(FreeDay(day, spans))
    return out
