"""Benchmark of the availability engine (issue 3). Prints figures; not a timed test.

    python bench/availability.py [--runs N] [--quick]

Input, generated deterministically here: 10 calendars in the shape of Google Calendar exports
(VTIMEZONE, descriptions, attendees, alarms), each with 300 one-off events and 15 weekly
recurring events (half of the rules started two years before the window), a 60-day window
crossing the spring DST change, host in Europe/Copenhagen, 30-minute slots Mon-Fri 09:00-17:00.

Compared with a straightforward pipeline on the same input: icalendar for parsing,
recurring_ical_events for expansion, portion for merging and a loop over candidate slots.
Targets: expand + merge + slots <= 15 ms median and >= 20x faster than the pipeline's same
stages; parsing <= 0.15x plain icalendar; peak memory <= 150 MB; 10x events <= 12x time.

Then one 5 MB feed, also built here (:func:`make_feed`): many one-off events in five zones,
UTC, floating and all-day, some recurring series with EXDATEs and overrides (one in five with a
THISANDFUTURE change, some copies with a higher SEQUENCE) and four VTIMEZONEs, one of them under a
Windows name as Outlook writes them. Target: read + expand + merge <= 300 ms (median).
``--feed-only`` measures only that.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import subprocess
import sys
import time as clock
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import portion as P
import recurring_ical_events

from bot.availability import AvailabilityRules, Interval, merge, slots_from_intervals
from bot.calendar.ics.expand import IcsCalendar
from bot.calendar.ics.parse import parse_ics

ZONE = ZoneInfo("Europe/Copenhagen")
FIRST_DAY = date(2025, 3, 3)  # a Monday; Copenhagen springs forward on 2025-03-30
DAYS = 60
WINDOW_START = datetime.combine(FIRST_DAY, time(), ZONE)
WINDOW_END = datetime.combine(FIRST_DAY + timedelta(days=DAYS), time(), ZONE)
NOW = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
RULES = AvailabilityRules(
    timezone="Europe/Copenhagen",
    weekly={d: ((time(9), time(17)),) for d in range(5)},
    durations=(30,),
    horizon_days=None,
)
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Copenhagen
X-LIC-LOCATION:Europe/Copenhagen
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""
WORDS = ("planning review budget sync customer roadmap hiring design retro standup lunch "
         "interview board offsite training demo launch workshop check-in strategy").split()


def _fold(line: str) -> str:
    chunks = [line[i:i + 73] for i in range(0, len(line), 73)]
    return "\r\n ".join(chunks)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _common(rng: random.Random, uid: str) -> list[str]:
    people = rng.sample(range(200), rng.randint(1, 4))
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
    lines = [
        f"UID:{uid}",
        "DTSTAMP:20250301T080000Z",
        "CREATED:20241101T101500Z",
        "LAST-MODIFIED:20250210T141200Z",
        f"SUMMARY:{rng.choice(WORDS).title()} {rng.choice(WORDS)}",
        _fold(f"DESCRIPTION:{text}\\nJoin: https://meet.example.com/{uid}"),
        f"LOCATION:Room {rng.randint(1, 40)}",
        "SEQUENCE:0",
        "ORGANIZER;CN=Host:mailto:host@example.com",
    ]
    lines += [_fold(f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Person {p};"
                    f"X-NUM-GUESTS=0:mailto:person{p}@example.com") for p in people]
    return lines


def make_calendar(seed: int, one_offs: int = 300, recurring: int = 15) -> str:
    """One Google-style export with the benchmark's mix of events."""
    rng = random.Random(seed)
    out = ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
           "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:Calendar {seed}",
           "X-WR-TIMEZONE:Europe/Copenhagen", VTIMEZONE]
    for i in range(one_offs):  # a year of events, as an export holds, around the window
        uid = f"c{seed}-e{i}@example.com"
        day = FIRST_DAY - timedelta(days=180) + timedelta(days=rng.randrange(365))
        event = ["BEGIN:VEVENT"]
        kind = rng.random()
        if kind < 0.05:
            event += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                      f"DTEND;VALUE=DATE:{day + timedelta(days=rng.randint(1, 3)):%Y%m%d}",
                      "TRANSP:TRANSPARENT" if rng.random() < 0.5 else "TRANSP:OPAQUE"]
        else:
            start = datetime.combine(day, time(rng.randint(7, 18), rng.choice((0, 15, 30, 45))))
            end = start + timedelta(minutes=rng.choice((15, 30, 45, 60, 90, 120)))
            if kind < 0.10:
                utc_start = start.replace(tzinfo=ZONE).astimezone(UTC)
                utc_end = end.replace(tzinfo=ZONE).astimezone(UTC)
                event += [f"DTSTART:{_stamp(utc_start)}Z", f"DTEND:{_stamp(utc_end)}Z"]
            else:
                event += [f"DTSTART;TZID=Europe/Copenhagen:{_stamp(start)}",
                          f"DTEND;TZID=Europe/Copenhagen:{_stamp(end)}"]
            if kind > 0.97:
                event.append("STATUS:CANCELLED")
            elif kind > 0.94:
                event.append("TRANSP:TRANSPARENT")
            else:
                event += ["STATUS:CONFIRMED", "TRANSP:OPAQUE"]
        event += _common(rng, uid)
        if rng.random() < 0.3:
            event += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-P0DT0H10M0S",
                      "END:VALARM"]
        event.append("END:VEVENT")
        out += event
    for i in range(recurring):
        uid = f"c{seed}-r{i}@example.com"
        old = i % 2 == 0
        first = FIRST_DAY - (timedelta(days=730) if old else timedelta(days=rng.randint(1, 20)))
        first += timedelta(days=rng.randint(0, 6))
        start = datetime.combine(first, time(rng.randint(7, 19), rng.choice((0, 30))))
        end = start + timedelta(minutes=rng.choice((15, 30, 45, 60)))
        days = sorted(rng.sample(range(5), rng.choice((1, 1, 1, 2, 3))))
        byday = ",".join(("MO", "TU", "WE", "TH", "FR")[d] for d in days)
        rule = f"RRULE:FREQ=WEEKLY;WKST=MO;BYDAY={byday}"
        if rng.random() < 0.3:
            rule += ";INTERVAL=2"
        if rng.random() < 0.2:
            rule += ";UNTIL=20251231T225959Z"
        event = ["BEGIN:VEVENT", f"DTSTART;TZID=Europe/Copenhagen:{_stamp(start)}",
                 f"DTEND;TZID=Europe/Copenhagen:{_stamp(end)}", rule]
        skipped = FIRST_DAY + timedelta(days=7 * rng.randint(0, 7) + days[0])
        event.append(f"EXDATE;TZID=Europe/Copenhagen:{_stamp(datetime.combine(skipped, start.time()))}")
        event += [*_common(rng, uid), "END:VEVENT"]
        out += event
        moved = FIRST_DAY + timedelta(days=7 * rng.randint(0, 7) + days[-1])
        moved_start = datetime.combine(moved, start.time())
        if moved != skipped:
            out += ["BEGIN:VEVENT", f"RECURRENCE-ID;TZID=Europe/Copenhagen:{_stamp(moved_start)}",
                    f"DTSTART;TZID=Europe/Copenhagen:{_stamp(moved_start + timedelta(hours=1))}",
                    f"DTEND;TZID=Europe/Copenhagen:{_stamp(end.replace(year=moved.year, month=moved.month, day=moved.day) + timedelta(hours=1))}",  # noqa: E501
                    *_common(rng, uid), "END:VEVENT"]
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"


