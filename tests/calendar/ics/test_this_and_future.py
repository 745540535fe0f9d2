# ruff: noqa: E501 - iCalendar lines read best unbroken
"""``RECURRENCE-ID;RANGE=THISANDFUTURE`` changes this and every later instance (issue item 10).

RFC 5545 3.8.4.4: later instances move by the same wall-clock offset and last as long as the
override. Expected instants come from zoneinfo arithmetic, across Copenhagen's DST change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import HOSTS, busy_minutes, calendar, expected, local, repeated

CPH = ZoneInfo("Europe/Copenhagen")
HOUR = timedelta(hours=1)
MASTER = ("UID:s\nDTSTART;TZID=Europe/Copenhagen:20250303T090000\nDTEND;TZID=Europe/Copenhagen:20250303T100000\n"
          "RRULE:FREQ=WEEKLY;COUNT=8")
LO, HI = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)


def future(rid: str, start: str, end: str, extra: str = "") -> str:
    return (f"UID:s\nRECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Copenhagen:{rid}\n"
            f"DTSTART;TZID=Europe/Copenhagen:{start}\nDTEND;TZID=Europe/Copenhagen:{end}\n{extra}")


@pytest.mark.parametrize("host", HOSTS, ids=str)
def test_later_instances_move_and_last_as_the_override(host: ZoneInfo) -> None:
    # From 03-17 on: 11:00 for 90 minutes (the time of day kept across the 03-30 change).
    cal = parse_ics(calendar(MASTER, future("20250317T090000", "20250317T110000", "20250317T123000")))
    spans = repeated(local(CPH, 2025, 3, 3, 9), 2, HOUR) + repeated(
        local(CPH, 2025, 3, 17, 11), 6, timedelta(minutes=90))
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)


@pytest.mark.parametrize("host", HOSTS[:3], ids=str)
def test_a_later_override_takes_over_and_single_overrides_still_apply(host: ZoneInfo) -> None:
    cal = parse_ics(calendar(
        MASTER,
        future("20250317T090000", "20250317T110000", "20250317T120000"),
        future("20250407T090000", "20250407T140000", "20250407T143000"),
        # A plain override of an instance after the first change: only that instance.
        "UID:s\nRECURRENCE-ID;TZID=Europe/Copenhagen:20250324T090000\n"
        "DTSTART;TZID=Europe/Copenhagen:20250325T080000\nDTEND;TZID=Europe/Copenhagen:20250325T083000",
    ))
    spans = [
        *repeated(local(CPH, 2025, 3, 3, 9), 2, HOUR),
        *repeated(local(CPH, 2025, 3, 17, 11), 1, HOUR),
        (local(CPH, 2025, 3, 25, 8), local(CPH, 2025, 3, 25, 8, 30)),
        *repeated(local(CPH, 2025, 3, 31, 11), 1, HOUR),
        *repeated(local(CPH, 2025, 4, 7, 14), 3, timedelta(minutes=30)),
    ]
    assert busy_minutes(cal, LO, HI, host) == expected(spans, LO, HI)


def test_moving_to_the_next_day_reaches_a_window_starting_after_the_original() -> None:
    cal = parse_ics(calendar(MASTER, future("20250317T090000", "20250318T090000", "20250318T100000")))
    lo, hi = datetime(2025, 3, 25, tzinfo=CPH), datetime(2025, 3, 26, tzinfo=CPH)  # a Tuesday only
    assert busy_minutes(cal, lo, hi, CPH) == expected([(local(CPH, 2025, 3, 25, 9),
                                                       local(CPH, 2025, 3, 25, 10))], lo, hi)
    lo, hi = datetime(2025, 3, 24, tzinfo=CPH), datetime(2025, 3, 25, tzinfo=CPH)  # the Monday is free
    assert busy_minutes(cal, lo, hi, CPH) == set()


def test_a_cancelled_this_and_future_ends_the_series() -> None:
    cal = parse_ics(calendar(MASTER, future("20250317T090000", "20250317T090000", "20250317T100000",
                                            "STATUS:CANCELLED")))
    assert busy_minutes(cal, LO, HI, UTC) == expected(repeated(local(CPH, 2025, 3, 3, 9), 2, HOUR), LO, HI)


def test_all_day_series_shift_by_days() -> None:
    cal = parse_ics(calendar(
        "UID:d\nDTSTART;VALUE=DATE:20250303\nRRULE:FREQ=WEEKLY;COUNT=4",
        "UID:d\nRECURRENCE-ID;RANGE=THISANDFUTURE;VALUE=DATE:20250310\nDTSTART;VALUE=DATE:20250312\n"
        "DTEND;VALUE=DATE:20250314",
    ))
    days = [f"{b.span.start:%m-%d}..{b.span.end:%m-%d}" for b in cal.busy_blocks(LO, HI, CPH)]
    assert days == ["03-03..03-04", "03-12..03-14", "03-19..03-21", "03-26..03-28"]


def test_a_busy_this_and_future_of_a_free_series_blocks_from_then_on() -> None:
    cal = parse_ics(calendar(MASTER + "\nTRANSP:TRANSPARENT",
                             future("20250324T090000", "20250324T090000", "20250324T100000", "TRANSP:OPAQUE")))
    spans = repeated(local(CPH, 2025, 3, 24, 9), 5, HOUR)
    assert busy_minutes(cal, LO, HI, UTC) == expected(spans, LO, HI)
