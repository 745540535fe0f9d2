"""Reading iCalendar (.ics) data into Slotbot's own event records: :func:`parse_ics`.

Start with :func:`parse_ics`: bytes or text of one or more VCALENDARs in, an
:class:`~bot.calendar.ics.expand.IcsCalendar` out (ready to expand for any window, with its
one-line ``warnings``), or :class:`~bot.calendar.ics.errors.IcsError` with a one-line message.

The content lines that can affect busy time are picked out first
(:func:`~bot.calendar.ics.lines._relevant_lines`, which also repairs what mainstream programs
write wrongly), then decoded by the fast path (:mod:`bot.calendar.ics.fast`); the same lines
read by plain ``icalendar`` (:func:`_parse_with_icalendar`) give the same result, which a test
checks. Each VEVENT becomes an :class:`_Event`: its DTSTART, its :class:`_Length`, how it shows,
its rules, RDATEs, EXDATEs, RECURRENCE-ID (and RANGE), SEQUENCE and DTSTAMP.

* ``DTEND`` absent: ``DURATION`` (weeks and days nominal, hours to seconds exact), else one day
  for a DATE and zero length for a DATE-TIME. DURATION is read here, verbatim: ``icalendar``
  reads PT24H as P1D. A DTEND without a zone beside a DTSTART with one borrows DTSTART's zone
  (invalid, but written by real programs).
* Copies of one event (same UID and RECURRENCE-ID, e.g. a series imported twice): the highest
  SEQUENCE, then the latest DTSTAMP, replaces the others, as calendar apps do on import; copies
  that tie on both are all kept (busy time is never dropped on a guess).
* A series whose every instance lasts over ten years (a far-future DTEND with an RRULE) is read
  as busy from DTSTART on, with a warning: more busy time, never less.
* A VEVENT without DTSTART is skipped with a warning when the file has readable events too (an
  undated entry cannot block time); anything else that cannot be read with certainty (a broken
  DTSTART, an unknown TZID, an event ending before it starts) raises
  :class:`~bot.calendar.ics.errors.IcsError`: a calendar that cannot be read is unknown.
* ``X-WR-TIMEZONE`` is not applied: floating times stay in the host's zone (RFC 5545's meaning,
  and the calendar owner's zone for the feeds Slotbot reads), UTC values stay UTC. The
  ``x-wr-timezone`` library would also move every UTC value into that zone's wall clock, which
  changes how UTC-based RRULEs repeat across DST.
"""

from __future__ import annotations

import re
import warnings as python_warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import icalendar

from bot.calendar.base import ShowAs
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar, show_as
from bot.calendar.ics.fast import Errors, Props, _decoded_events
from bot.calendar.ics.lines import _KEEP_PROPERTIES, _RAW_DURATION, _as_text, _relevant_lines
from bot.calendar.ics.recurrence import _Rule
from bot.calendar.ics.zones import Moment, _moment, _naive, _naive_utc, _wall

_DURATION = re.compile(
    r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?"
)
_MAX_DAYS = 3_660_000  # more than datetime's whole range: longer lengths reach its end anyway
_SERIES_LIMIT = timedelta(days=3653)  # a series whose instances last longer: busy from DTSTART on
_ORDER_ONLY = frozenset({"SEQUENCE", "DTSTAMP"})  # unreadable: the copy just does not win


class _Undated(IcsError):
    """A VEVENT without DTSTART (skipped when the file has readable events)."""


