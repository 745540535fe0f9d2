"""The availability engine: busy time plus a host's rules in, free slots out. PURE.

Start with :func:`find_slots`. It takes everything as arguments (no I/O, no clock; ``now`` is a
parameter) and answers an :class:`AvailabilityResult`::

    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly={0: ((time(9), time(17)),), 1: ((time(9), time(12)), (time(13), time(17)))},
        overrides={date(2025, 5, 1): ()},          # a day off (replacement hours, or none)
        extra_hours={date(2025, 5, 3): ((time(10), time(12)),)},  # hours added to that day
        durations=(30, 60), increment_minutes=None, buffer_before_minutes=0,
        buffer_after_minutes=0, minimum_notice_minutes=0, horizon_days=60, max_per_day=None,
    )
    result = find_slots(rules, window_start=..., window_end=..., now=..., duration_minutes=30,
                        calendars={"primary": CalendarBusy(blocks=...)}, bookings=())
    result.slots    # tuple[Slot, ...] with aware UTC start/end; EMPTY unless result.complete
    result.busy     # merged busy spans (UTC) clipped to the window
    result.errors   # {calendar_id: CalendarError}: those calendars are UNKNOWN, never free

**Unknown is never free.** When any calendar could not be read, ``result.complete`` is false and
``result.slots`` is empty: nothing may be offered or booked. ``result.candidate_slots`` still holds
the times that are free in the calendars that *could* be read, for messages such as "your work
calendar could not be read; these times look free in the others" -- never for booking.

Semantics (the contract of ``slotbot free``, issue 3):

* Working hours are given per weekday (``0`` = Monday, as :meth:`date.weekday`) in the host's IANA
  zone, several ranges a day; ``time(0)`` as a range *end* means 24:00. ``overrides[d]`` replaces
  the weekly hours of local date ``d`` (``()`` is a day off); ``extra_hours[d]`` adds ranges.
* Slot grid: ``start = range_start + k * increment`` (elapsed minutes, ``k >= 0``) and
  ``end = start + duration <= range_end``; the increment defaults to the duration. A slot is
  excluded when ``[start - buffer_before, end + buffer_after)`` overlaps busy time (half-open:
  touching is not overlapping), when ``start < now + minimum_notice``, when it does not lie inside
  the window, when it starts on or after local midnight of ``today + horizon_days`` (``today`` is
  ``now``'s local date), or when the host already has ``max_per_day`` bookings starting on that
  local day. The host's own bookings are busy time too.
* Local wall times that do not exist or occur twice (hour bounds, all-day midnights) follow
  RFC 5545: ``zoneinfo`` with ``fold=0``.
* Only blocks whose :meth:`BusyBlock.blocks_time` is true take time; an :class:`AllDaySpan` blocks
  local midnight to local midnight in the host's zone.

Internally every instant is an integer of epoch seconds (busy starts rounded down, busy ends
rounded up, so sub-second data never frees time). The interval algebra (:func:`merge`,
:func:`subtract`, :func:`intersect`) works on sorted lists of such ``(start, end)`` pairs, and
the slot search skips over busy time with ``bisect`` instead of stepping through minutes.
:func:`slots_from_intervals` is the fast entry point for callers that already hold intervals
(the ``.ics`` reader, the benchmark).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from zoneinfo import ZoneInfo

from bot.calendar.base import AllDaySpan, BusyBlock, CalendarBusy, CalendarError, TimedSpan, require_aware

Interval = tuple[int, int]
"""A half-open span ``[start, end)`` of epoch seconds (UTC)."""

WorkRange = tuple[time, time]
"""Local working hours ``(start, end)``; an end of ``time(0)`` means 24:00."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def floor_seconds(value: datetime) -> int:
    """Epoch seconds of an aware datetime, rounded down."""
    require_aware(value, "value")
    return (value - _EPOCH) // _SECOND


