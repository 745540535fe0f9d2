"""Calendar items on the wire: writing ``t:CalendarItem`` for a shape, reading one from CreateItem.

Times go out as UTC (``...Z``), as Exchange writes them in FindItem/GetItem; the item's own zone
goes out as ``StartTimeZone``/``EndTimeZone`` (Windows ids), so a client can tell the local days
of an all-day item.
"""

from __future__ import annotations

import datetime as dt
import secrets
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.demo.ews.access import EwsError
from bot.demo.ews.restriction import extended_key
from bot.demo.ews.soap import Node, find, find_all, leaf, local_name, parse_time, text_of, utc_text
from bot.demo.ews.store import SHOW_AS_VALUES, Event, Folder, new_id
from bot.demo.ews.timezones import iana_name, windows_id

Shape = tuple[set[str] | None, list[ET.Element]]
"""The field URIs a shape asks for (None: all) and the extended properties it asks for."""


def item_shape(shape: ET.Element | None) -> Shape:
    """Read an ``m:ItemShape``."""
    extended = find_all(shape, "t:AdditionalProperties/t:ExtendedFieldURI")
    if text_of(shape, "t:BaseShape", "Default") != "IdOnly":
        return None, extended
    return {p.get("FieldURI", "") for p in find_all(shape, "t:AdditionalProperties/t:FieldURI")}, extended


def _mailbox(email: str, name: str = "") -> Node:
    return Node(
        "t:Mailbox",
        None,
        [
            leaf("t:Name", name or email),
            leaf("t:EmailAddress", email),
            leaf("t:RoutingType", "SMTP"),
            leaf("t:MailboxType", "Mailbox"),
        ],
    )


def _attendees(tag: str, addresses: list[str]) -> Node | None:
    if not addresses:
        return None
    return Node(
        tag,
        None,
        [Node("t:Attendee", None, [_mailbox(a), leaf("t:ResponseType", "Unknown")]) for a in addresses],
    )


def _zone(tag: str, iana: str) -> Node:
    ms_id = windows_id(iana)
    return Node(tag, Id=ms_id, Name=ms_id)


def item_value(event: Event, path: ET.Element) -> str | None:
    """An item property for a restriction (field URIs or extended properties)."""
    if local_name(path) == "ExtendedFieldURI":
        return event.extended.get(extended_key(path))
    values: dict[str, str | None] = {
        "item:Subject": event.subject,
        "item:ItemClass": "IPM.Appointment",
        "calendar:UID": event.uid,
        "calendar:Start": utc_text(event.start),
        "calendar:End": utc_text(event.end),
        "calendar:LegacyFreeBusyStatus": event.show_as,
        "calendar:IsCancelled": "true" if event.cancelled else "false",
        "calendar:IsAllDayEvent": "true" if event.all_day else "false",
        "calendar:Location": event.location or None,
    }
    return values.get(path.get("FieldURI", ""))


def render_item(event: Event, folder: Folder, shape: Shape) -> Node:
    """A ``t:CalendarItem`` with the properties ``shape`` asks for."""
    wanted, extended = shape

    def want(uri: str) -> bool:
        return wanted is None or uri in wanted

    node = Node("t:CalendarItem", None, [Node("t:ItemId", Id=event.id, ChangeKey=event.change_key)])
    simple: list[tuple[str, str, str | int | bool | None]] = [
        ("item:ParentFolderId", "", None),
        ("item:ItemClass", "t:ItemClass", "IPM.Appointment"),
        ("item:Subject", "t:Subject", event.subject),
        ("item:Sensitivity", "t:Sensitivity", "Normal"),
        ("item:Importance", "t:Importance", "Normal"),
        ("calendar:UID", "t:UID", event.uid),
        ("calendar:Start", "t:Start", utc_text(event.start)),
        ("calendar:End", "t:End", utc_text(event.end)),
        ("calendar:IsAllDayEvent", "t:IsAllDayEvent", event.all_day),
        ("calendar:LegacyFreeBusyStatus", "t:LegacyFreeBusyStatus", event.show_as),
        ("calendar:Location", "t:Location", event.location or None),
        ("calendar:IsMeeting", "t:IsMeeting", event.is_meeting),
        ("calendar:IsCancelled", "t:IsCancelled", event.cancelled),
        ("calendar:IsRecurring", "t:IsRecurring", False),
        ("calendar:MeetingRequestWasSent", "t:MeetingRequestWasSent", event.is_meeting),
        ("calendar:CalendarItemType", "t:CalendarItemType", "Single"),
        ("calendar:MyResponseType", "t:MyResponseType", event.my_response),
    ]
    for uri, tag, value in simple:
        if uri == "item:ParentFolderId":
            if want(uri):
                node.add(Node("t:ParentFolderId", Id=folder.id, ChangeKey=folder.change_key))
        elif want(uri):
            node.add(leaf(tag, value))
    if want("calendar:Organizer") and event.organizer:
        node.add(Node("t:Organizer", None, [_mailbox(event.organizer)]))
    if want("calendar:RequiredAttendees"):
        node.add(_attendees("t:RequiredAttendees", event.required_attendees))
    if want("calendar:OptionalAttendees"):
        node.add(_attendees("t:OptionalAttendees", event.optional_attendees))
    if want("calendar:StartTimeZone"):
        node.add(_zone("t:StartTimeZone", event.time_zone))
    if want("calendar:EndTimeZone"):
        node.add(_zone("t:EndTimeZone", event.time_zone))
    for path in extended:
        value = event.extended.get(extended_key(path))
        if value is not None:
            field_uri = Node("t:ExtendedFieldURI")
            field_uri.attrs.update(path.attrib)
            node.add(Node("t:ExtendedProperty", None, [field_uri, Node("t:Value", value)]))
    return node


