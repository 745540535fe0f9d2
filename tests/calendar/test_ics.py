"""iCalendar reading: exports from Google, Outlook and Apple Calendar, recurrence, zones, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.base import AllDaySpan, BusyBlock, ShowAs
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar, show_as
from bot.calendar.ics.parse import parse_ics
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "ics"
CPH = ZoneInfo("Europe/Copenhagen")
NY = ZoneInfo("America/New_York")


def load(name: str) -> IcsCalendar:
    return parse_ics((DATA / name).read_bytes())


def ics(*events: str, extra: str = "") -> str:
    body = "\n".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT" for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{extra}{body}\nEND:VCALENDAR\n"


def fmt(block: BusyBlock, zone: ZoneInfo) -> str:
    span = block.span
    if isinstance(span, AllDaySpan):
        return f"{span.start:%m-%d}..{span.end:%m-%d} all-day"
    return f"{span.start.astimezone(zone):%m-%d %H:%M}-{span.end.astimezone(zone):%m-%d %H:%M}"


def busy(calendar: IcsCalendar, start: datetime, end: datetime, zone: ZoneInfo) -> list[str]:
    """The blocking occurrences, formatted in ``zone``; checked against busy_intervals too."""
    blocks = [b for b in calendar.busy_blocks(start, end, zone) if b.blocks_time()]
    intervals = sorted(calendar.busy_intervals(start, end, zone))
    assert len(intervals) == len(blocks)
    for block, (s, e) in zip(blocks, intervals, strict=True):
        if not isinstance(block.span, AllDaySpan):
            assert (block.span.start.timestamp(), block.span.end.timestamp()) == (s, e)
    return [fmt(b, zone) for b in blocks]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- real-world exports ---------------------------------------------------------------------------


def test_google_export() -> None:
    calendar = load("google.ics")
    start, end = datetime(2025, 3, 3, tzinfo=CPH), datetime(2025, 3, 17, tzinfo=CPH)
    assert busy(calendar, start, end, CPH) == [
        "03-03 09:30-03-03 10:00",  # weekly series begun in 2023
        "03-04 13:00-03-04 14:00",  # UTC one-off
        "03-04 16:00-03-04 17:00",  # tentative blocks
        # 03-05: EXDATE; cancelled one-off; 03-06: transparent all-day birthday
        "03-07 15:00-03-07 15:30",  # override moved 09:30 -> 15:00
        # 03-10: cancelled override removes the instance
        "03-12 09:30-03-12 10:00",
        "03-13..03-15 all-day",
        "03-14 09:30-03-14 10:00",
    ]
    everything = calendar.busy_blocks(start, end, CPH)
    flags = {(fmt(b, CPH), b.show_as, b.cancelled) for b in everything if not b.blocks_time()}
    assert ("03-05 14:00-03-05 15:00", ShowAs.BUSY, True) in flags
    assert ("03-06..03-07 all-day", ShowAs.FREE, False) in flags
    assert any(b.show_as is ShowAs.TENTATIVE for b in everything)


def test_outlook_export_with_windows_zone_names() -> None:
    calendar = load("outlook.ics")
    start, end = datetime(2025, 3, 3, tzinfo=CPH), datetime(2025, 4, 8, tzinfo=CPH)
    assert busy(calendar, start, end, CPH) == [
        "03-04 09:00-03-04 10:00",
        "03-05 14:00-03-05 15:00",  # BUSYSTATUS TENTATIVE; 10:00 BUSYSTATUS FREE does not block
        "03-07..03-08 all-day",  # OOF
        "03-12 14:00-03-12 15:00",  # 09:00 Eastern (already EDT) is 14:00 CET
        # 03-11: EXDATE
        "03-18 09:00-03-18 10:00",
        "03-25 09:00-03-25 10:00",
        "03-31 16:00-03-31 17:00",  # BYSETPOS=-1: last weekday of March
        "04-01 09:00-04-01 10:00",  # UNTIL 08:00Z includes 09:00 CEST (07:00Z)
    ]
    shows = {b.show_as for b in calendar.busy_blocks(start, end, CPH)}
    assert {ShowAs.FREE, ShowAs.TENTATIVE, ShowAs.OUT_OF_OFFICE, ShowAs.BUSY} <= shows


def test_apple_export() -> None:
    calendar = load("apple.ics")
    start, end = datetime(2025, 3, 3, tzinfo=NY), datetime(2025, 3, 10, tzinfo=NY)
    assert busy(calendar, start, end, NY) == [
        "03-03 16:00-03-03 17:00",  # COUNT=2 ...
        "03-04 08:00-03-04 09:30",  # DURATION:PT1H30M
        "03-04 16:00-03-04 17:00",
        "03-05 12:00-03-05 12:30",  # floating: read in the host's zone
        "03-06 16:00-03-06 17:00",  # RDATE; 03-07's RDATE removed by a UTC EXDATE
    ]
    # The floating event moves with the host; the zoned ones do not.
    in_copenhagen = busy(calendar, start, end, CPH)
    assert "03-05 12:00-03-05 12:30" in in_copenhagen
    assert "03-03 22:00-03-03 23:00" in in_copenhagen


def test_apple_monthly_last_day_all_day_until_date() -> None:
    calendar = load("apple.ics")
    start, end = datetime(2025, 1, 1, tzinfo=NY), datetime(2025, 8, 1, tzinfo=NY)
    rent = [b for b in busy(calendar, start, end, NY) if "all-day" in b]
    assert rent == [
        "01-31..02-01 all-day",
        "02-28..03-01 all-day",
        "03-31..04-01 all-day",
        "04-30..05-01 all-day",
        "05-31..06-01 all-day",
        "06-30..07-01 all-day",
    ]


# --- event semantics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "blocks", "shown"),
    [
        ("", True, ShowAs.BUSY),
        ("STATUS:CONFIRMED\nTRANSP:OPAQUE", True, ShowAs.BUSY),
        ("STATUS:CANCELLED", False, ShowAs.BUSY),
        ("TRANSP:TRANSPARENT", False, ShowAs.FREE),
        ("X-MICROSOFT-CDO-BUSYSTATUS:FREE", False, ShowAs.FREE),
        ("STATUS:TENTATIVE", True, ShowAs.TENTATIVE),
        ("X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE", True, ShowAs.TENTATIVE),
        ("X-MICROSOFT-CDO-BUSYSTATUS:OOF", True, ShowAs.OUT_OF_OFFICE),
        ("X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE", True, ShowAs.WORKING_ELSEWHERE),
    ],
)
def test_status_vocabulary(props: str, blocks: bool, shown: ShowAs) -> None:
    calendar = parse_ics(ics(f"UID:x\nDTSTART:20250303T100000Z\nDTEND:20250303T110000Z\n{props}"))
    [block] = calendar.busy_blocks(utc(2025, 3, 3), utc(2025, 3, 4), CPH)
    assert block.blocks_time() is blocks
    assert block.show_as is shown
    assert bool(calendar.busy_intervals(utc(2025, 3, 3), utc(2025, 3, 4), CPH)) is blocks


def test_show_as_mapping_function() -> None:
    assert show_as(transp="transparent", busystatus="BUSY") is ShowAs.FREE
    assert show_as(busystatus="oof") is ShowAs.OUT_OF_OFFICE
    assert show_as() is ShowAs.BUSY


def test_all_day_without_dtend_is_one_day_in_the_host_zone() -> None:
    calendar = parse_ics(ics("UID:x\nDTSTART;VALUE=DATE:20250303"))
    assert calendar.busy_intervals(utc(2025, 3, 1), utc(2025, 3, 6), NY) == [
        (int(datetime(2025, 3, 3, tzinfo=NY).timestamp()), int(datetime(2025, 3, 4, tzinfo=NY).timestamp()))
    ]


def test_zero_length_events_block_nothing_and_are_left_out() -> None:
    calendar = parse_ics(
        ics(
            "UID:a\nDTSTART:20250303T100000Z",
            "UID:b\nDTSTART:20250303T100000Z\nDTEND:20250303T100000Z",
            "UID:c\nDTSTART:20250303T100000Z\nDURATION:PT0S",
        )
    )
    assert calendar.busy_blocks(utc(2025, 3, 3), utc(2025, 3, 4), CPH) == []


def test_durations_hours_are_exact_days_are_nominal_across_dst() -> None:
    calendar = parse_ics(
        ics(
            "UID:exact\nDTSTART;TZID=America/New_York:20250308T120000\nDURATION:PT24H",
            "UID:nominal\nDTSTART;TZID=America/New_York:20250308T150000\nDURATION:P1D",
            "UID:mixed\nDTSTART;TZID=America/New_York:20250308T180000\nDURATION:P1DT1H",
        )
    )
    assert busy(calendar, utc(2025, 3, 8), utc(2025, 3, 11), NY) == [
        "03-08 12:00-03-09 13:00",  # 24 elapsed hours over the spring-forward night
        "03-08 15:00-03-09 15:00",  # one calendar day (23 hours)
        "03-08 18:00-03-09 19:00",
    ]


def test_every_instance_has_the_masters_exact_length_across_dst() -> None:
    calendar = parse_ics(
        ics(
            # 24 elapsed hours (on a day without a change), repeated across the change.
            "UID:a\nDTSTART;TZID=America/New_York:20250307T120000\nDTEND;TZID=America/New_York:20250308T120000\n"
            "RRULE:FREQ=DAILY;COUNT=3",
            # A master written in two zones: 30 minutes.
            "UID:b\nDTSTART;TZID=Europe/Copenhagen:20250329T220000\nDTEND:20250329T213000Z\n"
            "RRULE:FREQ=DAILY;COUNT=2",
        )
    )
    assert busy(calendar, utc(2025, 3, 7), utc(2025, 3, 12), NY) == [
        "03-07 12:00-03-08 12:00",
        "03-08 12:00-03-09 13:00",
        "03-09 12:00-03-10 12:00",
    ]
    assert busy(calendar, utc(2025, 3, 29), utc(2025, 3, 31), CPH) == [
        "03-29 22:00-03-29 22:30",
        "03-30 22:00-03-30 22:30",
    ]


def test_exdate_and_recurrence_id_match_by_instant_whatever_the_zone() -> None:
    calendar = parse_ics(
        ics(
            "UID:s\nDTSTART;TZID=Europe/Copenhagen:20250303T090000\nDTEND;TZID=Europe/Copenhagen:20250303T100000\n"
            "RRULE:FREQ=DAILY;COUNT=6\n"
            "EXDATE:20250304T080000Z\n"  # UTC
            "EXDATE;TZID=Asia/Tokyo:20250305T170000\n"  # Tokyo
            "EXDATE;TZID=Europe/Copenhagen:20250306T091500",  # no such instance: nothing happens
            "UID:s\nRECURRENCE-ID;TZID=America/New_York:20250307T030000\n"
            "DTSTART;TZID=Europe/Copenhagen:20250307T120000\nDTEND;TZID=Europe/Copenhagen:20250307T130000",
            "UID:s\nRECURRENCE-ID:20250308T080000Z\nDTSTART:20250308T080000Z\nDTEND:20250308T090000Z\n"
            "TRANSP:TRANSPARENT",  # a free override removes its instance
        )
    )
    assert busy(calendar, utc(2025, 3, 1), utc(2025, 3, 10), CPH) == [
        "03-03 09:00-03-03 10:00",
        "03-06 09:00-03-06 10:00",
        "03-07 12:00-03-07 13:00",
    ]


def test_floating_series_with_floating_exdate_follows_the_host() -> None:
    calendar = parse_ics(
        ics(
            "UID:f\nDTSTART:20250303T090000\nDTEND:20250303T093000\nRRULE:FREQ=DAILY;COUNT=3\nEXDATE:20250304T090000"
        )
    )
    assert busy(calendar, utc(2025, 3, 2), utc(2025, 3, 7), NY) == [
        "03-03 09:00-03-03 09:30",
        "03-05 09:00-03-05 09:30",
    ]
    assert busy(calendar, utc(2025, 3, 2), utc(2025, 3, 7), CPH) == [
        "03-03 09:00-03-03 09:30",
        "03-05 09:00-03-05 09:30",
    ]


def test_override_moved_into_the_window_from_outside() -> None:
    calendar = parse_ics(
        ics(
            "UID:m\nDTSTART:20250303T090000Z\nDTEND:20250303T100000Z\nRRULE:FREQ=WEEKLY",
            "UID:m\nRECURRENCE-ID:20250317T090000Z\nDTSTART:20250312T150000Z\nDTEND:20250312T160000Z",
        )
    )
    assert busy(calendar, utc(2025, 3, 11), utc(2025, 3, 18), UTC) == ["03-12 15:00-03-12 16:00"]


def _walls(rule: str, dtstart: str, start: datetime, end: datetime) -> list[str]:
    calendar = parse_ics(ics(f"UID:r\nDTSTART:{dtstart}\nDURATION:PT1H\nRRULE:{rule}"))
    return [f"{b.span.start:%Y-%m-%d %H:%M}" for b in calendar.busy_blocks(start, end, UTC)]


def test_rrule_parts_rfc_5545_examples() -> None:
    window = (utc(1997, 1, 1), utc(1999, 1, 1))
    # RFC 5545 3.8.5.3: WKST changes which weeks INTERVAL=2 picks.
    assert _walls("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "19970805T090000Z", *window) == [
        "1997-08-05 09:00",
        "1997-08-10 09:00",
        "1997-08-19 09:00",
        "1997-08-24 09:00",
    ]
    assert _walls("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "19970805T090000Z", *window) == [
        "1997-08-05 09:00",
        "1997-08-17 09:00",
        "1997-08-19 09:00",
        "1997-08-31 09:00",
    ]
    # The last work day of the month; the third instance of TU/WE/TH in a month (BYSETPOS).
    assert _walls("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", "19970930T090000Z", *window) == [
        "1997-09-30 09:00",
        "1997-10-31 09:00",
        "1997-11-28 09:00",
    ]
    assert _walls("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "19970904T090000Z", *window) == [
        "1997-09-04 09:00",
        "1997-10-07 09:00",
        "1997-11-06 09:00",
    ]
    # BYMONTHDAY with negative days, INTERVAL, UNTIL.
    assert _walls("FREQ=MONTHLY;BYMONTHDAY=-3;UNTIL=19971231T000000Z", "19970928T090000Z", *window) == [
        "1997-09-28 09:00",
        "1997-10-29 09:00",
        "1997-11-28 09:00",
        "1997-12-29 09:00",
    ]
    assert _walls("FREQ=DAILY;INTERVAL=10;COUNT=3", "19970902T090000Z", *window) == [
        "1997-09-02 09:00",
        "1997-09-12 09:00",
        "1997-09-22 09:00",
    ]


def test_dtstart_always_counts_as_the_first_instance() -> None:
    # 1997-09-02 is a Tuesday; the rule wants Fridays: DTSTART plus two Fridays.
    assert _walls("FREQ=WEEKLY;BYDAY=FR;COUNT=3", "19970902T090000Z", utc(1997, 1, 1), utc(1998, 1, 1)) == [
        "1997-09-02 09:00",
        "1997-09-05 09:00",
        "1997-09-12 09:00",
    ]


def test_rule_is_expanded_in_its_own_wall_clock() -> None:
    calendar = parse_ics(
        ics(
            "UID:w\nDTSTART;TZID=America/New_York:20250303T090000\nDTEND;TZID=America/New_York:20250303T093000\n"
            "RRULE:FREQ=WEEKLY;COUNT=3"
        )
    )
    # 09:00 New York every week: 14:00 UTC before the US change, 13:00 UTC after.
    assert [
        f"{b.span.start:%m-%d %H:%M}" for b in calendar.busy_blocks(utc(2025, 3, 1), utc(2025, 4, 1), CPH)
    ] == ["03-03 14:00", "03-10 13:00", "03-17 13:00"]


def test_old_rules_cost_what_new_ones_cost() -> None:
    from dateutil.rrule import rrulestr

    from bot.calendar.ics.recurrence import _Rule  # the jump itself is what is checked here

    start = datetime(2020, 3, 2, 9, 0)
    lower, upper = date(2025, 3, 3).toordinal(), date(2025, 3, 31).toordinal()
    for text in (
        "FREQ=WEEKLY;BYDAY=MO,WE",
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9,15",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=YEARLY;BYWEEKNO=10",
    ):
        calendar = parse_ics(ics(f"UID:o\nDTSTART:20200302T090000\nDURATION:PT1H\nRRULE:{text}"))
        rule: _Rule = calendar._plans[0].event.rules[0]
        generated = rule.instances(start, lower, upper)
        assert len(generated) <= 40, text  # about a month of instances, not five years of them
        expected = rrulestr(text, dtstart=start).between(
            datetime.fromordinal(lower), datetime.fromordinal(upper + 1), inc=True
        )
        got = [
            datetime.fromordinal(o).replace(hour=s // 3600, minute=s % 3600 // 60)
            for o, s in generated
            if o >= lower
        ]
        assert got == expected, text


# --- zones --------------------------------------------------------------------------------------


CUSTOM_ZONE = """BEGIN:VTIMEZONE
TZID:Central European (custom)
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
"""


def test_custom_vtimezone_gap_and_fold_follow_rfc_5545() -> None:
    calendar = parse_ics(
        ics(
            # 02:30 does not exist on 2025-03-30: the offset before the gap (+01:00) applies.
            'UID:g\nDTSTART;TZID="Central European (custom)":20250330T023000\nDURATION:PT30M',
            # 02:30 happens twice on 2025-10-26: the first one (+02:00).
            'UID:f\nDTSTART;TZID="Central European (custom)":20251026T023000\nDURATION:PT30M',
            'UID:d\nDTSTART;TZID="Central European (custom)":20250310T090000\nDURATION:PT1H\n'
            "RRULE:FREQ=WEEKLY;COUNT=5",
            extra=CUSTOM_ZONE,
        )
    )
    starts = [b.span.start for b in calendar.busy_blocks(utc(2025, 3, 1), utc(2025, 11, 1), UTC)]
    assert utc(2025, 3, 30, 1, 30) in starts
    assert utc(2025, 10, 26, 0, 30) in starts
    assert [s for s in starts if s.hour in (7, 8)] == [
        utc(2025, 3, 10, 8),
        utc(2025, 3, 17, 8),
        utc(2025, 3, 24, 8),
        utc(2025, 3, 31, 7),
        utc(2025, 4, 7, 7),
    ]


def test_windows_zone_name_without_vtimezone() -> None:
    calendar = parse_ics(ics("UID:w\nDTSTART;TZID=W. Europe Standard Time:20250703T090000\nDURATION:PT1H"))
    assert busy(calendar, utc(2025, 7, 1), utc(2025, 7, 5), CPH) == ["07-03 09:00-07-03 10:00"]


def test_event_in_one_zone_seen_from_another() -> None:
    calendar = parse_ics(ics("UID:k\nDTSTART;TZID=Asia/Kathmandu:20250303T101500\nDURATION:PT45M"))
    assert busy(calendar, utc(2025, 3, 1), utc(2025, 3, 5), CPH) == ["03-03 05:30-03-03 06:15"]


def test_window_edges_and_long_events() -> None:
    calendar = parse_ics(
        ics(
            "UID:l\nDTSTART:20250301T000000Z\nDTEND:20250320T000000Z",
            "UID:e\nDTSTART:20250310T000000Z\nDTEND:20250310T010000Z",
        )
    )
    assert calendar.busy_intervals(utc(2025, 3, 10, 1), utc(2025, 3, 11), CPH) == [
        (int(utc(2025, 3, 1).timestamp()), int(utc(2025, 3, 20).timestamp()))
    ]  # touching 01:00 excluded


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not an iCalendar file"),
        (ics("UID:x\nDTSTART:garbage\nDTEND:20250303T100000Z"), "DTSTART"),
        (ics("UID:x\nDTEND:20250303T100000Z"), "no DTSTART"),
        (ics("UID:x\nDTSTART;TZID=Mars/Base:20250303T100000\nDURATION:PT1H"), "unknown time zone"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDTEND:20250303T090000Z"), "before"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H\nRRULE:FREQ=FORTNIGHTLY"), "RRULE"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:soon"), "DURATION"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H\nRRULE:FREQ=YEARLY;BYMONTH=13"), "BYMONTH"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=0"), "COUNT"),
        (ics("UID:x\nDTSTART:20250303T100000Z\nDTSTART:20250304T100000Z"), "more than one DTSTART"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20250303T100000Z\n", "malformed"),
    ],
)
def test_malformed_input_raises_one_line_ics_error(text: str, message: str) -> None:
    with pytest.raises(IcsError, match=message) as caught:
        parse_ics(text)
    assert "\n" not in str(caught.value)


def test_naive_window_is_refused() -> None:
    calendar = parse_ics(ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H"))
    with pytest.raises(ValueError):
        calendar.busy_intervals(datetime(2025, 3, 3), datetime(2025, 3, 4), CPH)


def test_bytes_with_bom_and_crlf() -> None:
    text = "\ufeff" + ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H").replace("\n", "\r\n")
    calendar = parse_ics(text.encode("utf-8"))
    assert calendar.busy_intervals(utc(2025, 3, 3), utc(2025, 3, 4), CPH) == [
        (int(utc(2025, 3, 3, 10).timestamp()), int(utc(2025, 3, 3, 11).timestamp()))
    ]


def test_unused_date_in_rule_window_yields_nothing() -> None:
    calendar = parse_ics(
        ics("UID:x\nDTSTART:20250303T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;UNTIL=20250305T100000Z")
    )
    assert calendar.busy_intervals(utc(2025, 3, 6), utc(2026, 3, 4), CPH) == []
    assert len(calendar.busy_intervals(utc(2025, 3, 1), utc(2026, 3, 4), CPH)) == 3


def test_occurrences_carry_their_summary_as_title_and_series_expand_inside_the_window() -> None:
    calendar = parse_ics(ics(
        """UID:standup
