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
* A series is expanded by :mod:`bot.calendar.ics.series`: DTSTART, rules and RDATEs less EXDATEs
  and overridden instances (matched by instant, whatever zone they are written in; a cancelled
  or free override therefore removes its instance), ``RANGE=THISANDFUTURE`` applied onwards.
* Windows and instants are clamped to years 1..9999 (:mod:`bot.calendar.ics.zones`): a window
  anywhere in that range works whatever far-future values the file holds. One-offs longer than a
  week are kept apart, so one "until 9999" event does not make every window scan the file.
* ``warnings``: one line per thing the parser skipped or read leniently (for logs and stderr).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.availability import Interval
from bot.calendar.base import AllDaySpan, BusyBlock, ShowAs, TimedSpan
from bot.calendar.ics.series import _day, _end, _expand_series, _Occurrence, _Plan, _plan
from bot.calendar.ics.zones import (
    _DAY,
    Moment,
    _clamp,
    _epoch_of,
    _is_fixed,
    _wall,
    _wall_seconds,
    _Zone,
    _Zones,
)

if TYPE_CHECKING:  # parse builds the events and an IcsCalendar from them; here only their type
    from bot.calendar.ics.parse import _Event

_LONG = 7 * 86400  # one-offs longer than this are scanned apart from the bisected ones


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



def _blocks(event: _Event) -> bool:
    return not event.cancelled and event.show is not ShowAs.FREE


