"""Expanding a parsed calendar inside a window: :class:`IcsCalendar` and :func:`show_as`.

Start with the two methods of :class:`IcsCalendar` (what :func:`~bot.calendar.ics.parse.parse_ics`
returns)::

    blocks = calendar.busy_blocks(start, end, zone)             # list[BusyBlock] for providers
    intervals = calendar.busy_intervals(start, end, zone)       # [(epoch_s, epoch_s)] for the engine

``zone`` is the host's zone: floating times are read in it, and all-day events keep their dates
(``busy_blocks``) or become local midnight to local midnight in it (``busy_intervals``).

* Only busy occurrences block: ``STATUS:CANCELLED``, ``TRANSP:TRANSPARENT`` and
  ``X-MICROSOFT-CDO-BUSYSTATUS:FREE`` do not; tentative and out-of-office do (:func:`show_as`).
* Zero-length occurrences block nothing and are left out. Every instance of a series lasts the
  master's exact elapsed length (``recurring_ical_events`` would give instances across a DST
  change the *wall-clock* length of the master instead).
* A series is DTSTART, its rules' instances (:mod:`bot.calendar.ics.recurrence`) and its RDATEs
  (dates, date-times, periods) in the wall clock of DTSTART's zone, less its EXDATEs and the
  instances its RECURRENCE-ID overrides replace. EXDATE and RECURRENCE-ID match instances by
  instant, whatever zone they are written in; a cancelled or free override therefore removes
  its instance.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.availability import Interval
from bot.calendar.base import AllDaySpan, BusyBlock, ShowAs, TimedSpan
from bot.calendar.ics.recurrence import _rule_instances
from bot.calendar.ics.zones import _DAY, Moment, _is_fixed, _parts, _wall, _wall_seconds, _Zone, _Zones

if TYPE_CHECKING:  # parse builds the events and an IcsCalendar from them; here only their type
    from bot.calendar.ics.parse import _Event


def show_as(*, status: str = "", transp: str = "", busystatus: str = "") -> ShowAs:
    """Slotbot's :class:`ShowAs` for iCalendar STATUS, TRANSP and X-MICROSOFT-CDO-BUSYSTATUS.

    TRANSP:TRANSPARENT or BUSYSTATUS FREE is free; BUSYSTATUS OOF is out of office and
    WORKINGELSEWHERE working elsewhere; BUSYSTATUS or STATUS TENTATIVE is tentative; anything
    else is busy. (STATUS:CANCELLED is not a way of showing: it sets ``BusyBlock.cancelled``.)
    """
    transp, busystatus, status = transp.upper(), busystatus.upper(), status.upper()
    if transp == "TRANSPARENT" or busystatus == "FREE":
        return ShowAs.FREE
    if busystatus == "OOF":
        return ShowAs.OUT_OF_OFFICE
    if busystatus == "WORKINGELSEWHERE":
        return ShowAs.WORKING_ELSEWHERE
    if busystatus == "TENTATIVE" or status == "TENTATIVE":
        return ShowAs.TENTATIVE
    return ShowAs.BUSY



_Occurrence = tuple[int, int, ShowAs, bool, "tuple[date, date] | None"]


def _blocks(event: _Event) -> bool:
    return not event.cancelled and event.show is not ShowAs.FREE


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


class IcsCalendar:
    """A parsed calendar: expand it for any window with :meth:`busy_blocks` or :meth:`busy_intervals`.

    One-off events with a fixed zone are kept as epoch spans sorted by start (a window is two
    bisects); floating and all-day one-offs by wall-clock start; series as prepared plans.
    """

    def __init__(self, events: Sequence[_Event]) -> None:
        self._zones = _Zones()
        overridden: dict[str, list[Moment]] = {}
        for event in events:
            if event.recurrence_id is not None:
                overridden.setdefault(event.uid, []).append(event.recurrence_id)
        fixed: list[_Occurrence] = []
        local: list[tuple[int, _Event]] = []
        self._plans: list[_Plan] = []
        utc = self._zones.get(UTC)
        for event in events:
            recurring = event.rules or event.rdates or event.exdates
            if event.recurrence_id is None and (recurring or event.uid in overridden):
                self._plans.append(self._plan(event, overridden.get(event.uid, [])))
            elif _is_fixed(event.start) and (event.length.end is None or _is_fixed(event.length.end)):
                fixed.append(self._one_off(event, utc))
            else:
                local.append((_wall_seconds(_wall(event.start)), event))
        fixed.sort(key=lambda item: item[0])
        self._fixed = fixed
        self._fixed_starts = [item[0] for item in fixed]
        self._fixed_longest = max((item[1] - item[0] for item in fixed), default=0)
        busy = [item for item in fixed if not item[3] and item[2] is not ShowAs.FREE and item[1] > item[0]]
        self._busy_pairs = [(item[0], item[1]) for item in busy]
        self._busy_starts = [item[0] for item in busy]
        local.sort(key=lambda item: item[0])
        self._local = local
        self._local_starts = [item[0] for item in local]
        self._local_longest = int(max((e.length.longest for _, e in local), default=_DAY).total_seconds())
        self.event_count = len(events)

    def busy_intervals(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[Interval]:
        """Epoch-second intervals of the occurrences that block time and overlap ``[start, end)``.

        Unsorted and unmerged (see :func:`bot.availability.merge`); all-day occurrences run from
        local midnight to local midnight in ``zone``, where floating times are read too.
        """
        lo, hi = _window(start, end)
        first = bisect_left(self._busy_starts, lo - self._fixed_longest)
        last = bisect_left(self._busy_starts, hi)
        out = [pair for pair in self._busy_pairs[first:last] if pair[1] > lo]
        out.extend((o[0], o[1]) for o in self._expand_dynamic(lo, hi, self._zones.get(zone), busy_only=True))
        return out

    def busy_blocks(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[BusyBlock]:
        """Every occurrence overlapping ``[start, end)`` as a :class:`BusyBlock`, sorted by start.

        Free and cancelled occurrences are included with their flags (an override that removed
        its instance appears as itself). All-day occurrences are :class:`AllDaySpan` values;
        ``zone`` decides which of them overlap the window and where floating times lie.
        """
        lo, hi = _window(start, end)
        first = bisect_left(self._fixed_starts, lo - self._fixed_longest)
        last = bisect_left(self._fixed_starts, hi)
        found = [item for item in self._fixed[first:last] if item[1] > lo and item[1] > item[0]]
        found += self._expand_dynamic(lo, hi, self._zones.get(zone), busy_only=False)
        out: list[BusyBlock] = []
        for s, e, show, cancelled, days in sorted(found, key=lambda o: o[:2]):
            span: TimedSpan | AllDaySpan
            if days is not None:
                span = AllDaySpan(days[0], days[1])
            else:
                span = TimedSpan(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
            out.append(BusyBlock(span=span, show_as=show, cancelled=cancelled))
        return out

    # -- internals ------------------------------------------------------------------------

    def _plan(self, event: _Event, overridden: Sequence[Moment]) -> _Plan:
        zones = self._zones
        start = event.start
        all_day = not isinstance(start, datetime)
        tz = start.tzinfo if isinstance(start, datetime) else None
        skip: set[int] = set()
        floating: list[datetime] = []
        days: set[int] = set()
        for moment in (*event.exdates, *overridden):
            if isinstance(moment, datetime) and not all_day:
                if moment.tzinfo is None:
                    floating.append(moment)
                else:
                    skip.add(zones.instant(moment, zones.get(UTC)))
            else:
                days.add((moment.date() if isinstance(moment, datetime) else moment).toordinal())
        exact = None
        end = event.length.end
        if isinstance(start, datetime) and _is_fixed(start) and end is not None and _is_fixed(end):
            utc = zones.get(UTC)
            exact = zones.instant(end, utc) - zones.instant(start, utc)
        return _Plan(
            event=event,
            zone=zones.get(tz) if tz is not None else None,
            start=_parts(_wall(start)),
            exact=exact,
            skip=frozenset(skip),
            skip_floating=tuple(floating),
            skip_days=frozenset(days),
            lookback_days=event.length.longest.days + 2,
        )

    def _one_off(self, event: _Event, host: _Zone) -> _Occurrence:
        """The occurrence of a non-recurring event."""
        zones = self._zones
        start = event.start
        if not isinstance(start, datetime):
            end_day = start + timedelta(days=event.length.days)
            return (zones.instant(start, host), zones.instant(end_day, host), event.show, event.cancelled,
                    (start, end_day))
        begin = zones.instant(start, host)
        if event.length.end is not None:
            end = zones.instant(event.length.end, host)
        else:
            end = zones.instant(start + timedelta(days=event.length.days), host) + event.length.seconds
        return begin, end, event.show, event.cancelled, None

    def _expand_dynamic(self, lo: int, hi: int, host: _Zone, *, busy_only: bool) -> list[_Occurrence]:
        """Occurrences of floating and all-day one-offs and of every series in ``[lo, hi)``."""
        out: list[_Occurrence] = []
        if self._local:
            wall_lo, wall_hi = _wall_seconds(host.wall(lo)), _wall_seconds(host.wall(hi))
            first = bisect_left(self._local_starts, wall_lo - self._local_longest)
            last = bisect_left(self._local_starts, wall_hi + 86400)
            for _, event in self._local[first:last]:
                if busy_only and not _blocks(event):
                    continue
                item = self._one_off(event, host)
                if item[0] < hi and item[1] > lo and item[1] > item[0]:
                    out.append(item)
        days: dict[int, tuple[int, int]] = {}  # per zone: the window's first and last wall day
        for plan in self._plans:
            if busy_only and not _blocks(plan.event):
                continue
            zone = plan.zone or host
            if id(zone) not in days:
                days[id(zone)] = (zone.wall(lo).toordinal(), zone.wall(hi).toordinal())
            first_day, last_day = days[id(zone)]
            self._expand_series(plan, lo, hi, first_day - plan.lookback_days, last_day + 1, host, out)
        return out

    def _expand_series(self, plan: _Plan, lo: int, hi: int, lower: int, upper: int, host: _Zone,
                       out: list[_Occurrence]) -> None:
        """Append the occurrences of one series overlapping ``[lo, hi)`` to ``out``.

        ``lower`` and ``upper`` are the day ordinals, in the series' wall clock, to generate.
        """
        event = plan.event
        zones = self._zones
        length, show, cancelled = event.length, event.show, event.cancelled
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

        walls = [plan.start]
        for rule in event.rules:
            walls.extend(_rule_instances(rule, plan.start, lower, upper, zone, zones, host))
        at = zone.at
        if all_day:
            for ordinal, _ in walls:
                begin = at(ordinal, 0)
                if ordinal in skip_days or begin in seen:
                    continue
                seen.add(begin)
                end = at(ordinal + nominal, 0)
                if begin < hi and end > lo and end > begin:
                    out.append((begin, end, show, cancelled,
                                (date.fromordinal(ordinal), date.fromordinal(ordinal + nominal))))
        else:
            for ordinal, seconds in walls:
                if skip_days and ordinal in skip_days:
                    continue
                begin = at(ordinal, seconds)
                if begin in seen or begin in skip:
                    continue
                seen.add(begin)
                end = begin + exact if exact is not None else at(ordinal + nominal, seconds) + length.seconds
                if begin < hi and end > lo and end > begin:
                    out.append((begin, end, show, cancelled, None))

        for moment, period_end in event.rdates:
            if all_day or not isinstance(moment, datetime):
                day = moment.date() if isinstance(moment, datetime) else moment
                if day.toordinal() in skip_days:
                    continue
                begin, end = host.at(day.toordinal(), 0), host.at(day.toordinal() + nominal, 0)
                days = (day, day + timedelta(days=nominal))
            else:
                if skip_days and moment.toordinal() in skip_days:
                    continue
                begin = zones.instant(moment, host)
                if isinstance(period_end, timedelta):
                    end = begin + int(period_end.total_seconds())
                elif period_end is not None:
                    end = zones.instant(period_end, host)
                elif exact is not None:
                    end = begin + exact
                else:
                    end = zones.instant(moment + timedelta(days=nominal), host) + length.seconds
                days = None
            if begin in seen or begin in skip:
                continue
            seen.add(begin)
            if begin < hi and end > lo and end > begin:
                out.append((begin, end, show, cancelled, days))


def _window(start: datetime, end: datetime) -> tuple[int, int]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window must be timezone-aware")
    return int(start.timestamp()), int(end.timestamp())
