"""Free ranges per day (pure): working hours minus busy time, against a minute-grid oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.availability import AvailabilityRules
from bot.conversation.free_time import free_ranges

CPH = ZoneInfo("Europe/Copenhagen")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Week of the start of summer time (Sunday 29 March 2026, 02:00 -> 03:00).
BASE = datetime(2026, 3, 23, 0, 0, tzinfo=CPH)
CHOICES: list[tuple[tuple[time, time], ...]] = [
    (),
    ((time(9), time(12)), (time(13), time(17))),
    ((time(8), time(0)),),
    ((time(10), time(16)),),
]


def minute(value: datetime) -> int:
    return int((value - EPOCH).total_seconds()) // 60


def at(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


def inside(ranges: tuple[tuple[time, time], ...], moment: time) -> bool:
    return any(a <= moment and (b == time(0) or moment < b) for a, b in ranges)


def oracle(rules: AvailabilityRules, start: int, end: int, now: int, busy: list[tuple[int, int]],
           daily: tuple[time, time] | None, min_minutes: int) -> list[tuple[date, list[tuple[int, int]]]]:
    free = []
    for m in range(max(start, now), end):
        local = at(m).astimezone(CPH)
        if not inside(rules.hours_on(local.date()), local.time()):
            continue
        if daily is not None and not inside((daily,), local.time()):
            continue
        if any(s <= m < e for s, e in busy):
            continue
        free.append(m)
    out = []
    for day, minutes in groupby(free, key=lambda m: at(m).astimezone(CPH).date()):
        spans: list[tuple[int, int]] = []
        for m in minutes:
            if spans and spans[-1][1] == m:
                spans[-1] = (spans[-1][0], m + 1)
            else:
                spans.append((m, m + 1))
        kept = [s for s in spans if s[1] - s[0] >= min_minutes]
        if kept:
            out.append((day, kept))
    return out


@settings(max_examples=60, deadline=None)
@given(
    weekly=st.lists(st.sampled_from(range(len(CHOICES))), min_size=7, max_size=7),
    offset=st.integers(0, 6 * 24 * 60),
    length=st.integers(1, 2 * 24 * 60),
    now_offset=st.integers(-24 * 60, 3 * 24 * 60),
    busy=st.lists(st.tuples(st.integers(0, 8 * 24 * 60), st.integers(1, 300)), max_size=8),
    daily=st.sampled_from([None, (time(12), time(18)), (time(15), time(0))]),
    min_minutes=st.sampled_from([1, 15, 45]),
)
def test_free_ranges_match_the_minute_grid(weekly: list[int], offset: int, length: int,
                                           now_offset: int, busy: list[tuple[int, int]],
                                           daily: tuple[time, time] | None, min_minutes: int) -> None:
    rules = AvailabilityRules(timezone="Europe/Copenhagen",
                              weekly={day: CHOICES[i] for day, i in enumerate(weekly)})
    base = minute(BASE)
    start, end, now = base + offset, base + offset + length, base + now_offset
    busy_minutes = [(base + s, base + s + d) for s, d in busy]
    got = free_ranges(rules, start=at(start), end=at(end), now=at(now),
                      busy=[(s * 60, e * 60) for s, e in busy_minutes], daily=daily,
                      min_minutes=min_minutes)
    expected = oracle(rules, start, end, now, busy_minutes, daily, min_minutes)
    assert [(d.day, [(minute(s), minute(e)) for s, e in d.ranges]) for d in got] == expected


def test_working_hours_follow_the_clock_across_summer_time() -> None:
    rules = AvailabilityRules(timezone="Europe/Copenhagen", weekly={0: ((time(9), time(17)),),
                                                                   4: ((time(9), time(17)),)})
    days = free_ranges(rules, start=datetime(2026, 3, 27, tzinfo=CPH),
                       end=datetime(2026, 3, 31, tzinfo=CPH), now=BASE, busy=[])
    assert [d.day for d in days] == [date(2026, 3, 27), date(2026, 3, 30)]
    assert days[0].ranges == ((datetime(2026, 3, 27, 8, tzinfo=UTC), datetime(2026, 3, 27, 16, tzinfo=UTC)),)
    assert days[1].ranges == ((datetime(2026, 3, 30, 7, tzinfo=UTC), datetime(2026, 3, 30, 15, tzinfo=UTC)),)


def test_busy_time_splits_a_day_and_short_gaps_are_left_out() -> None:
    rules = AvailabilityRules(timezone="Europe/Copenhagen", weekly={4: ((time(9), time(17)),)})
    friday = datetime(2026, 3, 27, tzinfo=CPH)

    def span(h1: int, m1: int, h2: int, m2: int) -> tuple[int, int]:
        a = friday.replace(hour=h1, minute=m1).timestamp()
        b = friday.replace(hour=h2, minute=m2).timestamp()
        return int(a), int(b)

    busy = [span(10, 0, 11, 0), span(11, 10, 13, 0)]
    days = free_ranges(rules, start=friday, end=friday + timedelta(days=1), now=BASE, busy=busy)
    local = [(s.astimezone(CPH).time(), e.astimezone(CPH).time()) for s, e in days[0].ranges]
    assert local == [(time(9), time(10)), (time(13), time(17))]  # the 10-minute gap is too short