def ceil_seconds(value: datetime) -> int:
    """Epoch seconds of an aware datetime, rounded up."""
    require_aware(value, "value")
    return -((_EPOCH - value) // _SECOND)


def local_seconds(day: date, at: time, zone: ZoneInfo) -> int:
    """Epoch seconds of wall time ``at`` on ``day`` in ``zone`` (RFC 5545 gaps and folds: fold=0)."""
    return int(datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone).timestamp())


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of ``intervals``: overlapping or touching ones are joined, empty ones dropped."""
    out: list[Interval] = []
    start = end = 0
    started = False
    for s, e in sorted(intervals, key=itemgetter(0)):
        if started and s <= end:
            if e > end:
                end = e
        elif e > s:
            if started:
                out.append((start, end))
            start, end, started = s, e, True
    if started:
        out.append((start, end))
    return out


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged (sorted, disjoint) interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The parts of merged list ``a`` not covered by merged list ``b``."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: Sequence[Interval], start: int, end: int) -> list[Interval]:
    """Merged ``intervals`` cut to ``[start, end)``."""
    return intersect(intervals, [(start, end)]) if end > start else []


def _check_ranges(ranges: Sequence[WorkRange], where: str) -> None:
    for item in ranges:
        if len(item) != 2 or not all(isinstance(t, time) for t in item):
            raise TypeError(f"{where}: a working range is a (time, time) pair")
        start, end = item
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: working hours are local wall times without tzinfo")
        if end != time(0) and end <= start:
            raise ValueError(f"{where}: a working range must end after it starts")


@dataclass(frozen=True, slots=True)
class AvailabilityRules:
    """A host's availability rules. See the module docstring for the exact semantics."""

    timezone: str
    weekly: Mapping[int, Sequence[WorkRange]] = field(default_factory=dict)
    overrides: Mapping[date, Sequence[WorkRange]] = field(default_factory=dict)
    extra_hours: Mapping[date, Sequence[WorkRange]] = field(default_factory=dict)
    durations: tuple[int, ...] = (30,)
    increment_minutes: int | None = None
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    horizon_days: int | None = 60
    max_per_day: int | None = None

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises ZoneInfoNotFoundError / ValueError for a bad zone
        for weekday, ranges in self.weekly.items():
            if weekday not in range(7):
                raise ValueError(f"weekday {weekday!r} is not 0 (Monday) .. 6 (Sunday)")
            _check_ranges(ranges, f"weekday {weekday}")
        for mapping in (self.overrides, self.extra_hours):
            for day, ranges in mapping.items():
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise TypeError("override keys are dates")
                _check_ranges(ranges, day.isoformat())
        if not self.durations or any(d <= 0 for d in self.durations):
            raise ValueError("durations must be positive minutes")
        if self.increment_minutes is not None and self.increment_minutes <= 0:
            raise ValueError("the increment must be positive")
        for name in ("buffer_before_minutes", "buffer_after_minutes", "minimum_notice_minutes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.horizon_days is not None and self.horizon_days < 1:
            raise ValueError("the horizon is at least one day")
        if self.max_per_day is not None and self.max_per_day < 0:
            raise ValueError("max_per_day must not be negative")

    @property
    def zone(self) -> ZoneInfo:
        """The host's zone."""
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> tuple[WorkRange, ...]:
        """The working ranges of local date ``day`` (override or weekly hours, plus extra hours)."""
        base = self.overrides[day] if day in self.overrides else self.weekly.get(day.weekday(), ())
        return tuple(base) + tuple(self.extra_hours.get(day, ()))


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open span between two aware UTC datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Slot(Span):
    """A free slot: ``[start, end)`` in aware UTC datetimes."""


def _span(interval: Interval) -> Span:
    return Span(datetime.fromtimestamp(interval[0], UTC), datetime.fromtimestamp(interval[1], UTC))


@dataclass(frozen=True, slots=True)
class AvailabilityResult:
    """Free slots, merged busy time and per-calendar errors.

    ``slots`` is empty unless ``complete``: a calendar that could not be read is unknown, never
    free. ``candidate_slots`` are free in every calendar that could be read (for telling the host
    what *would* be free); they must never be offered to a visitor or booked.
    """

    candidate_slots: tuple[Slot, ...]
    busy_seconds: tuple[Interval, ...]
    errors: Mapping[str, CalendarError]

    @property
    def complete(self) -> bool:
        """Whether every calendar was read (only then are the slots known to be free)."""
        return not self.errors

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Free slots, sorted; empty when any calendar could not be read."""
        return self.candidate_slots if self.complete else ()

    @property
    def busy(self) -> tuple[Span, ...]:
        """Merged busy time clipped to the window, as UTC spans."""
        return tuple(_span(interval) for interval in self.busy_seconds)


def block_intervals(blocks: Iterable[BusyBlock], zone: ZoneInfo) -> list[Interval]:
    """Busy intervals of the blocks that take time (all-day spans placed in ``zone``)."""
    out: list[Interval] = []
    midnights: dict[date, int] = {}

    def midnight(day: date) -> int:
        if day not in midnights:
            midnights[day] = local_seconds(day, time(0), zone)
        return midnights[day]

    for block in blocks:
        if not block.blocks_time():
            continue
        span = block.span
        if isinstance(span, TimedSpan):
            interval = (floor_seconds(span.start), ceil_seconds(span.end))
        elif isinstance(span, AllDaySpan):
            interval = (midnight(span.start), midnight(span.end))
        else:  # pragma: no cover - guarded by the type
            raise TypeError(f"unknown span type {type(span).__name__}")
        if interval[1] > interval[0]:
            out.append(interval)
    return out


def find_slots(
    rules: AvailabilityRules,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    calendars: Mapping[str, CalendarBusy],
    duration_minutes: int | None = None,
    bookings: Sequence[TimedSpan] = (),
) -> AvailabilityResult:
    """Free slots of ``duration_minutes`` in ``[window_start, window_end)``.

    ``calendars`` maps a calendar id to its busy blocks or its error; ``bookings`` are the host's
    own Slotbot bookings (busy, and counted for ``max_per_day``). ``duration_minutes`` defaults to
    the first of ``rules.durations`` and must be one of them.
    """
    zone = rules.zone
    busy: list[Interval] = []
    errors: dict[str, CalendarError] = {}
    for calendar_id, calendar in calendars.items():
        if calendar.error is not None:
            errors[calendar_id] = calendar.error
        else:
            busy.extend(block_intervals(calendar.blocks, zone))
    return slots_from_intervals(
        rules,
        window_start=window_start,
        window_end=window_end,
        now=now,
        busy=busy,
        duration_minutes=duration_minutes,
        bookings=bookings,
        errors=errors,
    )


def working_intervals(rules: AvailabilityRules, start: int, end: int) -> list[tuple[date, int, int]]:
    """``(local date, start, end)`` of every working range touching ``[start, end)``, unclipped."""
    zone = rules.zone
    day = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, zone).date()
    out: list[tuple[date, int, int]] = []
    while day <= last:
        for range_start, range_end in rules.hours_on(day):
            s = local_seconds(day, range_start, zone)
            if range_end == time(0):
                e = local_seconds(day + timedelta(days=1), time(0), zone)
            else:
                e = local_seconds(day, range_end, zone)
            if e > s and e > start and s < end:
                out.append((day, s, e))
        day += timedelta(days=1)
    return out


def slots_from_intervals(
    rules: AvailabilityRules,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    busy: Iterable[Interval],
    duration_minutes: int | None = None,
    bookings: Sequence[TimedSpan] = (),
    errors: Mapping[str, CalendarError] | None = None,
) -> AvailabilityResult:
    """Like :func:`find_slots`, for busy time already given as epoch-second intervals."""
    require_aware(window_start, "window_start")
    require_aware(window_end, "window_end")
    require_aware(now, "now")
    duration = rules.durations[0] if duration_minutes is None else duration_minutes
    if duration not in rules.durations:
        raise ValueError(f"a {duration}-minute slot is not one of the offered durations {rules.durations}")
    zone = rules.zone
    w_start, w_end = ceil_seconds(window_start), floor_seconds(window_end)

    booked = [(floor_seconds(b.start), ceil_seconds(b.end)) for b in bookings]
    merged = merge([*busy, *booked])
    starts = [s for s, _ in merged]
    ends = [e for _, e in merged]

    per_day: dict[date, int] = {}
    for booking in bookings:
        day = booking.start.astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 1

    length = duration * 60
    step = (rules.increment_minutes or duration) * 60
    before = rules.buffer_before_minutes * 60
    after = rules.buffer_after_minutes * 60
    earliest = max(w_start, ceil_seconds(now) + rules.minimum_notice_minutes * 60)
    latest_end = w_end
    horizon = None
    if rules.horizon_days is not None:
        today = now.astimezone(zone).date()
        horizon = local_seconds(today + timedelta(days=rules.horizon_days), time(0), zone)

    found: set[Interval] = set()
    for day, range_start, range_end in working_intervals(rules, w_start, w_end):
        if rules.max_per_day is not None and per_day.get(day, 0) >= rules.max_per_day:
            continue
        stop = min(range_end, latest_end)
        k = 0 if earliest <= range_start else -(-(earliest - range_start) // step)
        while True:
            slot_start = range_start + k * step
            slot_end = slot_start + length
            if slot_end > stop or (horizon is not None and slot_start >= horizon):
                break
            lo, hi = slot_start - before, slot_end + after
            i = bisect_right(ends, lo)  # first busy interval ending after lo
            if i < len(starts) and starts[i] < hi:
                # Jump to the first grid start whose buffered span begins at that busy end.
                k = max(k + 1, -(-(ends[i] + before - range_start) // step))
                continue
            found.add((slot_start, slot_end))
            k += 1

    slots = tuple(
        Slot(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) for s, e in sorted(found)
    )
    return AvailabilityResult(
        candidate_slots=slots,
        busy_seconds=tuple(clip(merged, w_start, w_end)),
        errors=dict(errors or {}),
    )
