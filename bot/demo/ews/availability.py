"""GetUserAvailability (free/busy per mailbox) and GetServerTimeZones.

Free/busy times are written as Exchange writes them: local wall-clock times, without an offset, in
the ``t:TimeZone`` the request states. Each mailbox gets its own ``FreeBusyResponse``; a mailbox
the organisation does not have answers ``ErrorMailRecipientNotFound`` and one whose owner shares
nothing (``none``) answers ``ErrorNoFreeBusyAccess``, each as that mailbox's value. Detailed views
come with subjects only for the owner and ``reviewer`` colleagues; ``free_busy`` colleagues get the
``FreeBusy`` variant of the view, as with Exchange's ``AvailabilityOnly`` permission.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from bot.demo.ews.access import MESSAGES, Caller, EwsError
from bot.demo.ews.soap import Node, error, find, find_all, leaf, parse_time, success, text_of
from bot.demo.ews.store import Event, Mailbox
from bot.demo.ews.timezones import RuleZone, definition

_MERGED_DIGITS = {
    "Free": "0",
    "Tentative": "1",
    "Busy": "2",
    "OOF": "3",
    "WorkingElsewhere": "4",
    "NoData": "5",
}
_VIEWS = ("None", "MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged")


def _window_time(value: str, zone: RuleZone) -> dt.datetime:
    value = value.strip()
    if value.endswith("Z") or "+" in value[10:] or value[10:].count("-") > 0:
        return parse_time(value)
    return zone.to_utc(dt.datetime.fromisoformat(value))


def _events(mailbox: Mailbox, start: dt.datetime, end: dt.datetime) -> list[Event]:
    found = [
        event
        for folder in mailbox.folders()
        if folder.is_calendar and folder.fault is None
        for event in folder.events
        if not event.cancelled and event.start < end and event.end > start
    ]
    return sorted(found, key=lambda e: (e.start, e.end))


def _merged(events: list[Event], start: dt.datetime, end: dt.datetime, minutes: int) -> str:
    rank = ["Free", "Tentative", "Busy", "OOF", "WorkingElsewhere"]
    digits = []
    slot = dt.timedelta(minutes=max(minutes, 5))
    moment = start
    while moment < end:
        statuses = [e.show_as for e in events if e.start < moment + slot and e.end > moment]
        known = [s for s in statuses if s in rank]
        status = max(known, key=rank.index) if known else ("NoData" if statuses else "Free")
        digits.append(_MERGED_DIGITS[status])
        moment += slot
    return "".join(digits)


def _view(
    mailbox: Mailbox,
    zone: RuleZone,
    zone_element: ET.Element | None,
    window: tuple[dt.datetime, dt.datetime],
    requested: str,
    interval: int,
    detailed: bool,
) -> Node:
    start, end = window
    if not detailed:
        requested = {"Detailed": "FreeBusy", "DetailedMerged": "FreeBusyMerged"}.get(requested, requested)
    events = _events(mailbox, start, end)
    view = Node("m:FreeBusyView", None, [leaf("t:FreeBusyViewType", requested)])
    if "Merged" in requested:
        view.add(leaf("t:MergedFreeBusy", _merged(events, start, end, interval)))
    if requested != "MergedOnly":
        array = Node("t:CalendarEventArray")
        for event in events:
            item = Node(
                "t:CalendarEvent",
                None,
                [
                    leaf("t:StartTime", zone.local(event.start).isoformat(timespec="seconds")),
                    leaf("t:EndTime", zone.local(event.end).isoformat(timespec="seconds")),
                    leaf("t:BusyType", event.show_as),
                ],
            )
            if requested.startswith("Detailed"):
                item.add(
                    Node(
                        "t:CalendarEventDetails",
                        None,
                        [
                            leaf("t:ID", event.id),
                            leaf("t:Subject", event.subject),
                            leaf("t:Location", event.location or None),
                            leaf("t:IsMeeting", event.is_meeting),
                            leaf("t:IsRecurring", False),
                            leaf("t:IsException", False),
                            leaf("t:IsReminderSet", False),
                            leaf("t:IsPrivate", False),
                        ],
                    )
                )
            array.add(item)
        view.add(array)
    view.add(_working_hours(zone_element))
    return view


def _working_hours(zone_element: ET.Element | None) -> Node:
    """Monday to Friday 08:00-17:00 in the requester's zone (what a default mailbox reports)."""
    zone_copy = Node("t:TimeZone", None, [leaf("t:Bias", text_of(zone_element, "t:Bias", "0"))])
    for part in ("StandardTime", "DaylightTime"):
        rule = find(zone_element, f"t:{part}")
        if rule is not None:
            zone_copy.add(
                Node(
                    f"t:{part}",
                    None,
                    [
                        leaf(f"t:{name}", text_of(rule, f"t:{name}"))
                        for name in ("Bias", "Time", "DayOrder", "Month", "DayOfWeek")
                    ],
                )
            )
    period = Node(
        "t:WorkingPeriod",
        None,
        [
            leaf("t:DayOfWeek", "Monday Tuesday Wednesday Thursday Friday"),
            leaf("t:StartTimeInMinutes", 480),
            leaf("t:EndTimeInMinutes", 1020),
        ],
    )
    return Node("t:WorkingHours", None, [zone_copy, Node("t:WorkingPeriodArray", None, [period])])


