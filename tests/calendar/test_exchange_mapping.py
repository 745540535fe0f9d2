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