class IcsCalendar:
    """A parsed calendar: expand it for any window with :meth:`busy_blocks` or :meth:`busy_intervals`.

    One-off events with a fixed zone are kept as epoch spans sorted by start (a window is two
    bisects); floating and all-day one-offs by wall-clock start; series as prepared plans.
    ``warnings`` holds one line per event skipped or value read leniently.
    """

    def __init__(self, events: Sequence[_Event], warnings: Iterable[str] = ()) -> None:
        self._zones = _Zones()
        self.warnings: tuple[str, ...] = tuple(warnings)
        overridden: dict[str, list[Moment]] = {}
        futures: dict[str, list[_Event]] = {}
        for event in events:
            if event.recurrence_id is not None:
                overridden.setdefault(event.uid, []).append(event.recurrence_id)
                if event.this_and_future:
                    futures.setdefault(event.uid, []).append(event)
        fixed: list[_Occurrence] = []
        local: list[tuple[int, _Event]] = []
        self._plans: list[_Plan] = []
        self._local_long: list[_Event] = []
        utc = self._zones.get(UTC)
        for event in events:
            recurring = event.rules or event.rdates or event.exdates
            if event.recurrence_id is None and (recurring or event.uid in overridden):
                self._plans.append(_plan(self._zones, event, overridden.get(event.uid, []),
                                         futures.get(event.uid, [])))
            elif _is_fixed(event.start) and (event.length.end is None or _is_fixed(event.length.end)):
                fixed.append(self._one_off(event, utc))
            elif event.length.longest.total_seconds() > _LONG:
                self._local_long.append(event)
            else:
                local.append((_wall_seconds(_wall(event.start)), event))
        fixed.sort(key=lambda item: item[0])
        self._fixed_long = [item for item in fixed if item[1] - item[0] > _LONG]
        fixed = [item for item in fixed if item[1] - item[0] <= _LONG]
        self._fixed = fixed
        self._fixed_starts = [item[0] for item in fixed]
        self._fixed_longest = max((item[1] - item[0] for item in fixed), default=0)
        busy = [item for item in fixed if _blocking(item)]
        self._busy_pairs = [(item[0], item[1]) for item in busy]
        self._busy_starts = [item[0] for item in busy]
        local.sort(key=lambda item: item[0])
        self._local = local
        self._local_starts = [item[0] for item in local]
        self._local_longest = int(max((e.length.longest for _, e in local), default=_DAY).total_seconds())
        self.event_count = len(events)
        self._futures = bool(futures)

    def busy_intervals(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[Interval]:
        """Epoch-second intervals of the occurrences that block time and overlap ``[start, end)``.

        Unsorted and unmerged (see :func:`bot.availability.merge`); all-day occurrences run from
        local midnight to local midnight in ``zone``, where floating times are read too.
        """
        lo, hi = _window(start, end)
        first = bisect_left(self._busy_starts, lo - self._fixed_longest)
        last = bisect_left(self._busy_starts, hi)
        out = [pair for pair in self._busy_pairs[first:last] if pair[1] > lo]
        out += [(o[0], o[1]) for o in self._fixed_long if o[0] < hi and o[1] > lo and _blocking(o)]
        dynamic = self._expand_dynamic(lo, hi, self._zones.get(zone), busy_only=True)
        if self._futures:  # a THISANDFUTURE override may make later instances free or cancelled
            dynamic = [o for o in dynamic if not o[3] and o[2] is not ShowAs.FREE]
        out.extend((o[0], o[1]) for o in dynamic)
        return out

    def busy_blocks(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[BusyBlock]:
        """Every occurrence overlapping ``[start, end)`` as a :class:`BusyBlock`, sorted by start.

        Free and cancelled occurrences are included with their flags (an override that removed
        its instance appears as itself); each carries its SUMMARY (an override's own) as title.
        All-day occurrences are :class:`AllDaySpan` values; ``zone`` decides which of them
        overlap the window and where floating times lie.
        """
        lo, hi = _window(start, end)
        first = bisect_left(self._fixed_starts, lo - self._fixed_longest)
        last = bisect_left(self._fixed_starts, hi)
        found = [item for item in self._fixed[first:last] if item[1] > lo and item[1] > item[0]]
        found += [item for item in self._fixed_long if item[0] < hi and item[1] > lo]
        found += self._expand_dynamic(lo, hi, self._zones.get(zone), busy_only=False)
        out: list[BusyBlock] = []
        for s, e, show, cancelled, days, title in sorted(found, key=lambda o: o[:2]):
            span: TimedSpan | AllDaySpan
            if days is not None:
                span = AllDaySpan(days[0], days[1])
            else:
                span = TimedSpan(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
            out.append(BusyBlock(span=span, show_as=show, cancelled=cancelled, title=title))
        return out

    # -- internals ------------------------------------------------------------------------

    def _one_off(self, event: _Event, host: _Zone) -> _Occurrence:
        """The occurrence of a non-recurring event."""
        start = event.start
        if not isinstance(start, datetime):
            first = start.toordinal()
            last = first + event.length.days
            return (host.at(first, 0), host.at(last, 0), event.show, event.cancelled, (start, _day(last)),
                    event.title)
        begin, end = self._zones.instant(start, host), _end(self._zones, event, host)
        return begin, end, event.show, event.cancelled, None, event.title

    def _expand_dynamic(self, lo: int, hi: int, host: _Zone, *, busy_only: bool) -> list[_Occurrence]:
        """Occurrences of floating and all-day one-offs and of every series in ``[lo, hi)``."""
        out: list[_Occurrence] = []
        if self._local or self._local_long:
            wall_lo, wall_hi = _wall_seconds(host.wall(lo)), _wall_seconds(host.wall(hi))
            first = bisect_left(self._local_starts, wall_lo - self._local_longest)
            last = bisect_left(self._local_starts, wall_hi + 86400)
            for event in [e for _, e in self._local[first:last]] + self._local_long:
                if busy_only and not _blocks(event):
                    continue
                item = self._one_off(event, host)
                if item[0] < hi and item[1] > lo and item[1] > item[0]:
                    out.append(item)
        days: dict[int, tuple[int, int]] = {}  # per zone: the window's first and last wall day
        for plan in self._plans:
            if busy_only and not _blocks(plan.event) and not any(_blocks(f) for f in plan.futures):
                continue
            zone = plan.zone or host
            if id(zone) not in days:
                days[id(zone)] = (zone.wall(lo).toordinal(), zone.wall(hi).toordinal())
            first_day, last_day = days[id(zone)]
            _expand_series(self._zones, plan, lo, hi, first_day - plan.lookback_days, last_day + 1, host, out)
        return out


def _blocking(item: _Occurrence) -> bool:
    return not item[3] and item[2] is not ShowAs.FREE and item[1] > item[0]


def _window(start: datetime, end: datetime) -> tuple[int, int]:
    """The window as epoch seconds, clamped to the representable range."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window must be timezone-aware")
    return _clamp(_epoch_of(start)), _clamp(_epoch_of(end))