def get_user_availability(caller: Caller, request: ET.Element) -> Node:
    """``GetUserAvailabilityRequest``: a ``FreeBusyResponse`` per ``MailboxData``."""
    zone_element = find(request, "t:TimeZone")
    zone = RuleZone.from_xml(zone_element)
    options = find(request, "t:FreeBusyViewOptions")
    if options is None:
        raise EwsError("ErrorInvalidRequest", "FreeBusyViewOptions is required.")
    try:
        start = _window_time(text_of(options, "t:TimeWindow/t:StartTime"), zone)
        end = _window_time(text_of(options, "t:TimeWindow/t:EndTime"), zone)
        interval = int(text_of(options, "t:MergedFreeBusyIntervalInMinutes", "30"))
    except ValueError:
        raise EwsError("ErrorSchemaValidation") from None
    requested = text_of(options, "t:RequestedView", "DetailedMerged")
    if requested not in _VIEWS or end <= start:
        raise EwsError("ErrorInvalidRequest")
    answers: list[Node] = []
    for data in find_all(request, "m:MailboxDataArray/t:MailboxData"):
        address = text_of(data, "t:Email/t:Address")
        mailbox = caller.store.mailbox(address)
        level = mailbox.level_for(caller.email) if mailbox else None
        if mailbox is None or level == "none":
            code = "ErrorMailRecipientNotFound" if mailbox is None else "ErrorNoFreeBusyAccess"
            text = MESSAGES[code].format(address=f"<>SMTP:{address}" if mailbox is None else address)
            message = error("m:ResponseMessage", code, text)
            empty = Node("m:FreeBusyView", None, [leaf("t:FreeBusyViewType", "None")])
            answers.append(Node("m:FreeBusyResponse", None, [message, empty]))
            continue
        view = _view(
            mailbox, zone, zone_element, (start, end), requested, interval, level in ("owner", "reviewer")
        )
        answers.append(Node("m:FreeBusyResponse", None, [success("m:ResponseMessage"), view]))
    return Node("m:GetUserAvailabilityResponse", None, [Node("m:FreeBusyResponseArray", None, answers)])


def get_server_time_zones(request: ET.Element) -> Node:
    """``GetServerTimeZones``: the asked-for Windows zones (unknown ids are left out, as Exchange does)."""
    ids = [i.text.strip() for i in find_all(request, "m:Ids/t:Id") if i.text]
    if not ids:
        ids = [
            "UTC",
            "W. Europe Standard Time",
            "GMT Standard Time",
            "Eastern Standard Time",
            "Pacific Standard Time",
            "Tokyo Standard Time",
            "AUS Eastern Standard Time",
        ]
    definitions = [d for d in (definition(i) for i in ids) if d is not None]
    body = success("m:GetServerTimeZonesResponseMessage", Node("m:TimeZoneDefinitions", None, definitions))
    return Node("m:GetServerTimeZonesResponse", None, [Node("m:ResponseMessages", None, [body])])
