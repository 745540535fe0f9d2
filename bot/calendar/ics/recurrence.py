"""Recurrence rules of iCalendar events: RRULE read into :class:`_Rule`, instances near a window.

Start with :meth:`_Rule.build` (one RRULE, every default that depends on DTSTART pinned) and
:func:`_rule_instances` (a rule's wall-clock instances on the days of a window). RDATE, EXDATE
and RECURRENCE-ID are read with the event (:mod:`bot.calendar.ics.parse`) and applied where a
series is expanded (:mod:`bot.calendar.ics.expand`).

* RRULE: all parts dateutil knows, incl. COUNT/UNTIL/BYDAY/BYMONTHDAY/BYSETPOS/INTERVAL/WKST,
  iterated by ``dateutil.rrule`` (or plain arithmetic for simple daily and weekly rules) on
  naive wall-clock times of the event's own zone. DTSTART is always an instance and counts
  towards COUNT; COUNT becomes an equivalent wall-clock UNTIL (:meth:`_Rule.counted`).
* A rule is iterated from a period-aligned start close before the window
  (:meth:`_Rule.moved_start`), so a series that began years ago costs what a new one costs.
* EXRULE is ignored (which only ever adds busy time); RSCALE other than GREGORIAN raises
  :class:`~bot.calendar.ics.errors.IcsError`, as does any part that cannot be read. A COUNT
  below 1 beside a valid UNTIL (``COUNT=-1``, written by some exporters) is ignored with a warning.
* Far future: iteration stops at the end of ``datetime``'s range (year 9999), and a COUNT is
  counted out for at most :data:`_COUNT_LIMIT` instances (a larger one repeats on unbounded,
  with a warning: more busy time, never less).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from dateutil import rrule as du

from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.zones import Moment, _parts, _Zone, _Zones

_FREQUENCIES = {"YEARLY": du.YEARLY, "MONTHLY": du.MONTHLY, "WEEKLY": du.WEEKLY, "DAILY": du.DAILY,
                "HOURLY": du.HOURLY, "MINUTELY": du.MINUTELY, "SECONDLY": du.SECONDLY}
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_BY_INTS = {"BYSETPOS": "bysetpos", "BYMONTH": "bymonth", "BYMONTHDAY": "bymonthday",
            "BYYEARDAY": "byyearday", "BYWEEKNO": "byweekno", "BYHOUR": "byhour",
            "BYMINUTE": "byminute", "BYSECOND": "bysecond"}


_COUNT_LIMIT = 100_000
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
    def build(recur: Any, start: datetime, where: str, warnings: list[str] | None = None) -> _Rule:
        """Read an icalendar ``vRecur`` for a series starting at naive wall time ``start``.

        What was read leniently is added to ``warnings`` as one line.
        """
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
        if count is not None and count < 1 and parts.get("UNTIL", [None])[0] is not None:
            if warnings is not None:
                warnings.append(f"{where}: RRULE COUNT={count} ignored beside its UNTIL")
            count = None
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
        if count is None:
            return rule
        counted = rule.counted(start, count)
        if counted is None:
            if warnings is not None:
                warnings.append(f"{where}: RRULE COUNT={count} is over {_COUNT_LIMIT}: not counted out")
            return rule
        return counted

    def counted(self, start: datetime, count: int) -> _Rule | None:
        """This rule limited to ``count`` occurrences from ``start``, as an equivalent UNTIL.

        DTSTART always counts as the first occurrence, even when it does not match the rule.
        Expressed as a wall-clock UNTIL, the rule can be moved close to any window later.
        """
        if self.dateutil(start).after(start, inc=True) != start:
            count -= 1
        last = start - timedelta(seconds=1)
        if count > _COUNT_LIMIT:
            return None  # the rule as if unbounded: more busy time, never less
        if count > 0:
            try:
                for last in self.dateutil(start, count=count):  # noqa: B007 - the last one is wanted
                    pass
            except (ValueError, OverflowError):  # the end of datetime's range: the last one reached
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
        out: list[tuple[int, int]] = []
        try:
            for wall in self.dateutil(self.moved_start(start, datetime.fromordinal(max(lower, 1)))):
                ordinal = wall.toordinal()
                if ordinal > upper:
                    break
                out.append((ordinal, wall.hour * 3600 + wall.minute * 60 + wall.second))
        except (ValueError, OverflowError):  # dateutil stepped past year 9999: nothing is there
            pass
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
