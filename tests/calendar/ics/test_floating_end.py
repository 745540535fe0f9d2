"""A DTEND without a zone beside a DTSTART with one (issue item 9): the end borrows the zone.

Invalid, but written by real programs. The busy time must not depend on the host's zone nor on
the zone the process runs in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import HOSTS, busy_minutes, calendar, expected, local, repeated

TOKYO, CPH, NY = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Copenhagen"), ZoneInfo("America/New_York")


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Tokyo", "Pacific/Kiritimati"])
def process_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's own zone (TZ) set to each of these."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.usefixtures("process_zone")
@pytest.mark.parametrize("host", HOSTS, ids=str)
def test_floating_dtend_is_read_in_the_start_zone(host: ZoneInfo) -> None:
    cal = parse_ics(calendar(
        "UID:tokyo\nDTSTART;TZID=Asia/Tokyo:20250303T090000\nDTEND:20250303T103000",
        # 01:30 CET to 03:30 CEST on the spring-forward night: one elapsed hour.
        "UID:dst\nDTSTART;TZID=Europe/Copenhagen:20250330T013000\nDTEND:20250330T033000",
        "UID:weekly\nDTSTART;TZID=America/New_York:20250303T090000\nDTEND:20250303T094500\n"
        "RRULE:FREQ=WEEKLY;COUNT=3",
    ))
    lo, hi = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    spans = [
        (local(TOKYO, 2025, 3, 3, 9), local(TOKYO, 2025, 3, 3, 10, 30)),
        (local(CPH, 2025, 3, 30, 1, 30), local(CPH, 2025, 3, 30, 3, 30)),
        *repeated(local(NY, 2025, 3, 3, 9), 3, timedelta(minutes=45)),  # across New York's change
    ]
    assert busy_minutes(cal, lo, hi, host) == expected(spans, lo, hi)
    assert len([b for b in cal.busy_blocks(lo, hi, host) if b.blocks_time()]) == 5


def test_floating_dtend_before_the_zoned_start_is_refused() -> None:
    from bot.calendar.ics.errors import IcsError

    with pytest.raises(IcsError, match="before"):
        parse_ics(calendar("UID:x\nDTSTART;TZID=Asia/Tokyo:20250303T090000\nDTEND:20250303T083000"))
