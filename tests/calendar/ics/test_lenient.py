# ruff: noqa: E501 - iCalendar lines read best unbroken
"""What mainstream apps accept, read the same way (issue item 12), and the X-WR-TIMEZONE decision.

Each case is built here and checked against instants computed with zoneinfo, in several hosts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import HOSTS, busy_minutes, calendar, expected, local, repeated

BERLIN, NY, CPH = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Europe/Copenhagen")
LO, HI = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)


def berlin_rules(tzid: str) -> str:
    """A VTIMEZONE with Berlin's current rules under the name ``tzid`` (written as given)."""
    return (f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nDTSTART:19701025T030000\n"
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\n"
            "BEGIN:DAYLIGHT\nDTSTART:19700329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n"
            "TZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\nEND:VTIMEZONE\n")


@pytest.mark.parametrize("host", HOSTS[:4], ids=str)
def test_vtimezone_tzid_with_trailing_spaces(host: ZoneInfo) -> None:
    # Thunderbird writes "TZID:<name> "; the events name the zone without the spaces.
    cal = parse_ics(calendar(
        "UID:t\nDTSTART;TZID=Slotbot Test Berlin A:20250324T090000\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=3",
        'UID:q\nDTSTART;TZID="Slotbot Test Berlin A  ":20250325T090000\nDURATION:PT1H',
        extra=berlin_rules("Slotbot Test Berlin A   "),
    ))
    spans = repeated(local(BERLIN, 2025, 3, 24, 9), 3, HOUR) + repeated(local(BERLIN, 2025, 3, 25, 9), 1, HOUR)
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)


@pytest.mark.parametrize("host", HOSTS[:4], ids=str)
def test_empty_rrule_and_exdate_are_ignored(host: ZoneInfo) -> None:
    cal = parse_ics(calendar(
        "UID:h\nDTSTART;VALUE=DATE:20250303\nDTEND;VALUE=DATE:20250304\nRRULE:\nEXDATE:",  # holiday feeds
        "UID:g\nDTSTART;TZID=America/New_York:20250303T090000\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE;TZID=America/New_York:",
    ))
    day = (local(host, 2025, 3, 3), local(host, 2025, 3, 4))
    spans = [day, *repeated(local(NY, 2025, 3, 3, 9), 3, HOUR, step=1)]
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)


@pytest.mark.parametrize("host", HOSTS[:4], ids=str)
def test_byday_with_spaces(host: ZoneInfo) -> None:
    # Exchange writes "BYDAY=MO, TU, WE".
    cal = parse_ics(calendar("UID:x\nDTSTART;TZID=Europe/Berlin:20250303T080000\nDURATION:PT30M\n"
                             "RRULE:FREQ=WEEKLY;BYDAY=MO, TU, WE;UNTIL=20250313T000000Z"))
    spans = [s for d in (3, 4, 5, 10, 11, 12) for s in repeated(local(BERLIN, 2025, 3, d, 8), 1, timedelta(minutes=30))]
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)


def test_negative_count_beside_a_valid_until() -> None:
    cal = parse_ics(calendar("UID:c\nDTSTART;TZID=Europe/Copenhagen:20250324T090000\nDURATION:PT1H\n"
                             "RRULE:FREQ=DAILY;COUNT=-1;UNTIL=20250401T000000Z"))
    assert busy_minutes(cal, LO, HI, UTC) == expected(repeated(local(CPH, 2025, 3, 24, 9), 8, HOUR, step=1), LO, HI)
    assert any("COUNT=-1" in w for w in cal.warnings)
    with pytest.raises(IcsError, match="COUNT"):  # without an UNTIL there is no way to tell
        parse_ics(calendar("UID:c\nDTSTART:20250324T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=-1"))


def test_period_with_a_trailing_slash_takes_the_events_length() -> None:
    cal = parse_ics(calendar("UID:p\nDTSTART:20250303T100000Z\nDURATION:PT45M\nRDATE;VALUE=PERIOD:20250305T100000Z/,20250306T120000Z/PT2H"))
    spans = [(datetime(2025, 3, d, h, tzinfo=UTC), datetime(2025, 3, d, h, tzinfo=UTC) + length)
             for d, h, length in ((3, 10, timedelta(minutes=45)), (5, 10, timedelta(minutes=45)), (6, 12, 2 * HOUR))]
    assert busy_minutes(cal, LO, HI, UTC) == expected(spans, LO, HI)


def test_one_undated_vevent_among_good_ones_is_skipped_with_a_warning() -> None:
    cal = parse_ics(calendar("UID:good\nDTSTART:20250303T100000Z\nDURATION:PT1H", "UID:undated\nSUMMARY:Someday"))
    assert busy_minutes(cal, LO, HI, UTC) == expected([(datetime(2025, 3, 3, 10, tzinfo=UTC), datetime(2025, 3, 3, 11, tzinfo=UTC))], LO, HI)
    assert cal.warnings == ("event undated: no DTSTART: skipped",)
    with pytest.raises(IcsError, match="no DTSTART"):  # nothing readable at all: unknown, not free
        parse_ics(calendar("UID:undated\nSUMMARY:Someday"))


@pytest.mark.parametrize("host", HOSTS[:4], ids=str)
def test_x_wr_timezone_is_not_applied_to_floating_times(host: ZoneInfo) -> None:
    # The decision (bot/calendar/ics/parse.py): floating times stay in the host's zone.
    cal = parse_ics(calendar("UID:f\nDTSTART:20250303T120000\nDTEND:20250303T123000",
                             "UID:u\nDTSTART:20250304T120000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=5",
                             extra="X-WR-TIMEZONE:Asia/Tokyo\n"))
    spans = [(local(host, 2025, 3, 3, 12), local(host, 2025, 3, 3, 12, 30)),
             *repeated(datetime(2025, 3, 4, 12, tzinfo=UTC), 5, HOUR)]
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)
