"""Reading iCalendar (.ics) data into busy time: parse once, expand any window quickly.

Start with :func:`parse_ics` (the parse stage) and the two methods of the :class:`IcsCalendar` it
returns (the expand stage)::

    calendar = parse_ics(data)                                  # bytes or str; raises IcsError
    blocks = calendar.busy_blocks(start, end, zone)             # list[BusyBlock] for providers
    intervals = calendar.busy_intervals(start, end, zone)       # [(epoch_s, epoch_s)] for the engine

``zone`` is the host's zone: floating times are read in it, and all-day events keep their dates
(``busy_blocks``) or become local midnight to local midnight in it (``busy_intervals``).
This module backs the ICS-feed and CalDAV calendars and ``slotbot free``.

Parsing uses the ``icalendar`` library. Before handing text to it, content lines that cannot
affect busy time (descriptions, attendees, alarms...) are dropped, which makes parsing faster
than plain ``icalendar`` on real exports. Recurrence is expanded here rather than by
``recurring_ical_events``, which gives instances across a DST change the *wall-clock* length of
the master instead of its exact elapsed length; rule iteration uses ``dateutil.rrule`` (or plain
arithmetic for simple daily and weekly rules) on naive wall-clock times of the event's own zone.

Semantics (issue 3, ``slotbot free``):

* Only busy occurrences block: ``STATUS:CANCELLED``, ``TRANSP:TRANSPARENT`` and
  ``X-MICROSOFT-CDO-BUSYSTATUS:FREE`` do not; tentative and out-of-office do (:func:`show_as`).
* ``DTEND`` absent: ``DURATION`` (weeks and days nominal, hours to seconds exact), else one day
  for a DATE and zero length for a DATE-TIME. Zero-length occurrences block nothing and are
  left out. Every instance of a series lasts the master's exact elapsed length.
* Recurrence: RRULE (all parts dateutil knows, incl. COUNT/UNTIL/BYDAY/BYMONTHDAY/BYSETPOS/
  INTERVAL/WKST), RDATE (dates, date-times, periods), EXDATE and RECURRENCE-ID overrides, in the
  wall clock of DTSTART's zone (VTIMEZONE blocks, IANA and Windows names as ``icalendar`` resolves
  them). DTSTART is always an instance and counts towards COUNT. EXDATE and RECURRENCE-ID match
  instances by instant, whatever zone they are written in. An override replaces its instance;
  a cancelled or free override therefore removes it. A rule with no COUNT is expanded from close
  to the window, so a series that began years ago costs what a new one costs.
* Nonexistent local times take the offset from before the gap; ambiguous ones are the first
  occurrence (RFC 5545), also for custom VTIMEZONE definitions.
* Anything that cannot be read with certainty (a broken date, an unknown TZID, an event ending
  before it starts) raises :class:`IcsError`: a calendar that cannot be read is unknown, not free.

Not handled (knowingly): ``RANGE=THISANDFUTURE`` (treated as a single-instance override), EXRULE
(ignored, which only ever adds busy time), declined invitations (an .ics feed does not say whose
calendar it is), RSCALE (non-Gregorian rules raise IcsError).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as du

from bot.calendar.base import AllDaySpan, BusyBlock, ShowAs, TimedSpan

__all__ = ["IcsCalendar", "IcsError", "parse_ics", "show_as"]

Interval = tuple[int, int]
Moment = date | datetime  # aware, naive (floating) or a date, exactly as icalendar gives them


class IcsError(ValueError):
    """The data is not iCalendar Slotbot can read with certainty. The message is one line."""


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


# ---------------------------------------------------------------------------------------------
# Wall clock <-> instants


_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)  # naive: wall seconds are counted from it


def _wall_seconds(wall: datetime) -> int:
    return (wall - _EPOCH) // timedelta(seconds=1)


def _parts(wall: datetime) -> tuple[int, int]:
    """``(proleptic ordinal of the day, seconds since local midnight)`` of a naive wall time."""
    return wall.toordinal(), wall.hour * 3600 + wall.minute * 60 + wall.second


_EPOCH_ORDINAL = _EPOCH.toordinal()
_UNSEEN = -1 << 40


class _Zone:
    """Converts wall times of one tzinfo to epoch seconds, RFC 5545 style (fold=0).

    Each day is looked at once: on a day without an offset change a wall time is plain
    arithmetic; only the few days with a change go through the tzinfo itself.
    """

    __slots__ = ("_days", "tz")

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._days: dict[int, int | None] = {}  # day ordinal -> its one offset, or None

    def at(self, ordinal: int, seconds: int) -> int:
        """Epoch seconds of the wall time ``seconds`` after local midnight of day ``ordinal``."""
        offset = self._days.get(ordinal, _UNSEEN)
        if offset == _UNSEEN:
            offset = self._days[ordinal] = self._uniform_offset(ordinal)
        if offset is not None:
            return (ordinal - _EPOCH_ORDINAL) * 86400 + seconds - offset
        return self._resolve(datetime.fromordinal(ordinal) + timedelta(seconds=seconds))

    def epoch(self, wall: datetime) -> int:
        """Epoch seconds of naive ``wall`` read in this zone."""
        return self.at(*_parts(wall))

    def wall(self, epoch: int) -> datetime:
        """Naive wall time of ``epoch`` in this zone."""
        return datetime.fromtimestamp(epoch, self.tz).replace(tzinfo=None)

    def _offset(self, wall: datetime) -> int:
        offset = self.tz.utcoffset(wall)
        if offset is None:
            raise IcsError(f"time zone {self.tz!r} gives no UTC offset")
        return int(offset.total_seconds())

    def _uniform_offset(self, ordinal: int) -> int | None:
        midnight = datetime.fromordinal(ordinal)
        offsets = {self._offset(midnight - timedelta(hours=3)), self._offset(midnight),
                   self._offset(midnight + _DAY)}
        return offsets.pop() if len(offsets) == 1 else None

    def _resolve(self, wall: datetime) -> int:
        if isinstance(self.tz, ZoneInfo | timezone):
            return int(wall.replace(tzinfo=self.tz, fold=0).timestamp())
        seconds = _wall_seconds(wall)
        offsets = {self._offset(wall.replace(fold=f)) for f in (0, 1)}
        offsets |= {self._offset(wall + timedelta(hours=h)) for h in (-6, 6)}
        valid = [seconds - o for o in offsets if self.wall(seconds - o) == wall]
        if valid:
            return min(valid)  # an ambiguous time is its first occurrence
        return seconds - self._offset(wall - timedelta(hours=6))  # a gap: the offset before it


class _Zones:
    """One :class:`_Zone` per tzinfo object, kept for the life of a parsed calendar."""

    def __init__(self) -> None:
        self._zones: dict[int, _Zone] = {}

    def get(self, tz: tzinfo) -> _Zone:
        zone = self._zones.get(id(tz))
        if zone is None or zone.tz is not tz:
            zone = self._zones[id(tz)] = _Zone(tz)
        return zone

    def instant(self, value: Moment, host: _Zone) -> int:
        """Epoch seconds of a moment; floating times and dates are read in ``host``."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return host.epoch(value)
            return self.get(value.tzinfo).epoch(value.replace(tzinfo=None))
        return host.epoch(datetime.combine(value, time()))


