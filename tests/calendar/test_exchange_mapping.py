"""EWS free/busy strings mapped to Slotbot's ShowAs: only Free leaves time free."""

from __future__ import annotations

import pytest

from bot.calendar.base import BusyBlock, ShowAs, TimedSpan
from bot.calendar.exchange.mapping import show_as_from_ews


@pytest.mark.parametrize(
    ("status", "expected", "blocks"),
    [
        ("Free", ShowAs.FREE, False),
        ("Tentative", ShowAs.TENTATIVE, True),
        ("Busy", ShowAs.BUSY, True),
        ("OOF", ShowAs.OUT_OF_OFFICE, True),
        ("WorkingElsewhere", ShowAs.WORKING_ELSEWHERE, True),
        ("NoData", ShowAs.UNKNOWN, True),
        ("free", ShowAs.FREE, False),
        (" busy ", ShowAs.BUSY, True),
        ("SomethingNew", ShowAs.UNKNOWN, True),
        (None, ShowAs.UNKNOWN, True),
    ],
)
def test_ews_status_mapping(status: str | None, expected: ShowAs, blocks: bool) -> None:
    from datetime import UTC, datetime

    shown = show_as_from_ews(status)
    assert shown is expected
    span = TimedSpan(datetime(2025, 3, 3, 9, tzinfo=UTC), datetime(2025, 3, 3, 10, tzinfo=UTC))
    assert BusyBlock(span=span, show_as=shown).blocks_time() is blocks


# -- CalendarView items ---------------------------------------------------------------------------

from datetime import UTC, date, datetime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from bot.calendar.base import AllDaySpan  # noqa: E402
from bot.calendar.exchange.mapping import free_busy_block, item_block  # noqa: E402

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` in ``zone`` as a UTC instant, as Exchange stores all-day items."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 3, 29), date(2026, 3, 30)),  # spring forward: a 23-hour Sunday
        (date(2026, 3, 28), date(2026, 3, 30)),  # Saturday and that Sunday
        (date(2026, 10, 25), date(2026, 10, 26)),  # fall back: a 25-hour Sunday
        (date(2026, 6, 1), date(2026, 6, 2)),
    ],
)
def test_an_all_day_item_keeps_its_days_across_dst(first: date, last: date) -> None:
    block = item_block(_midnight(first, COPENHAGEN), _midnight(last, COPENHAGEN), zone=COPENHAGEN,
                       status="Busy", cancelled=False, response="Organizer")
    assert block.span == AllDaySpan(first, last)
    assert block.blocks_time()


def test_a_timed_item_is_its_instants_and_midnights_in_another_zone_are_not_all_day() -> None:
    start = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    timed = item_block(start, start + timedelta(hours=1), zone=COPENHAGEN, status="Tentative",
                       cancelled=False, response=None)
    assert timed.span == TimedSpan(start, start + timedelta(hours=1))
    utc_midnights = item_block(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC),
                               zone=COPENHAGEN, status="Busy", cancelled=False, response=None)
    assert isinstance(utc_midnights.span, TimedSpan)  # midnight in UTC is 02:00 in Copenhagen
    no_zone = item_block(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC),
                         zone=None, status="Busy", cancelled=False, response=None)
    assert isinstance(no_zone.span, TimedSpan)


@pytest.mark.parametrize(
    ("status", "cancelled", "response", "blocks"),
    [
        ("Busy", False, "Accept", True),
        ("Busy", True, "Organizer", False),
        ("Busy", False, "Decline", False),
        ("Free", False, "Accept", False),
        ("OOF", False, "NoResponseReceived", True),
        (None, False, None, True),
    ],
)
def test_cancelled_declined_and_free_items_leave_time_free(
    status: str | None, cancelled: bool, response: str | None, blocks: bool
) -> None:
    start = datetime(2031, 3, 4, 9, tzinfo=UTC)
    block = item_block(start, start + timedelta(hours=1), zone=COPENHAGEN, status=status,
                       cancelled=cancelled, response=response)
    assert block.blocks_time() is blocks


def test_free_busy_events_map_their_busy_type() -> None:
    start = datetime(2031, 3, 4, 9, tzinfo=UTC)
    assert free_busy_block(start, start + timedelta(hours=1), "Busy").blocks_time()
    assert not free_busy_block(start, start + timedelta(hours=1), "Free").blocks_time()
    assert free_busy_block(start, start + timedelta(hours=1), "NoData").show_as is ShowAs.UNKNOWN