FEED_ZONES = ("Europe/Copenhagen", "America/New_York", "Asia/Tokyo", "W. Europe Standard Time")


def _vtimezone(name: str) -> str:
    """A VTIMEZONE for ``name`` written by icalendar (Berlin's rules for the Windows name)."""
    iana = "Europe/Berlin" if name == "W. Europe Standard Time" else name
    zone = icalendar.Timezone.from_tzid(iana, first_date=date(2023, 1, 1), last_date=date(2027, 12, 31))
    text = zone.to_ical()
    return text.decode().replace(f"TZID:{iana}", f"TZID:{name}").strip()


def _feed_time(rng: random.Random, start: datetime, end: datetime) -> list[str]:
    """DTSTART and DTEND lines of a timed event on ``start``'s wall clock, in one of the feed's zones."""
    kind = rng.random()
    if kind < 0.15:
        zone = ZoneInfo(rng.choice(FEED_ZONES[:3]))
        return [f"DTSTART:{_stamp(start.replace(tzinfo=zone).astimezone(UTC))}Z",
                f"DTEND:{_stamp(end.replace(tzinfo=zone).astimezone(UTC))}Z"]
    if kind < 0.17:
        return [f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(end)}"]  # floating
    tzid = FEED_ZONES[0] if kind < 0.6 else rng.choice(FEED_ZONES)
    tzid = f'"{tzid}"' if " " in tzid else tzid
    return [f"DTSTART;TZID={tzid}:{_stamp(start)}", f"DTEND;TZID={tzid}:{_stamp(end)}"]


