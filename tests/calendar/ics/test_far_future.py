"""Far-future values (issue item 8): "never ends" UNTILs, DTENDs in year 9999, huge DURATIONs.

Each works for any window: busy time is what zoneinfo arithmetic says inside the representable
range (years 1..9999), and nothing raises OverflowError, whatever the window or the host zone.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import HOSTS, busy_minutes, calendar, expected, local, repeated

CPH = ZoneInfo("Europe/Copenhagen")
WINDOWS = [
    (datetime(2025, 3, 24, tzinfo=UTC), datetime(2025, 4, 7, tzinfo=UTC)),  # Copenhagen's DST change
    (datetime(2401, 3, 20, tzinfo=UTC), datetime(2401, 4, 3, tzinfo=UTC)),
    (datetime(9999, 12, 1, tzinfo=UTC), datetime(9999, 12, 28, tzinfo=UTC)),
]
EXTREME_WINDOWS = [
    (datetime(9999, 12, 20, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
    (datetime.min.replace(tzinfo=UTC), datetime(1, 1, 10, tzinfo=UTC)),
    (datetime(9999, 12, 30, tzinfo=ZoneInfo("Pacific/Kiritimati")), datetime(9999, 12, 31, 23, tzinfo=CPH)),
]
WHOLE_RANGE = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))  # one-offs only
NEVER_ENDING = calendar(
    "UID:daily\nDTSTART;TZID=Europe/Copenhagen:20250301T090000\nDTEND;TZID=Europe/Copenhagen:20250301T100000\n"
    "RRULE:FREQ=DAILY;UNTIL=99991231T235959Z",
)


def _daily_minutes(lo: datetime, hi: datetime) -> set[int]:
    first = local(CPH, lo.year, lo.month, lo.day, 9) - timedelta(days=1)
    days = (hi - lo).days + 2
    return expected(repeated(first, days, timedelta(hours=1), step=1), lo, hi)


@pytest.mark.parametrize("host", HOSTS, ids=str)
@pytest.mark.parametrize(("lo", "hi"), WINDOWS)
def test_never_ending_until_repeats_in_any_window(lo: datetime, hi: datetime, host: ZoneInfo) -> None:
    assert busy_minutes(parse_ics(NEVER_ENDING), lo, hi, host) == _daily_minutes(lo, hi)


@pytest.mark.parametrize(
    "body",
    [
        "DTSTART:20250301T090000Z\nDTEND:99991231T235959Z",
        "DTSTART;TZID=Europe/Copenhagen:20250301T100000\nDTEND;TZID=Europe/Copenhagen:99991231T235959",
        "DTSTART:20250301T090000Z\nDURATION:P99999999999W",
        "DTSTART:20250301T090000Z\nDURATION:PT9999999999999999H",
        "DTSTART:20250301T090000\nDURATION:P9999999999DT1S",  # floating
        "DTSTART;VALUE=DATE:20250301\nDTEND;VALUE=DATE:99991231",
        "DTSTART;VALUE=DATE:20250301\nDURATION:P99999999999D",
    ],
)
@pytest.mark.parametrize("host", HOSTS, ids=str)
def test_an_event_lasting_past_year_9999_is_busy_in_every_later_window(body: str, host: ZoneInfo) -> None:
    cal = parse_ics(calendar(f"UID:long\n{body}"))
    for lo, hi in WINDOWS[1:]:
        assert busy_minutes(cal, lo, hi, host) == expected([(lo, hi)], lo, hi)
    for lo, hi in [*EXTREME_WINDOWS, WHOLE_RANGE]:
        cal.busy_intervals(lo, hi, host)
        cal.busy_blocks(lo, hi, host)
    early = (datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 2, 20, tzinfo=UTC))
    assert cal.busy_intervals(*early, host) == []


@pytest.mark.parametrize("host", HOSTS, ids=str)
def test_series_whose_instances_never_end_and_extreme_windows(host: ZoneInfo) -> None:
    cal = parse_ics(calendar(
        NEVER_ENDING.split("BEGIN:VEVENT")[1].split("END:VEVENT")[0].strip(),
        "UID:forever\nDTSTART:20250301T090000Z\nDTEND:99991231T000000Z\nRRULE:FREQ=WEEKLY",
        "UID:years\nDTSTART;VALUE=DATE:20250301\nRRULE:FREQ=YEARLY;UNTIL=99991231",
        "UID:counted\nDTSTART:99991220T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=50",
        "UID:ancient\nDTSTART:00010101T000000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;BYDAY=MO",
    ))
    for lo, hi in WINDOWS + EXTREME_WINDOWS:
        cal.busy_intervals(lo, hi, host)
        cal.busy_blocks(lo, hi, host)
    lo, hi = WINDOWS[1]
    assert busy_minutes(cal, lo, hi, host) == expected([(lo, hi)], lo, hi)


def test_a_huge_count_is_not_counted_out_one_by_one() -> None:
    began = time.perf_counter()
    cal = parse_ics(calendar("UID:c\nDTSTART:20250301T090000Z\nDURATION:PT1H\n"
                             "RRULE:FREQ=MINUTELY;INTERVAL=90;COUNT=999999999"))
    assert time.perf_counter() - began < 5
    assert any("COUNT=999999999" in w for w in cal.warnings)
    lo, hi = datetime(2100, 1, 1, tzinfo=UTC), datetime(2100, 1, 2, tzinfo=UTC)
    first = datetime(2025, 3, 1, 9, tzinfo=UTC)
    k = (lo - first) // timedelta(minutes=90) - 1
    spans = [(first + timedelta(minutes=90 * i), first + timedelta(minutes=90 * i + 60))
             for i in range(k, k + 20)]
    assert busy_minutes(cal, lo, hi, UTC) == expected(spans, lo, hi)  # repeats on: more busy, never less


def test_free_command_reads_far_future_files(tmp_path: object) -> None:
    from pathlib import Path

    from bot.cli.free import main

    path = Path(str(tmp_path)) / "far.ics"
    path.write_text(NEVER_ENDING + calendar("UID:x\nDTSTART:20250301T090000Z\nDURATION:P99999999999W"))
    for start in ("2025-03-24", "9999-12-20"):
        assert main(["--ics", str(path), "--from", start, "--days", "3", "--tz", "Pacific/Kiritimati",
                     "--json"]) in (0, 2)
