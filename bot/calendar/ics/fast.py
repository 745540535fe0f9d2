"""The fast path of reading: VEVENT content lines decoded without building icalendar components.

Start with :func:`_decoded_events`: the lines of :func:`~bot.calendar.ics.lines._relevant_lines`
in, one :data:`Props` mapping per VEVENT out (property name -> its values, each with ``.dt`` and
``.params`` as icalendar gives them; RDATE and EXDATE with ``.dts``) plus the errors of values
that could not be read, exactly as ``icalendar.Calendar.from_ical`` would have given them.

Why hand-written: building icalendar's components costs about 2 s per megabyte of feed, nearly
all of it in generic content-line, parameter and value objects; a 5 MB feed must be read in well
under 300 ms. So only the canonical forms are decoded here (``YYYYMMDD``, ``YYYYMMDDTHHMMSS``
with an optional ``Z``, parameters without quotes, ``^`` or commas, values without backslashes,
plain integers); anything else goes to the very ``icalendar`` value type and call its parser
uses (:func:`_by_icalendar`), and VTIMEZONE blocks are read by ``icalendar`` itself
(:func:`_register_timezones`). A property-based test compares both paths on generated feeds.

TZIDs are resolved as ``icalendar`` does (its VTIMEZONE cache, IANA and Windows names), by
:class:`_Tzids`, which also reads a "globally unique" TZID such as
``/mozilla.org/20050126_1/Europe/Berlin`` as its trailing IANA name, and reports that as a
one-line warning instead of letting ``icalendar`` print a multi-line Python warning.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, tzinfo
from functools import cache
from typing import Any

import icalendar
from icalendar.parser.content_line import Contentline
from icalendar.prop import TypesFactory
from icalendar.timezone import tzp

from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.lines import _RAW_DURATION, Line, _as_text

Props = dict[str, list[Any]]
Errors = list[tuple[str | None, str]]  # (property name, message); None: a broken line
_TYPES = TypesFactory.instance() if hasattr(TypesFactory, "instance") else TypesFactory()
_UTC = tzp.localize_utc(datetime(2000, 1, 1)).tzinfo
_NO_PARAMS: dict[str, str] = {}
_DATES = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "DTSTAMP"})
_LISTS = frozenset({"RDATE", "EXDATE"})
_TZID_NAMES = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE"})  # icalendar's
_VERBATIM = frozenset({"X-MICROSOFT-CDO-BUSYSTATUS", _RAW_DURATION})  # vUnknown: not unescaped
_PLAIN_VALUES = (None, "DATE", "DATE-TIME")
_PARAM = re.compile(r';([A-Za-z0-9-]+)=(?:"([^"\s][^"]*[^"\s]|[^"\s]?)"|([^;:"\s]*))')
_TEXTS = frozenset({"UID", "STATUS", "TRANSP", "X-MICROSOFT-CDO-BUSYSTATUS", "SUMMARY", _RAW_DURATION})
_datetime_from_iso = datetime.fromisoformat
_combine = datetime.combine  # with a tzinfo: what ``replace(tzinfo=...)`` gives, several times faster
_date_from_iso = date.fromisoformat


class _Value:
    """One date, date-time or period value with its parameters (icalendar's ``vDDDTypes``)."""

    __slots__ = ("dt", "params")

    def __init__(self, dt: Any, params: Any) -> None:
        self.dt = dt
        self.params = params

    @property
    def dts(self) -> list[_Value]:
        return [self]


class _List:
    """An RDATE or EXDATE property: its values (icalendar's ``vDDDLists``)."""

    __slots__ = ("dts", "params")

    def __init__(self, dts: list[Any], params: Any) -> None:
        self.dts = dts
        self.params = params


class _Tzids:
    """TZID -> tzinfo (or None when unknown), memoised for one parse, with warnings."""

    def __init__(self, warnings: list[str]) -> None:
        self._found: dict[str, tuple[str, tzinfo | None]] = {}
        self._warnings = warnings

    def get(self, tzid: str) -> tzinfo | None:
        """The zone of ``tzid``, or None when neither the file nor the zone database knows it."""
        return self.name(tzid)[1]

    def name(self, tzid: str) -> tuple[str, tzinfo | None]:
        """The name to look ``tzid`` up by (icalendar warns about no other) and its zone."""
        try:
            return self._found[tzid]
        except KeyError:
            found = self._found[tzid] = self._resolve(tzid)
            return found

    def _resolve(self, tzid: str) -> tuple[str, tzinfo | None]:
        if not tzid.startswith("/"):
            return tzid, tzp.timezone(tzid)
        cleaned = tzid.strip("/")
        found = tzp.timezone(cleaned) if cleaned else None
        if found is not None:
            return cleaned, found
        parts = cleaned.split("/")
        for start in range(1, len(parts)):
            guess = "/".join(parts[start:])
            found = tzp.timezone(guess)
            if found is not None:
                self._warnings.append(f"time zone {tzid!r} read as {guess!r} (a vendor-prefixed TZID)")
                return guess, found
        return cleaned, None


def _register_timezones(lines: list[Line]) -> None:
    """Let ``icalendar`` read every VTIMEZONE block, as its own parser does (custom zones cached)."""
    blocks: list[Line] = []
    depth = 0
    for line in lines:
        name, rest = line
        if depth or (name == "BEGIN" and rest == ":VTIMEZONE"):
            blocks.append(line)
            depth += 1 if name == "BEGIN" else -1 if name == "END" else 0
    known = _iana_names()
    if all(rest[1:].strip("/") in known for name, rest in blocks if name == "TZID" and rest[:1] == ":"):
        return  # icalendar's parser would cache none of them: the zone database knows them all
    try:
        icalendar.Calendar.from_ical(_as_text([("BEGIN", ":VCALENDAR"), *blocks, ("END", ":VCALENDAR")]))
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IcsError(f"malformed VTIMEZONE: {detail}") from None


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _decoded_events(lines: list[Line], warnings: list[str]) -> list[tuple[Props, Errors]]:
    """Every VEVENT's properties and value errors (see the module doc)."""
    _register_timezones(lines)
    reader = _Reader(_Tzids(warnings))
    out: list[tuple[Props, Errors]] = []
    depth = 0  # components open inside the current VEVENT (none: STANDARD/DAYLIGHT only)
    props: Props | None = None
    errors: Errors = []
    for name, rest in lines:
        if name == "BEGIN":
            if rest == ":VEVENT" and props is None:
                props, errors = {}, []
            elif props is not None:
                depth += 1
            continue
        if name == "END":
            if props is not None:
                if depth:
                    depth -= 1
                else:
                    out.append((props, errors))
                    props = None
            continue
        if props is None or depth:
            continue
        value = reader.decode(name, rest, errors)
        if value is not None:
            found = props.get(name)
            if found is None:
                props[name] = [value]
            else:
                found.append(value)
    return out


class _Reader:
    """Decodes content lines; parameter heads (``;TZID=Europe/Berlin``) are read once each."""

    def __init__(self, tzids: _Tzids) -> None:
        self.tzids = tzids
        self._heads: dict[str, tuple[dict[str, str] | None, tzinfo | None]] = {"": (_NO_PARAMS, None)}

    def _head(self, head: str) -> tuple[dict[str, str] | None, tzinfo | None]:
        found = self._heads.get(head)
        if found is None:
            params = _params(head)
            tzid = params.get("TZID") if params is not None else None
            found = self._heads[head] = (params, self.tzids.get(tzid) if tzid else None)
        return found

    def decode(self, name: str, rest: str, errors: Errors) -> Any:
        """The value of one content line as icalendar gives it, or None (then in ``errors``)."""
        if rest[0] == ":":
            if name in _TEXTS and ("\\" not in rest or name in _VERBATIM):
                return rest[1:]  # plain text: as icalendar's vText (or vUnknown) reads it
            head, value = "", rest[1:]
        else:
            head, _, value = rest.partition(":")
        params, tz = self._head(head)
        if params is None or ("\\" in value and name not in _VERBATIM):
            return _by_icalendar(name, rest, self.tzids, errors)
        kind = params.get("VALUE")
        if name in _DATES or name in _LISTS:
            if name not in _TZID_NAMES:
                tz = None
            if name in _LISTS:
                if kind not in _PLAIN_VALUES and kind != "PERIOD":
                    return _by_icalendar(name, rest, self.tzids, errors)
                items = [_date_value(item, tz) for item in value.split(",")]
                if None in items:
                    return _by_icalendar(name, rest, self.tzids, errors)
                item_params = params if tz is not None else _NO_PARAMS
                return _List([_Value(item, item_params) for item in items], params)
            found = _date_value(value, tz) if kind in _PLAIN_VALUES else None
            if found is None:
                return _by_icalendar(name, rest, self.tzids, errors)
            return _Value(found, params)
        if kind is not None or name == "RRULE":
            return _by_icalendar(name, rest, self.tzids, errors)
        if name == "SEQUENCE":
            if value.isascii() and value.isdigit():
                return int(value)
            return _by_icalendar(name, rest, self.tzids, errors)
        return value


def _params(head: str) -> dict[str, str] | None:
    """``;A=1;B="x y"`` as ``{"A": "1", "B": "x y"}``, or None for anything icalendar must read.

    Left to icalendar: ``^`` escapes, lists (commas), whitespace outside quotes, odd names.
    """
    if "^" in head or "," in head:
        return None
    params: dict[str, str] = {}
    if '"' in head:
        at = 0
        for match in _PARAM.finditer(head):
            if match.start() != at:
                return None
            at = match.end()
            quoted = match.group(2)
            params[match.group(1).upper()] = quoted if quoted is not None else match.group(3)
        return params if at == len(head) else None
    if " " in head or "\t" in head:
        return None
    for item in head[1:].split(";"):
        key, equals, value = item.partition("=")
        if not equals or not key or not key.replace("-", "").isalnum() or not key.isascii():
            return None
        params[key.upper()] = value
    return params


def _date_value(text: str, tz: tzinfo | None) -> date | None:
    """A canonical DATE or DATE-TIME as ``icalendar.prop.vDDDTypes`` reads it, else None.

    ``YYYYMMDD`` and ``YYYYMMDDTHHMMSS`` of ASCII digits are read by ``fromisoformat`` (C);
    icalendar's own reading (``int`` of each field) gives the same values for them.
    """
    size = len(text)
    try:
        if size == 15 or size == 16:
            if text[8] != "T" or not (text[:8].isdigit() and text[9:15].isdigit() and text.isascii()):
                return None
            if tz is None and size == 16:
                if text[15] != "Z":
                    return None
                tz = _UTC
            value = _datetime_from_iso(text[:15] if size == 16 else text)
            return _combine(value, value.time(), tz) if tz is not None else value
        if size == 8 and text.isdigit() and text.isascii():
            if tz is not None:
                value = _datetime_from_iso(text)
                return _combine(value, value.time(), tz)
            return _date_from_iso(text)
    except ValueError:
        return None
    return None


def _by_icalendar(name: str, rest: str, tzids: _Tzids, errors: Errors) -> Any:
    """The value exactly as icalendar's component parser reads it (its types and calls)."""
    line = Contentline(name + rest)  # type: ignore[no-untyped-call]
    try:
        _, params, value = line.parts()
    except ValueError as exc:
        errors.append((name, f"malformed line: {str(exc).splitlines()[0] if str(exc) else ''}"))
        return None
    factory: Any = _TYPES.for_property(name, params.value)
    verbatim = getattr(factory, "get_value_from_content_line", None)
    if verbatim is not None:
        value = verbatim(line)
    tzid = params.get("TZID") if name in _TZID_NAMES else None
    try:
        if isinstance(tzid, str) and tzid:
            # The name resolved here, so that icalendar has no vendor prefix to guess (and warn) about.
            parsed = factory.from_ical(value, tzids.name(tzid)[0])
        else:
            parsed = factory.from_ical(value)
    except (ValueError, TypeError) as exc:
        errors.append((name, str(exc)))
        return None
    found = factory(parsed)
    found.params = params
    return found
