"""Property tests: the engine and the .ics reader against brute-force oracles written here.

The oracles are deliberately slow and plain: a set of busy UTC minutes, datetime arithmetic for
the slot grid, and dateutil iterating every rule from DTSTART on aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.availability import AvailabilityRules, find_slots, merge
from bot.calendar.base import AllDaySpan, BusyBlock, CalendarBusy, ShowAs, TimedSpan
from bot.calendar.ics.parse import parse_ics
from bot.calendar.ics.recurrence import _Rule

settings.register_profile(
    "slotbot-properties",
    max_examples=int(__import__("os").environ.get("SLOTBOT_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("slotbot-properties")

ZONES = [
    "Europe/Copenhagen",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "UTC",
    "America/Santiago",  # its DST changes happen at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
]
# Days around DST changes in those zones, so that many examples hit one.
DST_DAYS = [
    date(2025, 3, 9),
    date(2025, 3, 30),
    date(2025, 4, 6),
    date(2025, 9, 7),
    date(2025, 10, 5),
    date(2025, 10, 26),
    date(2025, 11, 2),
    date(2024, 4, 7),
    date(2025, 1, 15),
]
MINUTE = timedelta(minutes=1)


def minute_of(value: datetime) -> int:
    return int(value.timestamp()) // 60


# --- the engine ---------------------------------------------------------------------------------

clock = st.integers(0, 24 * 4).map(lambda q: q * 15)  # minutes of a day, 15-minute steps


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    ranges = []
    for _ in range(draw(st.integers(0, 2))):
        a, b = sorted(draw(st.lists(clock, min_size=2, max_size=2, unique=True)))
        end = time(0) if b == 1440 else time(b // 60, b % 60)
        ranges.append((time(a // 60, a % 60), end))
    return tuple(ranges)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(name)
    first = draw(st.sampled_from(DST_DAYS)) + timedelta(days=draw(st.integers(-2, 1)))
    days = draw(st.integers(1, 3))
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(first + timedelta(days=days), time(), zone)
    duration = draw(st.sampled_from([15, 30, 45, 60, 90]))
    rules = AvailabilityRules(
        timezone=name,
        weekly={d: draw(day_ranges()) for d in range(7)},
        overrides={first: draw(day_ranges())} if draw(st.booleans()) else {},
        durations=(duration,),
        increment_minutes=draw(st.sampled_from([None, 10, 15, 30, 60])),
        buffer_before_minutes=draw(st.sampled_from([0, 0, 5, 15])),
        buffer_after_minutes=draw(st.sampled_from([0, 0, 10, 30])),
        minimum_notice_minutes=draw(st.sampled_from([0, 0, 30, 240])),
        horizon_days=draw(st.sampled_from([None, 1, 2, 60])),
        max_per_day=draw(st.sampled_from([None, None, 1, 2])),
    )
    base = start.astimezone(UTC) - timedelta(hours=12)
    blocks = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 5)) == 0:
            day = first + timedelta(days=draw(st.integers(-1, days)))
            span: TimedSpan | AllDaySpan = AllDaySpan(day, day + timedelta(days=draw(st.integers(1, 2))))
        else:
            s = base + draw(st.integers(0, (days + 1) * 24 * 60)) * MINUTE
            span = TimedSpan(s, s + draw(st.integers(0, 8 * 60)) * MINUTE)
        blocks.append(
            BusyBlock(
                span=span,
                show_as=draw(st.sampled_from(list(ShowAs))),
                cancelled=draw(st.booleans()) and draw(st.booleans()),
                declined=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    bookings = []
    for _ in range(draw(st.integers(0, 3))):
        s = base + draw(st.integers(0, (days + 1) * 24 * 4)) * 15 * MINUTE
        bookings.append(TimedSpan(s, s + duration * MINUTE))
    now = start + draw(st.integers(-24 * 60, days * 24 * 60)) * MINUTE
    return dict(rules=rules, zone=zone, start=start, end=end, blocks=blocks, bookings=bookings, now=now)


def oracle(
    rules: AvailabilityRules,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    now: datetime,
    blocks: list[BusyBlock],
    bookings: list[TimedSpan],
) -> tuple[list[tuple[int, int]], set[int]]:
    busy: set[int] = set()
    for block in blocks:
        if block.cancelled or block.declined or block.show_as is ShowAs.FREE:
            continue
        if isinstance(block.span, AllDaySpan):
            a = datetime.combine(block.span.start, time(), zone)
            b = datetime.combine(block.span.end, time(), zone)
        else:
            a, b = block.span.start, block.span.end
        busy.update(range(minute_of(a), minute_of(b)))
    for booking in bookings:
        busy.update(range(minute_of(booking.start), minute_of(booking.end)))
    duration = rules.durations[0]
    step = rules.increment_minutes or duration
    today = now.astimezone(zone).date()
    slots = set()
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        booked = sum(1 for b in bookings if b.start.astimezone(zone).date() == day)
        full = rules.max_per_day is not None and booked >= rules.max_per_day
        hours = rules.overrides.get(day, rules.weekly.get(day.weekday(), ()))
        for a, b in hours:
            range_start = datetime.combine(day, a, zone).astimezone(UTC)
            range_end = datetime.combine(
                day + timedelta(days=1) if b == time(0) else day, b, zone
            ).astimezone(UTC)
            k = 0
            while True:
                s = range_start + k * step * MINUTE
                e = s + duration * MINUTE
                k += 1
                if e > range_end:
                    break
                if (
                    full
                    or s < start
                    or e > end
                    or s < now.astimezone(UTC) + rules.minimum_notice_minutes * MINUTE
                ):
                    continue
                if rules.horizon_days is not None and s >= datetime.combine(
                    today + timedelta(days=rules.horizon_days), time(), zone
                ):
                    continue
                lo = minute_of(s) - rules.buffer_before_minutes
                hi = minute_of(e) + rules.buffer_after_minutes
                if not any(m in busy for m in range(lo, hi)):
                    slots.add((int(s.timestamp()), int(e.timestamp())))
        day += timedelta(days=1)
    window = {m for m in busy if minute_of(start) <= m < minute_of(end)}
    return sorted(slots), window


@PROFILE
@given(scenarios())
def test_slots_match_a_minute_grid_oracle(case: dict[str, object]) -> None:
    rules, zone, start, end, now = case["rules"], case["zone"], case["start"], case["end"], case["now"]
    blocks, bookings = case["blocks"], case["bookings"]
    result = find_slots(
        rules,
        window_start=start,
        window_end=end,
        now=now,
        calendars={"c": CalendarBusy(blocks=tuple(blocks))},
        bookings=bookings,
    )
    expected, busy_minutes = oracle(rules, zone, start, end, now, blocks, bookings)
    assert [(int(s.start.timestamp()), int(s.end.timestamp())) for s in result.slots] == expected
    got_minutes = {m for s, e in result.busy_seconds for m in range(s // 60, e // 60)}
    assert got_minutes == busy_minutes
    assert result.busy_seconds == tuple(merge(result.busy_seconds))  # merged: sorted, disjoint, not touching


# --- the .ics reader ----------------------------------------------------------------------------

ICS_ZONES = ["Europe/Copenhagen", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC", None]
DAY_NAMES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


@st.composite
def events(draw: st.DrawFn) -> dict[str, object]:
    tz_name = draw(st.sampled_from(ICS_ZONES))
    wall = datetime.combine(
        draw(st.sampled_from(DST_DAYS)) - timedelta(days=draw(st.integers(0, 400))),
        time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))),
    )
    length = draw(st.sampled_from(["PT30M", "PT1H", "PT24H", "P1D", "PT2H30M", "end:90", "end:1440", "PT0S"]))
    rule = None
    if draw(st.integers(0, 4)) > 0:
        freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
        rule = f"FREQ={freq};INTERVAL={draw(st.integers(1, 3))}"
        if freq == "WEEKLY":
            extra = draw(st.sets(st.integers(0, 6), max_size=3)) | {wall.weekday()}
            rule += ";BYDAY=" + ",".join(DAY_NAMES[d] for d in sorted(extra))
            rule += ";WKST=" + draw(st.sampled_from(["MO", "SU"]))
        end = draw(st.integers(0, 2))
        if end == 1:
            rule += f";COUNT={draw(st.integers(1, 400))}"
        elif end == 2:
            until = wall + timedelta(days=draw(st.integers(0, 500)))
            rule += ";UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ")
    return dict(
        tz=tz_name,
        wall=wall,
        length=length,
        rule=rule,
        exdates=draw(st.lists(st.integers(0, 60), max_size=3)),
        transparent=draw(st.integers(0, 5)) == 0,
    )


def to_ics(specs: list[dict[str, object]], host: ZoneInfo) -> tuple[str, list[tuple[int, int]], datetime]:
    """The calendar text, and the oracle's busy intervals of every instance up to 2026."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//prop//EN"]
    busy: list[tuple[int, int]] = []
    horizon = datetime(2026, 6, 1, tzinfo=UTC)
    for n, spec in enumerate(specs):
        tz_name, wall, length, rule = spec["tz"], spec["wall"], spec["length"], spec["rule"]
        zone = ZoneInfo(tz_name) if tz_name else host
        start = wall.replace(tzinfo=zone)
        if tz_name == "UTC":
            when = f"DTSTART:{stamp(wall)}Z"
        elif tz_name:
            when = f"DTSTART;TZID={tz_name}:{stamp(wall)}"
        else:
            when = f"DTSTART:{stamp(wall)}"
        event = ["BEGIN:VEVENT", f"UID:e{n}", when]
        if str(length).startswith("end:"):
            minutes = int(str(length)[4:])
            end_wall = wall + timedelta(minutes=minutes)
            event.append(when.replace("DTSTART", "DTEND").replace(stamp(wall), stamp(end_wall)))
            exact = int(end_wall.replace(tzinfo=zone).timestamp() - start.timestamp())
            nominal = None
        else:
            event.append(f"DURATION:{length}")
            nominal = length == "P1D"
            exact = {"PT30M": 1800, "PT1H": 3600, "PT24H": 86400, "PT2H30M": 9000, "PT0S": 0}.get(str(length))
        instances = [start]
        if rule:
            event.append(f"RRULE:{rule}")
            instances = list(
                rrulestr(str(rule), dtstart=start, forceset=False).between(start, horizon, inc=True)
            )
            if not instances or instances[0] != start:
                instances.insert(0, start)
        excluded = set()
        for index in spec["exdates"]:
            if index < len(instances):
                instant = instances[index].astimezone(UTC)
                excluded.add(int(instant.timestamp()))
                if tz_name:  # written in UTC, whatever the event's zone
                    event.append(f"EXDATE:{instant.strftime('%Y%m%dT%H%M%SZ')}")
                else:
                    event.append(f"EXDATE:{stamp(instances[index].replace(tzinfo=None))}")
        if spec["transparent"]:
            event.append("TRANSP:TRANSPARENT")
        event.append("END:VEVENT")
        lines += event
        if spec["transparent"]:
            continue
        for instance in instances:
            s = int(instance.timestamp())
            if s in excluded:
                continue
            if nominal:
                e = int((instance.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone).timestamp())
            else:
                e = s + exact
            if e > s:
                busy.append((s, e))
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n", busy, horizon


