"""Who asks for what: folder references resolved to folders, and Exchange's permission answers.

A request names a folder by ``t:FolderId`` or by ``t:DistinguishedFolderId`` (optionally in another
mailbox, ``<t:Mailbox><t:EmailAddress>``). The owner may do anything; a colleague may read a
calendar event by event only with ``reviewer`` rights and sees nothing else of the mailbox (its
root and other folders answer ``ErrorAccessDenied``, as Exchange does for a calendar-only share).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.demo.ews.soap import find, local_name, text_of
from bot.demo.ews.store import Folder, Mailbox, Store

MESSAGES = {
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorItemNotFound": "The specified object was not found in the store., "
    "The process failed to get the correct properties.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorMailRecipientNotFound": "Unable to resolve e-mail address {address} to an Active Directory object.",
    "ErrorNoFreeBusyAccess": "Microsoft.Exchange.InfoWorker.Common.Availability.NoFreeBusyAccessException: "
    "No free/busy access for {address}.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorInternalServerError": "An internal server error occurred. The operation failed.",
    "ErrorInvalidServerVersion": "The specified server version is invalid.",
    "ErrorSchemaValidation": "The request failed schema validation.",
}


class EwsError(Exception):
    """An EWS error for one response message (or, raised from a whole operation, for all of them)."""

    def __init__(self, code: str, text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or MESSAGES.get(code, code)


@dataclass(frozen=True)
class Caller:
    """The signed-in mailbox and the store it asks about."""

    mailbox: Mailbox
    store: Store

    @property
    def email(self) -> str:
        """The caller's SMTP address."""
        return self.mailbox.email


def target_mailbox(caller: Caller, reference: ET.Element) -> Mailbox:
    """The mailbox a ``DistinguishedFolderId`` points into (the caller's without ``t:Mailbox``)."""
    address = text_of(reference, "t:Mailbox/t:EmailAddress")
    if not address:
        return caller.mailbox
    mailbox = caller.store.mailbox(address)
    if mailbox is None:
        raise EwsError("ErrorNonExistentMailbox")
    return mailbox


def resolve_folder(caller: Caller, reference: ET.Element) -> Folder:
    """The folder a ``t:FolderId``/``t:DistinguishedFolderId`` names, honouring its fault knob."""
    kind = local_name(reference)
    folder: Folder | None
    if kind == "DistinguishedFolderId":
        folder = target_mailbox(caller, reference).distinguished(reference.get("Id", ""))
    elif kind == "FolderId":
        folder = caller.store.folder(reference.get("Id", ""))
    else:
        raise EwsError("ErrorInvalidRequest")
    if folder is None:
        raise EwsError("ErrorFolderNotFound")
    if folder.fault:
        raise EwsError(folder.fault)
    return folder


def folder_references(element: ET.Element | None, path: str) -> list[ET.Element]:
    """The folder references (``FolderId``/``DistinguishedFolderId``) inside ``element/path``."""
    container = find(element, path)
    return [] if container is None else list(container)


def may_read(caller: Caller, folder: Folder) -> None:
    """Raise ``ErrorAccessDenied`` unless the caller may see this folder and its items."""
    level = folder.mailbox.level_for(caller.email)
    if level == "owner" or (level == "reviewer" and folder.is_calendar):
        return
    raise EwsError("ErrorAccessDenied")


def may_write(caller: Caller, folder: Folder) -> None:
    """Raise ``ErrorAccessDenied`` unless the caller owns the folder."""
    if folder.mailbox is not caller.mailbox:
        raise EwsError("ErrorAccessDenied")


def subjects(caller: Caller, element: ET.Element) -> frozenset[str]:
    """Every folder id and mailbox address a request is about (for scripted faults).

    Distinguished folders are resolved to their ids; item ids add their folder and mailbox;
    free/busy requests add the addresses asked about.
    """
    found: set[str] = set()
    for reference in element.iter():
        kind = local_name(reference)
        if kind in ("FolderId", "DistinguishedFolderId"):
            found.add(reference.get("Id", ""))
            try:
                folder = resolve_folder(caller, reference)
            except EwsError:
                address = text_of(reference, "t:Mailbox/t:EmailAddress")
                if address:
                    found.add(address.lower())
                continue
            found.update((folder.id, folder.mailbox.email.lower()))
        elif kind == "ItemId":
            hit = caller.store.item(reference.get("Id", ""))
            if hit is not None:
                found.update((hit[0].id, hit[0].mailbox.email.lower()))
        elif kind in ("Address", "EmailAddress") and reference.text:
            found.add(reference.text.strip().lower())
    found.discard("")
    return frozenset(found)
