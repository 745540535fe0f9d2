"""Reading iCalendar (.ics) data into Slotbot's own event records: :func:`parse_ics`.

Start with :func:`parse_ics`: bytes or text of one or more VCALENDARs in, an
:class:`~bot.calendar.ics.expand.IcsCalendar` out (ready to expand for any window), or
:class:`~bot.calendar.ics.errors.IcsError` with a one-line message.

Parsing uses the ``icalendar`` library. Before handing text to it, content lines that cannot
affect busy time (descriptions, attendees, alarms...) are dropped (:func:`_relevant_lines`),
which makes parsing faster than plain ``icalendar`` on real exports. Each VEVENT becomes an
:class:`_Event`: its DTSTART, its :class:`_Length`, how it shows, its rules, RDATEs, EXDATEs
and RECURRENCE-ID.

* ``DTEND`` absent: ``DURATION`` (weeks and days nominal, hours to seconds exact), else one day
  for a DATE and zero length for a DATE-TIME. DURATION is read here, verbatim: ``icalendar``
  reads PT24H as P1D.
* Anything that cannot be read with certainty (a broken date, an unknown TZID, an event ending
  before it starts) raises :class:`~bot.calendar.ics.errors.IcsError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import icalendar

from bot.calendar.base import ShowAs
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar, show_as
from bot.calendar.ics.recurrence import _Rule
from bot.calendar.ics.zones import Moment, _moment, _naive_utc, _wall

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

