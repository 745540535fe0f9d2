"""Microsoft's vocabulary -> Slotbot's: Graph events and calendars, free/busy status names.

:func:`graph_event_to_block` is the one place Graph's event vocabulary (``showAs``,
``isCancelled``, ``responseStatus``, ``isAllDay``) becomes a :class:`~bot.calendar.base.BusyBlock`;
:func:`show_as_from_status` reads Microsoft's free/busy status names, which Graph's ``showAs`` and
Exchange's ``LegacyFreeBusyStatus`` share; :func:`calendar_info` reads one ``/me/calendars`` item.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.calendar.base import AccessRole, AllDaySpan, BusyBlock, CalendarInfo, ShowAs, TimedSpan

CALENDAR_VIEW_FIELDS = "showAs,isCancelled,isAllDay,start,end,responseStatus,subject"
"""What ``calendarView`` is asked for: the free/busy facts and the title (shown only to the
calendar's owner in a private answer), nothing else of the event's content."""

CALENDAR_FIELDS = "id,name,isDefaultCalendar,canEdit,owner"
"""What ``/me/calendars`` is asked for."""

_UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "tzone://microsoft/utc"})
_SHOW_AS = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OUT_OF_OFFICE,
    "workingelsewhere": ShowAs.WORKING_ELSEWHERE,
    "unknown": ShowAs.UNKNOWN,
    "nodata": ShowAs.UNKNOWN,
}


def show_as_from_status(status: object) -> ShowAs:
    """:class:`ShowAs` for a Microsoft free/busy status name (Graph ``showAs``, EWS status).

    ``free`` is the only value that leaves time free; ``tentative``, ``busy``, ``oof`` and
    ``workingElsewhere`` block it; ``unknown``, ``NoData``, a missing value and any value
    Microsoft may add later are :attr:`ShowAs.UNKNOWN`, which blocks too. Case is ignored.
    """
    if not isinstance(status, str):
        return ShowAs.UNKNOWN
    return _SHOW_AS.get(status.strip().lower(), ShowAs.UNKNOWN)


def graph_datetime(value: Mapping[str, Any]) -> datetime:
    """A Graph ``dateTimeTimeZone`` as an aware datetime."""
    text = str(value.get("dateTime") or "")
    zone_name = str(value.get("timeZone") or "UTC")
    if not text:
        raise ValueError("an event time has no dateTime")
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:  # Graph writes 7 fractional digits; Python reads up to 6.
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        return moment
    if zone_name.lower() in _UTC_NAMES:
        zone: ZoneInfo | Any = UTC
    else:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unsupported time zone {zone_name!r}") from None
    return moment.replace(tzinfo=zone)


def graph_event_to_block(event: Mapping[str, Any]) -> BusyBlock:
    """Map one Graph event (as ``calendarView`` returns it) to a :class:`BusyBlock`.

    ``showAs`` maps free/tentative/busy/oof/workingElsewhere/unknown (anything else is unknown,
    which blocks time); ``isCancelled`` marks it cancelled; ``responseStatus.response ==
    "declined"`` marks it declined; ``isAllDay`` gives an :class:`AllDaySpan` of the event's local
    dates (Graph keeps all-day events on whole dates whatever zone it reports them in). Times are
    read with their ``timeZone`` (``UTC`` when asked with ``Prefer: outlook.timezone="UTC"``);
    ``subject`` is the block's title (``""`` when absent). Raises ``ValueError`` for an event
    without readable times.
    """
    start_value, end_value = event.get("start"), event.get("end")
    if not isinstance(start_value, Mapping) or not isinstance(end_value, Mapping):
        raise ValueError("an event has no start or end")
    start = graph_datetime(start_value)
    end = graph_datetime(end_value)
    span: TimedSpan | AllDaySpan
    if event.get("isAllDay"):
        first: date = start.date()
        last: date = end.date()
        span = AllDaySpan(first, last if last > first else first + timedelta(days=1))
    else:
        span = TimedSpan(start.astimezone(UTC), max(start, end).astimezone(UTC))
    show_as = show_as_from_status(event.get("showAs") or "unknown")
    response = event.get("responseStatus")
    declined = isinstance(response, Mapping) and str(response.get("response") or "").lower() == "declined"
    subject = event.get("subject")
    return BusyBlock(span=span, show_as=show_as, cancelled=bool(event.get("isCancelled")), declined=declined,
                     title=subject.strip() if isinstance(subject, str) else "")


def calendar_info(item: object, account_email: str) -> CalendarInfo | None:
    """One ``/me/calendars`` item as :class:`CalendarInfo` (None: an item without an id).

    The default calendar and calendars the account itself owns are ``OWNER``; shared ones
    ``WRITER`` when the account can edit them, else ``READER``.
    """
    if not isinstance(item, dict) or not item.get("id"):
        return None
    own = account_email.strip().lower()
    owner = item.get("owner") if isinstance(item.get("owner"), dict) else {}
    owner_address = str((owner or {}).get("address") or "").strip().lower()
    is_default = bool(item.get("isDefaultCalendar"))
    if is_default or (own and owner_address == own):
        role = AccessRole.OWNER
    elif item.get("canEdit"):
        role = AccessRole.WRITER
    else:
        role = AccessRole.READER
    return CalendarInfo(
        external_id=str(item["id"]), name=str(item.get("name") or ""), access_role=role, is_primary=is_default
    )


def utc_text(moment: datetime, *, round_up: bool) -> str:
    """``moment`` in UTC to the second, as Graph's query parameters take it (rounded out)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0)
        if round_up:
            moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