SUMMARY:Stand-up\\, daily
DTSTART;TZID=Europe/Copenhagen:20261023T090000
DTEND;TZID=Europe/Copenhagen:20261023T093000
RRULE:FREQ=DAILY;COUNT=30""",
        """UID:standup
RECURRENCE-ID;TZID=Europe/Copenhagen:20261026T090000
SUMMARY;LANGUAGE=en:Stand-up (moved)
DTSTART;TZID=Europe/Copenhagen:20261026T100000
DTEND;TZID=Europe/Copenhagen:20261026T103000""",
        """UID:offsite
SUMMARY:Company offsite
DTSTART;VALUE=DATE:20261025
DTEND;VALUE=DATE:20261026""",
        """UID:untitled
DTSTART:20261025T120000Z
DTEND:20261025T130000Z""",
    ))
    # Sunday 25 October 2026: Copenhagen falls back at 03:00 (a 25-hour day).
    day = datetime(2026, 10, 25, tzinfo=CPH), datetime(2026, 10, 26, tzinfo=CPH)
    blocks = calendar.busy_blocks(*day, CPH)
    assert [(fmt(b, CPH), b.title) for b in blocks] == [
        ("10-25..10-26 all-day", "Company offsite"),
        ("10-25 09:00-10-25 09:30", "Stand-up, daily"),  # the text unescaped, one instance only
        ("10-25 13:00-10-25 14:00", ""),
    ]
    monday = calendar.busy_blocks(datetime(2026, 10, 26, tzinfo=CPH), datetime(2026, 10, 27, tzinfo=CPH), CPH)
    assert [(fmt(b, CPH), b.title) for b in monday] == [("10-26 10:00-10-26 10:30", "Stand-up (moved)")]