def make_feed(size: int = 5_000_000, seed: int = 99) -> str:
    """One feed of about ``size`` bytes (see the module doc), deterministic for ``seed``."""
    rng = random.Random(seed)
    out = ["BEGIN:VCALENDAR", "PRODID:-//Slotbot bench//Feed//EN", "VERSION:2.0", "METHOD:PUBLISH",
           "X-WR-CALNAME:Team feed", *(_vtimezone(name) for name in FEED_ZONES)]
    written, i = sum(len(line) + 2 for line in out), 0
    while written < size:
        i += 1
        uid = f"feed-{i}@example.com"
        day = FIRST_DAY - timedelta(days=365) + timedelta(days=rng.randrange(730))
        start = datetime.combine(day, time(rng.randint(6, 20), rng.choice((0, 15, 30, 45))))
        end = start + timedelta(minutes=rng.choice((15, 30, 45, 60, 90, 120)))
        event = ["BEGIN:VEVENT"]
        if i % 40 == 0:  # a recurring series, with overrides
            times = _feed_time(rng, start, end)
            freq = rng.choice(("WEEKLY;BYDAY=MO,WE", "WEEKLY", "DAILY;INTERVAL=2", "MONTHLY;BYDAY=2TU"))
            limit = rng.choice(("", ";COUNT=40", ";UNTIL=20260101T000000Z"))
            head = times[0].split(":")[0]
            event += [*times, f"RRULE:FREQ={freq}{limit}",
                      f"{head.replace('DTSTART', 'EXDATE')}:{_stamp(start + timedelta(days=7))}"
                      f"{'Z' if times[0].endswith('Z') else ''}"]
            event += [*_common(rng, uid), "END:VEVENT"]
            for n in range(rng.randint(1, 3)):
                moved = start + timedelta(days=7 * (n + 2))
                future = ";RANGE=THISANDFUTURE" if n == 0 and rng.random() < 0.2 else ""
                rid = f"{head.replace('DTSTART', 'RECURRENCE-ID' + future)}:{_stamp(moved)}"
                rid += "Z" if times[0].endswith("Z") else ""
                shifted = _feed_time(rng, moved + timedelta(hours=1), moved + timedelta(hours=2))
                event += ["BEGIN:VEVENT", rid, *shifted, *_common(rng, uid), "SEQUENCE:1", "END:VEVENT"]
        elif rng.random() < 0.05:
            event += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                      f"DTEND;VALUE=DATE:{day + timedelta(days=rng.randint(1, 3)):%Y%m%d}",
                      "TRANSP:TRANSPARENT"]
            event += [*_common(rng, uid), "END:VEVENT"]
        else:
            event += _feed_time(rng, start, end)
            event += ["STATUS:CONFIRMED", "TRANSP:OPAQUE"] if rng.random() < 0.9 else ["STATUS:TENTATIVE"]
            event += _common(rng, uid)
            if rng.random() < 0.3:
                event += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT10M",
                          "END:VALARM"]
            event.append("END:VEVENT")
        written += sum(len(line) + 2 for line in event)
        out += event
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"


