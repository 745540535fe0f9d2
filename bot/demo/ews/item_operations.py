"""FindItem (CalendarView or a restriction), GetItem, CreateItem and DeleteItem on calendars.

* ``CalendarView``: the items overlapping ``[StartDate, EndDate)``, by start; with more than
  ``MaxEntriesReturned`` the first ones and ``IncludesLastItemInRange="false"``, as Exchange does.
* ``IndexedPageItemView`` with an optional ``Restriction`` (e.g. ``IsEqualTo`` an extended
  property, for finding a booking again): paged with ``IndexedPagingOffset``.
* ``CreateItem`` records a meeting request per attendee unless ``SendMeetingInvitations`` is
  ``SendToNone``; ``DeleteItem`` records a cancellation likewise (``SendMeetingCancellations``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

from bot.demo.ews.access import Caller, EwsError, folder_references, may_read, may_write, resolve_folder
from bot.demo.ews.items import item_shape, item_value, read_calendar_item, render_item
from bot.demo.ews.restriction import matches
from bot.demo.ews.soap import Envelope, Node, error, find, find_all, parse_time, response, success
from bot.demo.ews.store import Cancellation, Event, Folder, Invitation

_SEND_MODES = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")


def _calendar_view(folder: Folder, view: ET.Element, shape: tuple[set[str] | None, list[ET.Element]]) -> Node:
    try:
        start, end = parse_time(view.get("StartDate", "")), parse_time(view.get("EndDate", ""))
    except ValueError:
        raise EwsError("ErrorSchemaValidation") from None
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate")
    found = sorted(
        (e for e in folder.events if (e.start < end and e.end > start) or (e.start == e.end == start)),
        key=lambda e: (e.start, e.end),
    )
    limit = int(view.get("MaxEntriesReturned", "0") or 0)
    page = found[:limit] if limit else found
    return Node(
        "m:RootFolder",
        None,
        [Node("t:Items", None, [render_item(e, folder, shape) for e in page])],
        TotalItemsInView=str(len(found)),
        IncludesLastItemInRange="true" if len(page) == len(found) else "false",
    )


def _indexed_view(
    folder: Folder,
    view: ET.Element | None,
    restriction: ET.Element | None,
    shape: tuple[set[str] | None, list[ET.Element]],
) -> Node:
    found = [e for e in folder.events if restriction is None or matches(restriction, partial(item_value, e))]
    found.sort(key=lambda e: (e.start, e.end))
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    page = found[offset : offset + limit] if limit else found[offset:]
    last = offset + len(page) >= len(found)
    return Node(
        "m:RootFolder",
        None,
        [Node("t:Items", None, [render_item(e, folder, shape) for e in page])],
        IndexedPagingOffset=str(offset + len(page)),
        TotalItemsInView=str(len(found)),
        IncludesLastItemInRange="true" if last else "false",
    )


def find_item(caller: Caller, request: ET.Element) -> Node:
    """``FindItem``: one response message per parent folder, errors as values."""
    shape = item_shape(find(request, "m:ItemShape"))
    calendar_view = find(request, "m:CalendarView")
    restriction = find(request, "m:Restriction")
    if calendar_view is not None and restriction is not None:
        raise EwsError(
            "ErrorInvalidRequest", "Restrictions and sort order may not be specified for a CalendarView."
        )
    messages: list[Node] = []
    for reference in folder_references(request, "m:ParentFolderIds"):
        tag = "m:FindItemResponseMessage"
        try:
            folder = resolve_folder(caller, reference)
            may_read(caller, folder)
            if calendar_view is not None:
                root = _calendar_view(folder, calendar_view, shape)
            else:
                root = _indexed_view(folder, find(request, "m:IndexedPageItemView"), restriction, shape)
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text))
            continue
        messages.append(success(tag, root))
    return response("FindItem", messages)


def _item(caller: Caller, reference: ET.Element) -> tuple[Folder, Event]:
    hit = caller.store.item(reference.get("Id", ""))
    if hit is None:
        raise EwsError("ErrorItemNotFound")
    if hit[0].fault:
        raise EwsError(hit[0].fault)
    return hit


def get_item(caller: Caller, request: ET.Element) -> Node:
    """``GetItem``: each id's item with the requested shape."""
    shape = item_shape(find(request, "m:ItemShape"))
    messages: list[Node] = []
    for reference in find_all(request, "m:ItemIds/t:ItemId"):
        tag = "m:GetItemResponseMessage"
        try:
            folder, event = _item(caller, reference)
            may_read(caller, folder)
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text))
            continue
        messages.append(success(tag, Node("m:Items", None, [render_item(event, folder, shape)])))
    return response("GetItem", messages)


def create_item(caller: Caller, request: ET.Element, envelope: Envelope) -> Node:
    """``CreateItem`` of calendar items into ``SavedItemFolderId`` (default: the caller's calendar)."""
    mode = request.get("SendMeetingInvitations", "")
    if mode not in _SEND_MODES:
        raise EwsError(
            "ErrorSendMeetingInvitationsRequired",
            "SendMeetingInvitations attribute is required for calendar items.",
        )
    references = folder_references(request, "m:SavedItemFolderId")
    messages: list[Node] = []
    for element in list(find(request, "m:Items") or []):
        tag = "m:CreateItemResponseMessage"
        try:
            folder = resolve_folder(caller, references[0]) if references else caller.mailbox.calendar
            may_write(caller, folder)
            event = read_calendar_item(element, folder, envelope.time_zone_context())
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text, Node("m:Items")))
            continue
        folder.events.append(event)
        if mode != "SendToNone":
            for attendee in [*event.required_attendees, *event.optional_attendees]:
                caller.store.invitations.append(Invitation(event.id, caller.email, attendee, mode))
        item = Node("t:CalendarItem", None, [Node("t:ItemId", Id=event.id, ChangeKey=event.change_key)])
        messages.append(success(tag, Node("m:Items", None, [item])))
    return response("CreateItem", messages)


def delete_item(caller: Caller, request: ET.Element) -> Node:
    """``DeleteItem``: ``ErrorItemNotFound`` for an unknown id; cancellations recorded per mode."""
    mode = request.get("SendMeetingCancellations", "SendToNone")
    messages: list[Node] = []
    for reference in find_all(request, "m:ItemIds/t:ItemId"):
        tag = "m:DeleteItemResponseMessage"
        try:
            folder, event = _item(caller, reference)
            may_write(caller, folder)
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text))
            continue
        folder.events.remove(event)
        attendees = (*event.required_attendees, *event.optional_attendees)
        if attendees and mode != "SendToNone":
            caller.store.cancellations.append(Cancellation(event.id, caller.email, attendees, mode))
        messages.append(success(tag))
    return response("DeleteItem", messages)
