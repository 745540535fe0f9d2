# ruff: noqa: E501 - iCalendar lines read best unbroken
"""Copies of one event (issue item 11): the higher SEQUENCE, then the later DTSTAMP, wins.

As calendar apps do on import; overrides are matched per RECURRENCE-ID the same way, and copies
that tie on both are all kept (busy time is not dropped on a guess).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import HOSTS, busy_minutes, calendar, expected, local, repeated

NY = ZoneInfo("America/New_York")
LO, HI = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def series(day: str, hour: int, extra: str) -> str:
    return (f"UID:team\nDTSTART;TZID=America/New_York:202503{day}T{hour:02}0000\n"
            f"DTEND;TZID=America/New_York:202503{day}T{hour + 1:02}0000\nRRULE:FREQ=WEEKLY;COUNT=4\n{extra}")


@pytest.mark.parametrize("host", HOSTS, ids=str)
@pytest.mark.parametrize("newer_first", [False, True])
def test_the_higher_sequence_replaces_the_older_copy(host: ZoneInfo, newer_first: bool) -> None:
    old = series("03", 9, "SEQUENCE:0\nDTSTAMP:20250301T000000Z")
    new = series("04", 10, "SEQUENCE:2\nDTSTAMP:20250101T000000Z")  # an older stamp: SEQUENCE decides
    cal = parse_ics(calendar(*((new, old) if newer_first else (old, new))))
    assert busy_minutes(cal, LO, HI, host) == expected(repeated(local(NY, 2025, 3, 4, 10), 4, HOUR), LO, HI)


def test_the_later_dtstamp_wins_on_equal_sequence_across_calendars_in_one_file() -> None:
    old = calendar(series("03", 9, "SEQUENCE:1\nDTSTAMP:20250301T000000Z"))
    new = calendar(series("05", 15, "SEQUENCE:1\nDTSTAMP;TZID=Asia/Tokyo:20250301T100000"))  # 01:00Z
    cal = parse_ics(old + new)
    assert busy_minutes(cal, LO, HI, UTC) == expected(repeated(local(NY, 2025, 3, 5, 15), 4, HOUR), LO, HI)


def test_copies_that_tie_are_all_kept() -> None:
    cal = parse_ics(calendar(series("03", 9, "DTSTAMP:20250301T000000Z"),
                             series("04", 10, "DTSTAMP:20250301T000000Z")))
    spans = repeated(local(NY, 2025, 3, 3, 9), 4, HOUR) + repeated(local(NY, 2025, 3, 4, 10), 4, HOUR)
    assert busy_minutes(cal, LO, HI, UTC) == expected(spans, LO, HI)


def test_overrides_are_matched_per_recurrence_id() -> None:
    rid = "RECURRENCE-ID;TZID=America/New_York:20250310T090000\n"
    cal = parse_ics(calendar(
        series("03", 9, "SEQUENCE:0"),
        f"UID:team\n{rid}SEQUENCE:1\nDTSTART:20250311T200000Z\nDTEND:20250311T210000Z",
        f"UID:team\n{rid}SEQUENCE:3\nDTSTART:20250312T200000Z\nDTEND:20250312T210000Z",  # replaces the one above
        # The same instance named in UTC: still the same instance, and older.
        "UID:team\nRECURRENCE-ID:20250310T130000Z\nSEQUENCE:2\nDTSTART:20250313T200000Z\nDTEND:20250313T210000Z",
        "UID:team\nRECURRENCE-ID;TZID=America/New_York:20250317T090000\nSEQUENCE:0\n"
        "DTSTART:20250318T200000Z\nDTEND:20250318T210000Z",
    ))
    weekly = repeated(local(NY, 2025, 3, 3, 9), 4, HOUR)
    spans = [weekly[0], weekly[3], (datetime(2025, 3, 12, 20, tzinfo=UTC), datetime(2025, 3, 12, 21, tzinfo=UTC)),
             (datetime(2025, 3, 18, 20, tzinfo=UTC), datetime(2025, 3, 18, 21, tzinfo=UTC))]
    assert busy_minutes(cal, LO, HI, UTC) == expected(spans, LO, HI)
