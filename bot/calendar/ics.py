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
from collections.abc import Iterator, Sequence
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


class _Zone:
    """Converts naive wall times of one tzinfo to epoch seconds, RFC 5545 style (fold=0)."""

    __slots__ = ("_days", "tz")

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._days: dict[date, int | None] = {}  # non-ZoneInfo: the offset of a day without change

    def epoch(self, wall: datetime) -> int:
        """Epoch seconds of naive ``wall`` read in this zone."""
        tz = self.tz
        if isinstance(tz, ZoneInfo | timezone):
            return int(wall.replace(tzinfo=tz, fold=0).timestamp())
        day = wall.date()
        if day not in self._days:
            self._days[day] = self._uniform_offset(day)
        offset = self._days[day]
        if offset is not None:
            return _wall_seconds(wall) - offset
        return self._resolve(wall)

    def wall(self, epoch: int) -> datetime:
        """Naive wall time of ``epoch`` in this zone."""
        return datetime.fromtimestamp(epoch, self.tz).replace(tzinfo=None)

    def _offset(self, wall: datetime) -> int:
        offset = self.tz.utcoffset(wall)
        if offset is None:
            raise IcsError(f"time zone {self.tz!r} gives no UTC offset")
        return int(offset.total_seconds())

    def _uniform_offset(self, day: date) -> int | None:
        midnight = datetime.combine(day, time())
        offsets = {self._offset(midnight - timedelta(hours=3)), self._offset(midnight),
                   self._offset(midnight + _DAY)}
        return offsets.pop() if len(offsets) == 1 else None

    def _resolve(self, wall: datetime) -> int:
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
    skip_depth = 0
    for line in lines:
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
            if skip_depth or component not in _KEEP_COMPONENTS:
                skip_depth += 1 if name == "BEGIN" else -1
                skip_depth = max(skip_depth, 0)
                keep = False
                continue
        keep = not skip_depth and name in _KEEP_PROPERTIES
        if keep:
            out.append(_RAW_DURATION + line[8:] if name == "DURATION" else line)
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

    def walls(self, start: datetime, lower: datetime, upper: datetime) -> Iterator[datetime]:
        """Rule instances (naive wall times) from ``lower`` to ``upper``, maybe a few earlier."""
        if self.simple_days is not None:
            yield from self._simple(start, lower, upper)
            return
        for wall in self.dateutil(self.moved_start(start, lower)):
            if wall > upper:
                return
            yield wall

    def _simple(self, start: datetime, lower: datetime, upper: datetime) -> Iterator[datetime]:
        first, at, n = start.date(), start.time(), self.interval
        last = upper.date()
        if self.freq == du.DAILY:
            k = max(0, (lower.date() - first).days // n * n)
            day = first + timedelta(days=k)
            days = set(self.simple_days or range(7))
            while day <= last:
                if day.weekday() in days:
                    yield datetime.combine(day, at)
                day += timedelta(days=n)
            return
        offsets = sorted((d - self.wkst) % 7 for d in self.simple_days or (start.weekday(),))
        week = first - timedelta(days=(first.weekday() - self.wkst) % 7)
        k = max(0, (lower.date() - week).days // 7 // n * n)
        week += timedelta(weeks=k)
        while week <= last:
            for offset in offsets:
                day = week + timedelta(days=offset)
                if day >= first:
                    yield datetime.combine(day, at)
            week += timedelta(weeks=n)


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


class IcsCalendar:
    """A parsed calendar: expand it for any window with :meth:`busy_blocks` or :meth:`busy_intervals`.

    One-off events with a fixed zone are kept as epoch spans sorted by start (a window is two
    bisects); floating and all-day one-offs by wall-clock start; series keep their rules.
    """

    def __init__(self, events: Sequence[_Event]) -> None:
        self._zones = _Zones()
        overridden: dict[str, list[Moment]] = {}
        for event in events:
            if event.recurrence_id is not None:
                overridden.setdefault(event.uid, []).append(event.recurrence_id)
        self._overridden = {uid: tuple(ids) for uid, ids in overridden.items()}
        fixed: list[_Occurrence] = []
        local: list[tuple[int, _Event]] = []
        self._series: list[_Event] = []
        for event in events:
            recurring = event.rules or event.rdates or event.exdates
            if event.recurrence_id is None and (recurring or event.uid in self._overridden):
                self._series.append(event)
            elif _is_fixed(event.start) and (event.length.end is None or _is_fixed(event.length.end)):
                fixed.append(self._one_off(event, self._zones.get(UTC)))
            else:
                local.append((_wall_seconds(_wall(event.start)), event))
        fixed.sort(key=lambda item: item[0])
        self._fixed = fixed
        self._fixed_starts = [item[0] for item in fixed]
        self._fixed_longest = max((item[1] - item[0] for item in fixed), default=0)
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
        return [(o[0], o[1]) for o in self._expand(start, end, zone) if not o[3] and o[2] is not ShowAs.FREE]

    def busy_blocks(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[BusyBlock]:
        """Every occurrence overlapping ``[start, end)`` as a :class:`BusyBlock`, sorted by start.

        Free and cancelled occurrences are included with their flags (an override that removed
        its instance appears as itself). All-day occurrences are :class:`AllDaySpan` values;
        ``zone`` decides which of them overlap the window and where floating times lie.
        """
        out: list[BusyBlock] = []
        for s, e, show, cancelled, days in sorted(self._expand(start, end, zone), key=lambda o: o[:2]):
            span: TimedSpan | AllDaySpan
            if days is not None:
                span = AllDaySpan(days[0], days[1])
            else:
                span = TimedSpan(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
            out.append(BusyBlock(span=span, show_as=show, cancelled=cancelled))
        return out

    # -- internals ------------------------------------------------------------------------

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

    def _expand(self, start: datetime, end: datetime, zone: ZoneInfo) -> list[_Occurrence]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("the window must be timezone-aware")
        lo, hi = int(start.timestamp()), int(end.timestamp())
        host = self._zones.get(zone)
        fixed = self._fixed
        first = bisect_left(self._fixed_starts, lo - self._fixed_longest)
        last = bisect_left(self._fixed_starts, hi)
        out = [item for item in fixed[first:last] if item[1] > lo and item[1] > item[0]]
        if self._local:
            wall_lo, wall_hi = _wall_seconds(host.wall(lo)), _wall_seconds(host.wall(hi))
            first = bisect_left(self._local_starts, wall_lo - self._local_longest)
            last = bisect_left(self._local_starts, wall_hi + 86400)
            for _, event in self._local[first:last]:
                item = self._one_off(event, host)
                if item[0] < hi and item[1] > lo and item[1] > item[0]:
                    out.append(item)
        for event in self._series:
            self._expand_series(event, lo, hi, host, out)
        return out

    def _expand_series(self, event: _Event, lo: int, hi: int, host: _Zone, out: list[_Occurrence]) -> None:
        """Append the occurrences of one series overlapping ``[lo, hi)`` to ``out``."""
        zones = self._zones
        start, length, show, cancelled = event.start, event.length, event.show, event.cancelled
        all_day = not isinstance(start, datetime)
        tz = start.tzinfo if isinstance(start, datetime) else None
        zone = zones.get(tz) if tz is not None else host
        wall_start = _wall(start)
        lower = zone.wall(lo) - length.longest - _DAY
        upper = zone.wall(hi) + _DAY

        # Instances to leave out: EXDATE and overridden RECURRENCE-ID, by instant (or by day).
        skip: set[int] = set()
        skip_days: set[date] = set()
        for moment in (*event.exdates, *self._overridden.get(event.uid, ())):
            if isinstance(moment, datetime) and not all_day:
                skip.add(zones.instant(moment, host))
            else:
                skip_days.add(moment.date() if isinstance(moment, datetime) else moment)

        exact = None
        if length.end is not None and isinstance(start, datetime):
            exact = zones.instant(length.end, host) - zones.instant(start, host)
        seen: set[int] = set()

        def emit(begin: int, end: int, days: tuple[date, date] | None) -> None:
            if begin in seen or begin in skip:
                return
            seen.add(begin)
            if begin < hi and end > lo and end > begin:
                out.append((begin, end, show, cancelled, days))

        walls: list[datetime] = [wall_start]
        for rule in event.rules:
            walls.extend(_rule_walls(rule, wall_start, lower, upper, zone, zones, host))
        if all_day:
            for wall in walls:
                day = wall.date()
                if day not in skip_days:
                    end_day = day + timedelta(days=length.days)
                    emit(host.epoch(wall), host.epoch(datetime.combine(end_day, time())), (day, end_day))
        else:
            epoch = zone.epoch
            for wall in walls:
                if skip_days and wall.date() in skip_days:
                    continue
                begin = epoch(wall)
                if exact is not None:
                    emit(begin, begin + exact, None)
                else:
                    emit(begin, epoch(wall + timedelta(days=length.days)) + length.seconds, None)

        for moment, period_end in event.rdates:
            if all_day or not isinstance(moment, datetime):
                day = moment.date() if isinstance(moment, datetime) else moment
                if day in skip_days:
                    continue
            if not isinstance(moment, datetime):
                end_day = moment + timedelta(days=length.days)
                emit(host.epoch(_wall(moment)), host.epoch(_wall(end_day)), (moment, end_day))
                continue
            if all_day:
                moment = moment.date()
                end_day = moment + timedelta(days=length.days)
                emit(host.epoch(_wall(moment)), host.epoch(_wall(end_day)), (moment, end_day))
                continue
            if moment.date() in skip_days:
                continue
            begin = zones.instant(moment, host)
            if isinstance(period_end, timedelta):
                end = begin + int(period_end.total_seconds())
            elif period_end is not None:
                end = zones.instant(period_end, host)
            elif exact is not None:
                end = begin + exact
            else:
                rzone = zones.get(moment.tzinfo) if moment.tzinfo is not None else host
                end = rzone.epoch(moment.replace(tzinfo=None) + timedelta(days=length.days)) + length.seconds
            emit(begin, end, None)


def _is_fixed(value: Moment) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _wall(value: Moment) -> datetime:
    """Naive wall-clock reading of a moment (a date is its midnight)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time())


def _rule_walls(rule: _Rule, start: datetime, lower: datetime, upper: datetime, zone: _Zone,
                zones: _Zones, host: _Zone) -> Iterator[datetime]:
    """Instances of ``rule`` (naive wall times in ``zone``) from ``lower`` to ``upper`` and UNTIL."""
    until = rule.until
    until_wall: datetime | None = None
    until_instant: int | None = None
    if isinstance(until, datetime) and until.tzinfo is not None:
        until_instant = zones.instant(until, host)
        upper = min(upper, zone.wall(until_instant) + _DAY)
    elif isinstance(until, datetime):
        until_wall = until
    elif isinstance(until, date):
        until_wall = datetime.combine(until, time.max)
    if until_wall is not None:
        upper = min(upper, until_wall)
    if upper < start:
        return
    for wall in rule.walls(start, lower, upper):
        if wall < lower:
            continue
        if until_instant is not None and zone.epoch(wall) > until_instant:
            return
        yield wall
