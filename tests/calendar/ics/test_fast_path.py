# ruff: noqa: E501 - iCalendar lines read best unbroken
"""The fast path reads exactly what plain icalendar reads (issue item 14).

:func:`parse_ics` decodes content lines itself; :func:`_parse_with_icalendar` builds every VEVENT
with ``icalendar.Calendar.from_ical``. On generated feeds (zones of every kind, quoted and
lower-case names, folds, escapes, rules, RDATE periods, EXDATEs, overrides, copies, noise) both
must give the same occurrences in every window and host, the same warnings, or both refuse.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar
from bot.calendar.ics.parse import _parse_with_icalendar, parse_ics
from tests.calendar.ics.test_lenient import berlin_rules
from tests.support.paths import DATA

CUSTOM = "Slotbot Fuzz Berlin"  # a name of this test only: icalendar caches custom zones process-wide
ZONES = ["Z", "", "DATE", "Europe/Copenhagen", '"America/New_York"', "Asia/Kathmandu", f'"{CUSTOM}"',
         "Romance Standard Time", "Mars/Olympus"]
WINDOWS = [(datetime(2025, 2, 20, tzinfo=UTC), datetime(2025, 4, 10, tzinfo=UTC)),
           (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC))]
HOSTS = [ZoneInfo("Europe/Copenhagen"), ZoneInfo("Pacific/Kiritimati")]
NOISE = [
    "DESCRIPTION:Agenda\\, notes\\; and a long line that goes on and on and on and on and on and on and on\r\n  folded here",
    'ATTENDEE;CN="Doe, Jane";ROLE=REQ-PARTICIPANT:mailto:jane@example.com',
    "X-GOOGLE-CONFERENCE:https://meet.example.com/abc",
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDTSTART:19990101T000000Z\r\nEND:VALARM",
    "SUMMARY;LANGUAGE=en:Planning: DTSTART:20250101T000000Z",
    "CATEGORIES:a,b,c",
]


def _moment(zone: str, day: datetime, time_of_day: bool = True) -> tuple[str, str]:
    """(params, value) of a DTSTART-like property on ``day`` in ``zone``."""
    if zone == "DATE" or not time_of_day:
        return ";VALUE=DATE", f"{day:%Y%m%d}"
    value = f"{day:%Y%m%dT%H%M%S}"
    if zone == "Z":
        return "", value + "Z"
    return ("", value) if zone == "" else (f";TZID={zone}", value)


@st.composite
def events(draw: st.DrawFn, index: int) -> list[str]:
    zone = draw(st.sampled_from(ZONES[:-1]) if draw(st.integers(0, 30)) else st.just(ZONES[-1]))
    day = datetime(2025, 3, 1) + timedelta(days=draw(st.integers(-20, 40)), minutes=15 * draw(st.integers(0, 95)))
    params, value = _moment(zone, day)
    name = draw(st.sampled_from(["DTSTART", "DTSTART", "dtstart"]))
    lines = [f"UID:ev{index}\\,x" if draw(st.booleans()) else f"UID:ev{index}", f"{name}{params}:{value}"]
    length = draw(st.sampled_from(["end", "duration", "none", "end-utc", "end-floating"]))
    end_day = day + timedelta(minutes=draw(st.integers(1, 3000)))
    if length == "end":
        end_params, end_value = _moment(zone, end_day if zone != "DATE" else day + timedelta(days=draw(st.integers(1, 3))))
        lines.append(f"DTEND{end_params}:{end_value}")
    elif length == "duration":
        lines.append(draw(st.sampled_from(["DURATION:PT1H", "DURATION:PT24H", "DURATION:P1D", "DURATION:P1DT30M", "DURATION:PT45M"])))
    elif length == "end-utc" and zone != "DATE":
        lines.append(f"DTEND:{end_day + timedelta(days=1):%Y%m%dT%H%M%S}Z")
    elif length == "end-floating" and zone != "DATE":
        lines.append(f"DTEND:{end_day:%Y%m%dT%H%M%S}")
    recurring = draw(st.booleans())
    if recurring:
        rule = draw(st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYDAY=-1FR",
                                     "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;BYDAY=MO, TU"]))
        rule += draw(st.sampled_from(["", ";COUNT=5", ";UNTIL=20250401T000000Z", ";COUNT=-1;UNTIL=20250320T000000Z"]))
        lines.append(f"RRULE:{rule}")
        for k in draw(st.lists(st.integers(1, 10), max_size=2)):
            ex_params, ex_value = _moment(zone, day + timedelta(days=k))
            lines.append(f"EXDATE{ex_params}:{ex_value}")
        if draw(st.booleans()):
            lines.append("EXDATE:")
    if draw(st.booleans()) and zone not in ("DATE",):
        r_params, r_value = _moment(zone, day + timedelta(days=draw(st.integers(1, 9))))
        period = draw(st.sampled_from(["", "/PT2H", "/"]))
        kind = ";VALUE=PERIOD" if period else ""
        lines.append(f"RDATE{kind}{r_params}:{r_value}{period if zone != '' or period != '/PT2H' else ''}")
    lines += draw(st.lists(st.sampled_from(["STATUS:CANCELLED", "STATUS:TENTATIVE", "TRANSP:TRANSPARENT",
                                            "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "SEQUENCE:2", "DTSTAMP:20250101T000000Z"]),
                          max_size=2, unique=True))
    lines += draw(st.lists(st.sampled_from(NOISE), max_size=3))
    out = ["BEGIN:VEVENT", *lines, "END:VEVENT"]
    if recurring and draw(st.booleans()):  # an override of the second instance
        rid_params, rid_value = _moment(zone, day + timedelta(days=1 if "DAILY" in rule else 7))
        future = ";RANGE=THISANDFUTURE" if draw(st.booleans()) else ""
        new_params, new_value = _moment(zone, day + timedelta(days=1, hours=2))
        out += ["BEGIN:VEVENT", f"UID:{lines[0][4:]}", f"RECURRENCE-ID{future}{rid_params}:{rid_value}",
                f"DTSTART{new_params}:{new_value}", "DURATION:PT30M", "SEQUENCE:1", "END:VEVENT"]
    return out


@st.composite
def feeds(draw: st.DrawFn) -> str:
    body = [line for i in range(draw(st.integers(1, 6))) for line in draw(events(i))]
    if draw(st.integers(0, 9)) == 0:
        body += ["BEGIN:VEVENT", "UID:undated", "SUMMARY:Someday", "END:VEVENT"]
    zones = berlin_rules(CUSTOM + "  ").strip().split("\n") if draw(st.booleans()) else []
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN", "X-WR-TIMEZONE:Asia/Tokyo"]
    if draw(st.booleans()):
        lines = [*head, *body, *zones, "END:VCALENDAR"]  # a VTIMEZONE after the events that use it
    else:
        lines = [*head, *zones, *body, "END:VCALENDAR"]
    return ("\r\n" if draw(st.booleans()) else "\n").join(lines) + "\r\n"


def _outcome(read: object, text: str) -> object:
    try:
        calendar = read(text)  # type: ignore[operator]
    except IcsError:
        return "refused"
    assert isinstance(calendar, IcsCalendar)
    return calendar.warnings, [calendar.busy_blocks(lo, hi, host) for lo, hi in WINDOWS for host in HOSTS], [
        sorted(calendar.busy_intervals(lo, hi, host)) for lo, hi in WINDOWS for host in HOSTS]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feeds())
def test_fast_path_reads_what_icalendar_reads(text: str) -> None:
    assert _outcome(parse_ics, text) == _outcome(_parse_with_icalendar, text)


@pytest.mark.parametrize("name", ["google.ics", "outlook.ics", "apple.ics"])
def test_both_paths_agree_on_the_real_exports(name: str) -> None:
    text = (DATA / "ics" / name).read_text()
    assert _outcome(parse_ics, text) == _outcome(_parse_with_icalendar, text)