def feed_figure(runs: int) -> None:
    """Print the 5 MB feed's read + expand + merge time (median of ``runs``)."""
    data = make_feed().encode("utf-8")
    text = data.decode("utf-8")

    def read_expand_merge() -> list[Interval]:
        return merge(parse_ics(data).busy_intervals(WINDOW_START, WINDOW_END, ZONE))

    parse_ics(data)  # the zone caches warm, as in a running bot
    feed_ms, merged = median_ms(read_expand_merge, runs)
    print(f"\n5 MB feed: {len(data) / 1e6:.1f} MB, {text.count('BEGIN:VEVENT')} VEVENTs "
          f"({text.count('RRULE:')} series, {text.count('RECURRENCE-ID')} overrides), "
          f"{text.count('BEGIN:VTIMEZONE')} VTIMEZONEs; read + expand + merge {feed_ms:.0f} ms "
          f"(target <= 300), {len(merged)} merged busy intervals in the window")


# --- Slotbot -----------------------------------------------------------------------------------


def ours_expand(calendars: list[IcsCalendar]) -> list[list[Interval]]:
    return [c.busy_intervals(WINDOW_START, WINDOW_END, ZONE) for c in calendars]


def ours_merge(expanded: list[list[Interval]]) -> list[Interval]:
    return merge(interval for intervals in expanded for interval in intervals)


def ours_slots(busy: list[Interval]) -> list[tuple[datetime, datetime]]:
    result = slots_from_intervals(RULES, window_start=WINDOW_START, window_end=WINDOW_END, now=NOW, busy=busy)
    return [(s.start, s.end) for s in result.slots]


# --- The straightforward pipeline ------------------------------------------------------------------


def _aware(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=ZONE)
    return datetime.combine(value, time(), ZONE)


def naive_expand(calendars: list[Any]) -> list[tuple[datetime, datetime]]:
    busy = []
    for calendar in calendars:
        for event in recurring_ical_events.of(calendar).between(WINDOW_START, WINDOW_END):
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() == "FREE":
                continue
            start = _aware(event["DTSTART"].dt)
            end = _aware(event["DTEND"].dt) if "DTEND" in event else start + event["DURATION"].dt
            busy.append((start, end))
    return busy


def naive_merge(busy: list[tuple[datetime, datetime]]) -> Any:
    return P.Interval(*(P.closedopen(s, e) for s, e in busy))


def naive_slots(busy: Any) -> list[tuple[datetime, datetime]]:
    slots = []
    day = FIRST_DAY
    while day < FIRST_DAY + timedelta(days=DAYS):
        if day.weekday() < 5:
            start = datetime.combine(day, time(9), ZONE)
            close = datetime.combine(day, time(17), ZONE)
            while start + timedelta(minutes=30) <= close:
                end = start + timedelta(minutes=30)
                if start >= NOW and not busy.overlaps(P.closedopen(start, end)):
                    slots.append((start, end))
                start = end
        day += timedelta(days=1)
    return slots


# --- Measuring ------------------------------------------------------------------------------------