def _duration(text: str, where: str) -> tuple[int, int]:
    """``(nominal days, exact seconds)`` of an iCalendar DURATION value (huge ones clamped)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()[1:]):
        raise IcsError(f"{where}: invalid DURATION {text.strip()!r}")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    if sign == "-":
        raise IcsError(f"{where}: negative DURATION {text.strip()!r}")
    nominal = int(weeks or 0) * 7 + int(days or 0)
    exact = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    return min(nominal, _MAX_DAYS), min(exact, _MAX_DAYS * 86400)


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
        if end.tzinfo is start.tzinfo:
            wall = end - start  # one tzinfo (or none): Python subtracts the wall clocks
        else:
            wall = _naive(end) - _naive(start)
        return _Length(end=end, longest=abs(wall) + timedelta(days=2))


@dataclass(slots=True)  # not frozen: thousands are built per feed; nothing changes them
class _Event:
    """One VEVENT as read: timing, recurrence, how it shows, and which copy of it this is."""

    uid: str
    start: Moment
    length: _Length
    show: ShowAs
    cancelled: bool
    rules: tuple[_Rule, ...]
    rdates: tuple[tuple[Moment, Moment | timedelta | None], ...]
    exdates: tuple[Moment, ...]
    recurrence_id: Moment | None
    this_and_future: bool = False  # RECURRENCE-ID;RANGE=THISANDFUTURE
    sequence: int = 0
    stamp: Moment | None = None  # DTSTAMP
    title: str = ""  # SUMMARY


def _one(props: Props, name: str, where: str) -> Any:
    values = props.get(name, ())
    if len(values) > 1:
        raise IcsError(f"{where}: more than one {name}")
    return values[0] if values else None


def _text(props: Props, name: str) -> str:
    values = props.get(name)
    return str(values[0] or "") if values else ""


def _read_event(props: Props, errors: Errors, index: int, warnings: list[str]) -> _Event:
    get = props.get
    uids = get("UID")
    uid = str(uids[0] or "") if uids else ""
    where = f"event {uid or '#' + str(index)}"
    for name, message in errors:
        upper = str(name).upper()
        if (upper in _KEEP_PROPERTIES or upper == _RAW_DURATION) and upper not in _ORDER_ONLY:
            label = "DURATION" if upper == _RAW_DURATION else upper
            raise IcsError(f"{where}: malformed {label}: {str(message).splitlines()[0] if message else ''}")
    starts = get("DTSTART")
    if not starts:
        raise _Undated(f"{where}: no DTSTART")
    start = _moment(_one(props, "DTSTART", where), "DTSTART", where)
    end_prop = _one(props, "DTEND", where) if "DTEND" in props else None
    raw_duration = _one(props, _RAW_DURATION, where) if _RAW_DURATION in props else None
    if end_prop is not None:
        end = _moment(end_prop, "DTEND", where)
        if isinstance(start, datetime):
            if not isinstance(end, datetime):
                end = datetime.combine(end, time(), start.tzinfo)
            elif end.tzinfo is None and start.tzinfo is not None:
                end = datetime.combine(end, end.time(), start.tzinfo)  # invalid, but written: start's zone
            if (end < start) if (end.tzinfo is None) is (start.tzinfo is None) else (
                    _naive_utc(end) < _naive_utc(start)):
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
            min(days + (1 if seconds else 0), _MAX_DAYS))
    else:
        length = _Length.nominal(0 if isinstance(start, datetime) else 1)
    status = _text(props, "STATUS")
    rid_prop = _one(props, "RECURRENCE-ID", where) if "RECURRENCE-ID" in props else None
    rules: tuple[_Rule, ...] = ()
    if "RRULE" in props:
        rules = tuple(_Rule.build(r, _wall(start), where, warnings) for r in props["RRULE"])
    if rules and length.longest > _SERIES_LIMIT:  # every window would overlap thousands of instances
        warnings.append(f"{where}: each instance lasts over {_SERIES_LIMIT.days // 365} years: "
                        "read as busy from DTSTART on")
        rules = ()
        length = _Length.until(start, datetime(9999, 12, 31, tzinfo=start.tzinfo)) if isinstance(
            start, datetime) else _Length.nominal(date.max.toordinal() - start.toordinal())
    transp, busy = _text(props, "TRANSP"), _text(props, "X-MICROSOFT-CDO-BUSYSTATUS")
    return _Event(
        uid or f"\0{index}",
        start,
        length,
        _shown(status, transp, busy) if status or transp or busy else ShowAs.BUSY,
        status.upper() == "CANCELLED",
        rules,
        tuple(_dates(props, "RDATE", where)) if "RDATE" in props else (),
        tuple(moment for moment, _ in _dates(props, "EXDATE", where)) if "EXDATE" in props else (),
        _moment(rid_prop, "RECURRENCE-ID", where) if rid_prop is not None else None,
        rid_prop is not None and str(rid_prop.params.get("RANGE", "")).upper() == "THISANDFUTURE",
        _sequence(props) if "SEQUENCE" in props else 0,
        _stamp(props) if "DTSTAMP" in props else None,
        _text(props, "SUMMARY").strip(),
    )


@lru_cache(maxsize=256)
def _shown(status: str, transp: str, busystatus: str) -> ShowAs:
    return show_as(status=status, transp=transp, busystatus=busystatus)


def _dates(props: Props, name: str, where: str) -> list[tuple[Moment, Moment | timedelta | None]]:
    """RDATE or EXDATE values as ``(moment, period end or length or None)``."""
    out: list[tuple[Moment, Moment | timedelta | None]] = []
    for prop in props.get(name, ()):
        for item in prop.dts:
            value = item.dt
            if isinstance(value, tuple):
                out.append((_moment(_Boxed(value[0], prop.params), name, where), value[1]))
            else:  # the property's TZID: an unknown one leaves its values naive
                out.append((_moment(_Boxed(value, prop.params), name, where), None))
    return out


def _sequence(props: Props) -> int:
    values = props.get("SEQUENCE")
    try:
        return int(values[0]) if values else 0
    except (TypeError, ValueError):
        return 0


def _stamp(props: Props) -> Moment | None:
    values = props.get("DTSTAMP")
    value = getattr(values[0], "dt", None) if values else None
    return value if isinstance(value, date) else None


def _rank(event: _Event) -> tuple[int, bool, timedelta]:
    """Which copy of an event wins: SEQUENCE, then DTSTAMP (a copy without one loses)."""
    stamp = event.stamp
    if stamp is None:
        return event.sequence, False, timedelta()
    return event.sequence, True, _naive_utc(stamp if isinstance(stamp, datetime) else
                                            datetime.combine(stamp, time()))


@dataclass(frozen=True, slots=True)
class _Boxed:
    dt: Any
    params: Any


def _instance_key(value: Moment | None) -> object:
    """Which instance a RECURRENCE-ID names, whatever zone it is written in."""
    if isinstance(value, datetime):
        return ("at", _naive_utc(value)) if value.tzinfo is not None else ("wall", value)
    return value


def _latest(events: Sequence[_Event]) -> list[_Event]:
    """The events less the copies a higher SEQUENCE (then a later DTSTAMP) replaces."""
    groups: dict[tuple[str, object], list[_Event]] = {}
    for event in events:
        groups.setdefault((event.uid, _instance_key(event.recurrence_id)), []).append(event)
    if len(groups) == len(events):
        return list(events)
    losers: set[int] = set()
    for copies in groups.values():
        if len(copies) > 1:
            best = max(_rank(e) for e in copies)
            losers.update(id(e) for e in copies if _rank(e) != best)
    return [e for e in events if id(e) not in losers]


def _calendar(decoded: Sequence[tuple[Props, Errors]], warnings: list[str]) -> IcsCalendar:
    """The calendar of decoded VEVENTs: undated ones skipped (with a warning), copies resolved."""
    events: list[_Event] = []
    undated: list[str] = []
    for index, (props, errors) in enumerate(decoded, 1):
        try:
            events.append(_read_event(props, errors, index, warnings))
        except _Undated as exc:
            undated.append(str(exc))
    if undated and not events:
        raise IcsError(undated[0])
    warnings.extend(f"{message}: skipped" for message in undated)
    return IcsCalendar(_latest(events), warnings=warnings)


def _decoded(data: bytes | str) -> tuple[str, list[tuple[str, str]]]:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if "BEGIN:VCALENDAR" not in text.upper():
        raise IcsError("not an iCalendar file (no BEGIN:VCALENDAR)")
    lines = _relevant_lines(text)
    if ("BEGIN", ":VCALENDAR") not in lines:
        raise IcsError("not an iCalendar file (no VCALENDAR)")
    return text, lines


def parse_ics(data: bytes | str) -> IcsCalendar:
    """Parse iCalendar data (one or more VCALENDARs) into an :class:`IcsCalendar`.

    Raises :class:`IcsError` (one-line message) for anything it cannot read with certainty;
    what was skipped or guessed is in the result's ``warnings`` (one line each).
    """
    _, lines = _decoded(data)
    warnings: list[str] = []
    return _calendar(_decoded_events(lines, warnings), warnings)


def _parse_with_icalendar(data: bytes | str) -> IcsCalendar:
    """:func:`parse_ics` with every VEVENT built by plain ``icalendar`` (the reference path)."""
    _, lines = _decoded(data)
    warnings: list[str] = []
    try:
        with python_warnings.catch_warnings(record=True) as caught:
            python_warnings.simplefilter("always")
            calendars = icalendar.Calendar.from_ical(_as_text(lines), multiple=True)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IcsError(f"malformed iCalendar data: {detail}") from None
    warnings.extend(" ".join(str(w.message).split()) for w in caught)
    decoded: list[tuple[Props, Errors]] = []
    for calendar in calendars:
        for component in calendar.walk("VEVENT"):
            props = {name: _values(component, name) for name in _KEEP_PROPERTIES | {_RAW_DURATION}}
            decoded.append(({k: v for k, v in props.items() if v}, list(component.errors)))
    return _calendar(decoded, warnings)


def _values(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
