"""Microsoft Exchange (EWS) calendars: for now only the free/busy vocabulary mapping.

The EWS provider itself (exchangelib, run in a thread, GetUserAvailability / CalendarView)
follows in a later issue. What lives here already is how EWS says an event shows, mapped to
Slotbot's :class:`~bot.calendar.base.ShowAs`, so the availability engine sees one vocabulary.
"""

from __future__ import annotations

from bot.calendar.base import ShowAs

_SHOW_AS = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OUT_OF_OFFICE,
    "workingelsewhere": ShowAs.WORKING_ELSEWHERE,
    "nodata": ShowAs.UNKNOWN,
}


def show_as_from_ews(status: str | None) -> ShowAs:
    """:class:`ShowAs` for an EWS ``LegacyFreeBusyStatus`` or free/busy ``BusyType`` string.

    ``Free`` is the only value that leaves time free. ``Tentative``, ``Busy``, ``OOF`` and
    ``WorkingElsewhere`` block it; ``NoData``, a missing value and any value EWS may add later
    are :attr:`ShowAs.UNKNOWN`, which blocks too (unknown is never free). Case is ignored.
    """
    if status is None:
        return ShowAs.UNKNOWN
    return _SHOW_AS.get(status.strip().lower(), ShowAs.UNKNOWN)
