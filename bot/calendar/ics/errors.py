"""The one error of iCalendar reading: :class:`IcsError`.

It lives apart from the stages because every stage raises it: parsing (a broken date, an
unknown TZID, an invalid RRULE) and expansion too (a zone that gives no UTC offset). A calendar
that cannot be read with certainty is unknown, not free.
"""

from __future__ import annotations


class IcsError(ValueError):
    """The data is not iCalendar Slotbot can read with certainty. The message is one line."""
