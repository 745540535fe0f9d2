"""Time zones as EWS speaks them: Windows zone ids, server definitions and the request's own rules.

* An item's IANA zone goes on the wire as its Windows id (``StartTimeZone Id="W. Europe Standard
  Time"``), through the CLDR table exchangelib ships (:mod:`exchangelib.winzone`).
* ``GetServerTimeZones`` answers ``TimeZoneDefinition`` elements (periods and yearly transition
  rules) derived from the IANA data for the current year, as a Windows server describes its zones.
* ``GetUserAvailability`` states its zone as a ``SerializableTimeZone`` (a bias and two yearly
  rules); :class:`RuleZone` evaluates it, as Exchange does, to write the free/busy times in local
  time without an offset.
"""

from __future__ import annotations

import calendar
import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import IANA_TO_MS_TIMEZONE_MAP, MS_TIMEZONE_TO_IANA_MAP

from bot.demo.ews.soap import Node, find, text_of

UTC = dt.UTC
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def windows_id(iana: str) -> str:
    """The Windows zone id for an IANA name (``UTC`` for UTC and unknown names)."""
    if iana in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    entry = IANA_TO_MS_TIMEZONE_MAP.get(iana)
    return "UTC" if entry is None else str(entry[0])


def iana_name(windows: str) -> str | None:
    """The IANA name for a Windows zone id, or None if unknown."""
    if windows == "UTC":
        return "UTC"
    found = MS_TIMEZONE_TO_IANA_MAP.get(windows)
    return None if found is None else str(found)


def _duration(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    return f"{sign}PT{abs(minutes)}M"


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta]]:
    """(UTC instant, offset before, offset after) for each offset change in ``year``."""
    found = []
    moment = dt.datetime(year, 1, 1, tzinfo=UTC)
    step = dt.timedelta(days=1)
    before = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        after = (moment + step).astimezone(zone).utcoffset()
        if after != before and before is not None and after is not None:
            low, high = moment, moment + step
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            instant = high.replace(second=0, microsecond=0)
            found.append((instant, before, after))
            before = after
        moment += step
    return found


def _rule(instant: dt.datetime, before: dt.timedelta, period: str) -> Node:
    wall = (instant + before).replace(tzinfo=None)
    last_day = calendar.monthrange(wall.year, wall.month)[1]
    occurrence = -1 if wall.day + 7 > last_day else (wall.day - 1) // 7 + 1
    return Node(
        "t:RecurringDayTransition",
        None,
        [
            Node("t:To", period, Kind="Period"),
            Node("t:TimeOffset", f"PT{wall.hour * 60 + wall.minute}M"),
            Node("t:Month", str(wall.month)),
            Node("t:DayOfWeek", WEEKDAYS[wall.weekday()]),
            Node("t:Occurrence", str(occurrence)),
        ],
    )


def definition(windows: str, year: int | None = None) -> Node | None:
    """A full ``TimeZoneDefinition`` for a Windows id (None if the id is unknown)."""
    iana = iana_name(windows)
    if iana is None:
        return None
    try:
        zone = ZoneInfo(iana)
    except ZoneInfoNotFoundError:
        return None
    year = year or dt.datetime.now(UTC).year
    changes = _transitions(zone, year)
    january = dt.datetime(year, 1, 1, tzinfo=UTC).astimezone(zone)
    standard = min(
        [january.utcoffset() or dt.timedelta(0), *(c[2] for c in changes), *(c[1] for c in changes)]
    )
    periods = [
        Node("t:Period", Bias=_duration(-int(standard.total_seconds() // 60)), Name="Standard", Id="std")
    ]
    group = Node("t:TransitionsGroup", Id="0")
    if len(changes) >= 2:
        daylight = max(c[2] for c in changes)
        periods.append(
            Node("t:Period", Bias=_duration(-int(daylight.total_seconds() // 60)), Name="Daylight", Id="dlt")
        )
        for instant, before, after in changes[:2]:
            group.add(_rule(instant, before, "dlt" if after > before else "std"))
    else:
        group.add(Node("t:Transition", None, [Node("t:To", "std", Kind="Period")]))
    return Node(
        "t:TimeZoneDefinition",
        None,
        [
            Node("t:Periods", None, periods),
            Node("t:TransitionsGroups", None, [group]),
            Node("t:Transitions", None, [Node("t:Transition", None, [Node("t:To", "0", Kind="Group")])]),
        ],
        Id=windows,
        Name=windows,
    )


@dataclass(frozen=True)
class _Change:
    bias: int
    time: dt.time
    order: int
    month: int
    weekday: int

    def local(self, year: int) -> dt.datetime:
        """The wall-clock moment of this change in ``year``."""
        first = dt.date(year, self.month, 1)
        day = 1 + (self.weekday - first.weekday()) % 7 + 7 * (self.order - 1)
        while day > calendar.monthrange(year, self.month)[1]:
            day -= 7
        return dt.datetime.combine(dt.date(year, self.month, day), self.time)


def _change(element: ET.Element | None) -> _Change | None:
    if element is None:
        return None
    try:
        hours, minutes, *_ = (int(p) for p in text_of(element, "t:Time", "00:00:00").split(":"))
        return _Change(
            bias=int(text_of(element, "t:Bias", "0")),
            time=dt.time(hours, minutes),
            order=int(text_of(element, "t:DayOrder", "1")),
            month=int(text_of(element, "t:Month", "1")),
            weekday=WEEKDAYS.index(text_of(element, "t:DayOfWeek", "Sunday")),
        )
    except ValueError:
        return None


@dataclass(frozen=True)
class RuleZone:
    """A ``SerializableTimeZone``: a base bias and optional standard/daylight yearly rules."""

    bias: int
    standard: _Change | None
    daylight: _Change | None

    @classmethod
    def from_xml(cls, element: ET.Element | None) -> RuleZone:
        """Read ``t:TimeZone`` (missing: UTC)."""
        if element is None:
            return cls(0, None, None)
        std, dst = find(element, "t:StandardTime"), find(element, "t:DaylightTime")
        return cls(int(text_of(element, "t:Bias", "0")), _change(std), _change(dst))

    def _offset_minutes(self, instant: dt.datetime) -> int:
        std, dst = self.standard, self.daylight
        if std is None or dst is None or std.bias == dst.bias or std.month == 0 or dst.month == 0:
            return -(self.bias + (std.bias if std else 0))
        year = instant.year
        dst_starts = dst.local(year) + dt.timedelta(minutes=self.bias + std.bias)
        std_starts = std.local(year) + dt.timedelta(minutes=self.bias + dst.bias)
        moment = instant.astimezone(UTC).replace(tzinfo=None)
        if dst_starts < std_starts:
            summer = dst_starts <= moment < std_starts
        else:
            summer = not std_starts <= moment < dst_starts
        return -(self.bias + (dst.bias if summer else std.bias))

    def local(self, instant: dt.datetime) -> dt.datetime:
        """The naive wall-clock time of a UTC instant in this zone."""
        minutes = self._offset_minutes(instant)
        return (instant.astimezone(UTC) + dt.timedelta(minutes=minutes)).replace(tzinfo=None)

    def to_utc(self, wall: dt.datetime) -> dt.datetime:
        """A naive wall-clock time in this zone as a UTC instant (first guess, then corrected)."""
        guess = wall.replace(tzinfo=UTC) - dt.timedelta(minutes=-(self.bias))
        minutes = self._offset_minutes(guess)
        return wall.replace(tzinfo=UTC) - dt.timedelta(minutes=minutes)
