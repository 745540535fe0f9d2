"""Exchange (EWS) free/busy vocabulary, mapped to Slotbot's :class:`~bot.calendar.base.ShowAs`.

EWS says how an event shows with Microsoft's free/busy status names, the same ones Graph's
``showAs`` uses, so the one table lives in :mod:`bot.calendar.microsoft.mapping`.
"""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from bot.calendar.base import AllDaySpan, BusyBlock, ShowAs, TimedSpan
from bot.calendar.microsoft.mapping import show_as_from_status


def show_as_from_ews(status: str | None) -> ShowAs:
    """:class:`ShowAs` for an EWS ``LegacyFreeBusyStatus`` or free/busy ``BusyType`` string.

    ``Free`` is the only value that leaves time free. ``Tentative``, ``Busy``, ``OOF`` and
    ``WorkingElsewhere`` block it; ``NoData``, a missing value and any value EWS may add later
    are :attr:`ShowAs.UNKNOWN`, which blocks too (unknown is never free). Case is ignored.
    """
    return show_as_from_status(status)


def item_block(start: datetime, end: datetime, *, zone: tzinfo | None, status: str | None,
               cancelled: bool, response: str | None, title: str = "") -> BusyBlock:
    """One CalendarView item as a :class:`BusyBlock`.

    Exchange stores an all-day item as the UTC instants of the local midnights in the item's own
    zone. exchangelib, when asked for ``IsAllDayEvent``, turns them into dates by subtracting 24
    hours in UTC, which makes an item ending on a spring-forward day one day short; so the flag
    is not asked for and an item whose start and end are local midnights in its zone (at least a
    day apart) is read as whole days, from the raw instants. ``Decline`` as the mailbox owner's
    response means declined. ``title``: the item's subject.
    """
    show_as = show_as_from_ews(status)
    declined = (response or "").lower() == "decline"
    span: TimedSpan | AllDaySpan = TimedSpan(start, end)
    if zone is not None:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        midnights = all(v.time() == time(0) for v in (local_start, local_end))
        if midnights and local_end.date() > local_start.date():
            span = AllDaySpan(local_start.date(), local_end.date())
    return BusyBlock(span, show_as=show_as, cancelled=cancelled, declined=declined, title=title.strip())


def free_busy_block(start: datetime, end: datetime, busy_type: str) -> BusyBlock:
    """One GetUserAvailability event (show-as only: no cancelled or declined flags there)."""
    return BusyBlock(TimedSpan(start, end), show_as=show_as_from_ews(busy_type))
