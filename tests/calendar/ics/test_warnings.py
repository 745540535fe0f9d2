"""Warnings are one line each and structured (issue item 13); a broken DTSTART is malformed.

``IcsCalendar.warnings`` holds them; ``slotbot free`` prints each as one stderr line; Python
warnings from icalendar never reach the terminal as multi-line noise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.parse import parse_ics
from tests.calendar.ics.build import calendar, expected, local
from tests.calendar.ics.test_lenient import BERLIN

VENDOR = calendar(
    "UID:v\nDTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20250303T090000\nDURATION:PT1H",
    "UID:undated\nSUMMARY:Someday",
    "UID:c\nDTSTART:20250324T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=-1;UNTIL=20250326T000000Z",
)
ROOT = Path(__file__).resolve().parents[3]


def test_parse_warnings_are_structured_and_python_warnings_stay_quiet() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cal = parse_ics(VENDOR)
    assert [str(w.message) for w in caught] == []
    assert len(cal.warnings) == 3
    assert all("\n" not in w for w in cal.warnings)
    assert any("read as 'Europe/Berlin'" in w for w in cal.warnings)
    lo, hi = datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)
    assert set(cal.busy_intervals(lo, hi, UTC)) == {
        (int(local(BERLIN, 2025, 3, 3, 9).timestamp()), int(local(BERLIN, 2025, 3, 3, 10).timestamp()))}
    assert expected([], lo, hi) == set()


def test_free_prints_one_line_per_warning_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "vendor.ics"
    path.write_text(VENDOR)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "always"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.free", "--ics", str(path), "--from", "2025-03-03", "--days", "1",
         "--tz", "Europe/Berlin", "--now", "2025-03-01T00:00:00+00:00", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"slotbot free: {path}: warning: ") for line in lines)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "dtstart",
    ["DTSTART:garbage", "DTSTART;TZID=Europe/Berlin", "DTSTART:2025-03-03", "DTSTART 20250303T090000",
     "DTSTART:20250303T250000Z", "DTSTART;VALUE=DATE:2025033"],
)
def test_a_malformed_dtstart_is_reported_as_malformed_even_among_good_events(dtstart: str) -> None:
    with pytest.raises(IcsError) as caught:
        parse_ics(calendar("UID:good\nDTSTART:20250303T100000Z\nDURATION:PT1H",
                           f"UID:bad\n{dtstart}\nDURATION:PT1H"))
    message = str(caught.value)
    assert "malformed" in message and "DTSTART" in message and "no DTSTART" not in message
    assert "\n" not in message