def _addresses(element: ET.Element, tag: str) -> list[str]:
    return [
        text_of(attendee, "t:Mailbox/t:EmailAddress")
        for attendee in find_all(element, f"{tag}/t:Attendee")
        if text_of(attendee, "t:Mailbox/t:EmailAddress")
    ]


def _item_zone(element: ET.Element, context_zone: str | None) -> str:
    zone = find(element, "t:StartTimeZone")
    for windows in (zone.get("Id") if zone is not None else None, context_zone):
        if windows and (iana := iana_name(windows)):
            try:
                ZoneInfo(iana)
            except ZoneInfoNotFoundError:
                continue
            return iana
    return "UTC"


def _midnight(instant: dt.datetime, zone: ZoneInfo, *, up: bool) -> dt.datetime:
    local = instant.astimezone(zone)
    day = local.date()
    if up and local.time() != dt.time(0):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def read_calendar_item(element: ET.Element, folder: Folder, context_zone: str | None) -> Event:
    """A new item from a CreateItem ``t:CalendarItem`` (all-day times pushed to local midnights)."""
    if local_name(element) != "CalendarItem":
        raise EwsError("ErrorInvalidRequest", "Only calendar items can be created here.")
    start_text, end_text = text_of(element, "t:Start"), text_of(element, "t:End")
    if not start_text or not end_text:
        raise EwsError("ErrorSchemaValidation")
    try:
        start, end = parse_time(start_text), parse_time(end_text)
    except ValueError:
        raise EwsError("ErrorSchemaValidation") from None
    if end < start:
        raise EwsError(
            "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date is earlier than the start date."
        )
    time_zone = _item_zone(element, context_zone)
    all_day = text_of(element, "t:IsAllDayEvent").lower() == "true"
    if all_day:
        zone = ZoneInfo(time_zone)
        start, end = _midnight(start, zone, up=False), _midnight(end, zone, up=True)
    show_as = text_of(element, "t:LegacyFreeBusyStatus", "Busy")
    if show_as not in SHOW_AS_VALUES:
        raise EwsError("ErrorSchemaValidation")
    extended = {
        extended_key(path): text_of(prop, "t:Value")
        for prop in find_all(element, "t:ExtendedProperty")
        if (path := find(prop, "t:ExtendedFieldURI")) is not None
    }
    required = _addresses(element, "t:RequiredAttendees")
    optional = _addresses(element, "t:OptionalAttendees")
    return Event(
        id=new_id("item"),
        subject=text_of(element, "t:Subject"),
        start=start,
        end=end,
        show_as=show_as,
        all_day=all_day,
        my_response="Organizer",
        time_zone=time_zone,
        uid=text_of(element, "t:UID") or secrets.token_hex(16).upper(),
        location=text_of(element, "t:Location"),
        organizer=folder.mailbox.email,
        required_attendees=required,
        optional_attendees=optional,
        extended=extended,
    )