# ---------------------------------------------------------------------------------------------
# Parse stage


_KEEP_COMPONENTS = frozenset({"VCALENDAR", "VEVENT", "VTIMEZONE", "STANDARD", "DAYLIGHT"})
_KEEP_PROPERTIES = frozenset({
    "BEGIN", "END", "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "RECURRENCE-ID", "STATUS", "TRANSP", "X-MICROSOFT-CDO-BUSYSTATUS", "TZID", "TZOFFSETFROM",
    "TZOFFSETTO", "TZNAME", "VERSION", "PRODID", "CALSCALE",
})
_RAW_DURATION = "X-SLOTBOT-RAW-DURATION"  # DURATION kept verbatim: icalendar reads PT24H as P1D
_NAME = re.compile(r"[A-Za-z0-9-]+")
_DURATION = re.compile(
    r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?"
)


def _relevant_lines(text: str) -> str:
    """The content lines that can affect busy time, unfolded lines kept with their folds."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n") if "\n" in text else text.split("\r")
    out: list[str] = []
    keep = False
    stack: list[str] = []
    skipped = 0  # how many of the open components are left out
    for number, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        if line[0] in " \t":
            if keep:
                out.append(line)
            continue
        match = _NAME.match(line)
        name = match.group(0).upper() if match else ""
        if name in ("BEGIN", "END"):
            component = line[len(name) + 1:].strip().upper()
            if name == "BEGIN":
                stack.append(component)
                if skipped or component not in _KEEP_COMPONENTS:
                    skipped += 1
                keep = not skipped
            else:
                if not stack or stack[-1] != component:
                    raise IcsError(f"malformed iCalendar data: line {number}: END:{component} "
                                   f"does not close {'BEGIN:' + stack[-1] if stack else 'anything'}")
                stack.pop()
                keep = not skipped
                skipped = max(skipped - 1, 0)
            if keep:
                out.append(line)
            continue
        keep = not skipped and name in _KEEP_PROPERTIES
        if keep:
            out.append(_RAW_DURATION + line[8:] if name == "DURATION" else line)
    if stack:
        raise IcsError(f"malformed iCalendar data: BEGIN:{stack[-1]} is never closed (a truncated file?)")
    return "\r\n".join(out)


def _duration(text: str, where: str) -> tuple[int, int]:
    """``(nominal days, exact seconds)`` of an iCalendar DURATION value."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()[1:]):
        raise IcsError(f"{where}: invalid DURATION {text.strip()!r}")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    if sign == "-":
        raise IcsError(f"{where}: negative DURATION {text.strip()!r}")
    nominal = int(weeks or 0) * 7 + int(days or 0)
    return nominal, int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)