@PROFILE
@given(
    st.lists(events(), min_size=1, max_size=5),
    st.sampled_from(ZONES),
    st.sampled_from(DST_DAYS),
    st.integers(1, 40),
)
def test_ics_expansion_matches_dateutil_from_dtstart(specs, host_name, first, days) -> None:
    host = ZoneInfo(host_name)
    text, expected, _ = to_ics(specs, host)
    start = datetime.combine(first - timedelta(days=days // 2), time(), host)
    end = start + timedelta(days=days)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    got = merge(parse_ics(text).busy_intervals(start, end, host))
    want = merge((s, e) for s, e in expected if s < hi and e > lo)
    assert got == want


# --- moving a rule's start close to the window ---------------------------------------------------


@PROFILE
@given(
    freq=st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]),
    interval=st.integers(1, 4),
    parts=st.lists(
        st.sampled_from(
            [
                "BYDAY=MO,WE,FR",
                "BYDAY=-1FR",
                "BYDAY=2TU",
                "BYMONTHDAY=1,15,-1",
                "BYMONTHDAY=31",
                "BYSETPOS=-1",
                "BYSETPOS=1,2",
                "BYMONTH=2,3,10",
                "BYHOUR=8,17",
                "BYMINUTE=0,30",
                "WKST=SU",
                "BYWEEKNO=1,20",
                "BYYEARDAY=1,100,-1",
            ]
        ),
        max_size=3,
        unique=True,
    ),
    start=st.datetimes(datetime(2015, 1, 1), datetime(2025, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    offset=st.integers(0, 4000),
    span=st.integers(1, 90),
)
def test_moved_start_gives_the_same_instances(freq, interval, parts, start, offset, span) -> None:
    text = ";".join([f"FREQ={freq}", f"INTERVAL={interval}", *parts])
    if "BYSETPOS" in text and "BY" not in text.replace("BYSETPOS", ""):
        text += ";BYDAY=MO,TU"  # BYSETPOS needs another BYxxx part
    if freq == "HOURLY":
        span = min(span, 10)
    calendar = parse_ics(
        f"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:{stamp(start)}\nRRULE:{text}\n"
        "DURATION:PT1M\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    rule: _Rule = calendar._plans[0].event.rules[0]
    lower = start.toordinal() + offset
    upper = lower + span
    try:
        expected = rrulestr(text, dtstart=start).between(
            datetime.fromordinal(lower), datetime.fromordinal(upper + 1), inc=True
        )
    except ValueError:  # dateutil: the BYxxx parts never meet; only DTSTART is an instance
        everything = calendar.busy_intervals(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC), UTC
        )
        assert everything == [
            (int(start.replace(tzinfo=UTC).timestamp()), int(start.replace(tzinfo=UTC).timestamp()) + 60)
        ]
        return
    got = [(o, s) for o, s in rule.instances(start, lower, upper) if o >= lower]
    assert got == [
        (d.toordinal(), d.hour * 3600 + d.minute * 60 + d.second) for d in expected if d.toordinal() <= upper
    ]
