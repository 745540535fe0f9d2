"""GetFolder and FindFolder: folders by id or distinguished name, and a mailbox's folder tree.

A folder is written with the properties the shape asks for (``IdOnly`` plus
``AdditionalProperties``, or everything for ``Default``/``AllProperties``); calendars are
``t:CalendarFolder`` with ``FolderClass`` ``IPF.Appointment``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

from bot.demo.ews.access import Caller, EwsError, folder_references, may_read, resolve_folder
from bot.demo.ews.restriction import matches
from bot.demo.ews.soap import Node, error, find, find_all, leaf, response, success, text_of
from bot.demo.ews.store import Folder

_TAGS = {
    "IPF.Appointment": "t:CalendarFolder",
    "IPF.Contact": "t:ContactsFolder",
    "IPF.Task": "t:TasksFolder",
}


def _wanted(shape: ET.Element | None) -> set[str] | None:
    """The folder field URIs a shape asks for (None: all of them)."""
    if text_of(shape, "t:BaseShape", "Default") != "IdOnly":
        return None
    return {p.get("FieldURI", "") for p in find_all(shape, "t:AdditionalProperties/t:FieldURI")}


def folder_value(folder: Folder, path: ET.Element) -> str | None:
    """A folder property for a restriction (``folder:DisplayName``, ``folder:FolderClass``...)."""
    uri = path.get("FieldURI", "")
    values = {
        "folder:DisplayName": folder.name,
        "folder:FolderClass": folder.folder_class,
        "folder:TotalCount": str(len(folder.events)),
        "folder:ChildFolderCount": str(len(folder.children)),
    }
    return values.get(uri)


def render_folder(folder: Folder, wanted: set[str] | None, *, owner: bool = True) -> Node:
    """A folder element with the requested properties (``owner``: the caller's own folder)."""

    def want(uri: str) -> bool:
        return wanted is None or uri in wanted

    node = Node(_TAGS.get(folder.folder_class or "", "t:Folder"))
    node.add(Node("t:FolderId", Id=folder.id, ChangeKey=folder.change_key))
    if folder.parent is not None and want("folder:ParentFolderId"):
        node.add(Node("t:ParentFolderId", Id=folder.parent.id, ChangeKey=folder.parent.change_key))
    if folder.folder_class and want("folder:FolderClass"):
        node.add(leaf("t:FolderClass", folder.folder_class))
    if want("folder:DisplayName"):
        node.add(leaf("t:DisplayName", folder.name))
    if want("folder:TotalCount"):
        node.add(leaf("t:TotalCount", len(folder.events)))
    if want("folder:ChildFolderCount"):
        node.add(leaf("t:ChildFolderCount", len(folder.children)))
    if want("folder:EffectiveRights"):
        node.add(
            Node(
                "t:EffectiveRights",
                None,
                [
                    leaf("t:CreateAssociated", owner),
                    leaf("t:CreateContents", owner),
                    leaf("t:CreateHierarchy", owner),
                    leaf("t:Delete", owner),
                    leaf("t:Modify", owner),
                    leaf("t:Read", True),
                    leaf("t:ViewPrivateItems", owner),
                ],
            )
        )
    if folder.distinguished and want("folder:DistinguishedFolderId"):
        node.add(leaf("t:DistinguishedFolderId", folder.distinguished))
    if not folder.is_calendar and folder.folder_class and want("folder:UnreadCount"):
        node.add(leaf("t:UnreadCount", 0))
    return node


def get_folder(caller: Caller, request: ET.Element) -> Node:
    """``GetFolder``: one response message per folder reference, errors as values."""
    wanted = _wanted(find(request, "m:FolderShape"))
    messages: list[Node] = []
    for reference in folder_references(request, "m:FolderIds"):
        tag = "m:GetFolderResponseMessage"
        try:
            folder = resolve_folder(caller, reference)
            if folder.mailbox is not caller.mailbox:
                may_read(caller, folder)
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text))
            continue
        messages.append(
            success(
                tag,
                Node(
                    "m:Folders", None, [render_folder(folder, wanted, owner=folder.mailbox is caller.mailbox)]
                ),
            )
        )
    return response("GetFolder", messages)


def find_folder(caller: Caller, request: ET.Element) -> Node:
    """``FindFolder``: the children (``Shallow``) or all descendants (``Deep``) of each parent."""
    wanted = _wanted(find(request, "m:FolderShape"))
    deep = request.get("Traversal", "Shallow") == "Deep"
    restriction = find(request, "m:Restriction")
    view = find(request, "m:IndexedPageFolderView")
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    messages: list[Node] = []
    for reference in folder_references(request, "m:ParentFolderIds"):
        tag = "m:FindFolderResponseMessage"
        try:
            parent = resolve_folder(caller, reference)
            may_read(caller, parent)
            found = parent.descendants() if deep else list(parent.children)
            if restriction is not None:
                found = [f for f in found if matches(restriction, partial(folder_value, f))]
        except EwsError as failure:
            messages.append(error(tag, failure.code, failure.text))
            continue
        page = found[offset : offset + limit] if limit else found[offset:]
        last = offset + len(page) >= len(found)
        root = Node(
            "m:RootFolder",
            None,
            [
                Node(
                    "t:Folders",
                    None,
                    [render_folder(f, wanted, owner=f.mailbox is caller.mailbox) for f in page],
                )
            ],
            IndexedPagingOffset=str(offset + len(page)),
            TotalItemsInView=str(len(found)),
            IncludesLastItemInRange="true" if last else "false",
        )
        messages.append(success(tag, root))
    return response("FindFolder", messages)
