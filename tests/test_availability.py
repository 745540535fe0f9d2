"""The availability engine: interval algebra, rules, event semantics, DST days, unknown calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.availability import (
    AvailabilityRules,
    block_intervals,
    find_slots,
    intersect,
    merge,
    subtract,
)
from bot.calendar.base import (
    AccessLost,
    AllDaySpan,
    BusyBlock,
    CalendarBusy,
    ShowAs,
    TimedSpan,
)

CPH = ZoneInfo("Europe/Copenhagen")
NY = ZoneInfo("America/New_York")
WEEKDAYS_9_17 = {d: ((time(9), time(17)),) for d in range(5)}
ALL_DAY_LONG = {d: ((time(0), time(0)),) for d in range(7)}


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz: ZoneInfo = CPH) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=tz)


def timed(start: datetime, end: datetime, **kwargs: object) -> BusyBlock:
    return BusyBlock(span=TimedSpan(start, end), **kwargs)


def local_starts(result, tz: ZoneInfo = CPH) -> list[str]:
    return [s.start.astimezone(tz).strftime("%m-%d %H:%M") for s in result.slots]


def run(rules: AvailabilityRules, start: datetime, end: datetime, blocks=(), **kwargs):
    kwargs.setdefault("now", start - timedelta(days=1))
    return find_slots(
        rules,
        window_start=start,
        window_end=end,
        calendars={"cal": CalendarBusy(blocks=tuple(blocks))},
        **kwargs,
    )


# --- interval algebra ------------------------------------------------------------------------


def test_merge_joins_overlapping_and_touching_and_drops_empty() -> None:
    assert merge([(5, 7), (1, 3), (3, 4), (6, 9), (10, 10), (12, 11)]) == [(1, 4), (5, 9)]


def test_intersect_and_subtract() -> None:
    a = [(0, 10), (20, 30)]
    b = [(5, 25), (28, 40)]
    assert intersect(a, b) == [(5, 10), (20, 25), (28, 30)]
    assert subtract(a, b) == [(0, 5), (25, 28)]
    assert subtract(b, a) == [(10, 20), (30, 40)]
    assert subtract(a, []) == a
    assert intersect(a, []) == []


# --- rules -----------------------------------------------------------------------------------


def test_weekly_hours_several_ranges_and_grid() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly={0: ((time(9), time(10)), (time(13), time(14, 30)))},
        durations=(30,),
    )
    result = run(rules, at(2025, 3, 3), at(2025, 3, 4))  # a Monday
    assert local_starts(result) == ["03-03 09:00", "03-03 09:30", "03-03 13:00", "03-03 13:30", "03-03 14:00"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in result.slots)
    assert all(s.start.tzinfo is UTC for s in result.slots)


def test_increment_smaller_than_duration_and_range_end_respected() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly={0: ((time(9), time(10, 30)),)},
        durations=(60,),
        increment_minutes=15,
    )
    assert local_starts(run(rules, at(2025, 3, 3), at(2025, 3, 4))) == [
        "03-03 09:00",
        "03-03 09:15",
        "03-03 09:30",
    ]


def test_duration_must_be_offered_and_defaults_to_first() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly={0: ((time(9), time(10)),)}, durations=(20, 60)
    )
    assert len(run(rules, at(2025, 3, 3), at(2025, 3, 4)).slots) == 3
    assert len(run(rules, at(2025, 3, 3), at(2025, 3, 4), duration_minutes=60).slots) == 1
    with pytest.raises(ValueError, match="offered"):
        run(rules, at(2025, 3, 3), at(2025, 3, 4), duration_minutes=45)


def test_overrides_replace_or_remove_a_day_and_extra_hours_add() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly=WEEKDAYS_9_17,
        durations=(60,),
        increment_minutes=60,
        overrides={date(2025, 3, 3): (), date(2025, 3, 4): ((time(7), time(8)),)},
        extra_hours={date(2025, 3, 5): ((time(18), time(19)),), date(2025, 3, 8): ((time(10), time(11)),)},
    )
    result = run(rules, at(2025, 3, 3), at(2025, 3, 9))
    days = [s.start.astimezone(CPH) for s in result.slots]
    assert not [d for d in days if d.day == 3]
    assert [d.hour for d in days if d.day == 4] == [7]
    assert [d.hour for d in days if d.day == 5] == [9, 10, 11, 12, 13, 14, 15, 16, 18]
    assert [d.hour for d in days if d.day == 8] == [10]  # a Saturday with extra hours


def test_buffers_exclude_slots_next_to_busy_time_touching_is_fine() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly={0: ((time(9), time(12)),)}, durations=(30,)
    )
    busy = [timed(at(2025, 3, 3, 10), at(2025, 3, 3, 10, 30))]
    plain = local_starts(run(rules, at(2025, 3, 3), at(2025, 3, 4), busy))
    assert "03-03 09:30" in plain and "03-03 10:30" in plain and "03-03 10:00" not in plain
    buffered = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly={0: ((time(9), time(12)),)},
        durations=(30,),
        buffer_before_minutes=15,
        buffer_after_minutes=1,
    )
    starts = local_starts(run(buffered, at(2025, 3, 3), at(2025, 3, 4), busy))
    # 09:30 needs 10:00-10:01 free (after buffer); 10:30 needs 10:15-10:30 free (before buffer).
    assert starts == ["03-03 09:00", "03-03 11:00", "03-03 11:30"]


def test_minimum_notice_and_window_bounds() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly={0: ((time(9), time(12)),)},
        durations=(30,),
        minimum_notice_minutes=60,
    )
    result = run(rules, at(2025, 3, 3), at(2025, 3, 3, 11, 15), now=at(2025, 3, 3, 9, 10))
    assert local_starts(result) == ["03-03 10:30"]  # 10:10 or later, ending by 11:15


def test_horizon_counts_local_days_from_now() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen",
        weekly=ALL_DAY_LONG,
        durations=(60,),
        increment_minutes=60,
        horizon_days=2,
    )
    result = run(rules, at(2025, 3, 3), at(2025, 3, 10), now=at(2025, 3, 3, 22, 30))
    starts = [s.start.astimezone(CPH) for s in result.slots]
    assert starts[0] == at(2025, 3, 3, 23)
    assert starts[-1] == at(2025, 3, 4, 23)  # today and tomorrow; nothing on the 5th


def test_max_per_day_counts_existing_bookings_on_the_local_day() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly=WEEKDAYS_9_17, durations=(60,), max_per_day=2
    )
    bookings = [
        TimedSpan(at(2025, 3, 3, 9), at(2025, 3, 3, 10)),
        TimedSpan(at(2025, 3, 3, 15), at(2025, 3, 3, 16)),
        TimedSpan(at(2025, 3, 4, 9), at(2025, 3, 4, 10)),
        # 23:30 UTC on the 4th is 00:30 on the 5th in Copenhagen.
        TimedSpan(datetime(2025, 3, 4, 23, 30, tzinfo=UTC), datetime(2025, 3, 5, 0, 0, tzinfo=UTC)),
    ]
    result = run(rules, at(2025, 3, 3), at(2025, 3, 6), bookings=bookings)
    by_day: dict[int, list[int]] = {}
    for slot in result.slots:
        local = slot.start.astimezone(CPH)
        by_day.setdefault(local.day, []).append(local.hour)
    assert 3 not in by_day  # two bookings already
    assert by_day[4] == [10, 11, 12, 13, 14, 15, 16]  # one booking: still open, its hour busy
    assert by_day[5] == [9, 10, 11, 12, 13, 14, 15, 16]


def test_rules_reject_bad_values() -> None:
    with pytest.raises(Exception):  # noqa: B017 - ZoneInfoNotFoundError or ValueError
        AvailabilityRules(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        AvailabilityRules(timezone="UTC", weekly={7: ((time(9), time(10)),)})
    with pytest.raises(ValueError):
        AvailabilityRules(timezone="UTC", weekly={0: ((time(10), time(9)),)})
    with pytest.raises(ValueError):
        AvailabilityRules(timezone="UTC", durations=(0,))
    with pytest.raises(ValueError):
        AvailabilityRules(timezone="UTC", buffer_before_minutes=-1)
    with pytest.raises(ValueError):
        run(AvailabilityRules(timezone="UTC"), datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC))


# --- event semantics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "blocks"),
    [
        (dict(show_as=ShowAs.BUSY), True),
        (dict(show_as=ShowAs.TENTATIVE), True),
        (dict(show_as=ShowAs.OUT_OF_OFFICE), True),
        (dict(show_as=ShowAs.WORKING_ELSEWHERE), True),
        (dict(show_as=ShowAs.UNKNOWN), True),
        (dict(show_as=ShowAs.FREE), False),
        (dict(show_as=ShowAs.BUSY, cancelled=True), False),
        (dict(show_as=ShowAs.BUSY, declined=True), False),
    ],
)
def test_only_busy_time_blocks(block: dict[str, object], blocks: bool) -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly={0: ((time(9), time(11)),)}, durations=(60,)
    )
    result = run(
        rules, at(2025, 3, 3), at(2025, 3, 4), [timed(at(2025, 3, 3, 9), at(2025, 3, 3, 10), **block)]
    )
    assert local_starts(result) == (["03-03 10:00"] if blocks else ["03-03 09:00", "03-03 10:00"])
    assert bool(result.busy) is blocks


def test_all_day_blocks_whole_local_days_in_the_host_zone() -> None:
    rules = AvailabilityRules(timezone="America/New_York", weekly=ALL_DAY_LONG, durations=(60,))
    block = BusyBlock(span=AllDaySpan(date(2025, 3, 4), date(2025, 3, 5)))
    result = run(rules, at(2025, 3, 3, tz=NY), at(2025, 3, 6, tz=NY), [block])
    assert [(b.start, b.end) for b in result.busy] == [
        (datetime(2025, 3, 4, 5, tzinfo=UTC), datetime(2025, 3, 5, 5, tzinfo=UTC))
    ]
    days = {s.start.astimezone(NY).day for s in result.slots}
    assert days == {3, 5}
    assert block_intervals([block], CPH) == [
        (int(at(2025, 3, 4).timestamp()), int(at(2025, 3, 5).timestamp()))
    ]


def test_zero_length_and_sub_second_blocks() -> None:
    rules = AvailabilityRules(timezone="UTC", weekly={0: ((time(9), time(11)),)}, durations=(60,))
    start = datetime(2025, 3, 3, 9, tzinfo=UTC)
    zero = timed(start, start)
    assert len(run(rules, start.replace(hour=0), start.replace(hour=23), [zero]).slots) == 2
    # A busy end a microsecond past 10:00 rounds up: the 10:00 slot is no longer free.
    tiny = timed(start, start.replace(hour=10, microsecond=1))
    assert len(run(rules, start.replace(hour=0), start.replace(hour=23), [tiny]).slots) == 0


# --- unknown is never free ---------------------------------------------------------------------


def test_a_calendar_with_an_error_makes_the_result_incomplete() -> None:
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly={0: ((time(9), time(11)),)}, durations=(60,)
    )
    calendars = {
        "work": CalendarBusy(blocks=(timed(at(2025, 3, 3, 9), at(2025, 3, 3, 10)),)),
        "home": CalendarBusy(error=AccessLost("calendar home: access lost")),
    }
    result = find_slots(
        rules, window_start=at(2025, 3, 3), window_end=at(2025, 3, 4), now=at(2025, 3, 1), calendars=calendars
    )
    assert not result.complete
    assert result.slots == ()
    assert set(result.errors) == {"home"}
    assert [s.start.astimezone(CPH).hour for s in result.candidate_slots] == [10]
    ok = find_slots(
        rules,
        window_start=at(2025, 3, 3),
        window_end=at(2025, 3, 4),
        now=at(2025, 3, 1),
        calendars={"work": calendars["work"]},
    )
    assert ok.complete and ok.slots == ok.candidate_slots and len(ok.slots) == 1


def test_busy_is_merged_and_clipped_to_the_window_bookings_included() -> None:
    rules = AvailabilityRules(timezone="UTC", weekly={}, durations=(30,))
    u = lambda h, mi=0: datetime(2025, 3, 3, h, mi, tzinfo=UTC)  # noqa: E731
    blocks = [timed(u(8), u(10)), timed(u(10), u(11)), timed(u(12), u(13))]
    result = run(rules, u(9), u(12, 30), blocks, bookings=[TimedSpan(u(11, 30), u(12))])
    assert [(b.start, b.end) for b in result.busy] == [(u(9), u(11)), (u(11, 30), u(12, 30))]


# --- DST and odd offsets -----------------------------------------------------------------------


def test_23_and_25_hour_days_in_copenhagen() -> None:
    rules = AvailabilityRules(timezone="Europe/Copenhagen", weekly=ALL_DAY_LONG, durations=(60,))
    spring = run(rules, at(2025, 3, 30), at(2025, 3, 31))
    autumn = run(rules, at(2025, 10, 26), at(2025, 10, 27))
    assert len(spring.slots) == 23 and len(autumn.slots) == 25
    # Elapsed-time grid: on the short day 02:00 does not exist, so the hours jump 01:00 -> 03:00.
    assert local_starts(spring)[:3] == ["03-30 00:00", "03-30 01:00", "03-30 03:00"]
    assert [s.start.astimezone(CPH).strftime("%H:%M%z") for s in autumn.slots][2:4] == [
        "02:00+0200",
        "02:00+0100",
    ]


def test_working_hours_bound_inside_a_gap_takes_the_offset_before_it() -> None:
    # 02:30 does not exist in Copenhagen on 2025-03-30; RFC 5545 reads it with +01:00 (01:30 UTC).
    rules = AvailabilityRules(
        timezone="Europe/Copenhagen", weekly={6: ((time(2, 30), time(5)),)}, durations=(30,)
    )
    result = run(rules, at(2025, 3, 30), at(2025, 3, 31))
    assert result.slots[0].start == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert result.slots[-1].end == datetime(2025, 3, 30, 3, tzinfo=UTC)  # 05:00 CEST


def test_new_york_dst_and_the_weeks_us_and_eu_differ() -> None:
    ny_rules = AvailabilityRules(timezone="America/New_York", weekly=WEEKDAYS_9_17, durations=(60,))
    cph_rules = AvailabilityRules(timezone="Europe/Copenhagen", weekly=WEEKDAYS_9_17, durations=(60,))
    # 2025-03-10..14: New York already on EDT (UTC-4), Copenhagen still CET (UTC+1): 5 hours apart.
    ny = run(ny_rules, at(2025, 3, 10, tz=NY), at(2025, 3, 11, tz=NY))
    assert ny.slots[0].start == datetime(2025, 3, 10, 13, tzinfo=UTC)
    # A meeting 11:00-12:00 New York time blocks 16:00-17:00 in Copenhagen that week ...
    meeting = timed(at(2025, 3, 12, 11, tz=NY), at(2025, 3, 12, 12, tz=NY))
    cph = run(cph_rules, at(2025, 3, 12), at(2025, 3, 13), [meeting])
    assert "03-12 16:00" not in local_starts(cph) and "03-12 15:00" in local_starts(cph)
    # ... and once Copenhagen is on summer time too (after 03-30), 10:00-11:00 New York does.
    later = timed(at(2025, 4, 2, 10, tz=NY), at(2025, 4, 2, 11, tz=NY))
    cph_later = run(cph_rules, at(2025, 4, 2), at(2025, 4, 3), [later])
    assert "04-02 16:00" not in local_starts(cph_later) and "04-02 15:00" in local_starts(cph_later)


def test_lord_howe_half_hour_shift() -> None:
    zone = ZoneInfo("Australia/Lord_Howe")  # +11 -> +10:30 on 2025-04-06 at 02:00
    rules = AvailabilityRules(timezone="Australia/Lord_Howe", weekly=ALL_DAY_LONG, durations=(30,))
    result = run(rules, datetime(2025, 4, 6, tzinfo=zone), datetime(2025, 4, 7, tzinfo=zone))
    assert len(result.slots) == 49  # a 24.5-hour day
    assert [s.start.astimezone(zone).strftime("%H:%M%z") for s in result.slots][3:5] == [
        "01:30+1100",
        "01:30+1030",
    ]


def test_kathmandu_quarter_hour_offset_seen_from_copenhagen() -> None:
    ktm = ZoneInfo("Asia/Kathmandu")
    rules = AvailabilityRules(timezone="Asia/Kathmandu", weekly=WEEKDAYS_9_17, durations=(60,))
    result = run(rules, datetime(2025, 3, 3, tzinfo=ktm), datetime(2025, 3, 4, tzinfo=ktm))
    assert result.slots[0].start == datetime(2025, 3, 3, 3, 15, tzinfo=UTC)
    # A Copenhagen 06:00-07:00 meeting is 10:45-11:45 in Kathmandu: 10:00 and 11:00 are taken.
    meeting = timed(at(2025, 3, 3, 6), at(2025, 3, 3, 7))
    result = run(rules, datetime(2025, 3, 3, tzinfo=ktm), datetime(2025, 3, 4, tzinfo=ktm), [meeting])
    assert [s.start.astimezone(ktm).hour for s in result.slots] == [9, 12, 13, 14, 15, 16]
