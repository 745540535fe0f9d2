"""One recurring series expanded inside a window: :func:`_plan` once, :func:`_expand_series` per window.

A series is DTSTART, its rules' instances (:mod:`bot.calendar.ics.recurrence`) and its RDATEs
(dates, date-times, periods) in the wall clock of DTSTART's zone, less its EXDATEs and the
instances its RECURRENCE-ID overrides replace (matched by instant, whatever zone they are written
in). Every instance lasts the master's exact elapsed length.

``RECURRENCE-ID;RANGE=THISANDFUTURE`` (RFC 5545 3.8.4.4): the override replaces its own instance
and changes every later one the same way: moved by the same wall-clock offset in the series'
zone (the time of day kept across DST), lasting the override's elapsed length, shown as the
override is (a cancelled one ends the series). A later THISANDFUTURE override takes over from
its own instance on. All-day series shift by whole days.

Generated instances cover only the window's days (plus the longest length and any shift), never
before DTSTART, and every instant is clamped to the representable range
(:func:`~bot.calendar.ics.zones._clamp`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.calendar.base import ShowAs
from bot.calendar.ics.recurrence import _rule_instances
from bot.calendar.ics.zones import (
    _MAX_EPOCH,
    Moment,
    _clamp,
    _is_fixed,
    _parts,
    _wall,
    _wall_seconds,
    _Zone,
    _Zones,
)

if TYPE_CHECKING:  # parse builds the events; here only their type
    from bot.calendar.ics.parse import _Event

_Occurrence = tuple[int, int, ShowAs, bool, "tuple[date, date] | None", str]
_LAST_DAY = date.max.toordinal()


def _day(ordinal: int) -> date:
    """The date of ``ordinal``, clamped to the dates that exist."""
    return date.fromordinal(min(max(ordinal, 1), _LAST_DAY))


@dataclass(frozen=True, slots=True)
class _Plan:
    """A series prepared for quick expansion: everything that does not depend on the host."""

    event: _Event
    zone: _Zone | None  # the wall clock of its rules; None: floating or all-day (the host's)
    start: tuple[int, int]  # DTSTART as (day ordinal, seconds after midnight)
    exact: int | None  # elapsed length when DTSTART and DTEND are both fixed instants
    skip: frozenset[int]  # EXDATE / RECURRENCE-ID instants written with a zone or in UTC
    skip_floating: tuple[datetime, ...]  # ... written as floating times
    skip_days: frozenset[int]  # ... written as dates (or any, for an all-day series)
    lookback_days: int
    futures: tuple[_Event, ...] = ()  # THISANDFUTURE overrides, by RECURRENCE-ID
    ahead_days: int = 0  # how far after the window an instance moved into it may start


def _plan(zones: _Zones, event: _Event, overridden: Sequence[Moment], futures: Sequence[_Event]) -> _Plan:
    """Prepare ``event`` (a series master) with its overridden instances and THISANDFUTURE overrides."""
    start = event.start
    all_day = not isinstance(start, datetime)
    tz = start.tzinfo if isinstance(start, datetime) else None
    skip: set[int] = set()
    floating: list[datetime] = []
    days: set[int] = set()
    utc = zones.get(UTC)
    for moment in (*event.exdates, *overridden):
        if isinstance(moment, datetime) and not all_day:
            if moment.tzinfo is None:
                floating.append(moment)
            else:
                skip.add(zones.instant(moment, utc))
        else:
            days.add((moment.date() if isinstance(moment, datetime) else moment).toordinal())
    exact = None
    end = event.length.end
    if isinstance(start, datetime) and _is_fixed(start) and end is not None and _is_fixed(end):
        exact = zones.instant(end, utc) - zones.instant(start, utc)
    lookback, ahead = event.length.longest.days + 2, 0
    kept = tuple(sorted((f for f in futures if isinstance(f.start, datetime) is not all_day),
                        key=lambda f: zones.instant(f.recurrence_id or f.start, utc)))
    for future in kept:
        shift = (_wall(future.start) - _wall(future.recurrence_id or future.start)).days
        lookback = max(lookback, future.length.longest.days + 2 + max(shift, 0) + 1)
        ahead = max(ahead, -shift + 2)
    return _Plan(
        event=event,
        zone=zones.get(tz) if tz is not None else None,
        start=_parts(_wall(start)),
        exact=exact,
        skip=frozenset(skip),
        skip_floating=tuple(floating),
        skip_days=frozenset(days),
        lookback_days=lookback,
        futures=kept,
        ahead_days=ahead,
    )


_Futures = list[tuple[int, int, int, "_Event"]]  # (RECURRENCE-ID instant, shift, length, override)


def _timed_futures(zones: _Zones, plan: _Plan, zone: _Zone, host: _Zone) -> _Futures:
    """``(RECURRENCE-ID instant, wall shift in seconds, elapsed length, override)``, in order."""
    out = []
    for future in plan.futures:
        rid = future.recurrence_id or future.start
        rid_at, begin = zones.instant(rid, host), zones.instant(future.start, host)
        shift = _wall_seconds(zone.wall(begin)) - _wall_seconds(zone.wall(rid_at))
        out.append((rid_at, shift, _end(zones, future, host) - begin, future))
    return out


def _end(zones: _Zones, event: _Event, host: _Zone) -> int:
    """The end instant of a single occurrence of a timed ``event`` at its DTSTART."""
    if event.length.end is not None:
        return zones.instant(event.length.end, host)
    start = event.start
    zone = zones.get(start.tzinfo) if isinstance(start, datetime) and start.tzinfo else host
    ordinal, seconds = _parts(_wall(start))
    return _clamp(zone.at(ordinal + event.length.days, seconds) + event.length.seconds)


def _expand_series(zones: _Zones, plan: _Plan, lo: int, hi: int, lower: int, upper: int, host: _Zone,
                   out: list[_Occurrence]) -> None:
    """Append the occurrences of one series overlapping ``[lo, hi)`` to ``out``.

    ``lower`` and ``upper`` are the day ordinals, in the series' wall clock, to generate.
    """
    event = plan.event
    length, show, cancelled, title = event.length, event.show, event.cancelled, event.title
    all_day = not isinstance(event.start, datetime)
    zone = plan.zone or host
    skip = plan.skip
    if plan.skip_floating:
        skip = skip | {host.epoch(moment) for moment in plan.skip_floating}
    skip_days = plan.skip_days
    exact = plan.exact
    if exact is None and length.end is not None and not all_day:
        exact = zones.instant(length.end, host) - zones.instant(event.start, host)
    nominal = length.days
    seen: set[int] = set()
    lower = max(lower, plan.start[0], 1)
    walls = [plan.start]
    for rule in event.rules:
        walls.extend(_rule_instances(rule, plan.start, lower, upper + plan.ahead_days, zone, zones, host))
    at = zone.at
    if all_day:
        rids = [_day_of(f.recurrence_id or f.start) for f in plan.futures]
        for ordinal, _ in walls:
            begin = at(ordinal, 0)
            if ordinal in skip_days or begin in seen:
                continue
            seen.add(begin)
            days, shown, gone, named = nominal, show, cancelled, title
            index = bisect_left(rids, ordinal) - 1
            if index >= 0:
                future = plan.futures[index]
                ordinal += future.start.toordinal() - rids[index]
                days, shown, gone, named = future.length.days, future.show, future.cancelled, future.title
                begin = at(ordinal, 0)
            end = at(ordinal + days, 0)
            if begin < hi and end > lo and end > begin:
                out.append((begin, end, shown, gone, (_day(ordinal), _day(ordinal + days)), named))
        _expand_rdates(zones, plan, lo, hi, host, exact, seen, skip, [], out)
    else:
        futures = _timed_futures(zones, plan, zone, host) if plan.futures else []
        rid_ats = [f[0] for f in futures]
        for ordinal, seconds in walls:
            if skip_days and ordinal in skip_days:
                continue
            begin = at(ordinal, seconds)
            if begin in seen or begin in skip:
                continue
            seen.add(begin)
            index = bisect_left(rid_ats, begin) - 1 if futures else -1
            if index >= 0:
                _, shift, elapsed, future = futures[index]
                begin = at(ordinal, seconds + shift)
                end, shown, gone = _clamp(begin + elapsed), future.show, future.cancelled
                named = future.title
            else:
                end = begin + exact if exact is not None else at(ordinal + nominal, seconds) + length.seconds
                if end > _MAX_EPOCH:
                    end = _MAX_EPOCH
                shown, gone, named = show, cancelled, title
            if begin < hi and end > lo and end > begin:
                out.append((begin, end, shown, gone, None, named))
        _expand_rdates(zones, plan, lo, hi, host, exact, seen, skip, futures, out)


def _day_of(value: Moment) -> int:
    return (value.date() if isinstance(value, datetime) else value).toordinal()


def _expand_rdates(zones: _Zones, plan: _Plan, lo: int, hi: int, host: _Zone, exact: int | None,
                   seen: set[int], skip: frozenset[int] | set[int],
                   futures: _Futures, out: list[_Occurrence]) -> None:
    """Append a series' RDATE occurrences (dates, and any in an all-day series, are all-day)."""
    event = plan.event
    length, show, cancelled, title = event.length, event.show, event.cancelled, event.title
    nominal = length.days
    zone = plan.zone or host
    rid_ats = [f[0] for f in futures]
    all_day = not isinstance(event.start, datetime)
    for moment, period_end in event.rdates:
        shown, gone, named = show, cancelled, title
        days: tuple[date, date] | None = None
        if all_day or not isinstance(moment, datetime):
            ordinal = _day_of(moment)
            if ordinal in plan.skip_days:
                continue
            begin, end = host.at(ordinal, 0), host.at(ordinal + nominal, 0)
            days = (_day(ordinal), _day(ordinal + nominal))
        else:
            if plan.skip_days and moment.toordinal() in plan.skip_days:
                continue
            begin = zones.instant(moment, host)
            if isinstance(period_end, timedelta):
                end = _clamp(begin + int(period_end.total_seconds()))
            elif period_end is not None:
                end = zones.instant(period_end, host)
            elif exact is not None:
                end = _clamp(begin + exact)
            else:
                own = zones.get(moment.tzinfo) if moment.tzinfo is not None else host
                ordinal, seconds = _parts(_wall(moment))
                end = _clamp(own.at(ordinal + nominal, seconds) + length.seconds)
        if begin in seen or begin in skip:
            continue
        seen.add(begin)
        index = bisect_left(rid_ats, begin) - 1 if futures and days is None else -1
        if index >= 0:
            _, shift, elapsed, future = futures[index]
            ordinal, seconds = _parts(zone.wall(begin))
            begin = zone.at(ordinal, seconds + shift)
            end, shown, gone, named = _clamp(begin + elapsed), future.show, future.cancelled, future.title
        if begin < hi and end > lo and end > begin:
            out.append((begin, end, shown, gone, days, named))
