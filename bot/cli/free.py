"""``slotbot free``: free slots computed from exported .ics files (issue 3, X3).

To check one's own week or debug a calendar::

    slotbot free --ics work.ics --ics home.ics --from 2025-03-24 --tz Europe/Copenhagen --json

``bot/cli.py`` registers the subcommand with :func:`add_free_parser`; the handler is
:func:`run_free`. ``python -m bot.cli.free ARGS`` runs the same command on its own (:func:`main`).
The work happens in :mod:`bot.calendar.ics` (reading) and :mod:`bot.availability` (slots); this
module only turns arguments into rules and the result into JSON or a table. Bad input ends with
exactly one line on stderr and exit code 2. What the reader skipped or read leniently (an undated
event, a vendor-prefixed TZID...) is printed as one ``slotbot free: FILE: warning: ...`` line each
on stderr, Python warnings from the libraries included; the answer is still given (exit 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.availability import AvailabilityResult, AvailabilityRules, Interval, WorkRange, slots_from_intervals
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.parse import parse_ics
from bot.cli.caldav import CalDavFailed, caldav_busy
from bot.cli.ews import EwsFailed, ews_busy
from bot.cli.feeds import FeedFailed, feed_bytes, is_feed_address, source_name

USAGE_ERROR = 2
DEFAULT_HOURS = "mon-fri 09:00-17:00"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class FreeError(Exception):
    """Bad input for ``slotbot free``; the message is one line for stderr."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` as one line and exit 2."""
        self.exit(USAGE_ERROR, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values are checked in run_free, so every mistake gets the same one-line treatment.
    add = parser.add_argument
    add("--ics", action="append", metavar="PATH|URL",
        help="an .ics file or an https:// / webcal:// feed address (repeatable)")
    add("--ews", metavar="URL", help="an Exchange EWS URL (password from SLOTBOT_EWS_PASSWORD)")
    add("--ews-email", metavar="ADDRESS", help="the Exchange mailbox's e-mail address")
    add("--ews-user", metavar="NAME", help="the sign-in name when not the address (DOMAIN\\user or UPN)")
    add("--ews-auth", metavar="ntlm|basic",
        help="insist on a sign-in method (default: what the server offers)")
    add("--caldav", metavar="URL",
        help="a CalDAV server; every calendar is read (SLOTBOT_CALDAV_USERNAME/_PASSWORD or ~/.netrc)")
    add("--from", dest="start", metavar="YYYY-MM-DD", help="first day of the window (local, --tz)")
    add("--days", default="7", metavar="N", help="number of days in the window (default 7)")
    add("--tz", metavar="IANA_ZONE", help="the host's time zone, e.g. Europe/Copenhagen")
    add("--duration", default="30", metavar="MIN", help="slot length in minutes (default 30)")
    add("--increment", metavar="MIN", help="minutes between slot starts (default: the duration)")
    add("--hours", action="append", metavar="SPEC",
        help=f'working hours "DAYS HH:MM-HH:MM[,HH:MM-HH:MM]", repeatable (default "{DEFAULT_HOURS}")')
    add("--buffer-before", default="0", metavar="MIN", help="free minutes needed before a slot")
    add("--buffer-after", default="0", metavar="MIN", help="free minutes needed after a slot")
    add("--notice", default="0", metavar="MIN", help="minimum notice in minutes from --now")
    add("--now", metavar="ISO8601", help="the current time, with its UTC offset (default: now)")
    add("--json", action="store_true", help='print {"timezone", "busy", "slots"} as JSON')


def add_free_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``free`` subcommand (handler :func:`run_free`) on ``subparsers``.

    Usage errors inside ``free`` are one line. For errors the top-level parser reports itself
    (an unknown option), make it a :class:`OneLineArgumentParser` too.
    """
    parser = subparsers.add_parser(
        "free",
        help="free slots from exported .ics files",
        description="Compute free slots from .ics exports in [--from 00:00, --from + N days) "
        "local time in --tz, with working hours, buffers and notice.",
    )
    if not isinstance(parser, OneLineArgumentParser):
        one_line = OneLineArgumentParser(prog=parser.prog)
        parser.error = one_line.error  # type: ignore[method-assign]
    _add_arguments(parser)
    parser.set_defaults(handler=run_free)


def _minutes(value: str | None, name: str, *, minimum: int) -> int:
    if value is None or not re.fullmatch(r"\s*\d+\s*", value):
        raise FreeError(f"{name} must be a whole number of minutes, not {value!r}")
    number = int(value)
    if number < minimum:
        raise FreeError(f"{name} must be at least {minimum}")
    return number


def _clock(text: str, spec: str, *, end: bool) -> time:
    match = _CLOCK.fullmatch(text)
    if not match:
        raise FreeError(f"bad --hours SPEC {spec!r}: {text!r} is not HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if end and (hour, minute) == (24, 0):
        return time(0)
    if hour > 23 or minute > 59:
        raise FreeError(f"bad --hours SPEC {spec!r}: {text!r} is not a time of day")
    return time(hour, minute)


def _day(text: str, spec: str) -> int:
    try:
        return _DAYS.index(text.lower())
    except ValueError:
        raise FreeError(f"bad --hours SPEC {spec!r}: {text!r} is not a day (mon..sun)") from None


def parse_hours(spec: str) -> tuple[tuple[int, ...], tuple[WorkRange, ...]]:
    """Weekdays (0 = Monday) and ranges of one ``--hours`` SPEC, e.g. ``"mon-fri 09:00-17:00"``.

    DAYS is a day, a range ``mon-fri`` (it may wrap: ``fri-mon``) or a comma list; ranges are
    ``HH:MM-HH:MM`` separated by commas, ``24:00`` allowed as an end. Raises :class:`FreeError`.
    """
    parts = spec.split()
    if len(parts) < 2:
        raise FreeError(f"bad --hours SPEC {spec!r}: expected \"DAYS HH:MM-HH:MM[,HH:MM-HH:MM]\"")
    days: list[int] = []
    for item in parts[0].split(","):
        first, dash, last = item.partition("-")
        if not dash:
            days.append(_day(first, spec))
            continue
        a, b = _day(first, spec), _day(last, spec)
        days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    ranges: list[WorkRange] = []
    for item in "".join(parts[1:]).split(","):
        first, dash, last = item.partition("-")
        if not dash:
            raise FreeError(f"bad --hours SPEC {spec!r}: {item!r} is not HH:MM-HH:MM")
        start, end = _clock(first, spec, end=False), _clock(last, spec, end=True)
        if end != time(0) and end <= start:
            raise FreeError(f"bad --hours SPEC {spec!r}: {item!r} ends before it starts")
        ranges.append((start, end))
    return tuple(dict.fromkeys(days)), tuple(ranges)


def _zone(name: str | None) -> ZoneInfo:
    if not name:
        raise FreeError("--tz is required (an IANA zone such as Europe/Copenhagen)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FreeError(f"unknown time zone {name!r} (expected an IANA zone, e.g. Europe/Paris)") from None


def _start_day(text: str | None) -> date:
    if text is None:
        raise FreeError("--from is required (YYYY-MM-DD)")
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise FreeError(f"bad date {text!r} for --from (expected YYYY-MM-DD)") from None


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FreeError(f"bad --now {text!r} (expected ISO 8601 with an offset)") from None
    if value.tzinfo is None:
        raise FreeError(f"--now {text!r} needs a UTC offset, e.g. 2025-03-03T08:00:00+01:00")
    return value


def _compute(args: argparse.Namespace) -> tuple[ZoneInfo, AvailabilityResult]:
    if not args.ics and not args.ews and not args.caldav:
        raise FreeError("--ics, --ews or --caldav is required (an .ics file, repeatable; an Exchange EWS "
                        "URL; or a CalDAV server's URL)")
    zone = _zone(args.tz)
    first = _start_day(args.start)
    days = _minutes(args.days, "--days", minimum=1)
    duration = _minutes(args.duration, "--duration", minimum=1)
    increment = _minutes(args.increment, "--increment", minimum=1) if args.increment is not None else None
    weekly: dict[int, tuple[WorkRange, ...]] = {}
    for spec in args.hours or [DEFAULT_HOURS]:
        weekdays, ranges = parse_hours(spec)
        for weekday in weekdays:
            weekly[weekday] = weekly.get(weekday, ()) + ranges
    rules = AvailabilityRules(
        timezone=zone.key,
        weekly=weekly,
        durations=(duration,),
        increment_minutes=increment,
        buffer_before_minutes=_minutes(args.buffer_before, "--buffer-before", minimum=0),
        buffer_after_minutes=_minutes(args.buffer_after, "--buffer-after", minimum=0),
        minimum_notice_minutes=_minutes(args.notice, "--notice", minimum=0),
        horizon_days=None,
        max_per_day=None,
    )
    now = _now(args.now)
    try:
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
    except OverflowError:
        raise FreeError(f"--from {first} plus {days} days is past the end of the calendar") from None
    busy: list[Interval] = []
    if args.ews:
        try:
            busy.extend(ews_busy(url=args.ews, email=args.ews_email, user=args.ews_user, auth=args.ews_auth,
                                 start=start, end=end, zone=zone))
        except EwsFailed as exc:
            raise FreeError(f"--ews: {exc}") from None
    if args.caldav:
        try:
            busy.extend(caldav_busy(url=args.caldav, start=start, end=end, zone=zone))
        except CalDavFailed as exc:
            raise FreeError(f"--caldav: {exc}") from None
    for path in args.ics or ():
        try:
            data = feed_bytes(path) if is_feed_address(path) else Path(path).read_bytes()
        except (OSError, FeedFailed) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise FreeError(f"cannot read {source_name(path)}: {reason}") from None
        try:
            with warnings.catch_warnings(record=True) as caught:  # the CLI's one thread
                warnings.simplefilter("always")
                calendar = parse_ics(data)
                busy.extend(calendar.busy_intervals(start, end, zone))
        except IcsError as exc:
            raise FreeError(f"{source_name(path)}: {exc}") from None
        for message in (*calendar.warnings, *(str(w.message) for w in caught)):
            print(f"slotbot free: {source_name(path)}: warning: {_one_line(message)}", file=sys.stderr)
    result = slots_from_intervals(rules, window_start=start, window_end=end, now=now, busy=busy)
    return zone, result


def _iso(epoch: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, zone).isoformat()


def render_json(zone: ZoneInfo, result: AvailabilityResult) -> str:
    """The ``--json`` document: ``{"timezone", "busy", "slots"}`` with offsets of ``zone``."""
    document = {
        "timezone": zone.key,
        "busy": [{"start": _iso(s, zone), "end": _iso(e, zone)} for s, e in result.busy_seconds],
        "slots": [
            {"start": slot.start.astimezone(zone).isoformat(), "end": slot.end.astimezone(zone).isoformat()}
            for slot in result.slots
        ],
    }
    return json.dumps(document, indent=2)


def render_table(zone: ZoneInfo, result: AvailabilityResult) -> str:
    """A readable listing: busy time, then free slots grouped by local day."""
    lines = [f"Time zone: {zone.key}", "", "Busy:"]
    for s, e in result.busy_seconds:
        start, end = datetime.fromtimestamp(s, zone), datetime.fromtimestamp(e, zone)
        until = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%a %Y-%m-%d %H:%M")
        lines.append(f"  {start:%a %Y-%m-%d %H:%M} - {until}")
    if not result.busy_seconds:
        lines.append("  (nothing)")
    lines += ["", "Free slots:"]
    by_day: dict[date, list[str]] = {}
    for slot in result.slots:
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        by_day.setdefault(start.date(), []).append(f"{start:%H:%M}-{end:%H:%M}")
    for day, slots in by_day.items():
        lines.append(f"  {day:%a %Y-%m-%d}  " + "  ".join(slots))
    if not by_day:
        lines.append("  (none)")
    return "\n".join(lines)


def run_free(args: argparse.Namespace) -> int:
    """Run ``slotbot free`` for parsed ``args``; return the exit code (2 for bad input)."""
    try:
        zone, result = _compute(args)
    except FreeError as exc:
        print(f"slotbot free: {_one_line(str(exc))}", file=sys.stderr)
        return USAGE_ERROR
    try:
        print(render_json(zone, result) if args.json else render_table(zone, result))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # the interpreter flushes stdout once more at exit
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``slotbot free`` on its own: parse ``argv`` (default ``sys.argv[1:]``) and run."""
    parser = OneLineArgumentParser(prog="slotbot free", description="Free slots from .ics exports.")
    _add_arguments(parser)
    return run_free(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
