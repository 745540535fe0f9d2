"""Time zones and wall clocks of iCalendar data: how a date or date-time becomes an instant.

Start with :class:`_Zones`: ``zones.instant(moment, host)`` gives the epoch seconds of any
:data:`Moment`. A moment is exactly what ``icalendar`` gives for a property: an aware
date-time (its TZID already resolved by ``icalendar`` from the file's VTIMEZONE blocks, an IANA
name or a Windows name), a naive one (floating: read in the host's zone) or a date (read as the
host's local midnight). :func:`_moment` refuses a TZID ``icalendar`` could not resolve.

Nonexistent local times take the offset from before the gap; ambiguous ones are the first
occurrence (RFC 5545, fold=0), also for custom VTIMEZONE definitions. :class:`_Zone` looks at
each day once, so converting wall times is plain arithmetic except on days with an offset change.

Instants are clamped to :data:`_MIN_EPOCH` .. :data:`_MAX_EPOCH` (0001-01-03 .. 9999-12-29 UTC):
a "never ends" ``UNTIL=99991231T235959Z``, a ``DTEND`` in year 9999 or a huge ``DURATION`` reach
the end of that range instead of overflowing ``datetime`` (windows are clamped the same way).
The names here are internal to :mod:`bot.calendar.ics` (shared by its modules).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar.ics.errors import IcsError

Moment = date | datetime  # aware, naive (floating) or a date, exactly as icalendar gives them

_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)  # naive: wall seconds are counted from it


_combine = datetime.combine


def _naive(value: datetime) -> datetime:
    """``value`` without its tzinfo (``combine`` is several times cheaper than ``replace``)."""
    return _combine(value, value.time())


def _wall_seconds(wall: datetime) -> int:
    return (wall - _EPOCH) // timedelta(seconds=1)


def _parts(wall: datetime) -> tuple[int, int]:
    """``(proleptic ordinal of the day, seconds since local midnight)`` of a naive wall time."""
    return wall.toordinal(), wall.hour * 3600 + wall.minute * 60 + wall.second


_EPOCH_ORDINAL = _EPOCH.toordinal()
_UNSEEN = -1 << 40
_FIRST_ORDINAL = date(1, 1, 3).toordinal()  # two days inside datetime's range: offsets stay valid
_LAST_ORDINAL = date(9999, 12, 29).toordinal()
_MIN_EPOCH = (_FIRST_ORDINAL - _EPOCH_ORDINAL) * 86400
_MAX_EPOCH = (_LAST_ORDINAL - _EPOCH_ORDINAL) * 86400


def _clamp(epoch: int) -> int:
    """``epoch`` inside the representable range :data:`_MIN_EPOCH` .. :data:`_MAX_EPOCH`."""
    return _MIN_EPOCH if epoch < _MIN_EPOCH else _MAX_EPOCH if epoch > _MAX_EPOCH else epoch


def _epoch_of(value: datetime) -> int:
    """Epoch seconds (floored) of an aware datetime, clamped; never an OverflowError."""
    delta = value - _EPOCH.replace(tzinfo=UTC)
    return _clamp(delta // timedelta(seconds=1))


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
        """Epoch seconds of the wall time ``seconds`` after local midnight of day ``ordinal``.

        Days outside the representable range give its ends (``ordinal`` may lie far outside it);
        inside, the result is at most a day beyond them, which ``datetime`` still represents.
        """
        if seconds >= 86400 or seconds < 0:
            days, seconds = divmod(seconds, 86400)
            ordinal += days
        if ordinal < _FIRST_ORDINAL or ordinal > _LAST_ORDINAL:
            return _MIN_EPOCH if ordinal < _FIRST_ORDINAL else _MAX_EPOCH
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
        """Naive wall time of ``epoch`` (clamped to the representable range) in this zone."""
        return _naive(datetime.fromtimestamp(_clamp(epoch), self.tz))

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
            tz = value.tzinfo
            if tz is None:
                return host.epoch(value)
            if type(tz) is ZoneInfo and not value.microsecond:  # fold=0 is RFC 5545's reading too
                try:
                    return _clamp(int(value.timestamp()))
                except (OverflowError, ValueError):
                    pass  # next to year 1 or 9999: the clamped arithmetic below
            return self.get(tz).epoch(_naive(value))
        return host.epoch(datetime.combine(value, time()))



def _is_fixed(value: Moment) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _wall(value: Moment) -> datetime:
    """Naive wall-clock reading of a moment (a date is its midnight)."""
    if isinstance(value, datetime):
        return _naive(value)
    return datetime.combine(value, time())



def _moment(prop: Any, name: str, where: str) -> Moment:
    value = prop.dt
    if isinstance(value, datetime) and value.tzinfo is None and "TZID" in prop.params:
        raise IcsError(f"{where}: unknown time zone {prop.params['TZID']!r} in {name}")
    if not isinstance(value, date):
        raise IcsError(f"{where}: {name} is not a date or date-time")
    return value


def _naive_utc(value: datetime) -> timedelta:
    """A rough UTC reading for sanity checks (floating times taken as UTC), as time since 1970."""
    offset = value.utcoffset() if value.tzinfo is not None else None
    return _naive(value) - _EPOCH - (offset or timedelta())