def median_ms(function: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        gc.collect()
        began = clock.perf_counter()
        result = function()
        times.append((clock.perf_counter() - began) * 1000)
    return statistics.median(times), result


def stages(calendars: list[IcsCalendar], runs: int) -> tuple[float, float, float, Any, list[Interval]]:
    expand_ms, expanded = median_ms(lambda: ours_expand(calendars), runs)
    merge_ms, merged = median_ms(lambda: ours_merge(expanded), runs)
    slots_ms, slots = median_ms(lambda: ours_slots(merged), runs)
    return expand_ms, merge_ms, slots_ms, slots, merged


def naive_stages(texts: list[str], runs: int, slots: Any, merged: list[Interval]) -> tuple[Any, ...]:
    calendars = [icalendar.Calendar.from_ical(t) for t in texts]
    expand_ms, busy = median_ms(lambda: naive_expand(calendars), runs)
    merge_ms, union = median_ms(lambda: naive_merge(busy), runs)
    slots_ms, found = median_ms(lambda: naive_slots(union), runs)
    same_slots = [(s.timestamp(), e.timestamp()) for s, e in slots] == [
        (s.timestamp(), e.timestamp()) for s, e in found]
    same_busy = [(int(i.lower.timestamp()), int(i.upper.timestamp())) for i in union] == merged
    return expand_ms, merge_ms, slots_ms, same_slots, same_busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per Slotbot stage (median)")
    parser.add_argument("--naive-runs", type=int, default=5, help="runs per pipeline stage (median)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--feed-only", action="store_true", help="only the 5 MB feed figure")
    args = parser.parse_args(argv)
    if args.feed_only:
        feed_figure(max(5, args.runs // 2))
        return 0
    if args.memory_child:  # only Slotbot's pipeline, so the parent can read this process's peak RSS
        ours_slots(ours_merge(ours_expand([parse_ics(make_calendar(seed)) for seed in range(10)])))
        return 0
    # First, while this process is small (a forked child's peak counts the parent's pages).
    subprocess.run([sys.executable, __file__, "--memory-child"], check=True)
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    texts = [make_calendar(seed) for seed in range(10)]
    events = sum(t.count("BEGIN:VEVENT") for t in texts)
    print(f"input: 10 calendars, {events} VEVENTs, {sum(map(len, texts)) / 1e6:.1f} MB of .ics; "
          f"window {WINDOW_START:%Y-%m-%d} .. {WINDOW_END:%Y-%m-%d} ({DAYS} days, DST on 2025-03-30)")

    parse_runs = max(3, args.runs // 4)
    parse_ms, calendars = median_ms(lambda: [parse_ics(t) for t in texts], parse_runs)
    ical_parse_ms, _ = median_ms(lambda: [icalendar.Calendar.from_ical(t) for t in texts], parse_runs)
    expand_ms, merge_ms, slots_ms, slots, merged = stages(calendars, args.runs)
    ours_total = expand_ms + merge_ms + slots_ms

    naive = naive_stages(texts, args.naive_runs, slots, merged)
    n_expand_ms, n_merge_ms, n_slots_ms, same_slots, same_busy = naive
    naive_total = n_expand_ms + n_merge_ms + n_slots_ms

    print("\nSlotbot (median ms)")
    print(f"  parse   {parse_ms:9.1f}   (plain icalendar.Calendar.from_ical: {ical_parse_ms:.1f}; "
          f"ratio {parse_ms / ical_parse_ms:.2f})")
    print(f"  expand  {expand_ms:9.2f}")
    print(f"  merge   {merge_ms:9.2f}")
    print(f"  slots   {slots_ms:9.2f}   ({len(slots)} free slots, {len(merged)} merged busy intervals)")
    print(f"  expand + merge + slots: {ours_total:.2f} ms (target <= 15)")
    print("\nStraightforward pipeline: icalendar + recurring_ical_events + portion + slot loop (median ms)")
    print(f"  expand  {n_expand_ms:9.1f}")
    print(f"  merge   {n_merge_ms:9.1f}")
    print(f"  slots   {n_slots_ms:9.1f}")
    print(f"  expand + merge + slots: {naive_total:.1f} ms")
    print(f"\nspeed-up on expand + merge + slots: {naive_total / ours_total:.1f}x (target >= 20)")
    print(f"same free slots as the pipeline: {'yes' if same_slots else 'NO'}; "
          f"same merged busy time: {'yes' if same_busy else 'NO'}")

    gc.collect()
    tracemalloc.start()
    parsed = [parse_ics(t) for t in texts]
    ours_slots(ours_merge(ours_expand(parsed)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del parsed
    print(f"\npeak memory of parse + expand + merge + slots (tracemalloc): {peak / 2**20:.1f} MB "
          "(target <= 150)")

    big_texts = [make_calendar(seed, one_offs=3000, recurring=150) for seed in range(10)]
    big_calendars = [parse_ics(t) for t in big_texts]
    b_expand_ms, b_merge_ms, b_slots_ms, _, _ = stages(big_calendars, max(5, args.runs // 2))
    big_total = b_expand_ms + b_merge_ms + b_slots_ms
    print(f"\n10x events (3000 one-off + 150 weekly per calendar): expand {b_expand_ms:.2f}, "
          f"merge {b_merge_ms:.2f}, slots {b_slots_ms:.2f} = {big_total:.2f} ms; "
          f"{big_total / ours_total:.1f}x the time (target <= 12x)")
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of a process running only Slotbot's pipeline (interpreter included): {child_rss:.0f} MB")
    print(f"peak RSS of this whole run (both pipelines, the 10x input): {max_rss:.0f} MB")
    feed_figure(max(5, args.runs // 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