_FREQUENCIES = {"YEARLY": du.YEARLY, "MONTHLY": du.MONTHLY, "WEEKLY": du.WEEKLY, "DAILY": du.DAILY,
                "HOURLY": du.HOURLY, "MINUTELY": du.MINUTELY, "SECONDLY": du.SECONDLY}
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_BY_INTS = {"BYSETPOS": "bysetpos", "BYMONTH": "bymonth", "BYMONTHDAY": "bymonthday",
            "BYYEARDAY": "byyearday", "BYWEEKNO": "byweekno", "BYHOUR": "byhour",
            "BYMINUTE": "byminute", "BYSECOND": "bysecond"}


_BY_RANGES = {  # (lowest magnitude, highest, negative values allowed)
    "bysetpos": (1, 366, True), "bymonth": (1, 12, False), "bymonthday": (1, 31, True),
    "byyearday": (1, 366, True), "byweekno": (1, 53, True), "byhour": (0, 23, False),
    "byminute": (0, 59, False), "bysecond": (0, 60, False),
}


def _weekday(text: str, where: str) -> du.weekday:
    match = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", text.strip().upper())
    if not match:
        raise IcsError(f"{where}: invalid BYDAY value {text!r}")
    n = int(match.group(1)) if match.group(1) else None
    return du.weekday(_WEEKDAYS[match.group(2)], n or None)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One RRULE, ready for dateutil: every default that depends on DTSTART is pinned."""

    freq: int
    interval: int
    wkst: int
    until: Moment | None
    kwargs: dict[str, Any]
    simple_days: tuple[int, ...] | None  # DAILY/WEEKLY with at most plain BYDAY: arithmetic path

    @staticmethod
    def build(recur: Any, start: datetime, where: str) -> _Rule:
        """Read an icalendar ``vRecur`` for a series starting at naive wall time ``start``."""
        parts = {str(k).upper(): list(v) for k, v in recur.items()}
        try:
            freq = _FREQUENCIES[str(parts.pop("FREQ", [""])[0]).upper()]
            interval = int(parts.pop("INTERVAL", [1])[0])
            count = int(parts.pop("COUNT")[0]) if "COUNT" in parts else None
            wkst = _weekday(str(parts.pop("WKST", ["MO"])[0]), where).weekday
            kwargs: dict[str, Any] = {}
            for key, arg in _BY_INTS.items():
                if key in parts:
                    kwargs[arg] = tuple(int(str(v)) for v in parts.pop(key))
        except (KeyError, ValueError, IndexError):
            raise IcsError(f"{where}: invalid RRULE {recur.to_ical().decode(errors='replace')!r}") from None
        if interval < 1 or (count is not None and count < 1):
            raise IcsError(f"{where}: invalid RRULE INTERVAL or COUNT")
        for arg, values in kwargs.items():
            low, high, signed = _BY_RANGES[arg]
            if not all(low <= abs(v) <= high and (signed or v >= 0) for v in values):
                raise IcsError(f"{where}: invalid RRULE {arg.upper()} value in {sorted(values)}")
        until = parts.pop("UNTIL", [None])[0]
        byday = tuple(_weekday(str(v), where) for v in parts.pop("BYDAY", []))
        rscale = parts.pop("RSCALE", ["GREGORIAN"])
        if str(rscale[0]).upper() != "GREGORIAN":
            raise IcsError(f"{where}: unsupported RRULE RSCALE {rscale[0]}")
        if parts:
            raise IcsError(f"{where}: unsupported RRULE part {sorted(parts)[0]}")
        if byday:
            kwargs["byweekday"] = byday
        # dateutil fills these from DTSTART; pin them so that DTSTART can be moved.
        if not any(k in kwargs for k in ("byweekno", "byyearday", "bymonthday", "byweekday")):
            if freq == du.YEARLY:
                kwargs.setdefault("bymonth", (start.month,))
                kwargs["bymonthday"] = (start.day,)
            elif freq == du.MONTHLY:
                kwargs["bymonthday"] = (start.day,)
            elif freq == du.WEEKLY:
                kwargs["byweekday"] = (du.weekday(start.weekday()),)
        for arg, level, value in (("byhour", du.HOURLY, start.hour), ("byminute", du.MINUTELY, start.minute),
                                  ("bysecond", du.SECONDLY, start.second)):
            if freq < level:
                kwargs.setdefault(arg, (value,))
        simple = None
        plain = {"byweekday", "byhour", "byminute", "bysecond"}
        if freq in (du.DAILY, du.WEEKLY) and set(kwargs) <= plain and (
            kwargs.get("byhour"), kwargs.get("byminute"), kwargs.get("bysecond")
        ) == ((start.hour,), (start.minute,), (start.second,)):
            days = kwargs.get("byweekday", ())
            if all(d.n is None for d in days):
                simple = tuple(sorted({d.weekday for d in days}))
        rule = _Rule(freq, interval, wkst, until, kwargs, simple)
        try:
            rule.dateutil(start)
        except ValueError as exc:
            if "empty set" not in str(exc):
                raise IcsError(f"{where}: invalid RRULE ({str(exc).splitlines()[0]})") from None
            # The BYxxx parts can never meet (e.g. FREQ=HOURLY;INTERVAL=3;BYHOUR=8 from 00:00):
            # the rule adds nothing, and an UNTIL before every day says so.
            return _Rule(freq, interval, wkst, date.min, kwargs, None)
        return rule if count is None else rule.counted(start, count)

    def counted(self, start: datetime, count: int) -> _Rule:
        """This rule limited to ``count`` occurrences from ``start``, as an equivalent UNTIL.

        DTSTART always counts as the first occurrence, even when it does not match the rule.
        Expressed as a wall-clock UNTIL, the rule can be moved close to any window later.
        """
        if self.dateutil(start).after(start, inc=True) != start:
            count -= 1
        last = start - timedelta(seconds=1)
        if count > 0:
            for last in self.dateutil(start, count=count):  # noqa: B007 - the last one is wanted
                pass
        until = self.until
        if isinstance(until, datetime) and until.tzinfo is None:
            last = min(last, until)  # COUNT with UNTIL is invalid; the comparable bound that ends first
        return _Rule(self.freq, self.interval, self.wkst, last, self.kwargs, self.simple_days)

    def dateutil(self, start: datetime, **extra: Any) -> du.rrule:
        """The dateutil rule from naive ``start`` (UNTIL is applied by the caller)."""
        return du.rrule(cast(Any, self.freq), dtstart=start, interval=self.interval, wkst=self.wkst,
                        cache=False, **self.kwargs, **extra)

    def moved_start(self, start: datetime, lower: datetime) -> datetime:
        """A period-aligned start close before ``lower`` that yields the same instances after it."""
        if lower <= start:
            return start
        freq, n = self.freq, self.interval
        if freq == du.YEARLY:
            k = (lower.year - start.year) // n * n
            return datetime(start.year + k, 1, 1) if k > 0 else start
        if freq == du.MONTHLY:
            k = ((lower.year - start.year) * 12 + lower.month - start.month) // n * n
            if k <= 0:
                return start
            year, month = divmod(start.month - 1 + k, 12)
            return datetime(start.year + year, month + 1, 1)
        if freq == du.WEEKLY:
            week = start.date() - timedelta(days=(start.weekday() - self.wkst) % 7)
            k = (lower.date() - week).days // 7 // n * n
            return datetime.combine(week + timedelta(weeks=k), time()) if k > 0 else start
        if freq == du.DAILY:
            k = (lower.date() - start.date()).days // n * n
            return datetime.combine(start.date() + timedelta(days=k), time()) if k > 0 else start
        units = {du.HOURLY: timedelta(hours=1), du.MINUTELY: timedelta(minutes=1)}
        unit = units.get(freq, timedelta(seconds=1))
        base = start.replace(minute=0 if freq == du.HOURLY else start.minute,
                             second=0 if freq != du.SECONDLY else start.second)
        k = (lower - base) // unit // n * n
        return base + k * unit if k > 0 else start

    def instances(self, start: datetime, lower: int, upper: int) -> list[tuple[int, int]]:
        """Rule instances as ``(day ordinal, seconds after midnight)`` wall times, in order.

        Covers the days ``lower`` .. ``upper`` (ordinals), perhaps with a few earlier ones.
        """
        if self.simple_days is not None:
            return self._simple(start, lower, upper)
        out = []
        for wall in self.dateutil(self.moved_start(start, datetime.fromordinal(lower))):
            ordinal = wall.toordinal()
            if ordinal > upper:
                break
            out.append((ordinal, wall.hour * 3600 + wall.minute * 60 + wall.second))
        return out

    def _simple(self, start: datetime, lower: int, upper: int) -> list[tuple[int, int]]:
        first, at = _parts(start)
        n = self.interval
        out = []
        if self.freq == du.DAILY:
            day = first + max(0, (lower - first) // n * n)
            days = set(self.simple_days or range(7))
            while day <= upper:
                if (day - 1) % 7 in days:  # ordinal 1 is a Monday
                    out.append((day, at))
                day += n
            return out
        offsets = sorted((d - self.wkst) % 7 for d in self.simple_days or ((first - 1) % 7,))
        week = first - ((first - 1) % 7 - self.wkst) % 7
        week += max(0, (lower - week) // 7 // n * n) * 7
        step = 7 * n
        while week <= upper:
            for offset in offsets:
                day = week + offset
                if first <= day <= upper:
                    out.append((day, at))
            week += step
        return out


@dataclass(frozen=True, slots=True)
class _Length:
    """How long an occurrence lasts: nominal days (wall clock) plus exact seconds, or DTEND."""

    days: int = 0
    seconds: int = 0
    end: Moment | None = None  # DTEND: the exact length is DTEND - DTSTART, computed per host zone
    longest: timedelta = timedelta(days=2)  # an upper bound of the elapsed length

    @staticmethod
    def nominal(days: int, seconds: int = 0) -> _Length:
        """A length of ``days`` wall-clock days plus ``seconds`` elapsed seconds."""
        return _Length(days, seconds, None, timedelta(days=days + 1, seconds=seconds))

    @staticmethod
    def until(start: datetime, end: datetime) -> _Length:
        """The exact length from ``start`` to ``end`` (whatever zones they are written in)."""
        wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
        return _Length(end=end, longest=abs(wall) + timedelta(days=2))


@dataclass(frozen=True, slots=True)
class _Event:
    """One VEVENT as read: timing, recurrence and how it shows."""

    uid: str
    start: Moment
    length: _Length
    show: ShowAs
    cancelled: bool
    rules: tuple[_Rule, ...]
    rdates: tuple[tuple[Moment, Moment | timedelta | None], ...]
    exdates: tuple[Moment, ...]
    recurrence_id: Moment | None


def _values(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _one(component: Any, name: str, where: str) -> Any:
    values = _values(component, name)
    if len(values) > 1:
        raise IcsError(f"{where}: more than one {name}")
    return values[0] if values else None


def _moment(prop: Any, name: str, where: str) -> Moment:
    value = prop.dt
    if isinstance(value, datetime) and value.tzinfo is None and "TZID" in prop.params:
        raise IcsError(f"{where}: unknown time zone {prop.params['TZID']!r} in {name}")
    if not isinstance(value, date):
        raise IcsError(f"{where}: {name} is not a date or date-time")
    return value


def _naive_utc(value: datetime) -> datetime:
    """A rough UTC reading for sanity checks (floating times taken as UTC)."""
    offset = value.utcoffset() if value.tzinfo is not None else None
    return value.replace(tzinfo=None) - (offset or timedelta())


def _read_event(component: Any, index: int) -> _Event:
    uid = str(component.get("UID", "") or "")
    where = f"event {uid or '#' + str(index)}"
    for name, message in getattr(component, "errors", ()):
        if str(name).upper() in _KEEP_PROPERTIES or str(name).upper() == _RAW_DURATION:
            raise IcsError(f"{where}: invalid {name}: {str(message).splitlines()[0] if message else ''}")
    start_prop = _one(component, "DTSTART", where)
    if start_prop is None:
        raise IcsError(f"{where}: no DTSTART")
    start = _moment(start_prop, "DTSTART", where)
    end_prop = _one(component, "DTEND", where)
    raw_duration = _one(component, _RAW_DURATION, where)
    if end_prop is not None:
        end = _moment(end_prop, "DTEND", where)
        if isinstance(start, datetime):
            if not isinstance(end, datetime):
                end = datetime.combine(end, time(), start.tzinfo)
            if _naive_utc(end) < _naive_utc(start):
                raise IcsError(f"{where}: DTEND is before DTSTART")
            length = _Length.until(start, end)
        else:
            end_day = end.date() if isinstance(end, datetime) else end
            if end_day < start:
                raise IcsError(f"{where}: DTEND is before DTSTART")
            length = _Length.nominal((end_day - start).days)
    elif raw_duration is not None:
        days, seconds = _duration(str(raw_duration), where)
        length = _Length.nominal(days, seconds) if isinstance(start, datetime) else _Length.nominal(
            days + (1 if seconds else 0))
    else:
        length = _Length.nominal(0 if isinstance(start, datetime) else 1)
    status = str(component.get("STATUS", "") or "")
    rid_prop = _one(component, "RECURRENCE-ID", where)
    rules = tuple(_Rule.build(r, _wall(start), where) for r in _values(component, "RRULE"))
    rdates: list[tuple[Moment, Moment | timedelta | None]] = []
    for prop in _values(component, "RDATE"):
        for item in prop.dts:
            value = item.dt
            if isinstance(value, tuple):
                rdates.append((_moment(_Boxed(value[0], item.params), "RDATE", where), value[1]))
            else:
                rdates.append((_moment(item, "RDATE", where), None))
    exdates = [_moment(item, "EXDATE", where) for prop in _values(component, "EXDATE") for item in prop.dts]
    return _Event(
        uid=uid or f"\0{index}",
        start=start,
        length=length,
        show=show_as(status=status, transp=str(component.get("TRANSP", "") or ""),
                     busystatus=str(component.get("X-MICROSOFT-CDO-BUSYSTATUS", "") or "")),
        cancelled=status.upper() == "CANCELLED",
        rules=rules,
        rdates=tuple(rdates),
        exdates=tuple(exdates),
        recurrence_id=_moment(rid_prop, "RECURRENCE-ID", where) if rid_prop is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _Boxed:
    dt: Any
    params: Any


def parse_ics(data: bytes | str) -> IcsCalendar:
    """Parse iCalendar data (one or more VCALENDARs) into an :class:`IcsCalendar`.

    Raises :class:`IcsError` (one-line message) for anything it cannot read with certainty.
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if "BEGIN:VCALENDAR" not in text.upper():
        raise IcsError("not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendars = icalendar.Calendar.from_ical(_relevant_lines(text), multiple=True)
    except IcsError:
        raise
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IcsError(f"malformed iCalendar data: {detail}") from None
    if not calendars:
        raise IcsError("not an iCalendar file (no VCALENDAR)")
    events: list[_Event] = []
    for calendar in calendars:
        for component in calendar.walk("VEVENT"):
            events.append(_read_event(component, len(events) + 1))
    return IcsCalendar(events)


# ---------------------------------------------------------------------------------------------
# Expand stage

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
            begin = host.epoch(datetime.combine(start, time()))
            return begin, host.epoch(datetime.combine(end_day, time())), event.show, event.cancelled, (
                start, end_day)
        begin = zones.instant(start, host)
        if event.length.end is not None:
            end = zones.instant(event.length.end, host)
        else:
            zone = zones.get(start.tzinfo) if start.tzinfo is not None else host
            wall_end = start.replace(tzinfo=None) + timedelta(days=event.length.days)
            end = zone.epoch(wall_end) + event.length.seconds
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
                    own = zones.get(moment.tzinfo) if moment.tzinfo is not None else host
                    end = own.epoch(moment.replace(tzinfo=None) + timedelta(days=nominal)) + length.seconds
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


def _is_fixed(value: Moment) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _wall(value: Moment) -> datetime:
    """Naive wall-clock reading of a moment (a date is its midnight)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time())


def _rule_instances(rule: _Rule, start: tuple[int, int], lower: int, upper: int, zone: _Zone,
                    zones: _Zones, host: _Zone) -> list[tuple[int, int]]:
    """Wall instances ``(ordinal, seconds)`` of ``rule`` in ``zone`` on days ``lower`` .. ``upper``."""
    until = rule.until
    limit: tuple[int, int] | None = None
    until_instant: int | None = None
    if isinstance(until, datetime) and until.tzinfo is not None:
        until_instant = zones.instant(until, host)
        upper = min(upper, zone.wall(until_instant).toordinal() + 1)
    elif isinstance(until, datetime):
        limit = _parts(until)
    elif isinstance(until, date):
        limit = (until.toordinal(), 86400)
    if limit is not None:
        upper = min(upper, limit[0])
    if upper < start[0] or upper < lower:
        return []
    wall_start = datetime.fromordinal(start[0]) + timedelta(seconds=start[1])
    found = [item for item in rule.instances(wall_start, lower, upper) if item[0] >= lower]
    if limit is not None:
        found = [item for item in found if item <= limit]
    if until_instant is not None:
        found = [item for item in found if zone.at(*item) <= until_instant]
    return found
