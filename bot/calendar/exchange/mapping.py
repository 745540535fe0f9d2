"""Exchange (EWS) free/busy vocabulary, mapped to Slotbot's :class:`~bot.calendar.base.ShowAs`.

EWS says how an event shows with Microsoft's free/busy status names, the same ones Graph's
``showAs`` uses, so the one table lives in :mod:`bot.calendar.microsoft.mapping`.
"""

from __future__ import annotations

from bot.calendar.base import ShowAs
from bot.calendar.microsoft.mapping import show_as_from_status


def show_as_from_ews(status: str | None) -> ShowAs:
    """:class:`ShowAs` for an EWS ``LegacyFreeBusyStatus`` or free/busy ``BusyType`` string.

    ``Free`` is the only value that leaves time free. ``Tentative``, ``Busy``, ``OOF`` and
    ``WorkingElsewhere`` block it; ``NoData``, a missing value and any value EWS may add later
    are :attr:`ShowAs.UNKNOWN`, which blocks too (unknown is never free). Case is ignored.
    """
    return show_as_from_status(status)
